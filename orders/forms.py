from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class CheckoutForm(forms.Form):
    """Billing details and consents. Prices are never part of this form."""

    billing_name = forms.CharField(label=_("Billing name"), max_length=200)
    email = forms.EmailField(label=_("Email address"), max_length=254)
    language = forms.ChoiceField(label=_("Language for your emails"), choices=())

    def __init__(self, *args, consents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [(code, _(name)) for code, name in settings.LANGUAGES]
        self.consents = list(consents)
        for consent in self.consents:
            # Never ticked in advance: the customer must tick each one themselves.
            self.fields[f"consent_{consent.kind}"] = forms.BooleanField(
                label=consent.wording,
                required=consent.required,
                initial=False,
                error_messages={"required": _("Please tick this box to continue.")},
            )

    def consent_fields(self):
        return [(c, self[f"consent_{c.kind}"]) for c in self.consents]

    def given_kinds(self) -> set[str]:
        return {c.kind for c in self.consents if self.cleaned_data.get(f"consent_{c.kind}")}


class TestCardForm(forms.Form):
    card_number = forms.CharField(label=_("Card number"), max_length=23)
    expiry = forms.CharField(label=_("Expiry (MM/YY)"), max_length=7, required=False)
    cvc = forms.CharField(label=_("CVC"), max_length=4, required=False)

    def clean_card_number(self):
        digits = "".join(ch for ch in self.cleaned_data["card_number"] if ch.isdigit())
        if len(digits) < 12:
            raise forms.ValidationError(_("Enter a card number."))
        return digits


class TrackForm(forms.Form):
    number = forms.CharField(label=_("Order number"), max_length=20)
    email = forms.EmailField(label=_("Billing email"), max_length=254)
