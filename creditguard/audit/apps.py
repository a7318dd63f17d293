from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "creditguard.audit"
    label = "audit"
    verbose_name = "Audit trail"
