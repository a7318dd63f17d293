from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "creditguard.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from .db import grant_runtime_privileges

        post_migrate.connect(
            grant_runtime_privileges, sender=self, dispatch_uid="tenancy.grant_runtime"
        )
