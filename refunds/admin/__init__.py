"""Staff work on claims and disputes in the Django admin: one module per admin page.

Importing this package registers the ModelAdmins (claims, evidence, disputes, canned
replies) with the admin site.
"""

from .canned_replies import CannedReplyAdmin
from .claims import ClaimAdmin
from .disputes import DisputeAdmin
from .evidence import EvidenceAdmin

__all__ = ["CannedReplyAdmin", "ClaimAdmin", "DisputeAdmin", "EvidenceAdmin"]
