"""Statements whose SQL the ORM builds once per process (core.prepared): the cached SQL is
the ORM's own, and its rows come back as the ORM returns them."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
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


# --- row_insert / row_update: one row written as Model.save() writes it --------------------


def _fields_of(obj, *, leave_out=("id", "idempotency_key")):
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in leave_out
    }


def test_a_row_inserted_is_the_row_save_inserts_with_its_id_and_dates_set():
    from core.prepared import row_insert

    fields = {"subject": "s", "recipients": ["a@example.com"], "context": {"order_email_id": 7},
              "headers": {"X-A": "1"}, "status": "pending", "attempts": 1,
              "next_attempt_at": timezone.now()}  # fmt: skip
    by_save = OutboundEmail(idempotency_key="by-save", **fields)
    by_save.save(force_insert=True)
    fast = OutboundEmail(idempotency_key="fast", **fields)
    before = timezone.now()
    row_insert(obj=fast)
    assert fast.pk is not None and fast.pk != by_save.pk
    assert not fast._state.adding and fast._state.db == "default"
    assert fast.created_at >= before  # auto_now_add, as save() sets it
    stored = OutboundEmail.objects.get(pk=fast.pk)
    assert _fields_of(stored, leave_out=("id", "idempotency_key", "created_at")) == _fields_of(
        OutboundEmail.objects.get(pk=by_save.pk),
        leave_out=("id", "idempotency_key", "created_at"),
    )
    assert stored.created_at == fast.created_at


def _comparable(statement):
    """(sql, params) with psycopg's JSON wrappers (compared by identity) read out."""
    sql, params = statement
    return sql, [("json", p.obj) if type(p).__name__ in ("Json", "Jsonb") else p for p in params]


def test_the_cached_insert_is_the_statement_the_orm_builds():
    from core.prepared import row_insert_sql_with_params

    message = OutboundEmail(idempotency_key="k", subject="s", recipients=["a@example.com"],
                            context={"x": 1}, next_attempt_at=timezone.now())  # fmt: skip
    message.created_at = timezone.now()
    cached, orm = row_insert_sql_with_params(obj=message)
    assert _comparable(cached) == _comparable(orm)
    alert = StaffAlert(kind="low_stock", subject="s", body="b", digest_id=7)
    alert.created_at = timezone.now()
    cached, orm = row_insert_sql_with_params(obj=alert)
    assert _comparable(cached) == _comparable(orm)


def test_a_clash_on_insert_raises_and_leaves_the_transaction_usable_in_a_savepoint():
    from django.db import IntegrityError

    from core.prepared import row_insert

    _message(idempotency_key="taken")
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(obj=OutboundEmail(idempotency_key="taken", subject="s", recipients=[]))
    assert OutboundEmail.objects.filter(idempotency_key="taken").count() == 1


def test_a_row_update_writes_only_the_fields_named_and_is_the_orms_statement():
    from core.prepared import row_update, row_update_sql_with_params

    message = _message(status="pending", attempts=0)
    OutboundEmail.objects.filter(pk=message.pk).update(body_text="changed elsewhere")
    message.last_error, message.attempts, message.body_text = "refused", 3, "not written"
    cached, orm = row_update_sql_with_params(obj=message, fields=["last_error", "attempts"])
    assert _comparable(cached) == _comparable(orm)
    with CaptureQueriesContext(connection) as queries:
        row_update(obj=message, fields=["attempts", "last_error", "last_error"])
    assert len(queries) == 1 and queries[0]["sql"].startswith("UPDATE")
    stored = OutboundEmail.objects.get(pk=message.pk)
    assert (stored.last_error, stored.attempts, stored.body_text) == (
        "refused",
        3,
        "changed elsewhere",
    )


def test_updating_a_row_that_is_gone_raises_as_save_does():
    from django.db import DatabaseError

    from core.prepared import row_update

    message = _message()
    OutboundEmail.objects.filter(pk=message.pk).delete()
    message.last_error = "gone"
    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic():
        row_update(obj=message, fields=["last_error"])


def test_an_expression_value_is_written_by_the_orm():
    from django.db.models import F

    from core.prepared import row_update

    message = _message(attempts=2)
    message.attempts = F("attempts") + 1
    row_update(obj=message, fields=["attempts"])
    assert OutboundEmail.objects.get(pk=message.pk).attempts == 3


def test_a_model_with_save_receivers_is_written_through_save():
    from django.db.models.signals import post_save, pre_save

    from core.prepared import row_insert, row_update

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append((kwargs.get("created"), kwargs.get("update_fields")))

    post_save.connect(receiver, sender=StaffAlert, weak=False, dispatch_uid="test-row-writes")
    try:
        alert = StaffAlert(kind="low_stock", subject="s", body="b", digest=_message())
        row_insert(obj=alert)
        alert.subject = "t"
        row_update(obj=alert, fields=["subject"])
    finally:
        post_save.disconnect(sender=StaffAlert, dispatch_uid="test-row-writes")
    assert seen == [(True, None), (False, frozenset({"subject"}))]
    assert not pre_save.has_listeners(StaffAlert)


def test_a_save_override_is_plain_only_where_the_class_defining_it_says_so():
    """A subclass that overrides save() again does not inherit its parent's declaration."""
    from django.db import models

    from core.prepared import _plain_save

    class Inserts(models.Model):
        plain_save_for = frozenset({"insert"})

        def save(self, *args, **kwargs):
            super().save(*args, **kwargs)

        class Meta:
            abstract = True
            app_label = "core"

    class Inherits(Inserts):
        class Meta:
            abstract = True
            app_label = "core"

    class Overrides(Inserts):
        def save(self, *args, **kwargs):  # something more on every write
            super().save(*args, **kwargs)

        class Meta:
            abstract = True
            app_label = "core"

    assert not _plain_save(Inserts, kind="update") and not _plain_save(Inherits, kind="update")
    assert not _plain_save(Overrides, kind="insert")
    assert not _plain_save(Overrides, kind="update")
