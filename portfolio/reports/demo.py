"""Demo data for the reports: the archive of each demo tenant starts with last month's portfolio
risk report (as the beat would have made it on the first working day) and this year's
credit-protection health check, generated for real (WeasyPrint), so `make run` shows them.

Idempotent: a tenant that already has these reports gets nothing new. The Huadong tenant's
reports are in Chinese, Acme's in English.
"""

from __future__ import annotations

from datetime import date

from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from ..models import Report
from . import services

CHINESE_TENANTS = {"huadong"}


def seed_demo_reports(*, tenant: Tenant, as_of: date) -> bool:
    """Generate the tenant's demo reports (outside any transaction); True if any was made."""
    language = "zh-hans" if tenant.slug in CHINESE_TENANTS else "en"
    period = services.previous_month(as_of)
    year = str(as_of.year)
    made = []
    with tenant_context(tenant):
        if not Report.objects.filter(kind=Report.Kind.PORTFOLIO_RISK, period=period).exists():
            made.append(
                Report.objects.create(
                    tenant=tenant,
                    kind=Report.Kind.PORTFOLIO_RISK,
                    period=period,
                    language=language,
                    scheduled=True,
                    parameters={"period": period, "buyer": None},
                    requested_by_label="system",
                )
            )
        if not Report.objects.filter(kind=Report.Kind.HEALTH_CHECK, period=year).exists():
            made.append(
                Report.objects.create(
                    tenant=tenant,
                    kind=Report.Kind.HEALTH_CHECK,
                    period=year,
                    language=language,
                    parameters={"period": year, "buyer": None},
                    requested_by_label="system",
                )
            )
    for report in made:
        services.report_generate(tenant=tenant, report_id=report.pk, as_of=as_of)
    return bool(made)
