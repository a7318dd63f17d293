from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClaimsConfig(AppConfig):
    """Claims for a buyer under an insurance policy: eligibility, indemnity and workflow."""

    name = "claims"
    verbose_name = _("Claims")

    def ready(self) -> None:
        # Back-tests and PD calibration count a claim as the buyer's default; the dependency
        # points from claims to monitoring, never back.
        from monitoring.selectors import register_default_source

        from .selectors import default_dates_for_monitoring

        register_default_source(default_dates_for_monitoring)

        from . import activity

        activity.register()  # the activity feed's words for this app's audited actions
