from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Shop")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401 -- registers the fail-closed system checks
            identity_checks,  # noqa: F401  (registers the deploy check)
        )
        from .choices import choices_display_speed_up
        from .outbox import OUTBOX_SEND_TASK
        from .tasks import outbox_send_task

        OUTBOX_SEND_TASK.task_register(task=outbox_send_task)
        choices_display_speed_up()
