"""Two staff members clicking the same button at once, and two browsers filing the same
claim at once: the database decides, once (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from keys.models import Key
from refunds.models import Claim
from refunds.services import ClaimError, claim_approve_replacement
from tests.factories import claim_new

from .conftest import preset_activate, staff_with

pytestmark = pytest.mark.postgres


def run_together(*calls):
    """Start every call at the same moment in its own thread (own DB connection)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def runner(i, call):
        try:
            barrier.wait()
            results[i] = ("ok", call())
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_agents_approving_the_same_replacement_send_one_key(transactional_db, delivered):
    preset_activate("windowskeymart")
    order, key = delivered
    claim = claim_new(order=order, key=key)
    a = staff_with("decide_claim", email="a@example.com")
    b = staff_with("decide_claim", email="b@example.com")
    results = run_together(
        lambda: claim_approve_replacement(claim=Claim.objects.get(pk=claim.pk), actor=a),
        lambda: claim_approve_replacement(claim=Claim.objects.get(pk=claim.pk), actor=b),
    )
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["error", "ok"], results
    assert all(isinstance(r[1], ClaimError) for r in results if r[0] == "error")
    assert Key.objects.filter(replaces=key).count() == 1
    claim.refresh_from_db()
    assert claim.status == "approved"
    assert claim.events.filter(to_status="approved").count() == 1


def test_two_tabs_filing_a_claim_for_the_same_key_make_one_claim(transactional_db, delivered):
    preset_activate("novakeys")
    order, key = delivered
    results = run_together(
        lambda: claim_new(order=order, key=key),
        lambda: claim_new(order=order, key=key),
        lambda: claim_new(order=order, key=key),
    )
    assert sorted(r[0] for r in results) == ["error", "error", "ok"], results
    assert all(isinstance(r[1], ClaimError) for r in results if r[0] == "error"), results
    assert Claim.objects.filter(key=key).count() == 1
