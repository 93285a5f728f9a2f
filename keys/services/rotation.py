"""Encryption key rotation and verification over the whole inventory (streamed by id)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from ..crypto import KeyDecryptionError, code_decrypt, token_is_current, token_rotate
from ..models import Key

logger = logging.getLogger(__name__)


@dataclass
class RotationResult:
    examined: int = 0
    rotated: int = 0
    already_current: int = 0
    failed: list[int] = field(default_factory=list)


@sensitive_variables()  # error reports never show a code
def _ciphertext_batches(*, batch_size: int):
    """Every key's (id, ciphertext), ``batch_size`` rows at a time in id order (bounded
    memory whatever the inventory size; rows added meanwhile are reached too)."""
    last_pk = 0
    while True:
        rows = list(
            Key.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "ciphertext")[:batch_size]
        )
        if not rows:
            return
        last_pk = rows[-1][0]
        yield rows


def key_encryption_rotate(*, batch_size: int = 1000, progress=None) -> RotationResult:
    """Re-encrypt every code under the newest key, ``batch_size`` rows per transaction.

    Walks keys by primary key; a code the newest key already decrypts is skipped, so an
    interrupted run simply starts again. Each row is updated only if its ciphertext is still
    the one read (a concurrent rotation cannot overwrite newer work). Unreadable codes are
    listed by id, never shown.
    """
    result = RotationResult()
    for rows in _ciphertext_batches(batch_size=batch_size):
        with transaction.atomic():
            for pk, token in rows:
                result.examined += 1
                if token_is_current(token):
                    result.already_current += 1
                    continue
                try:
                    new_token = token_rotate(token, key_id=pk)
                except KeyDecryptionError:
                    result.failed.append(pk)
                    continue
                result.rotated += Key.objects.filter(pk=pk, ciphertext=token).update(
                    ciphertext=new_token
                )
        if progress is not None:
            progress(result)
    logger.info(
        "key encryption rotation: %d examined, %d rotated, %d unreadable",
        result.examined,
        result.rotated,
        len(result.failed),
    )
    return result


@dataclass
class VerificationResult:
    examined: int = 0
    under_newest_key: int = 0
    under_older_key: int = 0
    failed: int = 0


@sensitive_variables()  # error reports never show a code
def key_encryption_verify(
    *, batch_size: int = 2000, on_failure=None, progress=None
) -> VerificationResult:
    """Decrypt every stored code with the configured KEY_ENCRYPTION_KEYS, changing nothing.

    Run it after restoring a backup or before removing an old key. Streams by primary key
    (``batch_size`` ids and ciphertexts in memory at a time, no plaintext kept); each
    unreadable key's id goes to ``on_failure`` as it is found, so memory stays bounded
    whatever the inventory size.
    """
    result = VerificationResult()
    for rows in _ciphertext_batches(batch_size=batch_size):
        for pk, token in rows:
            result.examined += 1
            if token_is_current(token):
                result.under_newest_key += 1
                continue
            try:
                code_decrypt(token, key_id=pk)
            except KeyDecryptionError:
                result.failed += 1
                if on_failure is not None:
                    on_failure(pk)
                continue
            result.under_older_key += 1
        if progress is not None:
            progress(result)
    logger.info(
        "key encryption verification: %d examined, %d unreadable",
        result.examined,
        result.failed,
    )
    return result
