"""Invoice numbers stay gap-free and unique when many payments land at once (PostgreSQL,
real threads and connections): 24 orders paid together get numbers 1..24, each once, and a
second issue racing the first never makes a second invoice."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from invoices.models import DocumentSequence, Invoice
from invoices.services import invoice_issue
from orders.services import payment_test_card_submit
from tests.factories import keys_create

from .conftest import CARD_OK, order_taxed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 24


def _run_together(n, work):
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait(timeout=60)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_payments_get_gap_free_unique_invoice_numbers(antimart, shop_fr, win):
    keys_create(product=win, count=THREADS)
    orders = [
        order_taxed(
            products=[win],
            regime="eu_oss",
            treatment="domestic",
            rate="20.00",
            country="FR",
            email=f"buyer{i}@example.com",
        )  # fmt: skip
        for i in range(THREADS)
    ]

    def pay_then_issue_again(i):
        order = orders[i]
        payment_test_card_submit(session_id=order.gateway_session_id, card_number=CARD_OK)
        return invoice_issue(order_id=order.pk).number  # races the hook's own issue

    numbers = _run_together(THREADS, pay_then_issue_again)

    assert sorted(numbers) == list(range(1, THREADS + 1))
    stored = sorted(Invoice.objects.values_list("number", flat=True))
    assert stored == list(range(1, THREADS + 1))
    assert Invoice.objects.values("order").distinct().count() == THREADS
    sequence = DocumentSequence.objects.get(series=Invoice.objects.first().series)
    assert sequence.next_number == THREADS + 1
