"""Fail closed: the configuration a live shop must have, as named system checks.

In production and staging (``KEYSTORE_ENV``) every check below is an error, so
``manage.py check`` (and ``check --deploy``), ``migrate``, gunicorn (``config.wsgi``)
and the Celery worker and beat (``config.celery``) all refuse to start, each error
naming what to fix. In development and tests they stay silent.

- ``keystore.E001`` the test payment gateway in production (staging may use it, only when
  ``PAYMENT_GATEWAY=test`` is set explicitly; every page then says so);
- ``keystore.E002``–``E004`` a Stripe secret key, publishable key or webhook secret missing
  or malformed;
- ``keystore.E005`` an unknown payment gateway;
- ``keystore.E006`` ``SECRET_KEY`` short, repetitive or a placeholder;
- ``keystore.E007`` a key in ``KEY_ENCRYPTION_KEYS`` that is not a Fernet key, or a
  published (test) key;
- ``keystore.E008`` ``KEY_FINGERPRINT_SECRET`` short, repetitive or a placeholder.
"""

from __future__ import annotations

import re

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

HARDENED_ENVS = ("production", "staging")
SECRET_KEY_MIN_LENGTH = 50
FINGERPRINT_SECRET_MIN_LENGTH = 32
MIN_UNIQUE_CHARACTERS = 10
# Words that mark a value someone meant to replace (compared without punctuation/case).
PLACEHOLDER_WORDS = (
    "changeme",
    "replaceme",
    "placeholder",
    "yoursecret",
    "secretkey",
    "example",
    "notforproduction",
    "insecure",
    "dummy",
    "fillme",
    "todo",
    "xxxx",
)
STRIPE_PREFIXES = {
    "STRIPE_SECRET_KEY": ("sk_", "rk_"),
    "STRIPE_PUBLISHABLE_KEY": ("pk_",),
    "STRIPE_WEBHOOK_SECRET": ("whsec_",),
}
STRIPE_CHECK_IDS = {
    "STRIPE_SECRET_KEY": "keystore.E002",
    "STRIPE_PUBLISHABLE_KEY": "keystore.E003",
    "STRIPE_WEBHOOK_SECRET": "keystore.E004",
}


def hardened() -> bool:
    return getattr(settings, "KEYSTORE_ENV", "development") in HARDENED_ENVS


def secret_weakness(*, value: str, min_length: int) -> str | None:
    """Why ``value`` is not a usable secret (None when it is)."""
    if len(value) < min_length:
        return f"it is {len(value)} characters long; use at least {min_length}"
    if len(set(value)) < MIN_UNIQUE_CHARACTERS:
        return "it repeats too few characters to be random"
    squashed = re.sub(r"[^a-z0-9]", "", value.lower())
    for word in PLACEHOLDER_WORDS:
        if word in squashed:
            return f"it looks like a placeholder (contains {word!r})"
    if value in getattr(settings, "TEST_SECRETS", {}).values():
        return "it is the published test secret"
    return None


def _generate_hint(kind: str) -> str:
    if kind == "fernet":
        return (
            'generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    return 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'


@checks.register("keystore")
def check_payment_gateway(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not hardened():
        return []
    gateway = settings.PAYMENT_GATEWAY
    if gateway == "test":
        if settings.KEYSTORE_ENV == "production":
            return [
                checks.Error(
                    "The test payment gateway is active in production: anyone could take keys "
                    "with a test card.",
                    hint="Set STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and "
                    "STRIPE_WEBHOOK_SECRET, and remove PAYMENT_GATEWAY=test "
                    "(use KEYSTORE_ENV=staging for a test shop).",
                    id="keystore.E001",
                )
            ]
        if not getattr(settings, "PAYMENT_GATEWAY_EXPLICIT", False):
            return [
                checks.Error(
                    "Staging uses the test payment gateway only when asked for explicitly.",
                    hint="Set PAYMENT_GATEWAY=test, or configure the Stripe keys.",
                    id="keystore.E001",
                )
            ]
        return []
    if gateway != "stripe":
        return [
            checks.Error(
                f"Unknown payment gateway {gateway!r}.",
                hint="Set PAYMENT_GATEWAY=stripe (or leave it unset).",
                id="keystore.E005",
            )
        ]
    errors: list[checks.CheckMessage] = []
    for name, prefixes in STRIPE_PREFIXES.items():
        value = getattr(settings, name, None) or ""
        if not value:
            errors.append(
                checks.Error(
                    f"{name} is missing: the Stripe gateway cannot take payments without it.",
                    hint=f"Set {name} from the Stripe dashboard (Developers > API keys / "
                    "Webhooks).",
                    id=STRIPE_CHECK_IDS[name],
                )
            )
        elif not value.startswith(prefixes):
            errors.append(
                checks.Error(
                    f"{name} does not look like a Stripe value (expected it to start with "
                    f"{' or '.join(prefixes)}).",
                    hint=f"Copy {name} again from the Stripe dashboard.",
                    id=STRIPE_CHECK_IDS[name],
                )
            )
    return errors


@checks.register("keystore")
def check_secrets(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not hardened():
        return []
    errors: list[checks.CheckMessage] = []
    why = secret_weakness(value=settings.SECRET_KEY or "", min_length=SECRET_KEY_MIN_LENGTH)
    if why:
        errors.append(
            checks.Error(
                f"SECRET_KEY is not a usable secret: {why}.",
                hint=_generate_hint("token"),
                id="keystore.E006",
            )
        )
    keys = list(settings.KEY_ENCRYPTION_KEYS or [])
    if not keys:
        errors.append(
            checks.Error(
                "KEY_ENCRYPTION_KEYS is empty: key codes cannot be encrypted.",
                hint=_generate_hint("fernet"),
                id="keystore.E007",
            )
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                checks.Error(
                    f"KEY_ENCRYPTION_KEYS entry {position} of {len(keys)} is not a valid "
                    "Fernet key (32 url-safe base64-encoded bytes).",
                    hint=_generate_hint("fernet"),
                    id="keystore.E007",
                )
            )
            continue
        if key in getattr(settings, "TEST_SECRETS", {}).values():
            errors.append(
                checks.Error(
                    f"KEY_ENCRYPTION_KEYS entry {position} of {len(keys)} is the published "
                    "test key: anyone could decrypt the inventory.",
                    hint=_generate_hint("fernet"),
                    id="keystore.E007",
                )
            )
    why = secret_weakness(
        value=settings.KEY_FINGERPRINT_SECRET or "", min_length=FINGERPRINT_SECRET_MIN_LENGTH
    )
    if why:
        errors.append(
            checks.Error(
                f"KEY_FINGERPRINT_SECRET is not a usable secret: {why}.",
                hint=_generate_hint("token")
                + " (set it once: changing it breaks duplicate detection of imported codes)",
                id="keystore.E008",
            )
        )
    return errors


def startup_checks_run() -> None:
    """Refuse to start a hardened process (gunicorn, Celery) whose configuration fails a
    system check: raise ImproperlyConfigured listing every error with its id."""
    if not hardened():
        return
    silenced = set(getattr(settings, "SILENCED_SYSTEM_CHECKS", []))
    serious = [
        message
        for message in checks.run_checks(include_deployment_checks=False)
        if message.is_serious() and message.id not in silenced
    ]
    if serious:
        raise ImproperlyConfigured(
            f"Refusing to start ({settings.KEYSTORE_ENV}): the configuration fails "
            f"{len(serious)} system check(s):\n" + "\n".join(str(m) for m in serious)
        )
