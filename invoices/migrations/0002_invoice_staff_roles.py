"""The staff roles see invoices and credit notes; managers and owners the VAT report."""

from django.db import migrations

SUPPORT_AGENT = ("invoices.view_invoice", "invoices.view_creditnote")
MANAGER = (*SUPPORT_AGENT, "invoices.view_vat_report")
ROLES = {"Support agent": SUPPORT_AGENT, "Manager": MANAGER, "Owner": MANAGER}


def roles_add(apps, schema_editor):
    from importlib import import_module

    roles_sync = import_module("accounts.migrations.0003_staff_roles").roles_sync
    roles_sync(apps, schema_editor, roles=ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0001_invoices_credit_notes_sequences"),
        ("accounts", "0003_staff_roles"),
    ]

    operations = [migrations.RunPython(roles_add, migrations.RunPython.noop)]
