"""The staff roles as Django groups: Support agent, Manager, Owner (README, "Staff roles").

Idempotent and re-runnable: groups are created when missing and given every permission
their role lists (permissions added by hand are kept). The table is frozen here on purpose:
a later change to a role is a new migration that calls ``roles_sync`` with its own table.
"""

from django.db import migrations

# Every shop model a role may look at (its view_* permission), as app_label.model.
SHOP_VIEW_MODELS = (
    "accounts.user", "accounts.accountevent", "account.emailaddress",
    "keys.supplier", "keys.keybatch", "keys.keybatchevent", "keys.keyimport", "keys.key",
    "keys.keyevent", "keys.keyview", "keys.productstockalert",
    "orders.order", "orders.orderline", "orders.orderevent", "orders.orderrisk",
    "orders.orderconsent", "orders.backorderinfo", "orders.webhookevent", "orders.refund",
    "orders.orderemail", "orders.fraudsettings", "orders.blocklistentry",
    "refunds.claim", "refunds.claimevent", "refunds.claimmessage", "refunds.evidence",
    "refunds.dispute", "refunds.disputeevent",
    "policies.policypreset", "policies.policydocument", "policies.policyacceptance",
    "storefront.category", "storefront.product",
)  # fmt: skip

SUPPORT_AGENT = (
    *(f"{m.split('.')[0]}.view_{m.split('.')[1]}" for m in SHOP_VIEW_MODELS),
    "refunds.change_claim",  # talk to the customer, ask for information
    "refunds.decide_claim",  # verify, replace, exchange, refund up to the limit, reject, close
    "orders.resend_key_email",  # rate-limited per order
)

MANAGER = (
    *SUPPORT_AGENT,
    "orders.release_hold",
    "orders.refund_order",
    "orders.replay_webhook",
    "orders.add_blocklistentry", "orders.change_blocklistentry",
    "orders.delete_blocklistentry",
    "orders.change_fraudsettings",
    "refunds.refund_above_limit",
    "refunds.change_dispute", "refunds.submit_dispute_evidence",
    "keys.reveal_key_code", "keys.import_keys", "keys.quarantine_batch",
    "keys.add_keybatch", "keys.change_keybatch", "keys.add_supplier", "keys.change_supplier",
    "storefront.add_product", "storefront.change_product",
    "storefront.add_category", "storefront.change_category",
    "accounts.suspend_user",
    "account.change_emailaddress",  # "make verified" opens the address's guest orders
)  # fmt: skip

OWNER = (
    *MANAGER,
    "policies.activate_preset",
    "policies.add_policypreset", "policies.change_policypreset",
    "policies.add_policydocument", "policies.change_policydocument",
    "accounts.change_user", "accounts.manage_staff",
    "auth.view_group", "auth.add_group", "auth.change_group",
    "mfa.view_authenticator", "mfa.delete_authenticator",  # reset a lost second factor
)  # fmt: skip

ROLES = {"Support agent": SUPPORT_AGENT, "Manager": MANAGER, "Owner": OWNER}


def roles_sync(apps, schema_editor=None, roles=None):
    """Create each role's group and give it its permissions; safe to run any number of times."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the last migration: make sure they exist now.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)  # unset on a state stub
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in (roles or ROLES).items():
        wanted = set(perms)
        found = {}
        for app_label, codename in (p.split(".", 1) for p in wanted):
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                found[f"{app_label}.{codename}"] = perm
        missing = sorted(wanted - set(found))
        if missing:
            raise LookupError(f"Role {name!r}: unknown permissions {', '.join(missing)}")
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(*found.values())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_session_generation_permissions"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("keys", "0002_keybatch_quarantine_permission"),
        ("mfa", "0003_authenticator_type_uniq"),
        ("orders", "0006_order_webhook_staff_permissions"),
        ("policies", "0002_preset_activate_permission"),
        ("refunds", "0001_initial"),
        ("storefront", "0001_initial"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]
