"""Refunds: claims (warranty / refund requests) with evidence and messages, and disputes.

The refunds app owns these models. Status changes go through one transition function per
model (`refunds.services.claim_transition`, `refunds.services.dispute_transition`), which
checks the allowed move and writes an event row. Policy numbers never live here: they
come from the active preset (`policies`).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import AuditEvent
from core.statemachine import StateMachine


def claim_number_new() -> str:
    """A short, unguessable, human-readable claim number, e.g. CL-7F3K9Q2M."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "CL-" + "".join(secrets.choice(alphabet) for _ in range(8))


class ClaimReason(models.TextChoices):
    """The contract's reason codes (policy-decisions.md), in plain words for customers."""

    KEY_INVALID = "key_invalid", _("The key is reported as invalid")
    KEY_ALREADY_USED = "key_already_used", _("The key is reported as already used")
    CODE_EXPIRED = "code_expired", _("The code expired before its printed expiry date")
    WRONG_PRODUCT_SENT = "wrong_product_sent", _("You received a different product than ordered")
    NOT_DELIVERED = "not_delivered", _("The key never arrived")
    DOUBLE_CHARGE = "double_charge", _("You were charged twice")
    STORE_ERROR = "store_error", _("We made a mistake with your order")
    TECHNICAL_PROBLEM = (
        "technical_problem",
        _("The key cannot be activated for reasons unrelated to your computer"),
    )
    ACTIVATION_PROBLEM = (
        "activation_problem",
        _("The key does not activate and the cause is unknown"),
    )
    WRONG_PURCHASE = "wrong_purchase", _("You bought the wrong product")
    INCOMPATIBLE = "incompatible", _("The product does not work with your system")
    CHANGE_OF_MIND = "change_of_mind", _("You changed your mind")
    MISUSE = "misuse", _("The activation went wrong on your side")
    SOFTWARE_USAGE = "software_usage", _("A question about using the software")
    LOST_CODE = "lost_code", _("You lost the code")
    WRONG_ACCOUNT = "wrong_account", _("The code was redeemed on the wrong account")
    SHARED_CODE = "shared_code", _("The code was shared with someone else")
    CANCEL_REQUEST = "cancel_request", _("Cancel the order before the key is delivered")


# Reasons about the order as a whole: no key needs to be picked.
REASONS_WITHOUT_KEY = frozenset(
    {
        ClaimReason.NOT_DELIVERED,
        ClaimReason.DOUBLE_CHARGE,
        ClaimReason.STORE_ERROR,
        ClaimReason.CANCEL_REQUEST,
    }
)


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    NEEDS_INFO = "needs_info", _("Waiting for your information")
    VERIFYING = "verifying", _("Being verified")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CLOSED = "closed", _("Closed")


OPEN_CLAIM_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.NEEDS_INFO, ClaimStatus.VERIFYING)


# The claim's allowed moves (``refunds.services.claim_transition`` applies them).
CLAIM_MACHINE = StateMachine(
    name="claim",
    moves={
        ClaimStatus.SUBMITTED: {
            ClaimStatus.NEEDS_INFO,
            ClaimStatus.VERIFYING,
            ClaimStatus.APPROVED,
            ClaimStatus.REJECTED,
            ClaimStatus.CLOSED,
        },
        ClaimStatus.NEEDS_INFO: {
            ClaimStatus.SUBMITTED,
            ClaimStatus.VERIFYING,
            ClaimStatus.APPROVED,
            ClaimStatus.REJECTED,
            ClaimStatus.CLOSED,
        },
        ClaimStatus.VERIFYING: {
            ClaimStatus.NEEDS_INFO,
            ClaimStatus.APPROVED,
            ClaimStatus.REJECTED,
            ClaimStatus.CLOSED,
        },
        ClaimStatus.APPROVED: {ClaimStatus.CLOSED},
        ClaimStatus.REJECTED: {ClaimStatus.CLOSED},
        ClaimStatus.CLOSED: set(),
    },
)


class Verification(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED_DEFECTIVE = "confirmed_defective", _("Confirmed defective")
    NOT_DEFECTIVE = "not_defective", _("Not defective (the key works)")


class Remedy(models.TextChoices):
    REPLACE = "replace", _("Replacement key")
    EXCHANGE = "exchange", _("Exchange for another product")
    REFUND = "refund", _("Refund")


class DeskDecision(models.TextChoices):
    """What one post of the claim desk's decision panel does."""

    VERIFY = "verify", _("Record the verification only")
    REPLACE = "replace", _("Replace the key")
    EXCHANGE = "exchange", _("Exchange for another product")
    REFUND = "refund", _("Refund")
    REJECT = "reject", _("Reject")
    REQUEST_INFO = "request_info", _("Ask the customer for information")
    MESSAGE = "message", _("Send the reply only")


class DueSource(models.TextChoices):
    POLICY = "policy", _("Stated by the policy")
    INTERNAL = "internal", _("Internal service level")


class Claim(models.Model):
    number = models.CharField(
        _("claim number"), max_length=16, unique=True, default=claim_number_new, editable=False
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="claims", verbose_name=_("order")
    )
    order_line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="claims",
        verbose_name=_("order line"),
    )
    key = models.ForeignKey(
        "keys.Key",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
        verbose_name=_("key"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claims",
        verbose_name=_("customer account"),
    )
    guest_email = models.EmailField(_("guest email"), blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    reason = models.CharField(_("reason"), max_length=32, choices=ClaimReason.choices)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    description = models.TextField(_("description"), max_length=5000)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ClaimStatus.choices,
        default=ClaimStatus.SUBMITTED,
        db_index=True,
    )
    # Facts staff establish while verifying (inputs of the decision engine).
    verification = models.CharField(
        _("verification result"),
        max_length=24,
        choices=Verification.choices,
        default=Verification.PENDING,
    )
    key_activated = models.BooleanField(_("key was activated successfully"), default=False)
    support_exhausted = models.BooleanField(_("support could not fix it"), default=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_due_at = models.DateTimeField(
        _("verification due"), null=True, blank=True, db_index=True
    )
    verification_due_source = models.CharField(
        _("deadline source"), max_length=16, choices=DueSource.choices, blank=True
    )
    preset_slug = models.CharField(_("policy preset"), max_length=40)
    # What the engine said when the customer submitted, and when staff decided.
    submitted_outcome = models.CharField(_("outcome at submission"), max_length=16, blank=True)
    submitted_clause = models.CharField(_("clause at submission"), max_length=80, blank=True)
    submitted_explanation = models.TextField(_("explanation at submission"), blank=True)
    recommendation_outcome = models.CharField(_("recommended outcome"), max_length=16, blank=True)
    recommendation_clause = models.CharField(_("recommended clause"), max_length=80, blank=True)
    recommendation_explanation = models.TextField(_("recommendation"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    remedy = models.CharField(_("remedy"), max_length=16, choices=Remedy.choices, blank=True)
    decision_clause = models.CharField(_("decision clause"), max_length=80, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    replacement_key = models.ForeignKey(
        "keys.Key",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("key sent in its place"),
    )
    exchange_product = models.ForeignKey(
        "storefront.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("exchanged for"),
    )
    refund_amount = models.DecimalField(
        _("refund amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    refund_reference = models.CharField(_("refund reference"), max_length=64, blank=True)
    # Set once when a refund for this claim is asked of the gateway (idempotency anchor).
    refund_requested_at = models.DateTimeField(null=True, blank=True)
    needs_info_since = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # The staff member working on the claim (the desk's "assign to me"); empty: anyone.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        permissions = [
            ("decide_claim", _("Can verify and decide claims")),
            ("refund_above_limit", _("Can refund above the limit without a manager")),
            ("export_data", _("Can export orders, refunds, claims and key sales")),
        ]
        indexes = [
            models.Index(fields=["status", "verification_due_at"]),
            # the claim desk's list: nearest deadline first, then newest (and -pk)
            models.Index(
                fields=["verification_due_at", "-created_at", "-id"], name="claim_desk_order_idx"
            ),
        ]
        constraints = [
            # One open claim per key: a second one waits for the first to be decided.
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(status__in=["submitted", "needs_info", "verifying"]),
                name="claim_one_open_per_key",
            ),
            # A key gets one remedy: at most one decided claim per key carries one.
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(key__isnull=False) & ~Q(remedy=""),
                name="claim_one_remedy_per_key",
            ),
            # A claim whose refund was asked of the gateway is never also a replacement.
            models.CheckConstraint(
                condition=~Q(remedy="replace") | Q(refund_requested_at__isnull=True),
                name="claim_replacement_never_refunded",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(guest_email=""),
                name="claim_has_customer",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | ~Q(remedy=""),
                name="claim_approved_has_remedy",
            ),
            models.CheckConstraint(
                condition=Q(remedy="") | Q(status__in=["approved", "closed"]),
                name="claim_remedy_only_when_approved",
            ),
            models.CheckConstraint(
                condition=~Q(remedy__in=["replace", "exchange"]) | Q(replacement_key__isnull=False),
                name="claim_replacement_has_key",
            ),
            models.CheckConstraint(
                condition=~Q(remedy="exchange") | Q(exchange_product__isnull=False),
                name="claim_exchange_has_product",
            ),
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | Q(refund_amount__gt=0),
                name="claim_refund_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(verification__in=["pending", "confirmed_defective", "not_defective"]),
                name="claim_verification_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "submitted",
                        "needs_info",
                        "verifying",
                        "approved",
                        "rejected",
                        "closed",
                    ]
                ),
                name="claim_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CLAIM_STATUSES

    @property
    def customer_email(self) -> str:
        return self.user.email if self.user is not None else self.guest_email


class ClaimEventKind(models.TextChoices):
    STATUS = "status", _("Status change")
    SUBMITTED = "submitted", _("Submitted")
    MESSAGE = "message", _("Message")
    VERIFICATION = "verification", _("Verification recorded")
    ASSIGNED = "assigned", _("Assigned")
    REFUND_REQUESTED = "refund_requested", _("Refund requested")
    REFUND_FAILED = "refund_failed", _("Refund failed")
    REFUND = "refund", _("Refund")
    ESCALATED = "escalated", _("Escalated")
    CUSTOMER_FLAGGED = "customer_flagged", _("Customer flagged")
    BLOCKED = "blocked", _("Customer blocked")


class ClaimEvent(AuditEvent):
    """One row per status change or staff action: who, when, from, to, why."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(
        _("kind"), max_length=40, choices=ClaimEventKind.choices, default=ClaimEventKind.STATUS
    )

    class Meta(AuditEvent.Meta):
        verbose_name = _("claim event")
        verbose_name_plural = _("claim events")

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind} {self.from_status}->{self.to_status}"


class MessageAuthor(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    STAFF = "staff", _("Staff")


class ClaimMessage(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="messages")
    author_role = models.CharField(_("from"), max_length=16, choices=MessageAuthor.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("message"), max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("claim message")
        verbose_name_plural = _("claim messages")
        constraints = [
            models.CheckConstraint(
                condition=Q(author_role__in=["customer", "staff"]), name="claimmessage_role_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.author_role}"


class Evidence(models.Model):
    """A screenshot, re-encoded and stored under a random name in PRIVATE_MEDIA_ROOT.

    Uploaded before the claim exists (the preview step keeps it): until then it belongs to
    whoever uploaded it (the account, or the browser session for a guest).
    """

    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    message = models.ForeignKey(
        ClaimMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    upload_token = models.CharField(max_length=64, blank=True, db_index=True)
    storage_name = models.CharField(max_length=100, unique=True, editable=False)
    original_name = models.CharField(_("file name"), max_length=120)
    content_type = models.CharField(_("content type"), max_length=32)
    size = models.PositiveIntegerField(_("size in bytes"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["image/png", "image/jpeg", "image/webp"]),
                name="evidence_image_types_only",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name


class CannedReply(models.Model):
    """A prepared answer staff pick in a claim's reply form, per claim reason and language."""

    reason = models.CharField(
        _("reason"), max_length=32, choices=ClaimReason.choices, blank=True,
        help_text=_("Empty: offered for every reason."),
    )  # fmt: skip
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=5000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["reason", "language", "title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        constraints = [
            models.UniqueConstraint(
                fields=["reason", "language", "title"], name="cannedreply_unique_title"
            )
        ]

    def __str__(self) -> str:
        return self.title


class DisputeStatus(models.TextChoices):
    """Stripe's dispute statuses."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response", _("Inquiry: needs response")
    WARNING_UNDER_REVIEW = "warning_under_review", _("Inquiry: under review")
    WARNING_CLOSED = "warning_closed", _("Inquiry: closed")
    NEEDS_RESPONSE = "needs_response", _("Needs response")
    UNDER_REVIEW = "under_review", _("Under review")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    PREVENTED = "prevented", _("Prevented")


_D = DisputeStatus
# The moves of Stripe's dispute lifecycle: an inquiry (warning_*) is answered, closed or
# turned into a chargeback; a chargeback is answered, reviewed, then won or lost (or
# prevented). ``refunds.services.dispute_transition`` applies them.
DISPUTE_MACHINE = StateMachine(
    name="dispute",
    moves={
        _D.WARNING_NEEDS_RESPONSE: {
            _D.WARNING_UNDER_REVIEW,
            _D.WARNING_CLOSED,
            _D.NEEDS_RESPONSE,
            _D.PREVENTED,
        },
        _D.WARNING_UNDER_REVIEW: {_D.WARNING_CLOSED, _D.NEEDS_RESPONSE},
        _D.WARNING_CLOSED: {_D.NEEDS_RESPONSE},
        _D.NEEDS_RESPONSE: {_D.UNDER_REVIEW, _D.WON, _D.LOST, _D.PREVENTED},
        _D.UNDER_REVIEW: {_D.WON, _D.LOST},
        _D.WON: set(),
        _D.LOST: set(),
        _D.PREVENTED: set(),
    },
)


class Dispute(models.Model):
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="disputes", verbose_name=_("order")
    )
    stripe_dispute_id = models.CharField(_("Stripe dispute id"), max_length=64, unique=True)
    charge_id = models.CharField(_("charge"), max_length=64, blank=True)
    payment_intent_id = models.CharField(_("payment intent"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=32, choices=DisputeStatus.choices, db_index=True
    )
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    evidence_due_by = models.DateTimeField(_("evidence due by"), null=True, blank=True)
    funds_withdrawn = models.BooleanField(_("funds withdrawn"), default=False)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    evidence_assembled_at = models.DateTimeField(null=True, blank=True)
    # When the opening actions ran (order disputed, keys revoked, account suspended).
    opened_handled_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(_("evidence submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submission_gateway = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        permissions = [("submit_dispute_evidence", _("Can submit dispute evidence to Stripe"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="dispute_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return self.stripe_dispute_id


class DisputeEventKind(models.TextChoices):
    """Stripe's ``charge.dispute.*`` event types, and what staff and the shop did."""

    CREATED = "charge.dispute.created", _("Stripe: dispute created")
    UPDATED = "charge.dispute.updated", _("Stripe: dispute updated")
    CLOSED = "charge.dispute.closed", _("Stripe: dispute closed")
    FUNDS_WITHDRAWN = "charge.dispute.funds_withdrawn", _("Stripe: funds withdrawn")
    FUNDS_REINSTATED = "charge.dispute.funds_reinstated", _("Stripe: funds reinstated")
    OPENED_ACTIONS = "opened_actions", _("Opening actions")
    EVIDENCE_EDITED = "evidence_edited", _("Evidence edited")
    EVIDENCE_SUBMITTED = "evidence_submitted", _("Evidence submitted")


class DisputeEvent(AuditEvent):
    """One row per Stripe event applied (unique event id: a replay changes nothing)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")
    stripe_event_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # Stripe's event type as sent (``charge.dispute.*``; a type Stripe adds is kept as is).
    kind = models.CharField(_("kind"), max_length=64, choices=DisputeEventKind.choices)

    class Meta(AuditEvent.Meta):
        verbose_name = _("dispute event")
        verbose_name_plural = _("dispute events")

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.kind}"
