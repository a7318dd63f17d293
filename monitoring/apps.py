from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from buyers import signals as buyer_signals

        # Celery's autodiscovery imports only `tasks` modules; the alert tasks live apart.
        from . import activity, alert_tasks, receivers  # noqa: F401

        activity.register()  # the activity feed's words for this app's audited actions

        buyer_signals.buyer_risk_changed.connect(
            receivers.rescore_on_buyer_risk_changed, dispatch_uid="monitoring.rescore"
        )
        buyer_signals.buyer_file_panels.connect(
            receivers.buyer_risk_panel, dispatch_uid="monitoring.buyer_risk_panel"
        )
        # The score and alert columns of the buyers' maintained figures.
        from buyers.figures import register_figure_source

        from .figures import figures_from_monitoring

        register_figure_source(figures_from_monitoring)
