"""Key codes at rest: encryption, fingerprints, masking.

* **Encryption**: a `MultiFernet` over ``settings.KEY_ENCRYPTION_KEYS`` (newest first). New
  codes are encrypted under the newest key; any listed key decrypts. Rotate by prepending a
  new key and running ``manage.py rotate_key_encryption``, then drop the old key.
* **Fingerprint**: ``HMAC-SHA256(settings.KEY_FINGERPRINT_SECRET, normalized code)`` as 64
  hex characters, for duplicate detection without decrypting anything. A keyed hash (not a
  bare SHA-256) so that a leaked database cannot be brute-forced against known code formats.
* **Normalization** (fingerprint only): upper case, with every whitespace character and
  every dash removed. ``abcde-12345`` and ``ABCDE 12345`` are the same code: suppliers send
  the same key in different spellings, and mistaking two different codes for one is a
  harmless import rejection, while mistaking one code for two sells it twice. The code
  that is stored and delivered is the supplier's own spelling, trimmed.

Nothing here logs, caches or returns a plaintext code except :func:`code_decrypt`, whose
only caller is ``keys.services.key_reveal`` (which audits every call).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FINGERPRINT_LENGTH = 64  # hex characters of a SHA-256 HMAC
_STRIP = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014\u2212")


class KeyDecryptionError(Exception):
    """A stored code cannot be decrypted with any configured key (tampered, or key missing).

    The message names the key id only: never the ciphertext, never a partial plaintext.
    """

    def __init__(self, *, key_id: int | None = None):
        self.key_id = key_id
        label = f"key #{key_id}" if key_id is not None else "a key"
        super().__init__(
            f"The code of {label} cannot be decrypted: its stored ciphertext was altered or "
            "it was encrypted with a key that is no longer in KEY_ENCRYPTION_KEYS."
        )


@lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise ImproperlyConfigured("KEY_ENCRYPTION_KEYS is empty: at least one Fernet key")
    try:
        fernets = [Fernet(k.encode()) for k in keys]
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "KEY_ENCRYPTION_KEYS must be url-safe base64 Fernet keys (32 bytes), comma-separated"
        )
    return MultiFernet(fernets), fernets[0]


def _keyring() -> tuple[MultiFernet, Fernet]:
    return _fernets(tuple(settings.KEY_ENCRYPTION_KEYS))


@lru_cache(maxsize=4)
def _hmac_base(secret: str) -> hmac.HMAC:
    """A keyed HMAC to copy per code (the key schedule is done once)."""
    if not secret:
        raise ImproperlyConfigured("KEY_FINGERPRINT_SECRET is empty")
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def code_clean(code: str) -> str:
    """The code as stored and delivered: the supplier's spelling, surrounding space trimmed."""
    return code.strip()


def code_normalize(code: str) -> str:
    """The spelling-insensitive form the fingerprint is computed from (see module docs)."""
    return "".join(code.translate(_STRIP).split()).upper()


def code_fingerprint(code: str) -> str:
    return code_digest(code)[0]


def code_digest(code: str) -> tuple[str, str]:
    """(fingerprint, last4) of a code, normalizing it once."""
    normal = code_normalize(code)
    mac = _hmac_base(settings.KEY_FINGERPRINT_SECRET).copy()
    mac.update(normal.encode())
    return mac.hexdigest(), normal[-4:]


def code_last4(code: str) -> str:
    """The last four characters of the normalized code: all the admin ever shows."""
    return code_normalize(code)[-4:]


def code_mask(last4: str) -> str:
    return f"•••• {last4}" if last4 else "••••"


def code_encrypt(code: str) -> str:
    """A Fernet token (ASCII) under the newest key."""
    return code_encryptor()(code)


def code_encryptor() -> Callable[[str], str]:
    """``code_encrypt`` with the keyring looked up once, for bulk use (the import)."""
    _multi, newest = _keyring()  # MultiFernet.encrypt uses the newest key: skip a layer
    encrypt = newest.encrypt

    def seal(code: str) -> str:
        return encrypt(code.encode()).decode("ascii")

    return seal


def code_decrypt(token: str | bytes, *, key_id: int | None = None) -> str:
    multi, _newest = _keyring()
    raw = token.encode("ascii", "replace") if isinstance(token, str) else bytes(token)
    try:
        return multi.decrypt(raw).decode()
    except (InvalidToken, UnicodeDecodeError):
        raise KeyDecryptionError(key_id=key_id) from None


def token_is_current(token: str) -> bool:
    """Whether the newest key alone decrypts this token (rotation already done)."""
    _multi, newest = _keyring()
    try:
        newest.decrypt(token.encode("ascii", "replace"))
    except InvalidToken:
        return False
    return True


def token_rotate(token: str, *, key_id: int | None = None) -> str:
    """The same code re-encrypted under the newest key."""
    multi, _newest = _keyring()
    try:
        return multi.rotate(token.encode("ascii", "replace")).decode("ascii")
    except InvalidToken:
        raise KeyDecryptionError(key_id=key_id) from None
