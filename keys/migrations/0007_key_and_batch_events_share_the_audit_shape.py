"""KeyEvent and KeyBatchEvent take the shared audit shape (core.audit.AuditEvent).

KeyEvent gains a typed ``kind`` (filled for existing rows from where the move went) and a
``data`` field. KeyBatchEvent's ``action`` becomes ``kind`` in Python only: the column keeps
its name ("action", via db_column), so no data moves and nothing reading the column breaks
while the release rolls out; it gains ``from_status``/``to_status`` (blank for batches) and
``data``.
"""

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

KEY_STATUS_CHOICES = [
    ("available", "Available"),
    ("reserved", "Reserved (fraud check)"),
    ("delivered", "Delivered"),
    ("revoked", "Revoked"),
    ("defective", "Defective"),
]
KIND_BY_TO_STATUS = {
    "reserved": "reserved",
    "delivered": "delivered",
    "available": "released",
    "revoked": "revoked",
    "defective": "defective",
}


def key_event_kinds_fill(apps, schema_editor):
    KeyEvent = apps.get_model("keys", "KeyEvent")
    for to_status, kind in KIND_BY_TO_STATUS.items():
        KeyEvent.objects.filter(to_status=to_status, kind="").update(kind=kind)


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0006_batch_counts_covering_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # KeyBatchEvent.action -> kind, attribute only (the column stays "action").
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField(
                    model_name="keybatchevent", old_name="action", new_name="kind"
                ),
                migrations.AlterField(
                    model_name="keybatchevent",
                    name="kind",
                    field=models.CharField(
                        choices=[("quarantined", "Quarantined"), ("released", "Quarantine lifted")],
                        db_column="action",
                        max_length=16,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="keybatchevent",
            name="kind",
            field=models.CharField(
                choices=[("quarantined", "Quarantined"), ("released", "Quarantine lifted")],
                db_column="action",
                max_length=40,
                verbose_name="kind",
            ),
        ),
        migrations.AlterModelOptions(
            name="keybatchevent",
            options={
                "ordering": ["created_at", "id"],
                "verbose_name": "batch event",
                "verbose_name_plural": "batch events",
            },
        ),
        migrations.AddField(
            model_name="keybatchevent",
            name="data",
            field=models.JSONField(
                blank=True,
                default=dict,
                encoder=django.core.serializers.json.DjangoJSONEncoder,
                verbose_name="data",
            ),
        ),
        migrations.AddField(
            model_name="keybatchevent",
            name="from_status",
            field=models.CharField(blank=True, max_length=32, verbose_name="from"),
        ),
        migrations.AddField(
            model_name="keybatchevent",
            name="to_status",
            field=models.CharField(blank=True, max_length=32, verbose_name="to"),
        ),
        migrations.AlterField(
            model_name="keybatchevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="by",
            ),
        ),
        migrations.AlterField(
            model_name="keybatchevent",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="at"),
        ),
        migrations.AlterField(
            model_name="keybatchevent",
            name="reason",
            field=models.CharField(blank=True, max_length=500, verbose_name="reason"),
        ),
        # KeyEvent: typed kind (existing rows named by where they went) and data.
        migrations.AddField(
            model_name="keyevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("reserved", "Reserved"),
                    ("delivered", "Delivered"),
                    ("released", "Back in stock"),
                    ("revoked", "Revoked"),
                    ("defective", "Marked defective"),
                ],
                default="",
                max_length=40,
                verbose_name="kind",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(key_event_kinds_fill, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="keyevent",
            name="data",
            field=models.JSONField(
                blank=True,
                default=dict,
                encoder=django.core.serializers.json.DjangoJSONEncoder,
                verbose_name="data",
            ),
        ),
        migrations.AlterField(
            model_name="keyevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="by",
            ),
        ),
        migrations.AlterField(
            model_name="keyevent",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="at"),
        ),
        migrations.AlterField(
            model_name="keyevent",
            name="from_status",
            field=models.CharField(choices=KEY_STATUS_CHOICES, max_length=32, verbose_name="from"),
        ),
        migrations.AlterField(
            model_name="keyevent",
            name="reason",
            field=models.CharField(blank=True, max_length=500, verbose_name="reason"),
        ),
        migrations.AlterField(
            model_name="keyevent",
            name="to_status",
            field=models.CharField(choices=KEY_STATUS_CHOICES, max_length=32, verbose_name="to"),
        ),
    ]
