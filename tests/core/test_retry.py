"""Retry spacing and the no-network-call-inside-a-transaction guard shared by the email
outbox and the outgoing webhooks."""

import pytest
from django.db import transaction

from core.retry import retry_backoff, transaction_require_none


@pytest.mark.parametrize(("attempts", "full"), [(1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)])
def test_backoff_doubles_up_to_its_cap_with_at_most_half_of_it_random(attempts, full):
    for _ in range(50):
        wait = retry_backoff(attempts=attempts, base_seconds=30, max_seconds=3600)
        assert full / 2 <= wait.total_seconds() <= full


def test_backoff_is_never_under_a_second():
    assert retry_backoff(attempts=1, base_seconds=0.1, max_seconds=10).total_seconds() == 1


@pytest.mark.django_db(transaction=True)
def test_a_network_call_inside_a_transaction_is_refused_and_outside_allowed():
    transaction_require_none(what="send")  # autocommit: allowed
    with transaction.atomic(), pytest.raises(RuntimeError, match="send: not inside"):
        transaction_require_none(what="send")
