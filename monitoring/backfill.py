"""Back-filling a tenant's score history: every month scored from what was known then.

A tenant that loads its past invoices, statements and defaults should not wait a year for a
back-test. A back-fill (`BackfillRun`) scores each month P of a window, oldest first, *as of*
P's first day: the statements known by then, the invoices, payments, disputes and legal events
up to then (`monitoring.rescoring.buyer_risk_frame` with ``as_of=P``), with the tenant's
official model. The scores are written with trigger "backfill" and ``as_of = P``, so the
back-test (`monitoring.backtest`) treats them as real predictions: a default after P counts
against them, however late they were computed.

Which buyers a month scores: those known on P, i.e. with an invoice issued or a statement known
(`buyers.ledger.statement_known_on_sql`) on or before P. A buyer whose first invoice came later
did not exist for the business yet.

What is kept: a (buyer, month) that already has a score keeps it (the monthly run's, an
event's or an earlier back-fill's); the back-fill only fills the gaps. No alerts are raised:
the history is past, nobody can act on it.

How a run works (`backfill_execute`), as the re-scoring runs do (`monitoring.rescoring`): the
months are taken in order, each in chunks of `rescoring.CHUNK_SIZE` buyers; a chunk's scores
and the run's progress (`scores_written`) commit together in one transaction, and a month's
completion advances `done_periods`. A worker that dies loses at most the chunk in flight; the
rerun (a redelivered task, or `backfill_start` finding the run abandoned) starts at the first
month not done and skips the buyers that month already has. A session-level advisory lock per
run keeps two deliveries from working on one run at once. A run that would outlast the task's
time limit stops after `TIME_BUDGET` and enqueues itself to go on.

One back-fill at a time per tenant: a start while one is queued or running returns that one.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers import ledger
from creditguard.audit.services import audit_record
from creditguard.dates import today
from creditguard.locks import job_lock, job_lock_held
from creditguard.progress import percent_done
from creditguard.queue import enqueue_on_commit
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from . import rescoring
from .backtest import add_months
from .models import BackfillRun, BuyerScore

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

logger = logging.getLogger(__name__)

TASK = "monitoring.backfill_run"
MAX_PERIODS = 120  # ten years of months: older history says little about today's buyers
# Under the Celery soft time limit (55 min): a longer back-fill re-enqueues itself instead.
TIME_BUDGET = timedelta(minutes=45)
PENDING = (BackfillRun.Status.QUEUED, BackfillRun.Status.RUNNING)
_LOCK_NAMESPACE = 0x4246494C  # "BFIL": first key of the per-run advisory lock


def periods_between(first_period: date, last_period: date) -> list[date]:
    """The first days of the months from ``first_period`` to ``last_period``, both included."""
    first, last = rescoring.period_of(first_period), rescoring.period_of(last_period)
    months = (last.year - first.year) * 12 + last.month - first.month
    return [add_months(first, offset) for offset in range(months + 1)]


# --- The buyers known on a day -------------------------------------------------------------------


def _first_known_sql() -> str:
    return f"""
SELECT known.buyer_id, MIN(known.day)
FROM (
    SELECT i.buyer_id, MIN(i.issue_date) AS day
    FROM buyers_invoice i WHERE i.tenant_id = %(tenant_id)s GROUP BY i.buyer_id
    UNION ALL
    SELECT s.buyer_id, MIN({ledger.statement_known_on_sql("s")}) AS day
    FROM buyers_financialstatement s WHERE s.tenant_id = %(tenant_id)s GROUP BY s.buyer_id
) known
JOIN buyers_buyer b ON b.tenant_id = %(tenant_id)s AND b.id = known.buyer_id
GROUP BY known.buyer_id
"""  # noqa: S608  (a fragment of buyers.ledger, no input)


def _earliest_known_sql() -> str:
    return f"""
SELECT LEAST(
    (SELECT MIN(i.issue_date) FROM buyers_invoice i WHERE i.tenant_id = %(tenant_id)s),
    (SELECT MIN({ledger.statement_known_on_sql("s")})
     FROM buyers_financialstatement s WHERE s.tenant_id = %(tenant_id)s))
"""  # noqa: S608  (a fragment of buyers.ledger, no input)


def buyers_first_known(*, tenant: Tenant) -> dict[int, date]:
    """Buyer id → the first day the tenant knew of it: its first invoice's issue date or the
    day its first statement became known, whichever came first. Buyers with neither are
    absent. Call with the tenant active."""
    with connection.cursor() as cursor:
        cursor.execute(_first_known_sql(), {"tenant_id": tenant.pk})
        return {buyer_id: day for buyer_id, day in cursor.fetchall()}


def _earliest_known(tenant: Tenant) -> date | None:
    with connection.cursor() as cursor:
        cursor.execute(_earliest_known_sql(), {"tenant_id": tenant.pk})
        earliest: date | None = cursor.fetchone()[0]
        return earliest


# --- Starting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    first_period: date
    last_period: date

    @property
    def periods(self) -> int:
        return len(periods_between(self.first_period, self.last_period))


def latest_period(*, on: date | None = None) -> date:
    """The last month a back-fill may score: the one before the current month (the current
    month belongs to the monthly run and "rescore now")."""
    return add_months(rescoring.period_of(on or today()), -1)


def backfill_window(
    *, tenant: Tenant, first_period: date | None = None, last_period: date | None = None
) -> Window:
    """The months a back-fill scores, validated (`ValidationError` by field otherwise).

    Defaults: up to the month before the current one; from the first month whose first day
    knows some data (an invoice issued or a statement known on or before it), at most
    `MAX_PERIODS` months. Given periods stand for their month (any day of it).
    """
    latest = latest_period()
    last = rescoring.period_of(last_period) if last_period else latest
    if last > latest:
        raise ValidationError(
            {
                "last_period": _("The last month can be %(month)s at the latest.")
                % {"month": f"{latest:%Y-%m}"}
            }
        )
    if first_period:
        first = rescoring.period_of(first_period)
    else:
        earliest = _earliest_known(tenant)
        if earliest is None:
            raise ValidationError(
                _("There is no history to score yet: no invoices or financial statements.")
            )
        # A month is scored as of its first day: the first month that sees the earliest data.
        first = rescoring.period_of(earliest)
        if earliest != first:
            first = add_months(first, 1)
        first = max(first, add_months(last, -(MAX_PERIODS - 1)))
    if first > last:
        if first_period:
            raise ValidationError(
                {"first_period": _("The first month must not come after the last month.")}
            )
        raise ValidationError(
            _("There is no history to score yet: the data on file starts in %(month)s.")
            % {"month": f"{first:%Y-%m}"}
        )
    window = Window(first_period=first, last_period=last)
    if window.periods > MAX_PERIODS:
        raise ValidationError(
            {"first_period": _("A back-fill covers at most %(max)d months.") % {"max": MAX_PERIODS}}
        )
    return window


def _enqueue(run: BackfillRun) -> None:
    enqueue_on_commit(TASK, run.pk, tenant_id=run.tenant_id)


def pending_backfill() -> BackfillRun | None:
    """The tenant's queued or running back-fill, if any. Call with the tenant active."""
    return BackfillRun.objects.filter(status__in=PENDING).order_by("-pk").first()


@transaction.atomic
def backfill_start(
    *,
    tenant: Tenant,
    actor: Actor,
    first_period: date | None = None,
    last_period: date | None = None,
) -> BackfillRun:
    """Start scoring the tenant's history (see `backfill_window` for the months), enqueued
    after commit and audited. While a back-fill is queued or running, that one is returned
    instead (and resumed if its worker died). Raises `ValidationError` for an impossible
    window. Call with the tenant active; the permission check is the caller's."""
    from django.contrib.auth.models import User

    # Two starts at once must not create two runs.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE + 1, tenant.pk & 0x7FFFFFFF]
        )
    pending = pending_backfill()
    if pending is not None:
        if pending.status == BackfillRun.Status.RUNNING and not job_lock_held(
            _LOCK_NAMESPACE, pending.pk
        ):
            _enqueue(pending)  # its worker died: resume it rather than wait for redelivery
        return pending
    window = backfill_window(tenant=tenant, first_period=first_period, last_period=last_period)
    run = BackfillRun.objects.create(
        tenant=tenant,
        first_period=window.first_period,
        last_period=window.last_period,
        model_version=_official_version(),
        total_periods=window.periods,
        requested_by=actor if isinstance(actor, User) else None,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="monitoring.backfill_start",
        obj=run,
        after={
            "first_period": run.first_period.isoformat(),
            "last_period": run.last_period.isoformat(),
            "periods": run.total_periods,
        },
    )
    _enqueue(run)
    return run


def _official_version() -> str:
    from .modellab.registry import official_version

    return official_version()


# --- Running -------------------------------------------------------------------------------------


def _score(frame: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The tenant's official model: (its version, `scoring.score_frame` columns)."""
    # Imported here: the model lab builds on this module (training reads its months).
    from .modellab.registry import score_for_tenant

    return score_for_tenant(frame)


class RunNotRunning(Exception):
    """The run's status changed under us (another worker finished or failed it)."""


def _claim(tenant: Tenant, run_id: int) -> BackfillRun | None:
    """Compare-and-set queued/running/failed → running; the months done so far stay done."""
    with tenant_context(tenant):
        run = BackfillRun.objects.filter(pk=run_id).first()
        if run is None or run.status == BackfillRun.Status.SUCCEEDED:
            return None
        claimed = BackfillRun.objects.filter(
            pk=run_id,
            status__in=[
                BackfillRun.Status.QUEUED,
                BackfillRun.Status.RUNNING,  # its worker died: we hold the run's lock
                BackfillRun.Status.FAILED,
            ],
        ).update(
            status=BackfillRun.Status.RUNNING,
            started_at=Coalesce(F("started_at"), timezone.now()),
            finished_at=None,
            error="",
            total_periods=len(periods_between(run.first_period, run.last_period)),
        )
        if not claimed:
            return None
        return BackfillRun.objects.get(pk=run_id)


def _scored_buyers(*, tenant: Tenant, period: date) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT buyer_id FROM monitoring_buyerscore WHERE tenant_id = %s AND period = %s",
            [tenant.pk, period],
        )
        return {row[0] for row in cursor.fetchall()}


def backfill_chunk(
    *,
    tenant: Tenant,
    run: BackfillRun,
    period: date,
    buyer_ids: Sequence[int],
    rates: Mapping[str, Decimal],
) -> int:
    """Score ``buyer_ids`` for ``period`` as of its first day and count them on ``run``, in
    the caller's transaction (tenant active). Existing scores are kept. Returns scores written.
    """
    frame = rescoring.buyer_risk_frame(
        tenant_id=tenant.pk, buyer_ids=buyer_ids, as_of=period, rates=rates
    )
    version, scored = _score(frame)
    written = rescoring.scores_write(
        tenant_id=tenant.pk,
        period=period,
        as_of=period,
        trigger=BuyerScore.Trigger.BACKFILL,
        scored=scored,
        model_version=version,
        replace=False,
    )
    advanced = BackfillRun.objects.filter(pk=run.pk, status=BackfillRun.Status.RUNNING).update(
        scores_written=F("scores_written") + written, model_version=version
    )
    if not advanced:
        raise RunNotRunning(run.pk)
    return written


def _run_periods(
    *, tenant: Tenant, run: BackfillRun, chunk_size: int, deadline: float | None
) -> bool:
    """Score the months not done yet; False when the time budget ran out first."""
    periods = periods_between(run.first_period, run.last_period)
    with tenant_context(tenant):
        first_known = sorted(
            (day, buyer_id) for buyer_id, day in buyers_first_known(tenant=tenant).items()
        )
    days = [day for day, _buyer_id in first_known]
    for index in range(run.done_periods, len(periods)):
        period = periods[index]
        with tenant_context(tenant):
            scored = _scored_buyers(tenant=tenant, period=period)
        known = first_known[: bisect.bisect_right(days, period)]
        missing = sorted(buyer_id for _day, buyer_id in known if buyer_id not in scored)
        rates = fx_rates_on(period)
        for start in range(0, len(missing), chunk_size):
            with tenant_context(tenant):
                backfill_chunk(
                    tenant=tenant,
                    run=run,
                    period=period,
                    buyer_ids=missing[start : start + chunk_size],
                    rates=rates,
                )
            if deadline is not None and time.monotonic() > deadline:
                return False
        with tenant_context(tenant):
            advanced = BackfillRun.objects.filter(
                pk=run.pk, status=BackfillRun.Status.RUNNING
            ).update(done_periods=index + 1)
        if not advanced:
            raise RunNotRunning(run.pk)
    return True


def backfill_execute(
    run_id: int,
    *,
    tenant_id: int,
    chunk_size: int = rescoring.CHUNK_SIZE,
    time_budget: timedelta | None = TIME_BUDGET,
) -> bool:
    """Run (or resume) one back-fill, chunk by chunk, each chunk its own transaction.

    The caller must not hold a transaction open: progress has to be visible while the run is
    going, and a crash must keep the chunks already done. A finished run is left alone, so a
    repeated or redelivered task is harmless. When ``time_budget`` runs out the run stays
    "running" and is enqueued again to go on. Returns False, doing nothing, when another
    session holds the run (the caller may try again later), True otherwise.
    """
    tenant = Tenant.objects.get(pk=tenant_id, is_active=True)
    deadline = None if time_budget is None else time.monotonic() + time_budget.total_seconds()
    with job_lock(_LOCK_NAMESPACE, run_id) as locked:
        if not locked:
            logger.info("back-fill %s is being worked on elsewhere", run_id)
            return False
        run = _claim(tenant, run_id)
        if run is None:
            return True
        try:
            finished = _run_periods(
                tenant=tenant, run=run, chunk_size=chunk_size, deadline=deadline
            )
        except RunNotRunning:
            return True
        except Exception as error:
            logger.exception("back-fill %s of tenant %s failed", run_id, tenant_id)
            with tenant_context(tenant):
                BackfillRun.objects.filter(pk=run_id, status=BackfillRun.Status.RUNNING).update(
                    status=BackfillRun.Status.FAILED,
                    error=f"{type(error).__name__}: {error}"[:2000],
                    finished_at=timezone.now(),
                )
            raise
        if finished:
            with tenant_context(tenant):
                BackfillRun.objects.filter(pk=run_id, status=BackfillRun.Status.RUNNING).update(
                    status=BackfillRun.Status.SUCCEEDED,
                    done_periods=F("total_periods"),
                    finished_at=timezone.now(),
                )
    if not finished:
        logger.info("back-fill %s of tenant %s goes on in a new task", run_id, tenant_id)
        _enqueue(run)  # after the lock is released, so the next delivery can take it
    return True


def backfill_progress(run: BackfillRun) -> dict[str, Any]:
    """What a progress bar polls: status, months done of the total, percent, scores written."""
    total = run.total_periods
    done = min(run.done_periods, total) if total else run.done_periods
    percent = percent_done(done, total, finished=run.status == BackfillRun.Status.SUCCEEDED)
    return {
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "done_periods": done,
        "total_periods": total,
        "percent": percent,
        "scores_written": run.scores_written,
        "done": run.status in (BackfillRun.Status.SUCCEEDED, BackfillRun.Status.FAILED),
        "error": run.error,
    }
