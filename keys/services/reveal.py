"""Showing a code: decrypt for one viewer, audit every disclosure (KeyView).

No function here logs or stores a plaintext code; only :func:`key_reveal` and the email
helpers return one.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core.outbox import staff_alert_enqueue

from ..crypto import code_decrypt
from ..models import CUSTOMER_VIEW_CHANNELS, Key, KeyStatus, KeyView, ViewChannel

logger = logging.getLogger(__name__)
S = KeyStatus


class KeyNotRevealable(Exception):
    """The key is not in a state in which its code may be shown on this channel."""


def _clean_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


@sensitive_variables()  # error reports never show a code
def key_reveal(
    *,
    key: Key,
    channel: str,
    ip: str | None,
    user_agent: str,
    user=None,
    guest_email: str = "",
    reason: str = "",
) -> str:
    """Decrypt one code for one viewer and audit it (a KeyView row). Returns the plaintext.

    Customer channels show delivered keys only; the staff channel needs the
    ``keys.reveal_key_code`` permission. The customer's first view on our pages sets
    ``first_viewed_at`` once. Raises :class:`~keys.crypto.KeyDecryptionError` (and writes
    no view) when the stored code cannot be decrypted. The caller must send the response
    with ``Cache-Control: no-store`` (``keys.http.no_store``) and never log the result.
    """
    if channel not in ViewChannel.values:
        raise ValueError(f"Unknown reveal channel {channel!r}")
    staff_allowed = user is not None and user.has_perm("keys.reveal_key_code")
    if channel == ViewChannel.STAFF and not staff_allowed:
        raise PermissionDenied("Revealing a key code needs the reveal_key_code permission.")
    current = Key.objects.only("id", "status", "ciphertext", "first_viewed_at").get(pk=key.pk)
    if channel != ViewChannel.STAFF and current.status != S.DELIVERED:
        raise KeyNotRevealable(f"Key #{key.pk} is {current.status}; its code is not shown.")
    code = code_decrypt(current.ciphertext, key_id=current.pk)
    first = key_view_record(
        key_id=current.pk,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
        user=user,
        guest_email=guest_email,
        reason=reason,
    )
    if first:
        key.first_viewed_at = first
    logger.info("key #%s revealed via %s", current.pk, channel)
    return code


@sensitive_variables()
def key_code_for_email(*, key_id: int) -> str:
    """The plaintext of a delivered key, to be put in an email being sent now.

    Writes no audit row: the outbox's hook calls :func:`key_view_record` (channel
    ``email``) once the SMTP server accepted the message, and only then. Never log it.
    """
    current = Key.objects.only("id", "status", "ciphertext").get(pk=key_id)
    if current.status != S.DELIVERED:
        raise KeyNotRevealable(f"Key #{key_id} is {current.status}; its code is not shown.")
    return code_decrypt(current.ciphertext, key_id=current.pk)


@sensitive_variables()
def key_codes_for_order_email(*, order_id, keys: list[Key] | None = None) -> list[tuple[Key, str]]:
    """The delivered keys of an order with their plaintexts (by line, then key), for an
    email being sent now: one query for every key, or none when the caller hands over the
    rows its own transaction just delivered (``keys``). Writes no audit row, like
    :func:`key_code_for_email`; the outbox hook records the views once the server
    accepted the message. Never log the codes."""
    if keys is None:
        keys = list(
            Key.objects.filter(order_line__order_id=order_id, status=S.DELIVERED)
            .only("id", "status", "ciphertext", "order_line_id")
            .order_by("order_line_id", "id")
        )
    else:
        keys = sorted(
            (k for k in keys if k.status == S.DELIVERED), key=lambda k: (k.order_line_id, k.pk)
        )
    return [(key, code_decrypt(key.ciphertext, key_id=key.pk)) for key in keys]


def key_views_record_email(*, key_ids: Iterable[int], guest_email: str) -> None:
    """Audit that these codes went out in an email a server accepted (channel ``email``,
    not a customer's own view: ``first_viewed_at`` is not set): one insert for all."""
    now = timezone.now()
    KeyView.objects.bulk_create(
        [
            KeyView(key_id=key_id, guest_email=guest_email or "", channel=ViewChannel.EMAIL,
                    first_view=False, created_at=now)
            for key_id in key_ids
        ]
    )  # fmt: skip


def key_view_record(
    *,
    key_id: int,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
    user=None,
    guest_email: str = "",
    reason: str = "",
):
    """Audit one disclosure of a code (a KeyView row). Returns the time of the customer's
    first view when this was it (customer channels set ``first_viewed_at`` once), else None."""
    if channel not in ViewChannel.values:
        raise ValueError(f"Unknown reveal channel {channel!r}")
    now = timezone.now()
    with transaction.atomic():
        first = False
        if channel in CUSTOMER_VIEW_CHANNELS:
            first = (
                Key.objects.filter(pk=key_id, first_viewed_at__isnull=True).update(
                    first_viewed_at=now
                )
                == 1
            )
        KeyView.objects.create(
            key_id=key_id,
            user=user if user is not None and user.is_authenticated else None,
            guest_email=guest_email or "",
            ip=_clean_ip(ip),
            user_agent=(user_agent or "")[:400],
            channel=channel,
            first_view=first,
            reason=(reason or "")[:500],
            created_at=now,
        )
    return now if first else None


def key_unreadable_report(*, key: Key, context: str) -> None:
    """A stored code could not be decrypted while a customer asked for it: log it (never the
    ciphertext) and alert staff once a day per key, so the customer is contacted."""
    logger.error("key #%s cannot be decrypted (%s)", key.pk, context)
    if cache.add(f"keys:unreadable-alert:{key.pk}", 1, timeout=24 * 3600):
        try:
            staff_alert_enqueue(
                kind="key_unreadable",
                subject=f"Key #{key.pk} cannot be decrypted",
                body=(
                    f"A customer asked to see key #{key.pk} ({context}) and it could not be "
                    "decrypted with any configured encryption key. Check KEY_ENCRYPTION_KEYS "
                    "and replace the key for the customer."
                ),
            )
        except Exception:  # the alert is best effort; the log line above stands
            logger.exception("staff alert for unreadable key #%s failed", key.pk)
