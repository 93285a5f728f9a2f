"""Reading settings from the environment (12-factor), with local development secrets.

In development, missing secrets are generated once into ``var/secrets.json`` (ignored by
git) so a fresh clone runs with one command. In production a missing secret stops the
process at start-up with a message naming the variable.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value else default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if not value:
        return default
    return value.strip().lower() in TRUE_VALUES


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}")


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def _new_fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


GENERATORS = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "KEY_ENCRYPTION_KEYS": _new_fernet_key,
    "KEY_FINGERPRINT_SECRET": lambda: secrets.token_urlsafe(32),
}


def load_secrets(*, production: bool, var_dir: Path, fixed: dict[str, str] | None = None) -> dict:
    """Return the secrets from the environment; fill gaps from var/secrets.json in development."""
    found = {name: env_str(name) for name in GENERATORS}
    missing = [name for name, value in found.items() if not value]
    if not missing:
        return found
    if production:
        raise ImproperlyConfigured(
            "Missing required secret(s) in the environment: " + ", ".join(missing)
        )
    if fixed:
        return {name: found[name] or fixed[name] for name in GENERATORS}
    path = var_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    changed = False
    for name in missing:
        if not stored.get(name):
            stored[name] = GENERATORS[name]()
            changed = True
    if changed:
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle, indent=2)
    return {name: found[name] or stored[name] for name in GENERATORS}
