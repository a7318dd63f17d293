"""Celery tasks for reports: thin wrappers that load by id and call one service."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from creditguard.celery import TenantTask
from creditguard.dates import today
from creditguard.queue import for_each_active_tenant
from creditguard.tenancy.models import Tenant

from .reports import services


@shared_task(
    base=TenantTask, one_transaction=False, name="portfolio.report_generate", ignore_result=True
)
def report_generate(report_id: int, *, tenant: Tenant) -> None:
    """Generate one report; its progress commits step by step (`services.report_generate`). A
    report already done is left alone, so a message delivered twice does nothing more."""
    services.report_generate(tenant=tenant, report_id=report_id)


@shared_task(name="portfolio.monthly_reports", ignore_result=True)
def monthly_reports() -> None:
    """Daily (beat): on the first working day of a month, one `monthly_report_run` per active
    tenant; on other days nothing."""
    day = today()
    if services.is_first_working_day(day):
        for_each_active_tenant("portfolio.monthly_report_run", day.isoformat())


@shared_task(base=TenantTask, name="portfolio.monthly_report_run", ignore_result=True)
def monthly_report_run(as_of: str, *, tenant: Tenant) -> None:
    """The tenant's monthly portfolio risk report of the previous month, once per period."""
    services.monthly_report_ensure(tenant=tenant, as_of=date.fromisoformat(as_of))


@shared_task(base=TenantTask, name="portfolio.dashboard_warm", ignore_result=True)
def dashboard_warm(*, tenant: Tenant) -> None:
    """After a background refresh of the figures: the unfiltered dashboard's aggregates into
    the cache, so the first visitor does not wait for them (`selectors.portfolio_figures`)."""
    from buyers.selectors import buyer_countries_and_sectors

    from . import selectors

    buyer_countries_and_sectors(tenant=tenant)
    selectors.portfolio_figures(tenant=tenant, filters=selectors.DashboardFilters())
