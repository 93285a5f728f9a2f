"""``manage.py setup_shop``: the first run of a new shop, and safe to run again.

Sets the shop identity, loads and activates one of the shipped policy presets, and makes
the owner's account (a superuser who can sign in at once and is taken through TOTP
enrolment at the first admin sign-in). Interactive by default; with ``--no-input``
every value comes from the flags or, failing that, the environment (for automation)::

    SETUP_OWNER_PASSWORD=... python manage.py setup_shop --no-input \\
        --name "Clé Shop" --legal-name "Clé SAS" --support-email help@cle.example \\
        --country FR --preset allkeymasters --owner-email owner@cle.example
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import owner_account_ensure
from core.identity import (
    EDITABLE_FIELDS,
    SHOP_IDENTITY_REQUIRED,
    shop_identity_get,
    shop_identity_record_get,
    shop_identity_update,
)
from policies.rules import PresetError, preset_slugs_shipped
from policies.selectors import preset_active_record_get
from policies.services import preset_load

# identity field -> (flag, environment variable, prompt)
IDENTITY_INPUTS = {
    "name": ("--name", "SHOP_NAME", "Shop name (shown to customers)"),
    "legal_name": ("--legal-name", "SHOP_LEGAL_NAME", "Legal entity name (the seller)"),
    "address_line1": ("--address-line1", "SHOP_ADDRESS_LINE1", "Address line 1"),
    "address_line2": ("--address-line2", "SHOP_ADDRESS_LINE2", "Address line 2"),
    "postcode": ("--postcode", "SHOP_POSTCODE", "Postcode"),
    "city": ("--city", "SHOP_CITY", "City"),
    "country": ("--country", "SHOP_COUNTRY", "Country (ISO code, e.g. FR)"),
    "support_email": ("--support-email", "SHOP_SUPPORT_EMAIL", "Support email"),
    "support_phone": ("--support-phone", "SHOP_SUPPORT_PHONE", "Support phone"),
    "support_hours": ("--support-hours", "SHOP_SUPPORT_HOURS", "Support hours (free text)"),
    "vat_number": ("--vat-number", "SHOP_VAT_NUMBER", "VAT / tax number"),
    "company_number": ("--company-number", "SHOP_COMPANY_NUMBER", "Company registration no."),
    "invoice_prefix": ("--invoice-prefix", "SHOP_INVOICE_PREFIX", "Invoice series prefix"),
    "tax_regime": ("--tax-regime", "SHOP_TAX_REGIME", "Tax regime (none, eu_oss, national)"),
    "brand_color": ("--brand-color", "SHOP_BRAND_COLOR", "Brand colour (#rrggbb, blank: blue)"),
    "accent_color": ("--accent-color", "SHOP_ACCENT_COLOR", "Accent colour (#rrggbb)"),
}
assert set(IDENTITY_INPUTS) == set(EDITABLE_FIELDS)  # noqa: S101  (every field is asked)


class Command(BaseCommand):
    help = (
        "Set up a new shop: identity, active policy preset, owner account. Interactive, "
        "or --no-input with flags / environment variables (safe to run again)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="never prompt; take values from flags, then the environment",
        )
        for field, (flag, env, prompt) in IDENTITY_INPUTS.items():
            parser.add_argument(flag, dest=field, help=f"{prompt} (env {env})")
        parser.add_argument(
            "--preset",
            choices=preset_slugs_shipped(),
            help="policy preset to activate (env SHOP_POLICY_PRESET)",
        )
        parser.add_argument("--owner-email", help="owner's login (env SETUP_OWNER_EMAIL)")
        parser.add_argument(
            "--owner-password-env",
            default="SETUP_OWNER_PASSWORD",
            help="environment variable holding the owner's password (never a flag, so it "
            "stays out of shell history and process lists); default SETUP_OWNER_PASSWORD",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interactive: bool = options["interactive"]
        current = shop_identity_record_get()
        identity: dict[str, str] = {}
        for field, (flag, env, prompt) in IDENTITY_INPUTS.items():
            default = options[field] or os.environ.get(env, "") or getattr(current, field, "")
            required = field in SHOP_IDENTITY_REQUIRED
            if interactive:
                value = self._ask(prompt, default=default, required=required)
            else:
                value = default
                if required and not value:
                    raise CommandError(f"{flag} (or {env}) is required with --no-input")
            identity[field] = value or ("INV-" if field == "invoice_prefix" else "")
        try:
            shop_identity_update(**identity)
        except ValidationError as exc:
            raise CommandError(f"shop identity not saved: {_messages(exc)}") from None
        self.stdout.write(f"Shop identity saved: {identity['name']} ({identity['legal_name']}).")

        slug = self._preset(options, interactive=interactive)
        try:
            result = preset_load(slug=slug, activate=True)
        except PresetError as exc:
            raise CommandError(f"preset {slug!r} is invalid: {exc}") from None
        self.stdout.write(
            f"Policy preset {slug} is active ({result.documents_published} page version(s) "
            "published); checkout is open."
        )

        email = options["owner_email"] or os.environ.get("SETUP_OWNER_EMAIL", "")
        if interactive:
            email = self._ask("Owner's email (admin login)", default=email, required=True)
        elif not email:
            raise CommandError("--owner-email (or SETUP_OWNER_EMAIL) is required with --no-input")
        password = os.environ.get(options["owner_password_env"], "")
        if interactive and not password:
            password = self._ask_password(email)
        try:
            user, created = owner_account_ensure(email=email, password=password or None)
        except ValidationError as exc:
            raise CommandError(f"owner password refused: {_messages(exc)}") from None
        except ValueError:
            raise CommandError(
                f"a new owner account needs a password: set {options['owner_password_env']}"
            ) from None
        state = "created" if created else "updated"
        admin_url = settings.SITE_URL.rstrip("/") + "/admin/"
        self.stdout.write(self.style.SUCCESS(f"Owner account {state}: {user.email} (superuser)."))
        self.stdout.write(
            f"Next: sign in at {admin_url}. Staff cannot use the admin without a second "
            "factor, so the first time you will confirm your password and be taken through "
            "TOTP enrolment: scan the QR code with an authenticator app (Aegis, Google "
            "Authenticator, 1Password...), type the code it shows, and keep the recovery "
            "codes somewhere safe."
        )
        shown = shop_identity_get(use_cache=False)
        self.stdout.write(f"Customers will write to {shown.support_email}.")

    def _preset(self, options: dict[str, Any], *, interactive: bool) -> str:
        slugs = preset_slugs_shipped()
        active = preset_active_record_get()
        default = (
            options["preset"]
            or os.environ.get("SHOP_POLICY_PRESET", "")
            or (active.slug if active else "")
        )
        if interactive:
            self.stdout.write("Policy presets: " + ", ".join(slugs))
            while True:
                choice = self._ask("Preset to activate", default=default, required=True)
                if choice in slugs:
                    return choice
                self.stderr.write(f"Choose one of: {', '.join(slugs)}")
        if default not in slugs:
            raise CommandError(
                f"--preset (or SHOP_POLICY_PRESET) must be one of: {', '.join(slugs)}"
            )
        return default

    def _ask(self, prompt: str, *, default: str, required: bool) -> str:
        while True:
            suffix = f" [{default}]" if default else ""
            value = input(f"{prompt}{suffix}: ").strip() or default
            if value or not required:
                return value
            self.stderr.write("This one is required.")

    def _ask_password(self, email: str) -> str:
        while True:
            first = getpass.getpass(f"Password for {email} (empty keeps the current one): ")
            if not first:
                return ""
            if getpass.getpass("Password (again): ") == first:
                return first
            self.stderr.write("The passwords differ; try again.")


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)
