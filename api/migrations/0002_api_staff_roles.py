"""API keys in the staff roles: managers see keys and import jobs and may revoke a key;
owners also create them (a key is a standing credential with its scopes). Re-runnable."""

from importlib import import_module

from django.db import migrations

roles_sync = import_module("accounts.migrations.0003_staff_roles").roles_sync

MANAGER = ("api.view_apikey", "api.revoke_apikey", "api.view_importjob")
OWNER = (*MANAGER, "api.add_apikey", "api.change_apikey")


def api_roles(apps, schema_editor):
    roles_sync(apps, schema_editor, roles={"Manager": MANAGER, "Owner": OWNER})


class Migration(migrations.Migration):
    # Not after accounts.0003 on purpose: roles_sync creates a missing group and only
    # adds permissions, so either order ends the same; and rolling accounts back (its
    # roles test does) must not unapply this.
    dependencies = [
        ("api", "0001_api_keys_and_import_jobs"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(api_roles, migrations.RunPython.noop)]
