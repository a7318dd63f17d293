"""Re-scoring buyers: the monthly run over every tenant, "rescore now", and event-driven updates.

One score per buyer and period (the first day of a month), unique on (tenant, buyer, period).

How a run works (`rescore_run_execute`): buyers are taken in chunks of `CHUNK_SIZE` by id. For
each chunk, in one transaction with the tenant active:

1. one query picks the next buyers that still need a score for the period;
2. one query computes their risk inputs (`buyer_risk_frame`: latest statement, DBT, overdue
   shares, broken plans, disputes, legal events, country and sector ratings), set-based;
3. the tenant's official model scores the chunk in pandas (`monitoring.modellab.registry`:
   its active scorecard, or the built-in `monitoring.scoring`, PDs from its active
   calibration); a model in shadow mode scores it too, into `ModelScore`;
4. the scores are COPied into a temporary table and inserted with
   ``INSERT ... ON CONFLICT (tenant_id, buyer_id, period)``: DO NOTHING for the monthly run (a
   score already there, e.g. from an event earlier that day, is newer information), DO UPDATE
   for "rescore now" and events (newer information replaces the period's score; a "rescore
   now" run leaves alone a score an event computed after the run was requested);
5. the alert rules are evaluated for the chunk (`monitoring.alerts.evaluate_alerts`) and the
   run's progress is advanced, compare-and-set on status = running, with the model version
   and the buyers whose grade went up or down against their previous score (`grade_moves`).

Scores, alerts and progress of a chunk commit together, so a worker that dies mid-run loses at
most the chunk in flight. The task is delivered again (acks_late, reject_on_worker_lost) or
re-enqueued, and the rerun scores only the buyers still missing: those with no score for the
period (monthly), or none computed since the run was requested ("rescore now"). A session-level
advisory lock per run keeps a second delivery from working on the same run at the same time
(the task retries later); PostgreSQL releases it when the connection of a dead worker goes
away. The monthly beat re-enqueues a period's unfinished runs, and "rescore now" resumes a
running run whose lock nobody holds.

Row-level security applies to every statement here (the app role, `app.tenant_id` set by
`tenant_context`); the explicit ``tenant_id = ...`` conditions are for the planner, which
then uses the tenant-leading indexes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from buyers import ledger
from buyers.receivables import AGING_BUCKETS, PAYMENT_PLAN_GRACE_DAYS
from creditguard.audit.services import audit_record
from creditguard.dates import today
from creditguard.locks import job_lock, job_lock_held
from creditguard.progress import percent_done
from creditguard.queue import enqueue_on_commit
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from . import scoring
from .models import BuyerScore, RescoreRun

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

    from creditguard.audit.services import Actor

logger = logging.getLogger(__name__)

# Buyers per chunk: one transaction, one risk-input query. Each chunk's query reads the pages
# holding its buyers' invoices, which are spread over the whole table, so fewer, larger chunks
# mean fewer passes; 10,000 keeps a chunk around a second or two (progress, little to redo
# after a crash) and its frame in tens of MB. Measured in bench/rescore.py.
CHUNK_SIZE = 10_000
DISPUTE_WINDOW_DAYS = 90
LEGAL_EVENT_WINDOW_DAYS = scoring.LEGAL_EVENT_WINDOW_DAYS
BROKEN_PLAN_WINDOW_DAYS = 365
# Days past due at which an invoice starts a new aging bucket (1, 31, 61, 91, 181): crossing one
# is new information about the buyer.
OVERDUE_THRESHOLDS_DAYS: tuple[int, ...] = tuple(
    bucket.min_days for bucket in AGING_BUCKETS if bucket.min_days > 0
)
_RUN_LOCK_NAMESPACE = 0x52534352  # "RSCR": first key of the per-run advisory lock


def period_of(day: date) -> date:
    """The scoring period a day belongs to: the first day of its month."""
    return day.replace(day=1)


# --- Risk inputs, set-based --------------------------------------------------------------------

# One statement for a chunk of buyers. `%(as_of)s` is the evaluation date; amounts are converted
# into the tenant's base currency with the rates known on it, each invoice rounded to cents, and
# rows in a currency without a rate are left out: the receivables rules (open, outstanding,
# overdue, DBT, payment-plan status) are the SQL fragments of `buyers.ledger`, the same ones the
# selectors and the alerts use. Money stays numeric; only the ratios the scoring maths needs
# (DBT, shares of exposure) become float8, after the sums.
# As of: everything is taken as it stood on `%(as_of)s`, from what was known then (the as-of
# fragments of `buyers.ledger`, whose docstring states the rules): statements known by then,
# invoices issued by then with payments and write-offs dated after it undone, disputes and
# plans as they stood, legal events up to it, the buyer's insolvency only once it was set, and
# the country and sector ratings in force. The as-of conditions are row filters after the same
# (tenant, buyer) index scans as before: no per-row subquery. With `%(as_of)s` = today this is
# today's view.
_AS_OF = "%(as_of)s::date"
_OVER_90_DAYS = "90"  # the over_90_share: more than 90 days past due
# The chosen statement's other figures, for the model lab's ratios (NULL → NaN when not given).
_STATEMENT_DETAILS = ", ".join(f"s.{name}" for name in scoring.STATEMENT_DETAIL_COLUMNS)
_STATEMENT_DETAIL_FLOATS = ", ".join(
    f"st.{name}::float8" for name in scoring.STATEMENT_DETAIL_COLUMNS
)
RISK_INPUTS_SQL = f"""
WITH chunk AS (
    SELECT b.id, {ledger.buyer_status_as_of_sql("b", as_of=_AS_OF)} AS status, b.country_id,
           b.nace_section
    FROM buyers_buyer b
    WHERE b.tenant_id = %(tenant_id)s AND b.id = ANY(%(buyer_ids)s)
),
{ledger.fx_cte()},
invoices AS (
    SELECT i.buyer_id,
           SUM({ledger.outstanding_in_base_sql("i")}) FILTER (WHERE {ledger.open_sql("i")})
               AS exposure,
           SUM({ledger.outstanding_in_base_sql("i")})
               FILTER (WHERE {ledger.overdue_sql("i", as_of=_AS_OF)}) AS overdue,
           SUM({ledger.outstanding_in_base_sql("i")})
               FILTER (WHERE {ledger.overdue_sql("i", as_of=_AS_OF, beyond_days=_OVER_90_DAYS)})
               AS over_90,
           {ledger.dbt_sql("i", as_of=_AS_OF)} AS dbt
    FROM ({
    ledger.invoices_as_of_sql(tenant="%(tenant_id)s", buyers="%(buyer_ids)s", as_of=_AS_OF)
}) AS i
    JOIN fx ON fx.currency = i.currency
    WHERE {ledger.open_sql("i")} OR {ledger.settled_for_dbt_sql("i", as_of=_AS_OF)}
    GROUP BY i.buyer_id
),
statements AS (
    SELECT DISTINCT ON (s.buyer_id)
           s.buyer_id, s.period_end, s.total_assets, s.current_assets, s.current_liabilities,
           s.total_liabilities, s.retained_earnings, s.ebit, s.equity,
           {_STATEMENT_DETAILS}
    FROM buyers_financialstatement s
    WHERE s.tenant_id = %(tenant_id)s AND s.buyer_id = ANY(%(buyer_ids)s)
      AND {ledger.statement_known_sql("s", as_of=_AS_OF)}
    ORDER BY s.buyer_id, s.period_end DESC
),
plans AS (
    SELECT plan.buyer_id, COUNT(*) AS broken
    FROM ({
    ledger.payment_plan_statuses_sql(
        tenant="%(tenant_id)s", buyers="%(buyer_ids)s", as_of=_AS_OF, as_known=True
    )
}) AS plan
    JOIN buyers_paymentplan p ON p.tenant_id = %(tenant_id)s AND p.id = plan.plan_id
    WHERE plan.status = 'broken'
      AND (p.agreed_date >= %(plans_since)s
           OR EXISTS (SELECT 1 FROM buyers_instalment n
                      WHERE n.tenant_id = p.tenant_id AND n.plan_id = p.id
                        AND n.due_date >= %(plans_since)s))
    GROUP BY plan.buyer_id
),
disputes AS (
    SELECT d.buyer_id,
           SUM(ROUND(d.amount * fx.factor, 2))
               FILTER (WHERE {ledger.dispute_open_as_of_sql("d", as_of=_AS_OF)}) AS open_amount,
           COUNT(*) FILTER (WHERE d.opened_date > %(disputes_since)s
                              AND d.opened_date <= %(as_of)s) AS opened_recently
    FROM buyers_dispute d
    LEFT JOIN fx ON fx.currency = d.currency
    WHERE d.tenant_id = %(tenant_id)s AND d.buyer_id = ANY(%(buyer_ids)s)
      AND d.opened_date <= %(as_of)s
      AND ({ledger.dispute_open_as_of_sql("d", as_of=_AS_OF)}
           OR d.opened_date > %(disputes_since)s)
    GROUP BY d.buyer_id
),
legal AS (
    SELECT e.buyer_id, array_agg(e.kind) AS kinds, array_agg(e.event_date) AS dates
    FROM monitoring_legalevent e
    WHERE e.tenant_id = %(tenant_id)s AND e.buyer_id = ANY(%(buyer_ids)s)
      AND e.event_date > %(legal_since)s AND e.event_date <= %(as_of)s
    GROUP BY e.buyer_id
),
country_ratings AS (
    SELECT DISTINCT ON (country_id) country_id, rating
    FROM monitoring_countryrisk WHERE effective_date <= %(as_of)s
    ORDER BY country_id, effective_date DESC
),
sector_ratings AS (
    SELECT DISTINCT ON (nace_section) nace_section, rating
    FROM monitoring_sectorrisk WHERE effective_date <= %(as_of)s
    ORDER BY nace_section, effective_date DESC
)
SELECT chunk.id,
       chunk.status,
       chunk.country_id,
       cr.rating,
       chunk.nace_section,
       sr.rating,
       st.total_assets::float8,
       st.current_assets::float8,
       st.current_liabilities::float8,
       st.total_liabilities::float8,
       st.retained_earnings::float8,
       st.ebit::float8,
       st.equity::float8,
       (EXTRACT(YEAR FROM age(%(as_of)s, st.period_end)) * 12
        + EXTRACT(MONTH FROM age(%(as_of)s, st.period_end)))::int,
       {_STATEMENT_DETAIL_FLOATS},
       inv.dbt::float8,
       (COALESCE(inv.overdue, 0) / NULLIF(inv.exposure, 0))::float8,
       (COALESCE(inv.over_90, 0) / NULLIF(inv.exposure, 0))::float8,
       -- Counts are NULL ("unknown"), not 0, for a buyer without payment history and without
       -- plans or disputes: missing is neutral in the scoring (monitoring/scoring.py).
       COALESCE(pl.broken, CASE WHEN inv.dbt IS NOT NULL THEN 0 END),
       (COALESCE(d.open_amount, 0) / NULLIF(inv.exposure, 0))::float8,
       COALESCE(d.opened_recently, CASE WHEN inv.dbt IS NOT NULL THEN 0 END),
       lg.kinds,
       lg.dates
FROM chunk
LEFT JOIN invoices inv ON inv.buyer_id = chunk.id
LEFT JOIN statements st ON st.buyer_id = chunk.id
LEFT JOIN plans pl ON pl.buyer_id = chunk.id
LEFT JOIN disputes d ON d.buyer_id = chunk.id
LEFT JOIN legal lg ON lg.buyer_id = chunk.id
LEFT JOIN country_ratings cr ON cr.country_id = chunk.country_id
LEFT JOIN sector_ratings sr ON sr.nace_section = chunk.nace_section
ORDER BY chunk.id
"""  # noqa: S608  (fragments of buyers.ledger, no input)

_RESULT_COLUMNS = (
    "buyer_id",
    "buyer_status",
    "country",
    "country_rating",
    "sector",
    "sector_rating",
    *scoring.STATEMENT_COLUMNS,
    "statement_age_months",
    *scoring.STATEMENT_DETAIL_COLUMNS,
    "days_beyond_terms",
    "overdue_share",
    "over_90_share",
    "broken_plans_12m",
    "disputed_share",
    "disputes_opened_90d",
    "legal_kinds",
    "legal_dates",
)


def risk_inputs_params(
    *, tenant_id: int, buyer_ids: Sequence[int], as_of: date, rates: Mapping[str, Decimal]
) -> dict[str, Any]:
    """The parameters of `RISK_INPUTS_SQL`."""
    base = Tenant.objects.values_list("base_currency", flat=True).get(pk=tenant_id)
    return {
        "tenant_id": tenant_id,
        "buyer_ids": list(buyer_ids),
        "as_of": as_of,
        **ledger.fx_params(rates, base=base),
        "plans_since": as_of - timedelta(days=BROKEN_PLAN_WINDOW_DAYS),
        "disputes_since": as_of - timedelta(days=DISPUTE_WINDOW_DAYS),
        "legal_since": as_of - timedelta(days=LEGAL_EVENT_WINDOW_DAYS),
    }


# A chunk's invoices are scattered over the whole table (they arrive in time order, not by
# buyer), and the planner underestimates how many there are: it multiplies the selectivities of
# the tenant and of the buyer list, which are fully correlated. It then picks a plain index scan,
# one random heap fetch per invoice, revisiting pages. A bitmap heap scan reads each page once,
# in physical order: twice as fast on the 100,000-buyer bench (bench/README.md), and no worse
# for a handful of buyers. JIT is off: the statement's cost estimate (about 10^6, mostly the
# scattered invoice pages) is far above jit_inline_above_cost / jit_optimize_above_cost, so
# PostgreSQL compiled its ~190 expressions (the ledger fragments) with LLVM inlining and
# optimization on every call: 4-9 s per statement on the bench VM against 1-2 s of execution,
# paid once per chunk, so the chunked job paid it 3 times per tenant where the floor paid it
# once (EXPLAIN ANALYZE "JIT: ... Total"; bench/README.md). Set for this one statement only.
RISK_INPUTS_PLANNER_SETTINGS = {"enable_indexscan": "off", "jit": "off"}


@contextmanager
def _planner_settings(cursor: CursorWrapper, values: dict[str, str]) -> Iterator[None]:
    previous: dict[str, str] = {}
    for name, value in values.items():
        cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
        previous[name] = cursor.fetchone()[0]
    try:
        yield
    finally:
        for name, value in previous.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def risk_inputs_rows(
    *, tenant_id: int, buyer_ids: Sequence[int], as_of: date, rates: Mapping[str, Decimal]
) -> list[tuple[Any, ...]]:
    """`RISK_INPUTS_SQL` for ``buyer_ids``: one row per buyer, in `_RESULT_COLUMNS` order.

    Runs in the caller's transaction with the tenant active (the bench's floor calls it too).
    """
    params = risk_inputs_params(tenant_id=tenant_id, buyer_ids=buyer_ids, as_of=as_of, rates=rates)
    with connection.cursor() as cursor, _planner_settings(cursor, RISK_INPUTS_PLANNER_SETTINGS):
        cursor.execute(RISK_INPUTS_SQL, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def buyer_risk_frame(
    *,
    tenant_id: int,
    buyer_ids: Sequence[int],
    as_of: date,
    rates: Mapping[str, Decimal] | None = None,
) -> pd.DataFrame:
    """The scoring inputs (`scoring.FRAME_COLUMNS`) of ``buyer_ids``, indexed by buyer id, as
    known on ``as_of`` (nothing dated after it: see `RISK_INPUTS_SQL`), plus the chosen
    statement's other figures (`scoring.STATEMENT_DETAIL_COLUMNS`, float, NaN when not given).

    One query; runs in the caller's transaction with the tenant active (buyers of another
    tenant are simply absent). ``rates`` defaults to the FX rates known on ``as_of``.
    """
    rates = fx_rates_on(as_of) if rates is None else rates
    rows = risk_inputs_rows(tenant_id=tenant_id, buyer_ids=buyer_ids, as_of=as_of, rates=rates)
    frame = pd.DataFrame.from_records(rows, columns=list(_RESULT_COLUMNS))
    frame["as_of"] = as_of
    details = list(scoring.STATEMENT_DETAIL_COLUMNS)
    frame[details] = frame[details].astype("float64")  # None → NaN, also in an all-None column
    kinds, dates = frame.pop("legal_kinds").tolist(), frame.pop("legal_dates").tolist()
    frame["legal_events"] = [
        list(zip(row_kinds, row_dates, strict=True)) if row_kinds else None
        for row_kinds, row_dates in zip(kinds, dates, strict=True)
    ]
    return frame.set_index("buyer_id")


# --- Writing scores ------------------------------------------------------------------------------

STAGING_BATCH_ROWS = 4000
_INSERT_SCORES_SQL = """
INSERT INTO monitoring_buyerscore
    (tenant_id, buyer_id, period, model_version, score, grade, probability_of_default, factors,
     trigger, computed_at, as_of)
SELECT %(tenant_id)s, buyer_id, %(period)s, %(model_version)s, score, grade,
       probability_of_default, factors, %(trigger)s, now(), %(as_of)s
FROM rescore_scores
ON CONFLICT (tenant_id, buyer_id, period) DO
"""
_KEEP_EXISTING = "NOTHING"
_REPLACE_EXISTING = """UPDATE SET
    model_version = EXCLUDED.model_version, score = EXCLUDED.score, grade = EXCLUDED.grade,
    probability_of_default = EXCLUDED.probability_of_default, factors = EXCLUDED.factors,
    trigger = EXCLUDED.trigger, computed_at = EXCLUDED.computed_at, as_of = EXCLUDED.as_of
WHERE monitoring_buyerscore.computed_at < %(replace_before)s"""


def scores_write(
    *,
    tenant_id: int,
    period: date,
    as_of: date,
    trigger: str,
    scored: pd.DataFrame,
    model_version: str,
    replace: bool,
    replace_before: datetime | str = "infinity",
) -> int:
    """Store `score_frame` output (indexed by buyer id) for ``period``, scored by
    ``model_version`` with what was known on ``as_of``: COPY into a temporary table, then one
    INSERT ... ON CONFLICT. Returns the rows inserted or replaced.

    An existing score of the period is kept unless ``replace``; even then, one computed at or
    after ``replace_before`` is kept (a "rescore now" run leaves alone what an event re-scored
    after the run was requested: that is newer information). Runs in the caller's transaction
    with the tenant active.
    """
    if scored.empty:
        return 0
    params: dict[str, int | str | date | datetime] = {
        "tenant_id": tenant_id,
        "period": period,
        "as_of": as_of,
        "model_version": model_version,
        "trigger": trigger,
        "replace_before": replace_before,
    }
    sql = _INSERT_SCORES_SQL + (_REPLACE_EXISTING if replace else _KEEP_EXISTING)
    written = 0
    with connection.cursor() as cursor:
        for _batch in _staged_scores(cursor, scored):
            cursor.execute(sql, params)
            written += cursor.rowcount
    return written


def _staged_scores(cursor: CursorWrapper, scored: pd.DataFrame) -> Iterator[None]:
    """COPY ``scored`` (`score_frame` columns, indexed by buyer id) into the temporary table
    ``rescore_scores`` batch by batch; yields once per batch, for the caller's INSERT."""
    rows = list(
        zip(
            scored.index.tolist(),
            scored["score"].tolist(),
            scored["grade"].tolist(),
            scored["probability_of_default"].tolist(),
            scored["factors"].tolist(),
            strict=True,
        )
    )
    cursor.execute(
        "CREATE TEMPORARY TABLE rescore_scores (buyer_id bigint, score numeric(5, 2), "
        "grade smallint, probability_of_default numeric(7, 5), factors jsonb) ON COMMIT DROP"
    )
    # Staged in batches that fit PostgreSQL's default temp_buffers (8 MB, ~1.8 KB a row):
    # a bigger temporary table spills to disk and is read back (7 % slower on the bench).
    for start in range(0, len(rows), STAGING_BATCH_ROWS):
        buffer = io.StringIO()
        # COPY text format: only backslash, tab and newlines are special; JSON text from
        # `score_frame` holds no raw tab or newline, so doubling backslashes is enough.
        buffer.writelines(
            f"{buyer_id}\t{score:.2f}\t{grade}\t{probability:.5f}\t"
            f"{factors.replace(chr(92), chr(92) * 2)}\n"
            for buyer_id, score, grade, probability, factors in rows[
                start : start + STAGING_BATCH_ROWS
            ]
        )
        buffer.seek(0)
        if start:
            cursor.execute("TRUNCATE rescore_scores")
        cursor.copy_expert("COPY rescore_scores FROM STDIN", buffer)
        yield
    cursor.execute("DROP TABLE rescore_scores")


_UPSERT_MODEL_SCORES_SQL = """
INSERT INTO monitoring_modelscore
    (tenant_id, model_id, buyer_id, period, as_of, score, grade, probability_of_default,
     factors, computed_at)
SELECT %(tenant_id)s, %(model_id)s, buyer_id, %(period)s, %(as_of)s, score, grade,
       probability_of_default, factors, now()
FROM rescore_scores
ON CONFLICT (tenant_id, model_id, buyer_id, period) DO UPDATE SET
    as_of = EXCLUDED.as_of, score = EXCLUDED.score, grade = EXCLUDED.grade,
    probability_of_default = EXCLUDED.probability_of_default, factors = EXCLUDED.factors,
    computed_at = EXCLUDED.computed_at
"""


def model_scores_write(
    *, tenant_id: int, model_id: int, period: date, as_of: date, scored: pd.DataFrame
) -> int:
    """Store a shadow model's `score_frame`-shaped output for ``period`` in `ModelScore`
    (the newest replaces the period's), the same COPY-then-upsert way as `scores_write`.
    Returns the rows written. Runs in the caller's transaction with the tenant active."""
    if scored.empty:
        return 0
    params: dict[str, int | date] = {
        "tenant_id": tenant_id,
        "model_id": model_id,
        "period": period,
        "as_of": as_of,
    }
    written = 0
    with connection.cursor() as cursor:
        for _batch in _staged_scores(cursor, scored):
            cursor.execute(_UPSERT_MODEL_SCORES_SQL, params)
            written += cursor.rowcount
    return written


def _official_scores(frame: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """(model version, scores) of the tenant's official model (`modellab.registry`)."""
    # Imported here: the model lab builds on this module (risk frames, runs).
    from .modellab.registry import score_for_tenant

    return score_for_tenant(frame)


def _shadow_scores_write(*, tenant_id: int, period: date, as_of: date, frame: pd.DataFrame) -> int:
    """Score ``frame`` with the tenant's model in shadow mode, if any, into `ModelScore`.

    Beside the official scores, never instead of them: a shadow scorecard that cannot score
    (a bug in its spec) is logged and skipped, and the official run goes on.
    """
    from .modellab.registry import score_with, shadow_model

    model = shadow_model()
    if model is None or frame.empty:
        return 0
    try:
        _version, scored = score_with(model, frame)
    except Exception:
        logger.exception("shadow model %s of tenant %s could not score", model.pk, tenant_id)
        return 0
    return model_scores_write(
        tenant_id=tenant_id, model_id=model.pk, period=period, as_of=as_of, scored=scored
    )


# Buyers of a chunk whose new grade for the period is better (a lower number) or worse than
# the grade of their latest score of an earlier period; buyers without one are neither.
# The unique (tenant, buyer, period) index serves both the chunk and the look-back.
_GRADE_MOVES_SQL = """
SELECT COUNT(*) FILTER (WHERE cur.grade < prev.grade),
       COUNT(*) FILTER (WHERE cur.grade > prev.grade)
FROM monitoring_buyerscore cur
CROSS JOIN LATERAL (
    SELECT p.grade FROM monitoring_buyerscore p
    WHERE p.tenant_id = cur.tenant_id AND p.buyer_id = cur.buyer_id AND p.period < cur.period
    ORDER BY p.period DESC
    LIMIT 1
) prev
WHERE cur.tenant_id = %(tenant_id)s AND cur.period = %(period)s
  AND cur.buyer_id = ANY(%(buyer_ids)s)
"""


def grade_moves(*, tenant_id: int, period: date, buyer_ids: Sequence[int]) -> tuple[int, int]:
    """(upgraded, downgraded) among ``buyer_ids``: their score of ``period`` against their
    previous score (the latest of an earlier period). One query, in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            _GRADE_MOVES_SQL,
            {"tenant_id": tenant_id, "period": period, "buyer_ids": list(buyer_ids)},
        )
        upgraded, downgraded = cursor.fetchone()
    return int(upgraded), int(downgraded)


def _evaluate_alerts(
    *, tenant: Tenant, buyer_ids: list[int], period: date, as_of: date, score_rules_only: bool
) -> int:
    # Imported here: the alerts module reads scores and must not be needed to import this one.
    from .alerts import SCORE_RULES, evaluate_alerts

    return evaluate_alerts(
        tenant=tenant,
        buyer_ids=buyer_ids,
        period=period,
        as_of=as_of,
        kinds=SCORE_RULES if score_rules_only else None,
    )


# --- Runs ----------------------------------------------------------------------------------------

_PENDING_BUYERS_SQL = """
SELECT b.id FROM buyers_buyer b
WHERE b.tenant_id = %(tenant_id)s AND b.id > %(after)s
  AND NOT EXISTS (
      SELECT 1 FROM monitoring_buyerscore s
      WHERE s.tenant_id = b.tenant_id AND s.buyer_id = b.id AND s.period = %(period)s
        AND s.computed_at >= %(fresh_since)s)
ORDER BY b.id
LIMIT %(limit)s
"""
_SCORED_BUYERS_SQL = """
SELECT COUNT(*) FROM monitoring_buyerscore s
WHERE s.tenant_id = %(tenant_id)s AND s.period = %(period)s AND s.computed_at >= %(fresh_since)s
"""


def _fresh_since(run: RescoreRun) -> datetime | str:
    """Scores of the period computed at or after this moment count as done for ``run``."""
    if run.trigger == BuyerScore.Trigger.MONTHLY:
        return "-infinity"  # any score of the period: the monthly run never replaces one
    return run.created_at


class RunNotRunning(Exception):
    """The run's status changed under us (another worker finished or failed it)."""


def _claim(tenant: Tenant, run_id: int) -> RescoreRun | None:
    """Compare-and-set queued/running/failed → running, with fresh totals (a rerun resumes)."""
    with tenant_context(tenant):
        run = RescoreRun.objects.filter(pk=run_id).first()
        if run is None or run.status == RescoreRun.Status.SUCCEEDED:
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM buyers_buyer WHERE tenant_id = %s", [tenant.pk])
            total = cursor.fetchone()[0]
            cursor.execute(
                _SCORED_BUYERS_SQL,
                {"tenant_id": tenant.pk, "period": run.period, "fresh_since": _fresh_since(run)},
            )
            scored = cursor.fetchone()[0]
        claimed = RescoreRun.objects.filter(
            pk=run_id,
            status__in=[
                RescoreRun.Status.QUEUED,
                RescoreRun.Status.RUNNING,  # its worker died: we hold the run's lock
                RescoreRun.Status.FAILED,
            ],
        ).update(
            status=RescoreRun.Status.RUNNING,
            started_at=Coalesce(F("started_at"), timezone.now()),
            finished_at=None,
            error="",
            total_buyers=total,
            scored_buyers=min(scored, total),
        )
        if not claimed:
            return None
        return RescoreRun.objects.get(pk=run_id)


def rescore_chunk(
    *,
    tenant: Tenant,
    run: RescoreRun,
    after: int,
    as_of: date,
    rates: Mapping[str, Decimal],
    chunk_size: int = CHUNK_SIZE,
) -> int | None:
    """Score the next chunk of ``run`` (buyers with id > ``after`` still missing a score) in
    the caller's transaction. Returns the chunk's last buyer id, or None when nothing is left.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _PENDING_BUYERS_SQL,
            {
                "tenant_id": tenant.pk,
                "after": after,
                "period": run.period,
                "fresh_since": _fresh_since(run),
                "limit": chunk_size,
            },
        )
        buyer_ids: list[int] = [row[0] for row in cursor.fetchall()]
    if not buyer_ids:
        return None
    frame = buyer_risk_frame(tenant_id=tenant.pk, buyer_ids=buyer_ids, as_of=as_of, rates=rates)
    model_version, scored = _official_scores(frame)
    scores_write(
        tenant_id=tenant.pk,
        period=run.period,
        as_of=as_of,
        trigger=run.trigger,
        scored=scored,
        model_version=model_version,
        replace=run.trigger != BuyerScore.Trigger.MONTHLY,
        replace_before=_fresh_since(run),
    )
    _shadow_scores_write(tenant_id=tenant.pk, period=run.period, as_of=as_of, frame=frame)
    upgraded, downgraded = grade_moves(tenant_id=tenant.pk, period=run.period, buyer_ids=buyer_ids)
    # The run's new scores can only trip the grade and score rules; the other rules are
    # evaluated daily (monitoring.evaluate_alerts_daily) and on every event.
    alerts = _evaluate_alerts(
        tenant=tenant, buyer_ids=buyer_ids, period=run.period, as_of=as_of, score_rules_only=True
    )
    advanced = RescoreRun.objects.filter(pk=run.pk, status=RescoreRun.Status.RUNNING).update(
        scored_buyers=F("scored_buyers") + len(buyer_ids),
        alerts_raised=F("alerts_raised") + alerts,
        upgraded=F("upgraded") + upgraded,
        downgraded=F("downgraded") + downgraded,
        model_version=model_version,
    )
    if not advanced:
        raise RunNotRunning(run.pk)
    return buyer_ids[-1]


def rescore_run_execute(
    *, tenant_id: int, run_id: int, as_of: date | None = None, chunk_size: int = CHUNK_SIZE
) -> bool:
    """Run (or resume) one re-scoring run, chunk by chunk, each chunk its own transaction.

    The caller must not hold a transaction open: progress has to be visible while the run is
    going, and a crash must keep the chunks already done. A finished run is left alone, so a
    repeated or redelivered task is harmless. Returns False, doing nothing, when another
    session holds the run (the caller may try again later), True otherwise.
    """
    tenant = Tenant.objects.get(pk=tenant_id, is_active=True)
    as_of = as_of or today()
    with job_lock(_RUN_LOCK_NAMESPACE, run_id) as locked:
        if not locked:
            logger.info("rescore run %s is being worked on elsewhere", run_id)
            return False
        run = _claim(tenant, run_id)
        if run is None:
            return True
        rates = fx_rates_on(as_of)
        after = 0
        try:
            while True:
                with tenant_context(tenant):
                    last = rescore_chunk(
                        tenant=tenant,
                        run=run,
                        after=after,
                        as_of=as_of,
                        rates=rates,
                        chunk_size=chunk_size,
                    )
                if last is None:
                    break
                after = last
        except RunNotRunning:
            return True
        except Exception as error:
            logger.exception("rescore run %s of tenant %s failed", run_id, tenant_id)
            with tenant_context(tenant):
                RescoreRun.objects.filter(pk=run_id, status=RescoreRun.Status.RUNNING).update(
                    status=RescoreRun.Status.FAILED,
                    error=f"{type(error).__name__}: {error}"[:2000],
                    finished_at=timezone.now(),
                )
            raise
        with tenant_context(tenant):
            RescoreRun.objects.filter(pk=run_id, status=RescoreRun.Status.RUNNING).update(
                status=RescoreRun.Status.SUCCEEDED,
                scored_buyers=F("total_buyers"),
                finished_at=timezone.now(),
            )
    return True


def _enqueue_run(run: RescoreRun) -> None:
    enqueue_on_commit("monitoring.rescore_run", run.pk, tenant_id=run.tenant_id)


def monthly_run_start(*, tenant: Tenant, period: date) -> int | None:
    """Beat, on the 1st, for each active tenant: its monthly run for the period of ``period``,
    enqueued after commit; returns the run's id. A run the period already has is enqueued again
    unless it succeeded (a repeat resumes, see `rescore_run_execute`; then None is returned).
    Call with the tenant active, in a transaction (the task's)."""
    period = period_of(period)
    # Two beats (or a redelivered beat task) must not create two runs for a period.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [_RUN_LOCK_NAMESPACE + 1, tenant.pk & 0x7FFFFFFF],
        )
    run = (
        RescoreRun.objects.filter(period=period, trigger=BuyerScore.Trigger.MONTHLY)
        .order_by("pk")
        .first()
    )
    if run is None:
        run = RescoreRun.objects.create(
            tenant=tenant, period=period, trigger=BuyerScore.Trigger.MONTHLY
        )
    if run.status == RescoreRun.Status.SUCCEEDED:
        return None
    _enqueue_run(run)
    return run.pk


@transaction.atomic
def rescore_now(*, tenant: Tenant, actor: Actor) -> RescoreRun:
    """An admin's "Rescore now": re-score every buyer for the current period, replacing the
    period's scores. Returns the run to follow with `rescore_progress`; while one is queued or
    running for the tenant, that one is returned instead of starting another. Call with the
    tenant active (the request's); the permission check is the caller's."""
    from django.contrib.auth.models import User

    # Two admins pressing the button at once must not start two runs.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [_RUN_LOCK_NAMESPACE + 2, tenant.pk & 0x7FFFFFFF],
        )
    pending = (
        RescoreRun.objects.filter(
            trigger=BuyerScore.Trigger.MANUAL,
            status__in=[RescoreRun.Status.QUEUED, RescoreRun.Status.RUNNING],
        )
        .order_by("-pk")
        .first()
    )
    if pending is not None:
        if pending.status == RescoreRun.Status.RUNNING and not job_lock_held(
            _RUN_LOCK_NAMESPACE, pending.pk
        ):
            _enqueue_run(pending)  # its worker died: resume it rather than wait for redelivery
        return pending
    run = RescoreRun.objects.create(
        tenant=tenant,
        period=period_of(today()),
        trigger=BuyerScore.Trigger.MANUAL,
        requested_by=actor if isinstance(actor, User) else None,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="monitoring.rescore_now",
        obj=run,
        after={"period": run.period.isoformat()},
    )
    _enqueue_run(run)
    return run


def rescore_progress(run: RescoreRun) -> dict[str, Any]:
    """What a progress bar polls: status, buyers scored of the total, percent, and the outcome."""
    total = run.total_buyers
    scored = min(run.scored_buyers, total) if total else run.scored_buyers
    percent = percent_done(scored, total, finished=run.status == RescoreRun.Status.SUCCEEDED)
    return {
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "scored": scored,
        "total": total,
        "percent": percent,
        "alerts_raised": run.alerts_raised,
        "upgraded": run.upgraded,
        "downgraded": run.downgraded,
        "model_version": run.model_version,
        "done": run.status in (RescoreRun.Status.SUCCEEDED, RescoreRun.Status.FAILED),
        "error": run.error,
    }


# --- Events --------------------------------------------------------------------------------------


def buyers_rescore(
    *, tenant: Tenant, buyer_ids: Sequence[int], reason: str, as_of: date | None = None
) -> int:
    """Re-score ``buyer_ids`` for the current period now (trigger "event"), replacing the
    period's scores, then evaluate their alerts. Runs in the caller's transaction with the
    tenant active; ids of other tenants or deleted buyers are skipped. Returns buyers scored."""
    as_of = as_of or today()
    period = period_of(as_of)
    frame = buyer_risk_frame(tenant_id=tenant.pk, buyer_ids=sorted(set(buyer_ids)), as_of=as_of)
    if frame.empty:
        return 0
    model_version, scored = _official_scores(frame)
    scores_write(
        tenant_id=tenant.pk,
        period=period,
        as_of=as_of,
        trigger=BuyerScore.Trigger.EVENT,
        scored=scored,
        model_version=model_version,
        replace=True,
    )
    _shadow_scores_write(tenant_id=tenant.pk, period=period, as_of=as_of, frame=frame)
    scored_ids = frame.index.tolist()
    alerts = _evaluate_alerts(
        tenant=tenant, buyer_ids=scored_ids, period=period, as_of=as_of, score_rules_only=False
    )
    logger.info(
        "re-scored %s buyers of tenant %s (%s), %s alerts",
        len(scored_ids),
        tenant.pk,
        reason,
        alerts,
    )
    return len(scored_ids)


_NEW_OVERDUE_SQL = f"""
SELECT i.buyer_id FROM buyers_invoice i
WHERE i.tenant_id = %(tenant_id)s AND {ledger.open_sql("i")} AND ({{crossings}})
UNION
SELECT p.buyer_id FROM buyers_paymentplan p
JOIN buyers_instalment n ON n.tenant_id = p.tenant_id AND n.plan_id = p.id
WHERE p.tenant_id = %(tenant_id)s AND {ledger.instalment_unpaid_sql("n")}
  AND n.due_date BETWEEN %(missed_from)s AND %(missed_to)s
ORDER BY 1
"""  # noqa: S608  (fragments of buyers.ledger, no input)


def buyers_with_new_overdues(*, tenant: Tenant, since: date, as_of: date) -> list[int]:
    """Buyers with an open invoice whose days past due crossed one of `OVERDUE_THRESHOLDS_DAYS`
    after ``since`` and by ``as_of`` (days past due on ``since`` < threshold ≤ days past due on
    ``as_of``, i.e. due between ``since − threshold + 1`` and ``as_of − threshold``), or with a
    payment-plan instalment that went unpaid past its grace period in that time, which breaks
    the plan without anybody touching it (`buyers.receivables.payment_plan_status`)."""
    crossings = " OR ".join(
        f"i.due_date BETWEEN %(from_{days})s AND %(to_{days})s" for days in OVERDUE_THRESHOLDS_DAYS
    )
    params: dict[str, Any] = {
        "tenant_id": tenant.pk,
        # Missed on day d when d − due date > grace: newly missed after `since`, by `as_of`.
        "missed_from": since - timedelta(days=PAYMENT_PLAN_GRACE_DAYS),
        "missed_to": as_of - timedelta(days=PAYMENT_PLAN_GRACE_DAYS + 1),
    }
    for days in OVERDUE_THRESHOLDS_DAYS:
        params[f"from_{days}"] = since - timedelta(days=days - 1)
        params[f"to_{days}"] = as_of - timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute(_NEW_OVERDUE_SQL.format(crossings=crossings), params)
        return [row[0] for row in cursor.fetchall()]


def new_overdues_rescore(*, tenant: Tenant, as_of: date) -> int:
    """Daily, for each active tenant: re-score (via `events.buyer_risk_changed`) the buyers
    whose invoices crossed an overdue threshold, or whose payment plan broke, since the day
    before ``as_of``. Returns how many. Call with the tenant active (the task's transaction)."""
    from .events import buyer_risk_changed

    buyer_ids = buyers_with_new_overdues(
        tenant=tenant, since=as_of - timedelta(days=1), as_of=as_of
    )
    if buyer_ids:
        buyer_risk_changed(tenant_id=tenant.pk, buyer_ids=buyer_ids, reason="overdue_threshold")
    return len(buyer_ids)
