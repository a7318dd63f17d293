from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from creditguard.tenancy.models import Tenant


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

        from buyers.signals import figures_refreshed

        figures_refreshed.connect(warm_dashboard, dispatch_uid="portfolio.warm_dashboard")


def warm_dashboard(sender: object, *, tenant: Tenant, **kwargs: object) -> None:
    """Figures refreshed in the background: warm the dashboard's cache once they commit."""
    from creditguard.queue import enqueue_on_commit

    enqueue_on_commit("portfolio.dashboard_warm", tenant_id=tenant.pk)
