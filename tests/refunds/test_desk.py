"""The claims desk: the list's recommendation from a fixed number of queries, the one-post
decision panel, "save and next" in queue order, assignment, canned replies, bulk actions."""

import re
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from keys.services import key_reveal
from refunds.admin import claim_lists
from refunds.models import CannedReply, Claim, ClaimMessage
from refunds.selectors import claim_queue_next, claim_recommendation_get
from refunds.services import claim_approve_replacement, claim_reject, claim_verification_record
from tests.factories import claim_new, keys_create, order_delivered_new
from tests.staff import staff_login
from tests.staff_perms import admin_log

from .conftest import preset_activate, staff_with

CLAIMS = reverse("admin:refunds_claim_changelist")


def _decide_url(claim):
    return reverse("admin:refunds_claim_decide", args=[claim.pk])


def _page(claim):
    return reverse("admin:refunds_claim_change", args=[claim.pk])


def _claims(product, customer, count: int) -> list[Claim]:
    """``count`` open claims, one per delivered key, orders of up to 5 keys (a key viewed
    now and then)."""
    from orders.models import FraudSettings

    FraudSettings.objects.update_or_create(id=1, defaults={"enabled": False})  # many orders
    keys_create(product=product, count=count)
    claims = []
    while len(claims) < count:
        size = min(5, count - len(claims))
        order = order_delivered_new(product=product, user=customer, quantity=size)
        for key in order.lines.get().keys.order_by("pk"):
            if len(claims) % 3 == 0:
                key_reveal(key=key, channel="account", ip="203.0.113.7", user_agent="UA",
                           user=customer)  # fmt: skip
            claims.append(claim_new(order=order, key=key, reason="key_invalid"))
    return claims


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(CLAIMS + "?all=")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_claim_list_costs_the_same_queries_for_5_and_50_claims(
    client, stocked, customer, agent, django_assert_max_num_queries
):
    preset_activate("novakeys")
    staff_login(client=client, user=agent)
    first = _claims(stocked, customer, 5)
    client.get(CLAIMS)  # warm: per-process caches (content types, the preset's calendar)
    with_five = _list_queries(client)
    _claims(stocked, customer, 45)
    assert Claim.objects.count() == 50
    with django_assert_max_num_queries(with_five):
        page = client.get(CLAIMS + "?all=").content.decode()
    assert _list_queries(client) == with_five
    # and each row shows what the one-claim recommendation says
    expected = claim_recommendation_get(claim=first[0]).outcome
    assert f'title="{claim_recommendation_get(claim=first[0]).clause}">{expected}<' in page


def test_the_list_recommendation_matches_the_claim_page_for_every_fact(stocked, customer, agent):
    """Replaced keys, viewed keys, verified claims: the bulk reading equals the single one."""
    from refunds.selectors import claims_recommendations_get
    from refunds.services import claim_approve_replacement, claim_verification_record

    preset_activate("novakeys")
    claims = _claims(stocked, customer, 4)
    claim_verification_record(claim=claims[0], actor=agent, result="confirmed_defective")
    claim_approve_replacement(claim=claims[0], actor=agent)
    claim_verification_record(claim=claims[1], actor=agent, result="not_defective", activated=True)
    replaced = Claim.objects.get(pk=claims[0].pk).replacement_key
    again = claim_new(order=claims[0].order, key=replaced, reason="key_invalid")
    rows = list(Claim.objects.select_related("order", "order_line", "key").order_by("pk"))
    bulk = claims_recommendations_get(claims=rows)
    for claim in rows:
        assert bulk[claim.pk] == claim_recommendation_get(claim=claim), claim.number
    assert again.pk in bulk


def _list_recommendations(page: str) -> dict[str, str]:
    """Each row of the claim list: its number -> its "recommendation now" cell."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = dict(re.findall(r'class="field-(\w+)[^"]*">(.*?)</t[dh]>', row, re.S))
        if "recommendation_now" in cells:
            rows[re.sub(r"<[^>]+>", "", cells["number"])] = cells["recommendation_now"]
    return rows


def test_each_row_of_the_claim_list_shows_the_engines_answer_for_that_claim(
    client, stocked, customer, agent
):
    """Replaced, viewed, verified and decided claims on one page: each open row shows what
    the engine answers for that claim alone (outcome, clause as its title); a decided one
    shows none."""
    preset_activate("novakeys")
    claims = _claims(stocked, customer, 6)
    claim_verification_record(claim=claims[0], actor=agent, result="confirmed_defective")
    claim_approve_replacement(claim=claims[0], actor=agent)
    claim_verification_record(claim=claims[1], actor=agent, result="not_defective", activated=True)
    claim_verification_record(claim=claims[2], actor=agent, result="confirmed_defective")
    replaced = Claim.objects.get(pk=claims[0].pk).replacement_key
    claim_new(order=claims[0].order, key=replaced, reason="key_invalid")
    staff_login(client=client, user=agent)

    shown = _list_recommendations(client.get(CLAIMS + "?all=").content.decode())

    rows = list(Claim.objects.select_related("order", "order_line", "key"))
    assert len(shown) == len(rows) == 7
    answers = set()
    for claim in rows:
        if claim.is_open:
            answer = claim_recommendation_get(claim=claim)
            answers.add(answer.outcome)
            expected = format_html('<span title="{}">{}</span>', answer.clause, answer.outcome)
            assert shown[claim.number] == expected, claim.number
        else:
            assert shown[claim.number] == "—", claim.number
    assert len(answers) > 1  # the facts above lead to different answers


def test_the_claim_list_asks_the_engine_only_about_its_open_claims(
    client, stocked, customer, agent, monkeypatch
):
    """A decided claim shows no recommendation, so none is computed for it."""
    preset_activate("novakeys")
    claims = _claims(stocked, customer, 4)
    claim_reject(claim=claims[0], actor=agent, clause="", explanation="Not covered.")
    asked: list[int] = []
    real = claim_lists.claims_recommendations_get

    def spy(*, claims, **kwargs):
        asked.extend(c.pk for c in claims)
        return real(claims=claims, **kwargs)

    monkeypatch.setattr(claim_lists, "claims_recommendations_get", spy)
    staff_login(client=client, user=agent)
    assert client.get(CLAIMS + "?all=").status_code == 200

    assert sorted(asked) == sorted(c.pk for c in claims[1:])


def test_one_post_records_the_check_and_replaces_then_save_and_next_opens_the_next_claim(
    client, stocked, customer, agent
):
    preset_activate("novakeys")
    first, second, third = _claims(stocked, customer, 3)
    Claim.objects.filter(pk=first.pk).update(verification_due_at=timezone.now())
    Claim.objects.filter(pk=second.pk).update(
        verification_due_at=timezone.now() + timedelta(hours=5)
    )
    Claim.objects.filter(pk=third.pk).update(
        verification_due_at=timezone.now() + timedelta(hours=1)
    )
    staff_login(client=client, user=agent)
    response = client.post(
        _decide_url(first),
        {"decision": "replace", "verification": "confirmed_defective", "_next": "1"},
    )
    first.refresh_from_db()
    assert first.status == "approved" and first.remedy == "replace"
    assert first.verification == "confirmed_defective"
    assert response.status_code == 302 and response["Location"] == _page(third)  # due next
    assert any(line.startswith("decide replace") for line in admin_log(obj=first, user=agent))


def test_a_remedy_other_than_the_recommendation_needs_the_note_and_changes_nothing_without(
    transactional_db, client, stocked, customer, agent
):
    preset_activate("novakeys")
    [claim] = _claims(stocked, customer, 1)
    staff_login(client=client, user=agent)
    post = {"decision": "refund", "verification": "confirmed_defective", "amount": "29.90"}
    page = client.post(_decide_url(claim), post, follow=True).content.decode()
    claim.refresh_from_db()
    assert claim.status == "verifying" and claim.remedy == ""  # the check is a fact: kept
    assert "Write in the note why" in page
    client.post(_decide_url(claim), {**post, "note": "The customer needs it today."})
    claim.refresh_from_db()
    assert claim.status == "approved" and claim.remedy == "refund"
    assert claim.refund_amount == Decimal("29.90")


def test_a_reader_without_the_decide_permission_may_only_talk_to_the_customer(
    client, stocked, customer
):
    preset_activate("novakeys")
    [claim] = _claims(stocked, customer, 1)
    reader = staff_with(email="reader@example.com")
    staff_login(client=client, user=reader)
    page = client.get(_page(claim)).content.decode()
    assert 'value="request_info"' in page and 'value="replace"' not in page
    client.post(_decide_url(claim), {"decision": "replace"})
    claim.refresh_from_db()
    assert claim.status == "submitted"
    client.post(_decide_url(claim), {"decision": "request_info", "reply": "Send a photo"})
    claim.refresh_from_db()
    assert claim.status == "needs_info"


def test_the_queue_is_oldest_due_first_unassigned_or_mine(stocked, customer, agent):
    preset_activate("novakeys")
    mine, theirs, free, undated = _claims(stocked, customer, 4)
    colleague = staff_with("decide_claim", email="colleague@example.com")
    now = timezone.now()
    Claim.objects.filter(pk=theirs.pk).update(verification_due_at=now, assignee=colleague)
    Claim.objects.filter(pk=free.pk).update(verification_due_at=now + timedelta(hours=1))
    Claim.objects.filter(pk=mine.pk).update(
        verification_due_at=now + timedelta(hours=2), assignee=agent
    )
    Claim.objects.filter(pk=undated.pk).update(verification_due_at=None)
    assert claim_queue_next(user=agent) == free
    assert claim_queue_next(user=agent, after=free) == mine
    assert claim_queue_next(user=colleague) == theirs


def test_assign_to_me_and_the_assignee_filter(client, stocked, customer, agent):
    preset_activate("novakeys")
    taken, left = _claims(stocked, customer, 2)
    staff_login(client=client, user=agent)
    client.post(reverse("admin:refunds_claim_act", args=[taken.pk, "assign"]))
    taken.refresh_from_db()
    assert taken.assignee == agent
    assert taken.events.filter(kind="assigned", actor=agent).exists()
    mine = client.get(CLAIMS + "?assignee=me").content.decode()
    assert taken.number in mine and left.number not in mine
    nobody = client.get(CLAIMS + "?assignee=none").content.decode()
    assert left.number in nobody and taken.number not in nobody
    # the bulk action, for the ones left
    client.post(CLAIMS, {"action": "assign_to_me", "_selected_action": [str(left.pk)]})
    assert Claim.objects.get(pk=left.pk).assignee == agent


def test_canned_replies_are_offered_by_reason_and_language_and_fill_an_empty_reply(
    client, stocked, customer, agent
):
    preset_activate("novakeys")
    [claim] = _claims(stocked, customer, 1)
    ask = CannedReply.objects.create(
        reason="key_invalid", language="en", title="Screenshot", body="Please send a screenshot."
    )
    CannedReply.objects.create(reason="", language="en", title="Any reason", body="Hello.")
    french = CannedReply.objects.create(reason="key_invalid", language="fr", title="Capture",
                                        body="Envoyez une capture.")  # fmt: skip
    CannedReply.objects.create(reason="lost_code", language="en", title="Lost", body="Lost.")
    staff_login(client=client, user=agent)
    page = client.get(_page(claim)).content.decode()
    assert "Screenshot" in page and "Any reason" in page
    assert french.title not in page and ">Lost<" not in page
    client.post(_decide_url(claim), {"decision": "request_info", "canned": ask.pk, "reply": ""})
    claim.refresh_from_db()
    assert claim.status == "needs_info"
    assert ClaimMessage.objects.get(claim=claim).body == "Please send a screenshot."


def test_only_managers_edit_canned_replies(client, agent):
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    # the migration, run again (an earlier transactional test may have flushed its rows)
    importlib.import_module("refunds.migrations.0004_desk_staff_roles").sync(apps, None)
    staff_login(client=client, user=agent)
    assert client.get(reverse("admin:refunds_cannedreply_add")).status_code == 403
    perms = set(Group.objects.get(name="Manager").permissions.values_list("codename", flat=True))
    assert {"add_cannedreply", "change_cannedreply", "export_data"} <= perms
    agent_perms = set(
        Group.objects.get(name="Support agent").permissions.values_list("codename", flat=True)
    )
    assert "view_cannedreply" in agent_perms and "change_cannedreply" not in agent_perms
    assert Permission.objects.filter(codename="export_data").count() == 1


def test_bulk_request_info_and_close_stale_go_through_the_services(
    client, stocked, customer, agent, settings
):
    preset_activate("novakeys")
    asked, stale, fresh = _claims(stocked, customer, 3)
    staff_login(client=client, user=agent)
    client.post(CLAIMS, {"action": "request_info_bulk", "_selected_action": [str(asked.pk)]})
    asked.refresh_from_db()
    assert asked.status == "needs_info" and asked.messages.count() == 1
    for claim in (stale, fresh):
        client.post(CLAIMS, {"action": "request_info_bulk", "_selected_action": [str(claim.pk)]})
    Claim.objects.filter(pk=stale.pk).update(needs_info_since=timezone.now() - timedelta(days=60))
    client.post(
        CLAIMS,
        {"action": "close_stale", "_selected_action": [str(stale.pk), str(fresh.pk)]},
    )
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "closed" and fresh.status == "needs_info"
    assert any(line.startswith("Closed") for line in admin_log(obj=stale, user=agent))


def test_close_stale_is_not_offered_without_the_decide_permission(client, stocked, customer):
    from tests.staff_perms import action_offered

    preset_activate("novakeys")
    _claims(stocked, customer, 1)
    reader = staff_with(email="reader@example.com")
    staff_login(client=client, user=reader)
    assert not action_offered(client, changelist_url=CLAIMS, action="close_stale")
    assert action_offered(client, changelist_url=CLAIMS, action="request_info_bulk")


def test_a_refused_decision_shows_the_page_again_with_what_was_typed_and_saves_nothing(client, db):
    """A refund against a "replace" recommendation without a reason is refused: the claim
    page comes back (no 500, no inline formset errors), the amount typed is kept, and the
    claim itself is not saved from the decision post."""
    from policies.services import preset_load
    from refunds.models import Claim
    from tests.factories import (
        ProductFactory,
        UserFactory,
        claim_new,
        keys_create,
        order_delivered_new,
    )
    from tests.staff import staff_login

    preset_load(slug="windowskeymart", activate=True)
    product = ProductFactory()
    keys_create(product=product, count=2)
    order = order_delivered_new(product=product)
    claim = claim_new(order=order, key=order.lines.get().keys.get())
    before = Claim.objects.filter(pk=claim.pk).values().get()
    staff_login(client=client, user=UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        f"/admin/refunds/claim/{claim.pk}/decide/", {"decision": "refund", "amount": "12.34"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The policy recommends replace" in page
    assert 'value="12.34"' in page
    assert "ManagementForm data is missing" not in page
    assert Claim.objects.filter(pk=claim.pk).values().get() == before
