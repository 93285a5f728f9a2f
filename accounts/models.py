from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from core.audit import AuditEvent


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A customer or staff member; the email address is the login."""

    # Email is the login: the inherited username column is removed (Django's documented
    # way); the stubs type the inherited field as a str column.
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    preferred_language = models.CharField(_("preferred language"), max_length=8, default="en")
    is_suspended = models.BooleanField(_("suspended"), default=False)
    suspended_reason = models.CharField(_("suspension reason"), max_length=255, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    is_flagged = models.BooleanField(
        _("flagged for review"),
        default=False,
        help_text=_("Set when a customer files repeated claims or a chargeback."),
    )
    flagged_reason = models.CharField(_("flag reason"), max_length=255, blank=True)
    session_generation = models.PositiveIntegerField(
        _("session generation"),
        default=0,
        editable=False,
        help_text=_("Raised to end every open session of this user at once (suspension)."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # An email-login manager in place of AbstractUser's username-based UserManager, which
    # the stubs declare as the type of ``objects``.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("suspend_user", _("Can suspend an account or lift its suspension")),
            ("manage_staff", _("Can grant staff access, roles and permissions")),
        ]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def _get_session_auth_hash(self, secret=None):
        """The password's HMAC, bound to the session generation: raising the generation
        (suspension) makes every open session of this user fail verification, so Django
        flushes it on its next request, whatever the session backend."""
        # A private AbstractBaseUser method the stubs do not declare.
        base = super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]
        if not self.session_generation:
            return base  # generation 0: sessions opened before this field existed stay valid
        return salted_hmac(
            "accounts.User.session_generation",
            f"{base}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class AccountEventKind(models.TextChoices):
    SUSPENDED = "suspended", _("Suspended")
    UNSUSPENDED = "unsuspended", _("Suspension lifted")
    FLAGGED = "flagged", _("Flagged for review")


class AccountEvent(AuditEvent):
    """Audit row for every change to an account's standing (suspension, flags)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_events")
    kind = models.CharField(_("kind"), max_length=40, choices=AccountEventKind.choices)

    class Meta(AuditEvent.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name = _("account event")
        verbose_name_plural = _("account events")

    def __str__(self) -> str:
        return f"{self.user} {self.kind}"
