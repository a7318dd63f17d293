from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # Celery's autodiscovery imports only `tasks` modules; the alert tasks live apart.
        from . import alert_tasks  # noqa: F401
