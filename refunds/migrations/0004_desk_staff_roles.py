"""The claims desk's permissions for the staff roles: Manager and Owner may export data and
edit canned replies; support agents read canned replies. Re-runnable (``roles_sync``)."""

import importlib

from django.db import migrations

ROLES = {
    "Support agent": ("refunds.view_cannedreply",),
    "Manager": (
        "refunds.export_data",
        "refunds.view_cannedreply",
        "refunds.add_cannedreply",
        "refunds.change_cannedreply",
        "refunds.delete_cannedreply",
    ),
}
ROLES["Owner"] = ROLES["Manager"]


def sync(apps, schema_editor):
    roles = importlib.import_module("accounts.migrations.0003_staff_roles")
    roles.roles_sync(apps, schema_editor, roles=ROLES)


class Migration(migrations.Migration):
    # Not after accounts.0003 on purpose: rolling accounts back and forth (its own test)
    # must not leave this one unapplied; roles_sync creates a missing group either way.
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("refunds", "0003_claim_assignee_canned_reply_export_permission"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
