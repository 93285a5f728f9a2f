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

        from django.core.signals import setting_changed

        from .dates import dates_written_clear

        # Dates are written in each language's formats: a changed setting (tests'
        # override_settings of formats or languages) writes them again.
        setting_changed.connect(
            lambda **kwargs: dates_written_clear(), weak=False, dispatch_uid="dates-written"
        )
