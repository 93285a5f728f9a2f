"""The staff roles ship as groups (data migration accounts.0003_staff_roles): Support agent,
Manager, Owner, each with what it needs and nothing the next role up keeps for itself."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import OrderFactory, UserFactory
from tests.staff import staff_login

roles_migration = importlib.import_module("accounts.migrations.0003_staff_roles")


def _perms(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{app}.{code}"
        for app, code in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.fixture
def roles(db):
    """The groups as the migration leaves them (a transactional test elsewhere may have
    flushed the migrated rows: running it again is exactly what it must allow)."""
    roles_migration.roles_sync(apps)
    return {name: _perms(name) for name in ("Support agent", "Manager", "Owner")}


@pytest.mark.django_db(transaction=True)
def test_migrate_creates_the_three_roles_and_can_run_again():
    from django.core.management import call_command

    Group.objects.all().delete()  # whatever an earlier test left
    call_command("migrate", "accounts", "0002", verbosity=0)
    call_command("migrate", verbosity=0)  # runs 0003_staff_roles for real (and what needs it)
    assert set(Group.objects.values_list("name", flat=True)) == {
        "Support agent", "Manager", "Owner",
    }  # fmt: skip
    assert "orders.release_hold" in _perms("Manager")
    # the accounts roles, plus what later apps' own role migrations add (invoices: the VAT report)
    assert set(roles_migration.OWNER) <= _perms("Owner")
    assert "invoices.view_vat_report" in _perms("Owner")


def test_a_support_agent_answers_claims_and_resends_keys_but_moves_no_money_or_codes(roles):
    agent = roles["Support agent"]
    assert {"refunds.view_claim", "refunds.change_claim", "refunds.decide_claim",
            "orders.view_order", "orders.resend_key_email", "keys.view_key"} <= agent  # fmt: skip
    assert not agent & {
        "orders.release_hold", "orders.refund_order", "refunds.refund_above_limit",
        "keys.reveal_key_code", "keys.quarantine_batch", "accounts.suspend_user",
        "account.change_emailaddress", "policies.activate_preset", "orders.replay_webhook",
    }  # fmt: skip


def test_a_manager_handles_holds_refunds_stock_and_abuse_but_not_policy_or_staff(roles):
    manager = roles["Manager"]
    assert roles["Support agent"] <= manager
    assert {
        "orders.release_hold", "orders.refund_order", "orders.replay_webhook",
        "refunds.refund_above_limit", "refunds.submit_dispute_evidence", "keys.reveal_key_code",
        "keys.import_keys", "keys.quarantine_batch", "accounts.suspend_user",
        "account.change_emailaddress",
    } <= manager  # fmt: skip
    assert not manager & {"policies.activate_preset", "accounts.change_user",
                          "accounts.manage_staff", "auth.change_group"}  # fmt: skip


def test_the_owner_also_sets_the_policy_and_manages_staff(roles):
    owner = roles["Owner"]
    assert roles["Manager"] <= owner
    assert {"policies.activate_preset", "accounts.manage_staff", "accounts.change_user",
            "auth.change_group", "mfa.delete_authenticator"} <= owner  # fmt: skip
    assert not any(p.startswith(("orders.delete_refund", "orders.delete_order")) for p in owner)


def test_running_the_roles_migration_again_changes_nothing_and_keeps_hand_added_rights(roles):
    from django.contrib.auth.models import Permission

    extra = Permission.objects.get(codename="delete_product")
    Group.objects.get(name="Manager").permissions.add(extra)
    roles_migration.roles_sync(apps)
    roles_migration.roles_sync(apps)
    assert Group.objects.filter(name__in=roles).count() == 3
    assert _perms("Support agent") == roles["Support agent"]
    assert _perms("Manager") == roles["Manager"] | {"storefront.delete_product"}


def test_a_support_agent_in_the_admin_is_offered_resend_but_not_release(client, roles):
    member = UserFactory(email="agent@example.com", is_staff=True)
    member.groups.add(Group.objects.get(name="Support agent"))
    OrderFactory()  # the action menu shows over a non-empty list
    staff_login(client=client, user=member)
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert 'value="resend_keys"' in page
    assert 'value="release_hold"' not in page and 'value="cancel_and_refund"' not in page
