from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "keys"

    def ready(self) -> None:
        from .services.stock_schedule import stock_check_task_register
        from .tasks import keys_stock_check_task

        stock_check_task_register(task=keys_stock_check_task)
