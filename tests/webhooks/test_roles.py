"""Outgoing webhooks in the staff roles (data migration webhooks.0002_staff_roles_webhooks):
managers see deliveries and send them again, owners also manage endpoints (their secrets)."""

import importlib

from django.apps import apps
from django.contrib.auth.models import Group

accounts_roles = importlib.import_module("accounts.migrations.0003_staff_roles")
webhook_roles = importlib.import_module("webhooks.migrations.0002_staff_roles_webhooks")


def _perms(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{app}.{code}"
        for app, code in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_managers_replay_deliveries_and_owners_manage_endpoints(db):
    accounts_roles.roles_sync(apps)
    webhook_roles.roles_add(apps, None)
    webhook_roles.roles_add(apps, None)  # safe to run again

    agent, manager, owner = (_perms(n) for n in ("Support agent", "Manager", "Owner"))
    assert not {p for p in agent if p.startswith("webhooks.")}
    assert {"webhooks.view_webhookdelivery", "webhooks.replay_webhookdelivery"} <= manager
    assert "webhooks.change_webhookendpoint" not in manager
    assert {"webhooks.add_webhookendpoint", "webhooks.change_webhookendpoint",
            "webhooks.replay_webhookdelivery"} <= owner  # fmt: skip
