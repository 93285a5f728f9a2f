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
    dependencies = [
        ("api", "0001_api_keys_and_import_jobs"),
        ("accounts", "0003_staff_roles"),
    ]

    operations = [migrations.RunPython(api_roles, migrations.RunPython.noop)]
