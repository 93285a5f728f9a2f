"""Claim forms: parse and validate input; the decision and the writes are in services."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from .models import REASONS_WITHOUT_KEY, CannedReply, DeskDecision, Verification

if TYPE_CHECKING:
    from catalog.models import Product


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files in one input; each is checked by content in the view's service call."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleImageField, self).clean(item, initial) for item in items if item]


PREVIEW_SALT = "refunds.claim-preview"


def preview_signature(*, item: str, reason: str, failed_at) -> str:
    return signing.dumps(
        [item, reason, failed_at.isoformat() if failed_at else ""], salt=PREVIEW_SALT
    )


def preview_matches(*, token: str, item: str, reason: str, failed_at) -> bool:
    try:
        value = signing.loads(token, salt=PREVIEW_SALT, max_age=3600)
    except signing.BadSignature:
        return False
    return value == [item, reason, failed_at.isoformat() if failed_at else ""]


class ClaimForm(forms.Form):
    item = forms.ChoiceField(
        label=_("Which key or product?"),
        help_text=_("Pick the key that fails, or the product if the key never arrived."),
    )
    reason = forms.ChoiceField(
        label=_("What went wrong?"),
        widget=forms.RadioSelect,
        help_text=_(
            "Only the reasons that apply to this order now are listed; the others are explained below."
        ),
    )
    failed_at = forms.DateTimeField(
        label=_("When did it fail?"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    description = forms.CharField(
        label=_("Describe the problem"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
        help_text=_("What you did, and the error message you saw (you can copy it here)."),
    )
    screenshots = MultipleImageField(
        label=_("Screenshots"),
        help_text=_("PNG, JPEG or WebP images, up to 5 MB each."),
        widget=MultipleFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    evidence_ids = forms.CharField(required=False, widget=forms.HiddenInput)
    preview_token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, items, reasons, tz_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        item, reason = self.fields["item"], self.fields["reason"]
        assert isinstance(item, forms.ChoiceField) and isinstance(reason, forms.ChoiceField)
        item.choices = [("", _("Choose…")), *items]
        reason.choices = [(r.code, r.label) for r in reasons if r.covered]
        self.fields["failed_at"].help_text = _(
            "Date and time in the %(tz)s time zone, if you know it."
        ) % {"tz": tz_name}
        self.reasons = {r.code: r for r in reasons}

    def clean_evidence_ids(self) -> list[int]:
        raw = self.cleaned_data.get("evidence_ids") or ""
        ids = []
        for part in raw.split(","):
            part = part.strip()
            if part.isdigit():
                ids.append(int(part))
        return ids

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns
        item = cleaned.get("item") or ""
        reason = cleaned.get("reason")
        if reason and item.startswith("line-") and reason not in REASONS_WITHOUT_KEY:
            self.add_error("item", _("Please choose the key that does not work."))
        return cleaned


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000
    )
    screenshots = MultipleImageField(
        label=_("Screenshots"),
        help_text=_("PNG, JPEG or WebP images, up to 5 MB each."),
        widget=MultipleFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )


# --- staff (admin) -------------------------------------------------------------------------


class VerificationForm(forms.Form):
    result = forms.ChoiceField(
        label=_("Result of the check with the issuer"), choices=Verification.choices
    )
    activated = forms.BooleanField(
        label=_("The key had been activated successfully"), required=False
    )
    support_exhausted = forms.BooleanField(
        label=_("Troubleshooting was tried and could not fix it"), required=False
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class InfoRequestForm(forms.Form):
    body = forms.CharField(
        label=_("What do you need from the customer?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        initial=_(
            "Please send a screenshot of the error message and the key exactly as you entered it."
        ),
    )


class StaffMessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message to the customer"), widget=forms.Textarea(attrs={"rows": 4})
    )


class DecisionNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note (internal)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount to refund"), min_value=0.01, decimal_places=2)
    note = forms.CharField(
        label=_("Note (internal)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExchangeForm(forms.Form):
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        label=_("Product the customer meant to buy"), queryset=None
    )
    note = forms.CharField(
        label=_("Note (internal)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        assert isinstance(product, forms.ModelChoiceField)  # declared above
        product.queryset = products


class RejectForm(forms.Form):
    clause = forms.CharField(label=_("Clause cited"), max_length=80)
    explanation = forms.CharField(
        label=_("Explanation for the customer"), widget=forms.Textarea(attrs={"rows": 3})
    )


class DisputeEvidenceForm(forms.Form):
    """The assembled text evidence, editable before submission."""

    def __init__(self, *args, fields: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        for name in fields:
            self.fields[name] = forms.CharField(
                label=name.replace("_", " ").capitalize(),
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )


class DecisionForm(forms.Form):
    """The claim desk: the verification facts, one decision, its note, amount or product,
    and the reply to the customer, posted once."""

    decision = forms.ChoiceField(
        label=_("Decision"), choices=DeskDecision.choices, widget=forms.RadioSelect
    )
    verification = forms.ChoiceField(
        label=_("Issuer check"), choices=Verification.choices, required=False
    )
    activated = forms.BooleanField(label=_("Activated successfully"), required=False)
    support_exhausted = forms.BooleanField(label=_("Troubleshooting failed"), required=False)
    amount = forms.DecimalField(
        label=_("Refund amount"), min_value=Decimal("0.01"), decimal_places=2, required=False
    )
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        label=_("Exchange for"), queryset=None, required=False
    )
    clause = forms.CharField(label=_("Clause cited"), max_length=80, required=False)
    canned: forms.ModelChoiceField[CannedReply] = forms.ModelChoiceField(
        label=_("Canned reply"), queryset=None, required=False, empty_label=_("— none —")
    )
    reply = forms.CharField(
        label=_("Reply to the customer"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    note = forms.CharField(
        label=_("Internal note (required when you differ from the recommendation)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, products, canned_replies, **kwargs):
        super().__init__(*args, **kwargs)
        product, canned = self.fields["product"], self.fields["canned"]
        assert isinstance(product, forms.ModelChoiceField)  # both declared above
        assert isinstance(canned, forms.ModelChoiceField)
        product.queryset = products
        canned.queryset = canned_replies
        # Picking one fills the reply from the page's JSON (static/js/admin-desk.js); a post
        # without the script still sends the choice, and an empty reply takes its text.
        self.fields["canned"].widget.attrs["data-fill"] = "id_reply"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns
        decision = data.get("decision")
        if data.get("canned") and not data.get("reply"):
            data["reply"] = data["canned"].body
        needs = {
            DeskDecision.VERIFY: ("verification", _("Choose the result of the issuer check.")),
            DeskDecision.REFUND: ("amount", _("Enter the amount to refund.")),
            DeskDecision.EXCHANGE: ("product", _("Choose the product to exchange for.")),
            DeskDecision.REQUEST_INFO: ("reply", _("Write what you need from the customer.")),
            DeskDecision.MESSAGE: ("reply", _("Write the reply.")),
        }
        if decision in needs:
            field, message = needs[decision]
            if not data.get(field):
                self.add_error(field, message)
        return data
