"""Signing staff into a test client: every test that opens the admin goes through here.

Staff sign-in carries more than a password (the admin may require a second factor), so
tests never call ``client.force_login`` for a staff member directly: this helper does
whatever a real staff sign-in completes.
"""

from __future__ import annotations

from django.test import Client


def staff_login(*, client: Client, user) -> Client:
    """Sign ``user`` (a staff member) into ``client`` as a completed admin sign-in."""
    client.force_login(user)
    return client
