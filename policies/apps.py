from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    """Credit policy, credit limits and approvals, insurer cover (and, later, insurance policies)."""

    name = "policies"
    verbose_name = _("Limits and insurance")

    def ready(self) -> None:
        # Monitoring's over-limit rule compares exposure with the limits this app owns; the
        # dependency points from policies to monitoring, never back.
        from monitoring.alerts import register_limit_source

        from .selectors import active_limits_for_monitoring

        register_limit_source(active_limits_for_monitoring)
