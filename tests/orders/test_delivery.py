"""Delivery after payment: holds, backorders, mail failures, the sweeper, cancellation."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.models import OutboundEmail
from core.outbox import outbox_send_due
from core.statemachine import TransitionNotAllowed
from keys.models import Key, KeyView
from orders import services
from orders.models import (
    ORDER_MACHINE,
    BlocklistEntry,
    FraudSettings,
    Order,
    OrderEmail,
    OrderEventKind,
    OrderRisk,
    OrderStatus,
    Refund,
)
from orders.services import payment_test_card_submit
from tests.factories import UserFactory, keys_create, order_new

pytestmark = pytest.mark.django_db(transaction=True)
GOOD, FRAUD = "4242424242424242", "4100000000000019"


def _pay(order, card=GOOD):
    payment_test_card_submit(session_id=order.gateway_session_id, card_number=card)
    order.refresh_from_db()
    return order


def _emails(order, kind=None):
    return [
        m
        for m in mail.outbox
        if order.number in m.subject
        and (kind is None or m.extra_headers.get("X-Order-Email") == kind)
    ]


def _staff(subject_part):
    return [m for m in mail.outbox if m.to == ["staff@keystore.test"] and subject_part in m.subject]


# --- holds -------------------------------------------------------------------------------


def test_fraud_card_holds_the_order_reserves_keys_and_shows_no_key(client, stocked):
    order = _pay(order_new(product=stocked, quantity=2), FRAUD)
    assert order.status == OrderStatus.ON_HOLD
    assert sorted(k.status for k in order.lines.get().keys.all()) == ["reserved", "reserved"]
    assert order.risk.hold_reasons == ["payment risk level highest"]
    session = client.session
    session["orders_access"] = {str(order.pk): "screen"}
    session.save()
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "Security check in progress" in page
    assert "data-key" not in page
    [held_mail] = _emails(order)
    assert held_mail.extra_headers["X-Order-Email"] == "hold"
    assert "Key:" not in held_mail.body


def test_staff_release_delivers_the_reserved_keys_at_once(stocked, staff_user):
    order = _pay(order_new(product=stocked), FRAUD)
    reserved = list(order.lines.get().keys.values_list("pk", flat=True))
    services.order_hold_release(order=order, actor=staff_user)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert list(order.lines.get().keys.values_list("pk", flat=True)) == reserved
    assert order.risk.released_by == staff_user
    assert len(_emails(order, "delivery")) == 1


def test_staff_cancel_of_a_hold_refunds_in_full_and_returns_keys_to_stock(stocked, staff_user):
    order = _pay(order_new(product=stocked), FRAUD)
    key = order.lines.get().keys.get()
    services.order_cancel(order=order, actor=staff_user, reason="stolen card")
    order.refresh_from_db()
    key.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    refund = Refund.objects.get(order=order)
    assert refund.amount == order.total and refund.status == "succeeded"
    assert order.refunded_total == order.total
    assert key.status == "available" and key.order_line_id is None
    assert len(_emails(order, "cancelled")) == 1


def test_blocklisted_domain_email_ip_and_card_are_held(stocked):
    services.blocklist_add(kind="email_domain", value="@Fraud.example", reason="chargebacks")
    by_domain = _pay(order_new(product=stocked, email="x@fraud.example"))
    services.blocklist_add(kind="ip", value="198.51.100.66")
    by_ip = _pay(order_new(product=stocked, email="ok@example.com", ip="198.51.100.66"))
    assert by_domain.status == by_ip.status == OrderStatus.ON_HOLD
    assert by_domain.risk.hold_reasons == ["blocklisted email_domain"]
    assert BlocklistEntry.objects.get(kind="email_domain").value == "fraud.example"


def test_first_order_above_the_threshold_is_held_but_not_a_returning_customers(stocked):
    FraudSettings.objects.update_or_create(
        id=1, defaults={"first_order_amount_threshold": Decimal("50.00")}
    )
    small = _pay(order_new(product=stocked, quantity=1, email="new@example.com"))
    big = _pay(order_new(product=stocked, quantity=2, email="new@example.com"))
    stranger = _pay(order_new(product=stocked, quantity=2, email="stranger@example.com"))
    assert small.status == OrderStatus.DELIVERED
    assert big.status == OrderStatus.DELIVERED  # not a first order any more
    assert stranger.status == OrderStatus.ON_HOLD
    assert stranger.risk.hold_reasons == ["first order above 50.00 EUR"]


def test_velocity_per_email_holds_the_order_over_the_limit(stocked):
    FraudSettings.objects.update_or_create(id=1, defaults={"velocity_max_per_email": 2})
    keys_create(product=stocked, count=3)
    statuses = [
        _pay(order_new(product=stocked, email="fast@example.com", ip=f"192.0.2.{i}")).status
        for i in range(3)
    ]
    assert statuses == ["delivered", "delivered", "on_hold"]


def test_velocity_per_email_counts_the_same_address_whatever_its_case(stocked):
    FraudSettings.objects.update_or_create(
        id=1, defaults={"velocity_max_per_email": 2, "velocity_max_per_card": 100}
    )
    keys_create(product=stocked, count=3)
    spellings = ["fast_1@example.com", "Fast_1@Example.com", "FAST_1@EXAMPLE.COM"]
    statuses = [
        _pay(order_new(product=stocked, email=email, ip=f"192.0.2.{i}")).status
        for i, email in enumerate(spellings)
    ]
    assert statuses == ["delivered", "delivered", "on_hold"]
    # "_" is no wildcard: another address that "_" would match is another customer
    keys_create(product=stocked, count=3)
    for i in range(2):
        _pay(order_new(product=stocked, email="slowxb@example.com", ip=f"192.0.2.{10 + i}"))
    other = _pay(order_new(product=stocked, email="slow_b@example.com", ip="192.0.2.20"))
    assert other.status == OrderStatus.DELIVERED, other.risk.hold_reasons


def test_velocity_per_ip_holds_the_order_over_the_limit(stocked):
    FraudSettings.objects.update_or_create(id=1, defaults={"velocity_max_per_ip": 2})
    keys_create(product=stocked, count=3)
    statuses = [
        _pay(order_new(product=stocked, email=f"buyer{i}@example.com", ip="203.0.113.7")).status
        for i in range(3)
    ]
    assert statuses == ["delivered", "delivered", "on_hold"]
    held = Order.objects.get(email="buyer2@example.com")
    assert held.risk.hold_reasons == ["3 paid orders from the same IP within 60 minutes"]


def test_velocity_per_card_fingerprint(stocked):
    FraudSettings.objects.update_or_create(id=1, defaults={"velocity_max_per_card": 1})
    first = _pay(order_new(product=stocked, email="a@example.com", ip="192.0.2.1"))
    second = _pay(order_new(product=stocked, email="b@example.com", ip="192.0.2.2"))
    assert first.status == OrderStatus.DELIVERED
    assert second.status == OrderStatus.ON_HOLD
    assert "same card" in second.risk.hold_reasons[0]


def test_stale_holds_alert_staff_once(stocked):
    order = _pay(order_new(product=stocked), FRAUD)
    OrderRisk.objects.filter(order=order).update(held_at=timezone.now() - timedelta(hours=3))
    assert services.orders_alert_stale_holds() == 1
    assert services.orders_alert_stale_holds() == 0
    [alert] = _staff("security hold")
    assert order.number in alert.body


# --- backorders --------------------------------------------------------------------------


def test_no_stock_after_payment_backorders_tells_customer_and_staff(win):
    order = _pay(order_new(product=win))
    assert order.status == OrderStatus.BACKORDERED
    assert len(_staff(f"Order {order.number} is waiting for stock")) == 1
    assert len(_emails(order, "backorder")) == 1
    assert order.backorder.deadline - order.backorder.since == timedelta(hours=72)


def test_a_backorder_is_delivered_by_the_sweeper_when_stock_arrives(win):
    order = _pay(order_new(product=win, quantity=2))
    keys_create(product=win, count=1)
    services.orders_sweep_undelivered(grace_seconds=0)
    order.refresh_from_db()
    assert order.status == OrderStatus.BACKORDERED  # all or nothing: one key is not enough
    assert not Key.objects.filter(order_line__order=order).exists()
    keys_create(product=win, count=1)
    services.orders_sweep_undelivered(grace_seconds=0)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.lines.get().keys.count() == 2
    assert len(_emails(order, "delivery")) == 1


def test_antimart_backorder_is_refunded_after_its_24_hour_deadline(win, antimart):
    order = _pay(order_new(product=win))
    assert order.backorder.deadline - order.backorder.since == timedelta(hours=24)
    assert services.orders_refund_overdue_backorders() == 0
    order.backorder.deadline = timezone.now() - timedelta(seconds=1)
    order.backorder.save(update_fields=["deadline"])
    assert services.orders_refund_overdue_backorders() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Refund.objects.get(order=order).status == "succeeded"
    assert services.orders_refund_overdue_backorders() == 0


def test_customer_can_cancel_a_backorder_but_not_a_delivered_order(client, win, antimart):
    backordered = _pay(order_new(product=win))
    keys_create(product=win, count=1)
    delivered = _pay(order_new(product=win, email="d@example.com"))
    assert delivered.status == OrderStatus.DELIVERED
    session = client.session
    session["orders_access"] = {str(backordered.pk): "screen", str(delivered.pk): "screen"}
    session.save()

    response = client.post(reverse("orders:cancel", args=[backordered.number]), follow=True)
    backordered.refresh_from_db()
    assert backordered.status == OrderStatus.CANCELLED
    assert "full amount is being refunded" in response.content.decode()

    response = client.post(reverse("orders:cancel", args=[delivered.number]), follow=True)
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.DELIVERED
    assert not Refund.objects.filter(order=delivered).exists()
    page = response.content.decode()
    assert 'href="/policies/' in page and "#clause-antimart." in page


def test_cancellation_refusal_cites_the_policy_clause(win, antimart):
    keys_create(product=win, count=1)
    order = _pay(order_new(product=win))
    with pytest.raises(services.CancellationRefused) as refused:
        services.order_cancel_request(order=order)
    assert refused.value.clause.startswith("antimart.")
    assert "#clause-antimart." in refused.value.clause_url


# --- mail failures and the sweeper ---------------------------------------------------------


def test_smtp_down_keeps_the_key_in_my_account_and_retries_until_sent(
    client, settings, stocked, monkeypatch
):
    user = UserFactory(email="ivy@example.com")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    order = _pay(order_new(product=stocked, email="ivy@example.com", user=user))
    assert order.status == OrderStatus.DELIVERED
    email = OrderEmail.objects.get(order=order, kind="delivery")
    assert email.status == "failed" and email.attempts == 1
    assert email.next_attempt_at > timezone.now()
    [message] = OutboundEmail.objects.filter(audience="customer")
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at > timezone.now() and "refused" in message.last_error

    client.force_login(user)
    dashboard = client.get(reverse("accounts:dashboard")).content.decode()
    assert "we keep retrying" in dashboard
    key = order.lines.get().keys.get()
    revealed = client.post(reverse("orders:key_reveal", args=[order.number, key.pk]))
    assert re.search(r"data-key>[^<]+" + key.last4, revealed.content.decode())

    # not yet due: the sweepers leave it alone
    services.orders_sweep_undelivered(grace_seconds=0)
    outbox_send_due()
    assert OutboundEmail.objects.get(pk=message.pk).attempts == 1
    # the mail server is back and the retry is due
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_send_due() == 1
    email.refresh_from_db()
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2
    assert email.status == "sent" and email.attempts == 2
    assert len(_emails(order, "delivery")) == 1
    assert key.last4 in _emails(order, "delivery")[0].body
    assert Key.objects.get(pk=key.pk).status == "delivered"
    assert outbox_send_due() == 0  # sent once


def test_a_failed_key_email_writes_no_email_view_until_a_server_accepts_it(settings, stocked):
    """Dispute evidence must not say a key was shown via email when no server took it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    order = _pay(order_new(product=stocked, quantity=2))
    keys = list(order.lines.get().keys.values_list("pk", flat=True))
    assert not KeyView.objects.filter(key_id__in=keys, channel="email").exists()
    message = OutboundEmail.objects.get(audience="customer")
    assert (message.status, message.attempts) == ("pending", 1)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    outbox_send_due()
    outbox_send_due()
    views = KeyView.objects.filter(key_id__in=keys, channel="email")
    assert sorted(views.values_list("key_id", flat=True)) == sorted(keys)  # once per key
    assert views.filter(guest_email=order.email).count() == 2
    assert len(_emails(order, "delivery")) == 1


def test_sweeper_redrives_a_paid_order_whose_task_was_lost(stocked):
    order = order_new(product=stocked)
    # as if the worker died before its delivery task ran: paid, nothing else
    services.order_transition(order=order, to_status=OrderStatus.PAID, reason="test")
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(minutes=5))
    services.orders_sweep_undelivered()
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    services.orders_sweep_undelivered(grace_seconds=0)  # running again changes nothing
    assert order.lines.get().keys.count() == 1
    assert len(_emails(order, "delivery")) == 1


def test_an_email_row_without_its_outbox_message_is_queued_by_the_sweeper(stocked):
    """A crash between writing a cancellation email row and queuing it (or a row from
    before the outbox) still ends in one sent email."""
    order = _pay(order_new(product=stocked))
    email = OrderEmail.objects.create(order=order, kind="cancelled")
    result = services.orders_sweep_undelivered(grace_seconds=0)
    assert result.emails == 1
    email.refresh_from_db()
    assert email.status == "sent" and len(_emails(order, "cancelled")) == 1
    assert services.orders_sweep_undelivered(grace_seconds=0).emails == 0


def test_delivery_email_is_in_the_customers_language(stocked):
    order = _pay(order_new(product=stocked, language="fr"))
    [message] = _emails(order, "delivery")
    assert 'lang="fr"' in message.alternatives[0][0]


def test_transition_table_refuses_illegal_moves(stocked):
    order = _pay(order_new(product=stocked))
    with pytest.raises(services.OrderTransitionError):
        services.order_transition(order=order, to_status=OrderStatus.PENDING)
    with pytest.raises(services.OrderTransitionError):
        services.order_transition(order=order, to_status=OrderStatus.ON_HOLD)
    assert services.order_transition(order=order, to_status=OrderStatus.DELIVERED) is False
    events = list(order.events.filter(kind="status").values_list("from_status", "to_status"))
    assert events == [("", "pending"), ("pending", "paid"), ("paid", "delivered")]


def test_a_refused_move_is_the_state_machines_refusal_with_both_statuses(stocked):
    order = _pay(order_new(product=stocked))
    with pytest.raises(TransitionNotAllowed) as refused:
        services.order_transition(order=order, to_status=OrderStatus.PENDING)
    assert (refused.value.from_status, refused.value.to_status) == ("delivered", "pending")
    assert str(refused.value) == f"order {order.number}: delivered -> pending is not allowed"
    assert set(ORDER_MACHINE.available_transitions(obj=order)) == {
        "partially_refunded", "refunded", "disputed"
    }  # fmt: skip


def test_every_order_event_kind_written_is_declared_and_refunds_carry_their_amount(stocked):
    order = _pay(order_new(product=stocked))
    services.order_refund(order=order, reason="claim", reference="CL-9")
    kinds = set(order.events.values_list("kind", flat=True))
    assert kinds <= set(OrderEventKind.values) and "refund" in kinds
    refund = order.refunds.get()
    facts = [e.data for e in order.events.filter(kind=OrderEventKind.REFUND)]
    assert {"refund_id": refund.pk, "amount": str(refund.amount), "currency": "EUR"} in facts
