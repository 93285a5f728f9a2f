"""After real purchases, reveals and a replacement, no key code is readable anywhere in the
database: not in the key table, not in orders, emails, events, audit rows, sessions or
task records. The codes exist only as ciphertext (and in the emails that were sent)."""

import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection

from keys.models import Key
from keys.services import key_allocate_replacement
from tests.factories import ProductFactory, key_code_new, keys_create, order_delivered_new

pytestmark = pytest.mark.django_db(transaction=True)


def _database_text() -> str:
    """Every row of every table, as text (what a stolen backup would show)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - names from introspection
            chunks.append(repr(cursor.fetchall()))
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return "\n".join(chunks) + out.getvalue()


def test_the_whole_database_holds_no_plaintext_code_after_purchases(client, staff_user):
    product = ProductFactory(key_format=r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")
    codes = [key_code_new(product) for _ in range(4)]
    keys_create(product=product, count=4, codes=codes)

    order = order_delivered_new(product=product, email="alice@example.com", quantity=2)
    tracked = client.post("/orders/track/", {"number": order.number, "email": "alice@example.com"})
    page = client.get(tracked["Location"]).content.decode()
    shown = [code for code in codes if code in page]
    assert len(shown) == 2  # the customer really saw two codes on screen
    first = Key.objects.filter(order_line__order=order).first()
    assert key_allocate_replacement(failed_key=first, actor=staff_user, reason="invalid").ok
    assert any(code in m.body for m in mail.outbox for code in codes)  # emailed, as promised

    dump = _database_text()
    for code in codes:
        for spelling in {code, code.replace("-", ""), code.lower()}:
            assert spelling not in dump
