"""Outgoing webhooks in the staff roles: managers see endpoints, events and deliveries
and send a delivery again; owners also register, edit and enable endpoints (their
secrets sign what the shop sends). Re-runnable (``roles_sync``)."""

import importlib

from django.db import migrations

VIEW = (
    "webhooks.view_webhookendpoint", "webhooks.view_webhookevent",
    "webhooks.view_webhookdelivery", "webhooks.view_webhookattempt",
)  # fmt: skip
MANAGER = (*VIEW, "webhooks.replay_webhookdelivery")
OWNER = (
    *MANAGER,
    "webhooks.add_webhookendpoint", "webhooks.change_webhookendpoint",
    "webhooks.delete_webhookendpoint",
)  # fmt: skip
ROLES = {"Manager": MANAGER, "Owner": OWNER}


def roles_add(apps, schema_editor):
    roles = importlib.import_module("accounts.migrations.0003_staff_roles")
    roles.roles_sync(apps, schema_editor, roles=ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_outgoing_webhooks"),
        # not on accounts.0003: rolling accounts back must not unapply this; roles_sync
        # creates a missing group itself
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_add, migrations.RunPython.noop)]
