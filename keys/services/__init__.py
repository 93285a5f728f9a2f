"""Key inventory writes, one module per concern (see docs/INTERFACES.md for signatures).

* :mod:`.transitions` the status machine (every status change, one KeyEvent each)
* :mod:`.allocation` selling keys to an order line, replacements
* :mod:`.revocation` withdrawing sold keys (refunds, disputes, cancellations)
* :mod:`.reveal` decrypting a code for someone, and the KeyView audit
* :mod:`.batches` quarantine and the supplier defect rate
* :mod:`.stock` low-stock alerts; :mod:`.stock_schedule` when the check runs
* :mod:`.importing` (+ :mod:`.import_pipeline`) CSV/text import, streaming
* :mod:`.rotation` encryption key rotation and verification

Callers import from here: ``from keys.services import key_allocate``.
"""

from .allocation import AllocationResult, key_allocate, key_allocate_replacement
from .batches import batch_defect_check, batch_quarantine, batch_quarantine_lift
from .importing import (
    IMPORT_CHUNK,
    IMPORT_PREPARE_AHEAD,
    MAX_REPORTED_LINES,
    ImportLineError,
    ImportReport,
    batch_create_and_import,
    key_import,
)
from .reveal import (
    KeyNotRevealable,
    key_code_for_email,
    key_codes_for_order_email,
    key_reveal,
    key_unreadable_report,
    key_view_record,
    key_views_record_email,
)
from .revocation import RevokeResult, key_revoke_for_order, key_revoke_with_replacements
from .rotation import (
    RotationResult,
    VerificationResult,
    key_encryption_rotate,
    key_encryption_verify,
)
from .stock import stock_alert_check
from .stock_schedule import STOCK_CHECK_WINDOW_SECONDS
from .transitions import (
    HELD_STATUSES,
    KeyAlreadyWithdrawn,
    KeyTransitionError,
    key_mark_defective,
    key_release,
    key_transition,
)

__all__ = [
    "HELD_STATUSES",
    "IMPORT_CHUNK",
    "IMPORT_PREPARE_AHEAD",
    "MAX_REPORTED_LINES",
    "STOCK_CHECK_WINDOW_SECONDS",
    "AllocationResult",
    "ImportLineError",
    "ImportReport",
    "KeyAlreadyWithdrawn",
    "KeyNotRevealable",
    "KeyTransitionError",
    "RevokeResult",
    "RotationResult",
    "VerificationResult",
    "batch_create_and_import",
    "batch_defect_check",
    "batch_quarantine",
    "batch_quarantine_lift",
    "key_allocate",
    "key_allocate_replacement",
    "key_code_for_email",
    "key_codes_for_order_email",
    "key_encryption_rotate",
    "key_encryption_verify",
    "key_import",
    "key_mark_defective",
    "key_release",
    "key_reveal",
    "key_revoke_for_order",
    "key_revoke_with_replacements",
    "key_transition",
    "key_unreadable_report",
    "key_view_record",
    "key_views_record_email",
    "stock_alert_check",
]
