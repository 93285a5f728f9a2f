"""``decide_claim`` and the claim form agree on every case of the per-seed case files.

Each case is rebuilt as a real order (paid, delivered and viewed at the case's times,
shifted to now; replacements already given; stock), then:
- the form offers the reason exactly when ``decide_claim`` does not refuse it with nothing
  verified or tried yet, and its preview shows the same outcome and clause;
- once staff record the case's own facts (verification, activation, support), the admin's
  recommendation is what ``decide_claim`` answers for the full case.
"""

import io
import json
import re
from datetime import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from refunds.models import REASONS_WITHOUT_KEY, Claim
from tests.factories import ProductFactory, keys_create, order_delivered_new
from tests.policies.seed_cases import case_id, form_facts, seed_cases

from .conftest import preset_activate


def _decide(case: dict) -> dict:
    out = io.StringIO()
    call_command("decide_claim", stdin=io.StringIO(json.dumps(case)), stdout=out)
    return json.loads(out.getvalue())


def _world(case: dict):
    """The order the case describes, with every time shifted so the case's now is now."""
    from keys.models import Key, KeyView

    shift = timezone.now() - datetime.fromisoformat(case["now"])

    def at(name):
        value = case[name]
        return datetime.fromisoformat(value) + shift if value else None

    product = ProductFactory()
    keys_create(product=product, count=1)
    order = order_delivered_new(product=product, email="case@example.com")
    preset_activate(case["policy"])
    key = Key.objects.get(order_line__order=order)
    line = key.order_line
    type(order).objects.filter(pk=order.pk).update(
        paid_at=at("purchased_at"),
        created_at=at("purchased_at"),
        delivered_at=at("delivered_at"),
        status=order.status if case["delivered_at"] else "paid",
    )
    views = KeyView.objects.filter(key=key).exclude(channel="staff")
    if case["first_viewed_at"]:
        views.update(created_at=at("first_viewed_at"))
    else:
        views.delete()
    if case["delivered_at"]:  # a never-delivered case claims on the order line, not a key
        Key.objects.filter(pk=key.pk).update(
            delivered_at=at("delivered_at"), first_viewed_at=at("first_viewed_at")
        )
    given = case["replacements_given"]
    # A real chain: each earlier key failed and was replaced by the next; the key claimed
    # now is the latest replacement (a claim on an already-replaced key is refused).
    chain = [*(keys_create(product=product, count=given) if given else []), key]
    # the failed keys were sent for this line and are not stock any more
    Key.objects.filter(pk__in=[k.pk for k in chain[:-1]]).update(
        status="defective", order_line=line
    )
    for earlier, successor in zip(chain, chain[1:], strict=False):
        Key.objects.filter(pk=successor.pk).update(replaces=earlier)
        Claim.objects.create(
            order=order, order_line=line, key=earlier, replacement_key=successor,
            reason="key_invalid", status="approved", remedy="replace",
            description="earlier replacement", guest_email=order.email,
        )  # fmt: skip
    if case["replacement_in_stock"]:
        keys_create(product=product, count=1)
    order.refresh_from_db()
    return order, line, key, at("failed_at")


@pytest.mark.parametrize("case", seed_cases(), ids=case_id)
def test_the_claim_form_and_decide_claim_agree(
    case, client, db, django_capture_on_commit_callbacks
):
    from refunds.selectors import claim_recommendation_get

    order, line, key, failed_at = _world(case)
    session = client.session
    session["orders_access"] = {str(order.pk): "tracking"}
    session.save()
    url = f"/claims/new/{order.number}/"
    expected = _decide(form_facts(case))
    # The reason list knows the order, not yet when the code failed (typed in the form).
    listing = _decide({**form_facts(case), "failed_at": None})

    page = client.get(url).content.decode()
    offered = f'value="{case["reason"]}"' in page
    assert offered == (listing["outcome"] != "reject"), (listing, case["reason"])
    if not offered:
        assert f'data-reason="{case["reason"]}"' in page  # explained in one line
        return

    item = f"line-{line.pk}" if case["reason"] in REASONS_WITHOUT_KEY else f"key-{key.pk}"
    data = {
        "item": item,
        "reason": case["reason"],
        "failed_at": "",
        "description": "As in the case file.",
        "preview": "1",
    }
    from refunds.selectors import preset_rules_get

    with timezone.override(preset_rules_get().calendar.tz):
        if failed_at:
            data["failed_at"] = timezone.localtime(failed_at).strftime("%Y-%m-%dT%H:%M")
        preview = client.post(url, data).content.decode()
    shown = re.search(r'data-outcome="(\w+)"', preview).group(1)
    assert shown == expected["outcome"]
    assert f'#clause-{expected["clause"]}"' in preview
    if 'id="preview-refusal"' in preview:
        return  # refused with the clause, as decide_claim says; nothing to send

    # Staff record the case's own facts; the admin's recommendation is the command's answer.
    token = re.search(r'name="preview_token" value="([^"]+)"', preview).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {**data, "preview": "", "submit": "1", "preview_token": token})
    claim = Claim.objects.exclude(description="earlier replacement").get()
    Claim.objects.filter(pk=claim.pk).update(
        verification=case["verification"],
        key_activated=case["activated"],
        support_exhausted=case["support_exhausted"],
    )
    claim.refresh_from_db()
    full = _decide(case)
    recommendation = claim_recommendation_get(claim=claim)
    assert (recommendation.outcome, recommendation.clause) == (full["outcome"], full["clause"])
