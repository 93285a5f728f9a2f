from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Merchant API")

    def ready(self) -> None:
        from .services import IMPORT_JOB_RUN_TASK
        from .tasks import import_job_run_task

        IMPORT_JOB_RUN_TASK.task_register(task=import_job_run_task)
