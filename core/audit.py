"""The one shape of every audit table: who, when, what kind, from, to, why, and data.

Event tables (order, key, batch, claim, dispute, account events) subclass
:class:`AuditEvent`, add the foreign key to what they describe and give ``kind`` their own
choices (a ``models.TextChoices``). Amounts, ids and other facts go in ``data`` as
structured values, never formatted into ``reason``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=40)
    from_status = models.CharField(_("from"), max_length=32, blank=True)
    to_status = models.CharField(_("to"), max_length=32, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    @staticmethod
    def actor_or_none(actor: object) -> object | None:
        """A saved user, or None (system actions, anonymous visitors)."""
        return actor if getattr(actor, "pk", None) else None
