"""Reading a claim case from JSON (the ``decide_claim`` command and the claim form's API).

Every field of the contract is required (nullable ones may be ``null``) except the optional
``key_remedy`` (what the claimed key already received); keys the
contract does not define (``expect``, ``note``...) are ignored. Errors name the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .engine import KEY_REMEDIES, VERIFICATION_STATES, ClaimCase
from .rules import REASONS

TIMESTAMP_FIELDS = ("now", "purchased_at")
NULLABLE_TIMESTAMP_FIELDS = ("delivered_at", "first_viewed_at", "failed_at")
BOOL_FIELDS = ("activated", "replacement_in_stock", "support_exhausted")


class CaseError(ValueError):
    """A case that cannot be decided; ``str()`` is one line starting with the field name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _required(data: dict[str, Any], name: str) -> Any:
    if name not in data:
        raise CaseError(name, "required field is missing")
    return data[name]


def _timestamp(data: dict[str, Any], name: str, *, nullable: bool) -> datetime | None:
    value = _required(data, name)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        expected = "an ISO 8601 timestamp with a time zone" + (" or null" if nullable else "")
        raise CaseError(name, f"expected {expected}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CaseError(name, f"not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CaseError(name, f"timestamp has no time zone: {value!r}")
    return moment


def _bool(data: dict[str, Any], name: str) -> bool:
    value = _required(data, name)
    if not isinstance(value, bool):
        raise CaseError(name, "expected true or false")
    return value


def case_parse(data: Any) -> ClaimCase:
    """A ``ClaimCase`` from decoded JSON, or ``CaseError`` naming the first bad field."""
    if not isinstance(data, dict):
        raise CaseError("case", "expected a JSON object")
    reason = _required(data, "reason")
    if not isinstance(reason, str) or reason not in REASONS:
        raise CaseError("reason", f"unknown reason {reason!r}")
    verification = _required(data, "verification")
    if verification not in VERIFICATION_STATES:
        raise CaseError(
            "verification",
            f"expected one of {', '.join(VERIFICATION_STATES)}, got {verification!r}",
        )
    replacements = _required(data, "replacements_given")
    if isinstance(replacements, bool) or not isinstance(replacements, int) or replacements < 0:
        raise CaseError("replacements_given", "expected a non-negative integer")
    key_remedy = data.get("key_remedy") or ""  # optional: what the key already received
    if key_remedy not in KEY_REMEDIES:
        raise CaseError(
            "key_remedy", f"expected one of {', '.join(r for r in KEY_REMEDIES if r)} or null"
        )
    policy = data.get("policy")
    if policy is not None and not isinstance(policy, str):
        raise CaseError("policy", "expected a preset slug")
    # the checked timestamps and flags, by field name (Any: one dict for both kinds)
    fields: dict[str, Any] = {
        name: _timestamp(data, name, nullable=False) for name in TIMESTAMP_FIELDS
    }
    fields |= {name: _timestamp(data, name, nullable=True) for name in NULLABLE_TIMESTAMP_FIELDS}
    fields |= {name: _bool(data, name) for name in BOOL_FIELDS}
    return ClaimCase(
        reason=reason,
        verification=verification,
        replacements_given=replacements,
        policy=policy,
        key_remedy=key_remedy,
        **fields,
    )
