"""Reports: request one, generate it (the Celery task `portfolio.report_generate` calls
`report_generate`), and the monthly portfolio risk report of every tenant.

- A request creates a `Report` in status "queued" and enqueues its generation by name once the
  transaction commits. Who may request is the views' and API's business (REQUEST_REPORT).
- Generation is idempotent: a report that is done is left alone; one found "running" (its
  worker died and the message was delivered again) is generated again from the start. Each
  step commits on its own so that the progress shows while it runs: data gathered, HTML
  rendered, PDF written, file stored. A failure is kept on the report ("failed" with the
  error), not retried.
- The monthly report covers the previous calendar month and is generated on the first working
  day (Monday to Friday) of the month; one per tenant and period (`Report.scheduled`, unique),
  so running the job twice does nothing more; a failed one is queued again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.audit.services import actor_label, audit_record
from creditguard.dates import today
from creditguard.queue import enqueue_on_commit
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from ..models import Report
from . import documents

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

logger = logging.getLogger(__name__)

GENERATE_TASK = "portfolio.report_generate"
LANGUAGES = ("en", "zh-hans")
# Progress at each committed step of the generation.
STARTED, GATHERED, RENDERED, WRITTEN, STORED = 5, 50, 65, 95, 100


# --- Periods -----------------------------------------------------------------------------------


def first_working_day(year: int, month: int, holidays: frozenset[date] = frozenset()) -> date:
    """The first day of the month that is a weekday (Monday–Friday) and not in `holidays`."""
    day = date(year, month, 1)
    while day.weekday() >= 5 or day in holidays:
        day += timedelta(days=1)
    return day


def is_first_working_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    return day == first_working_day(day.year, day.month, holidays)


def previous_month(day: date) -> str:
    """The calendar month before `day`'s, as "YYYY-MM"."""
    return f"{day.replace(day=1) - timedelta(days=1):%Y-%m}"


def _valid_month(period: str) -> bool:
    try:
        parsed = date.fromisoformat(f"{period}-01")
    except ValueError:
        return False
    return len(period) == 7 and 1900 <= parsed.year <= 2100


def _valid_year(period: str) -> bool:
    return len(period) == 4 and period.isdigit() and 1900 <= int(period) <= 2100


# --- Requesting --------------------------------------------------------------------------------


def report_request(
    *,
    tenant: Tenant,
    actor: Actor,
    kind: str,
    language: str,
    period: str = "",
    buyer: Buyer | None = None,
) -> Report:
    """Queue a report; raises ValidationError naming the field that is wrong."""
    errors: dict[str, str] = {}
    if kind not in Report.Kind.values:
        errors["kind"] = _("Choose a kind of report.")
    if language not in LANGUAGES:
        errors["language"] = _("Choose English or Simplified Chinese.")
    if kind == Report.Kind.CREDIT_REPORT:
        period = ""
        if buyer is None:
            errors["buyer"] = _("Choose the buyer the credit report is about.")
    else:
        buyer = None
        if kind == Report.Kind.PORTFOLIO_RISK and not _valid_month(period):
            errors["period"] = _("Enter the month as YYYY-MM, e.g. 2026-11.")
        if kind == Report.Kind.HEALTH_CHECK and not _valid_year(period):
            errors["period"] = _("Enter the year as YYYY, e.g. 2026.")
    if errors:
        raise ValidationError(errors)
    report = Report.objects.create(
        tenant=tenant,
        kind=kind,
        period=period,
        buyer=buyer,
        language=language,
        parameters={"period": period, "buyer": buyer.pk if buyer else None},
        requested_by=actor if isinstance(actor, User) else None,
        requested_by_label=actor_label(actor),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="report.request",
        obj=report,
        after={"kind": kind, "period": period, "buyer": report.buyer_id, "language": language},
    )
    enqueue_on_commit(GENERATE_TASK, report.pk, tenant_id=tenant.pk)
    return report


def monthly_report_ensure(*, tenant: Tenant, as_of: date, language: str = "en") -> Report | None:
    """The monthly portfolio risk report of the month before `as_of`: created and queued once
    per tenant and period; a failed one is queued again; otherwise nothing happens. Returns the
    report queued now, or None. Runs with the tenant active."""
    period = previous_month(as_of)
    existing = Report.objects.filter(
        kind=Report.Kind.PORTFOLIO_RISK, period=period, scheduled=True
    ).first()
    if existing is not None:
        if existing.status != Report.Status.FAILED:
            return None
        Report.objects.filter(pk=existing.pk, status=Report.Status.FAILED).update(
            status=Report.Status.QUEUED, progress=0, error=""
        )
        enqueue_on_commit(GENERATE_TASK, existing.pk, tenant_id=tenant.pk)
        return existing
    try:
        with transaction.atomic():
            report = Report.objects.create(
                tenant=tenant,
                kind=Report.Kind.PORTFOLIO_RISK,
                period=period,
                language=language,
                scheduled=True,
                parameters={"period": period, "buyer": None},
                requested_by_label="system",
            )
    except IntegrityError:
        return None  # a concurrent run created it
    enqueue_on_commit(GENERATE_TASK, report.pk, tenant_id=tenant.pk)
    return report


# --- Generating --------------------------------------------------------------------------------


def _gather(report: Report, *, as_of: date) -> tuple[str, Mapping[str, Any]]:
    """(template, context) of the report, the tenant active."""
    from . import selectors

    tenant = report.tenant
    if report.kind == Report.Kind.CREDIT_REPORT:
        buyer = report.buyer
        if buyer is None:
            raise ValueError("a credit report without a buyer")
        data: Any = selectors.credit_report(tenant=tenant, buyer=buyer, as_of=as_of)
    elif report.kind == Report.Kind.PORTFOLIO_RISK:
        data = selectors.portfolio_report(tenant=tenant, period=report.period, as_of=as_of)
    else:
        data = selectors.health_check(tenant=tenant, year=report.period, as_of=as_of)
    return documents.TEMPLATES[report.kind], {"report": report, "data": data}


def _step(tenant: Tenant, report_id: int, **changes: Any) -> None:
    with tenant_context(tenant):
        Report.objects.filter(pk=report_id).update(**changes)


def report_generate(
    *,
    tenant: Tenant,
    report_id: int,
    as_of: date | None = None,
    write_pdf: Callable[[str], bytes] | None = None,
) -> Report | None:
    """Generate report `report_id` of `tenant` (outside any transaction: each step takes its
    own). Returns the report, or None when it does not exist."""
    as_of = as_of or today()
    with tenant_context(tenant):
        report = (
            Report.objects.select_related("tenant", "buyer__country").filter(pk=report_id).first()
        )
        if report is None or report.status == Report.Status.DONE:
            return report
        Report.objects.filter(pk=report_id).update(
            status=Report.Status.RUNNING,
            progress=STARTED,
            started_at=timezone.now(),
            error="",
        )
    try:
        with translation.override(report.language):
            with tenant_context(tenant):
                template, context = _gather(report, as_of=as_of)
                Report.objects.filter(pk=report_id).update(progress=GATHERED)
            with tenant_context(tenant):
                html = documents.render_html(template, context, language=report.language)
                Report.objects.filter(pk=report_id).update(progress=RENDERED)
            pdf = (write_pdf or documents.html_to_pdf)(html)
        _step(tenant, report_id, progress=WRITTEN)
        with tenant_context(tenant):
            report.refresh_from_db()
            if report.file:
                report.file.delete(save=False)
            report.file.save(documents.file_name(report), ContentFile(pdf), save=False)
            Report.objects.filter(pk=report_id).update(
                file=report.file.name,
                size=len(pdf),
                status=Report.Status.DONE,
                progress=STORED,
                finished_at=timezone.now(),
            )
    except Exception as error:
        logger.exception("report %s of tenant %s failed", report_id, tenant.pk)
        _step(
            tenant,
            report_id,
            status=Report.Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
    with tenant_context(tenant):
        return Report.objects.get(pk=report_id)
