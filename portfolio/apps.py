from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortfolioConfig(AppConfig):
    """The whole portfolio at a glance: the dashboard, and the demo data of every app.

    The top layer: it reads every domain app (buyers, monitoring, policies, later claims) and
    none of them reads it.
    """

    name = "portfolio"
    verbose_name = _("Portfolio")

    def ready(self) -> None:
        from . import activity

        activity.register()  # the activity feed's words for this app's audited actions
