"""Statements whose SQL the ORM builds once per process (core.prepared): the cached SQL is
the ORM's own, and its rows come back as the ORM returns them."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from core.models import OutboundEmail, StaffAlert
from core.prepared import PreparedQuery

pytestmark = pytest.mark.django_db

ALERTS_OF_KIND = PreparedQuery(
    name="test.alerts_of_kind",
    build=lambda *, kind, since: StaffAlert.objects.select_related("digest")
    .filter(kind=kind, created_at__gte=since)
    .order_by("id"),
    params={"kind": StaffAlert._meta.get_field("kind"),
            "since": StaffAlert._meta.get_field("created_at")},
)  # fmt: skip
MESSAGE_LOCKED = PreparedQuery(
    name="test.message_locked",
    build=lambda *, pk: OutboundEmail.objects.select_for_update().filter(pk=pk),
    params={"pk": OutboundEmail._meta.pk},
)
MESSAGE_COUNTS = PreparedQuery(
    name="test.message_counts",
    build=lambda *, status: OutboundEmail.objects.filter(status=status).values_list(
        "status", "attempts"
    ),
    params={"status": OutboundEmail._meta.get_field("status")},
)


def _message(**kw):
    fields = {"idempotency_key": f"k-{OutboundEmail.objects.count()}", "subject": "s",
              "recipients": ["a@example.com"], "context": {"order_email_id": 7}}  # fmt: skip
    return OutboundEmail.objects.create(**{**fields, **kw})


def test_the_cached_statement_is_the_sql_and_parameters_the_orm_builds():
    since = timezone.now() - timedelta(minutes=5)
    with transaction.atomic():  # FOR UPDATE is only compiled inside one
        for query, values in (
            (ALERTS_OF_KIND, {"kind": "low_stock", "since": since}),
            (MESSAGE_LOCKED, {"pk": 42}),
            (MESSAGE_COUNTS, {"status": "sent"}),
        ):
            assert query.sql_with_params(**values) == query.orm_sql_with_params(**values)
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in MESSAGE_LOCKED.sql_with_params(pk=1)[0]


def test_rows_come_back_as_the_orm_returns_them_with_their_related_objects(
    django_assert_num_queries,
):
    digest = _message(headers={"X-A": "1"})
    StaffAlert.objects.create(kind="low_stock", subject="one", body="b", digest=digest)
    StaffAlert.objects.create(kind="other", subject="two", body="b", digest=digest)
    since = timezone.now() - timedelta(minutes=5)
    expected = list(
        StaffAlert.objects.select_related("digest")
        .filter(kind="low_stock", created_at__gte=since)
        .order_by("id")
    )
    for _ in range(2):  # compiled on the first run, reused on the second
        found = ALERTS_OF_KIND.fetch(kind="low_stock", since=since)
        assert [a.pk for a in found] == [a.pk for a in expected]
        alert = found[0]
        for field in StaffAlert._meta.concrete_fields:
            assert getattr(alert, field.attname) == getattr(expected[0], field.attname)
        assert alert.created_at.tzinfo is not None  # converters applied (SQLite: a string)
        with django_assert_num_queries(0):
            assert alert.digest.headers == {"X-A": "1"}  # JSON decoded, no extra query
            assert alert.digest.recipients == ["a@example.com"]
        assert alert._state.adding is False and alert._state.db == "default"
    assert ALERTS_OF_KIND.fetch(kind="nothing", since=since) == []


def test_a_values_statement_returns_its_rows_as_tuples():
    _message(status="sent", attempts=2, sent_at=timezone.now())
    _message(status="pending")
    assert MESSAGE_COUNTS.fetch_values(status="sent") == [("sent", 2)]
    with pytest.raises(TypeError):
        MESSAGE_COUNTS.fetch(status="sent")


@pytest.mark.django_db(transaction=True)  # autocommit outside the atomic block below
def test_for_update_outside_a_transaction_is_refused_as_the_orm_refuses_it():
    message = _message()
    with transaction.atomic():
        assert [m.pk for m in MESSAGE_LOCKED.fetch(pk=message.pk)] == [message.pk]
    if connection.features.has_select_for_update:
        with pytest.raises(TransactionManagementError):
            MESSAGE_LOCKED.fetch(pk=message.pk)


def test_a_missing_or_unknown_value_is_refused():
    with pytest.raises(TypeError):
        MESSAGE_COUNTS.fetch_values()
    with pytest.raises(TypeError):
        MESSAGE_COUNTS.fetch_values(status="sent", attempts=1)


def test_a_builder_that_leaves_a_parameter_out_of_the_statement_is_refused():
    dropped = PreparedQuery(
        name="test.dropped",
        build=lambda *, status: OutboundEmail.objects.all(),
        params={"status": OutboundEmail._meta.get_field("status")},
    )
    with pytest.raises(ValueError, match="each parameter must appear in the statement"):
        dropped.fetch()


def test_a_prepared_update_is_the_orms_update_and_changes_the_rows_it_names():
    from core.outbox import _MARK_SENT

    now = timezone.now()
    assert _MARK_SENT.sql_with_params(pk=5, sent_at=now) == _MARK_SENT.orm_sql_with_params(
        pk=5, sent_at=now
    )
    leased = {"status": "sending", "attempts": 1, "lease_until": timezone.now()}
    message, other = _message(**leased), _message(status="pending")
    assert _MARK_SENT.run(pk=message.pk, sent_at=now) == 1
    message.refresh_from_db()
    assert (message.status, message.sent_at, message.lease_until) == ("sent", now, None)
    assert _MARK_SENT.run(pk=message.pk, sent_at=now) == 0  # already sent: not again
    other.refresh_from_db()
    assert other.status == "pending"
    with pytest.raises(TypeError):
        _MARK_SENT.run(pk=message.pk)
