from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "creditguard.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # The other apps register the describers of their own actions in their ready().
        from .describers import register

        register()
