from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from buyers import signals as buyer_signals

        # Celery's autodiscovery imports only `tasks` modules; the alert tasks live apart.
        from . import alert_tasks, receivers  # noqa: F401

        buyer_signals.buyer_risk_changed.connect(
            receivers.rescore_on_buyer_risk_changed, dispatch_uid="monitoring.rescore"
        )
        buyer_signals.buyer_file_panels.connect(
            receivers.buyer_risk_panel, dispatch_uid="monitoring.buyer_risk_panel"
        )
