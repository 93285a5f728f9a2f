from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from pricing.countries import country_choices
from pricing.vat_numbers import vat_number_check


class CheckoutForm(forms.Form):
    """Billing details and consents. Prices are never part of this form."""

    billing_name = forms.CharField(label=_("Billing name"), max_length=200)
    email = forms.EmailField(label=_("Email address"), max_length=254)
    language = forms.ChoiceField(label=_("Language for your emails"), choices=())
    billing_country = forms.ChoiceField(
        label=_("Billing country"),
        choices=(),
        help_text=_("VAT is charged for the country you live in or your company is based."),
    )
    billing_company = forms.CharField(
        label=_("Company name (optional)"), max_length=200, required=False
    )
    vat_number = forms.CharField(
        label=_("EU VAT number (optional, businesses)"),
        max_length=40,
        required=False,
        help_text=_("With your country prefix, e.g. DE123456789."),
    )

    def __init__(self, *args, consents=(), country_required=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [(code, _(name)) for code, name in settings.LANGUAGES]
        countries = list(country_choices(language=translation.get_language() or "en"))
        self.fields["billing_country"].choices = [("", _("Choose your country")), *countries]
        self.fields["billing_country"].required = country_required
        self.consents = list(consents)
        for consent in self.consents:
            # Never ticked in advance: the customer must tick each one themselves.
            self.fields[f"consent_{consent.kind}"] = forms.BooleanField(
                label=consent.wording,
                required=consent.required,
                initial=False,
                error_messages={"required": _("Please tick this box to continue.")},
            )

    def clean(self):
        data = super().clean()
        number = (data.get("vat_number") or "").strip()
        if number:
            check = vat_number_check(number=number, country=data.get("billing_country") or "")
            if not check.valid:
                self.add_error("vat_number", check.error)
            else:
                data["vat_number"] = check.number
        return data

    def billing_fields(self):
        return [f for f in self if not f.name.startswith("consent_")]

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
