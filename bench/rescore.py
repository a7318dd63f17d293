"""Monthly re-scoring: the job against its floor and against a naive per-buyer ORM loop.

    cd /work/main && .venv/bin/python -m creditguard.devstack exec -- \
        .venv/bin/python bench/rescore.py [--buyers 100000 --invoices 2000000 --tenants 4]

1. Creates a scratch database (migrated like a test database, dropped at the end) and fills
   it as the owner role with COPY: tenants, buyers, invoices over 18 months with per-buyer
   lateness, statements, payment plans, disputes, legal events, FX rates. Then runs last
   month's re-scoring (untimed) so that this month starts from real previous grades and open
   alerts, as it does in production.
2. **Floor**, as the runtime role with row-level security: per tenant, the risk-input query
   of the job over all its buyers in one statement (one GROUP BY pass), plus a COPY of one
   result row per buyer, as large as a real score row (factors JSON included), into an
   unindexed scratch table (a regular table: results must be durable).
3. **Job**: per tenant, a monthly `RescoreRun` executed in-process with the service the
   Celery task calls (`rescore_run_execute`), chunk by chunk, alerts hook included.
4. **Naive**: a per-buyer ORM loop like a first version would be (`buyer.invoices.filter(...)`
   ...), same inputs, same model, `update_or_create` and the alert hook per buyer, on a random
   sample, extrapolated to all buyers.
5. Floor and job run ``--repeat`` times, alternating (the job's scores, alerts and runs are
   deleted in between); the fastest of each counts. Prints the times, the job's breakdown,
   and PASS/FAIL for job ≤ 2 × floor and naive ≥ 50 × job (exit status 1 on FAIL). See
   bench/README.md for what the numbers mean and the last results.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditguard.settings.local")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from scratch import copy_rows, create_database, drop_database, owner_role  # noqa: E402

from buyers import ledger, receivables  # noqa: E402
from buyers.ledger import OPEN_STATUSES  # noqa: E402
from buyers.models import Buyer  # noqa: E402
from buyers.receivables import DBT_LOOKBACK_DAYS  # noqa: E402
from creditguard.reference.fx import MissingRate, convert  # noqa: E402
from creditguard.reference.models import FxRate  # noqa: E402
from creditguard.reference.nace import divisions_of  # noqa: E402
from creditguard.reference.selectors import fx_rates_on  # noqa: E402
from creditguard.tenancy.context import tenant_context  # noqa: E402
from creditguard.tenancy.models import Tenant  # noqa: E402
from monitoring import rescoring, scoring  # noqa: E402
from monitoring.models import BuyerScore, CountryRisk, RescoreRun, SectorRisk  # noqa: E402

JOB_TO_FLOOR_TARGET = 2.0
NAIVE_TO_JOB_TARGET = 50.0
AS_OF = date(2026, 12, 1)  # the 1st: the day the monthly beat runs
PERIOD = AS_OF
PREVIOUS_PERIOD = date(2026, 11, 1)
NAIVE_PERIOD = date(2027, 1, 1)  # the naive loop writes its own period, not the job's
HISTORY_DAYS = 540
COUNTRIES = {  # country → share of buyers
    "DE": 30, "FR": 12, "IT": 10, "ES": 7, "NL": 6, "PL": 6, "GB": 5, "US": 5, "AT": 4,
    "BE": 3, "CN": 3, "TR": 3, "BR": 2, "CZ": 2, "IN": 1, "AR": 1,
}  # fmt: skip
SECTIONS = "ACCCCCFFGGGGGHHIJKLMMNQS"
FX = {"USD": "1.08", "GBP": "0.84", "PLN": "4.30", "CHF": "0.95"}
LEGAL_KINDS = ["court_judgment", "tax_lien", "payment_default", "management_change", "other"]

# Django keeps every query in `connection.queries` under DEBUG (local settings); neither side
# should pay for that.
settings.DEBUG = False


# --- Data -------------------------------------------------------------------------------------------


class Portfolio:
    def __init__(self, *, buyers: int, invoices: int, tenants: int, seed: int = 7) -> None:
        self.buyer_count, self.invoice_count, self.tenant_count = buyers, invoices, tenants
        self.rng = np.random.default_rng(seed)
        self.tenant_ids: list[int] = []
        self.buyer_tenant: np.ndarray = np.empty(0)

    def build(self) -> dict[str, int]:
        """Everything as the owner role: COPY, foreign-key triggers off (the data is valid by
        construction), then ANALYZE, as autovacuum would after a real month of traffic."""
        counts: dict[str, int] = {}
        with owner_role(), connection.cursor() as cursor:
            self.tenant_ids = [
                Tenant.objects.create(name=f"Bench tenant {n}", slug=f"bench-rescore-{n}").pk
                for n in range(self.tenant_count)
            ]
            FxRate.objects.bulk_create(
                FxRate(
                    currency=code, rate_date=AS_OF - timedelta(days=1), units_per_eur=Decimal(rate)
                )
                for code, rate in FX.items()
            )
            # A superuser owner skips the foreign-key triggers while loading (valid by design).
            with suppress(DatabaseError):
                cursor.execute("SET session_replication_role = replica")
            counts["buyers"] = self._buyers(cursor)
            counts["invoices"] = self._invoices(cursor)
            counts.update(self._credit_file(cursor))
            with suppress(DatabaseError):
                cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("ANALYZE")
        return counts

    def _buyers(self, cursor) -> int:
        n, rng = self.buyer_count, self.rng
        # Tenants' buyers interleave in id order, as when they are created over time.
        self.buyer_tenant = rng.integers(0, self.tenant_count, n)
        countries = list(COUNTRIES)
        weights = np.array(list(COUNTRIES.values()), dtype=float)
        country = rng.choice(countries, n, p=weights / weights.sum())
        section = rng.choice(list(SECTIONS), n)
        status = np.where(rng.random(n) < 0.005, "insolvent", "active")
        tenant_ids = self.tenant_ids
        # A real NACE code that agrees with the section: the section's first division.
        code = {letter: divisions_of(letter)[0] for letter in set(SECTIONS)}
        lines = (
            f"{i + 1}\t{tenant_ids[t]}\tB-{i:07d}\tBench buyer {i}\t\t\t\t\t\t{code[s]}\t{s}\tEUR\t30\t"
            f"{st}\t2025-01-01 00:00:00+00\t2025-01-01 00:00:00+00\t{c}\n"
            for i, (t, c, s, st) in enumerate(
                zip(self.buyer_tenant.tolist(), country.tolist(), section.tolist(), status.tolist(), strict=True)
            )
        )  # fmt: skip
        columns = [
            "id", "tenant_id", "erp_reference", "legal_name", "registration_number", "vat_number",
            "lei", "city", "address", "nace_code", "nace_section", "currency",
            "payment_terms_days", "status", "created_at", "updated_at", "country_id",
        ]  # fmt: skip
        copy_rows(cursor, "buyers_buyer", columns, lines)
        cursor.execute("SELECT setval(pg_get_serial_sequence('buyers_buyer', 'id'), %s)", [n])
        return n

    def _invoices(self, cursor) -> int:
        n, rng = self.invoice_count, self.rng
        # Some buyers get many more invoices than others; each pays with its own lateness.
        weight = rng.lognormal(0, 1, self.buyer_count)
        buyer = rng.choice(self.buyer_count, n, p=weight / weight.sum())
        mean_lateness = rng.exponential(8, self.buyer_count)
        issue_offset = np.sort(rng.integers(1, HISTORY_DAYS, n))[::-1]  # oldest first: time order
        terms = rng.choice([30, 45, 60], n)
        due_offset = issue_offset - terms  # days before AS_OF; negative = not yet due
        on_time = rng.random(n) < 0.4
        lateness = np.where(
            on_time, -rng.integers(0, 5, n), rng.exponential(mean_lateness[buyer] + 0.1)
        )
        paid_offset = due_offset - np.round(lateness).astype(int)
        unpaid_share = rng.random(n)
        is_paid = (paid_offset > 0) & (unpaid_share > 0.03)
        amount = np.round(rng.lognormal(7.5, 1.2, n), 2) + 1
        partial = ~is_paid & (rng.random(n) < 0.1)
        paid_amount = np.where(is_paid, amount, np.where(partial, np.round(amount * 0.4, 2), 0.0))
        disputed = ~is_paid & ~partial & (rng.random(n) < 0.03)
        written_off = ~is_paid & (due_offset > 400) & (rng.random(n) < 0.5)
        status = np.select(
            [is_paid, written_off, disputed, partial], ["paid", "written_off", "disputed", "partially_paid"], "open"
        )  # fmt: skip
        currency = np.where(rng.random(n) < 0.9, "EUR", rng.choice(list(FX), n))
        days = [
            (AS_OF - timedelta(days=int(d))).isoformat() for d in range(-120, HISTORY_DAYS + 200)
        ]

        def day(offset: int) -> str:
            return days[offset + 120]

        tenant_ids = self.tenant_ids
        buyer_tenant = self.buyer_tenant.tolist()
        lines = (
            f"{tenant_ids[buyer_tenant[b]]}\t{b + 1}\tI-{i:08d}\t{i}\t{day(iss)}\t{day(due)}\t{a:.2f}\t{cur}\t"
            f"{p:.2f}\t{day(pd) if st == 'paid' else chr(92) + 'N'}\t{st}\t2026-11-30 00:00:00+00\n"
            for i, (b, iss, due, a, cur, p, pd, st) in enumerate(
                zip(buyer.tolist(), issue_offset.tolist(), due_offset.tolist(), amount.tolist(),
                    currency.tolist(), paid_amount.tolist(), np.maximum(paid_offset, 0).tolist(),
                    status.tolist(), strict=True)
            )
        )  # fmt: skip
        columns = [
            "tenant_id", "buyer_id", "erp_reference", "number", "issue_date", "due_date", "amount",
            "currency", "paid_amount", "paid_date", "status", "updated_at",
        ]  # fmt: skip
        copy_rows(cursor, "buyers_invoice", columns, lines)
        return n

    def _credit_file(self, cursor) -> dict[str, int]:
        rng, n = self.rng, self.buyer_count
        tenant_of = [self.tenant_ids[t] for t in self.buyer_tenant.tolist()]
        statements = []
        for b in np.flatnonzero(rng.random(n) < 0.7).tolist():
            for period_end in ("2025-12-31",) + (("2024-12-31",) if rng.random() < 0.4 else ()):
                assets = float(rng.lognormal(15, 1.5))
                current = assets * rng.uniform(0.2, 0.7)
                liabilities = assets * rng.uniform(0.3, 1.05)
                current_liabilities = liabilities * rng.uniform(0.3, 0.8)
                equity = assets - liabilities
                statements.append(
                    f"{tenant_of[b]}\t{b + 1}\t{period_end}\t12\tEUR\t{assets * 1.5:.2f}\t"
                    f"{assets * rng.uniform(-0.08, 0.15):.2f}\t{assets * rng.uniform(-0.06, 0.1):.2f}\t"
                    f"{assets:.2f}\t{current:.2f}\t{current_liabilities:.2f}\t{liabilities:.2f}\t"
                    f"{equity * rng.uniform(0.2, 0.9):.2f}\t{equity:.2f}\tf\t\t2026-01-01 00:00:00+00\t[]\n"
                )  # fmt: skip
        copy_rows(
            cursor,
            "buyers_financialstatement",
            ["tenant_id", "buyer_id", "period_end", "period_months", "currency", "revenue", "ebit",
             "net_income", "total_assets", "current_assets", "current_liabilities",
             "total_liabilities", "retained_earnings", "equity", "audited", "source", "created_at",
             "warnings"],
            statements,
        )  # fmt: skip
        plans = [
            f"{tenant_of[b]}\t{b + 1}\tP-{b}\t{(AS_OF - timedelta(days=int(rng.integers(10, 500)))).isoformat()}\t"
            f"1000.00\tEUR\t{'broken' if rng.random() < 0.4 else 'kept'}\t\n"
            for b in np.flatnonzero(rng.random(n) < 0.02).tolist()
        ]  # fmt: skip
        copy_rows(
            cursor,
            "buyers_paymentplan",
            ["tenant_id", "buyer_id", "erp_reference", "agreed_date", "total_amount", "currency", "status", "note"],
            plans,
        )  # fmt: skip
        disputes = []
        for b in np.flatnonzero(rng.random(n) < 0.03).tolist():
            for k in range(int(rng.integers(1, 3))):
                opened = AS_OF - timedelta(days=int(rng.integers(1, 200)))
                is_open = rng.random() < 0.5
                resolved = "\\N" if is_open else min(opened + timedelta(days=5), AS_OF).isoformat()
                disputes.append(
                    f"{tenant_of[b]}\t{b + 1}\tD-{b}-{k}\tquality\t\t{rng.uniform(100, 5000):.2f}\tEUR\t"
                    f"{opened.isoformat()}\t{resolved}\t\t{'open' if is_open else 'resolved'}\n"
                )  # fmt: skip
        copy_rows(
            cursor,
            "buyers_dispute",
            ["tenant_id", "buyer_id", "erp_reference", "reason", "description", "amount", "currency",
             "opened_date", "resolved_date", "resolution", "status"],
            disputes,
        )  # fmt: skip
        events = [
            f"{tenant_of[b]}\t{b + 1}\t{'insolvency_filing' if rng.random() < 0.1 else rng.choice(LEGAL_KINDS)}\t"
            f"{(AS_OF - timedelta(days=int(rng.integers(1, 900)))).isoformat()}\t\t\t2026-01-01 00:00:00+00\n"
            for b in np.flatnonzero(rng.random(n) < 0.01).tolist()
        ]  # fmt: skip
        copy_rows(
            cursor,
            "monitoring_legalevent",
            ["tenant_id", "buyer_id", "kind", "event_date", "description", "source", "created_at"],
            events,
        )
        return {
            "statements": len(statements),
            "payment plans": len(plans),
            "disputes": len(disputes),
            "legal events": len(events),
        }

    def buyer_ids(self, tenant_index: int) -> list[int]:
        return (np.flatnonzero(self.buyer_tenant == tenant_index) + 1).tolist()


# --- Floor ---------------------------------------------------------------------------------------


def measure_floor(portfolio: Portfolio, tenants: list[Tenant], payload: str) -> tuple[float, float]:
    """Per tenant: the job's risk-input query over all its buyers in one statement, and a COPY
    of one row per buyer (as large as a real score row) into an unindexed scratch table.
    Returns (total seconds, seconds in the query)."""
    rates = fx_rates_on(AS_OF)
    with owner_role(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute(
            "CREATE TABLE bench_floor (buyer_id bigint, score numeric(5, 2), grade smallint, "
            "probability_of_default numeric(7, 5), factors jsonb)"
        )
        cursor.execute(f"GRANT INSERT ON bench_floor TO {settings.DATABASE_APP_USER}")
    started = time.perf_counter()
    query_seconds = 0.0
    for index, tenant in enumerate(tenants):
        buyer_ids = portfolio.buyer_ids(index)
        with tenant_context(tenant), connection.cursor() as cursor:
            query_started = time.perf_counter()
            rows = rescoring.risk_inputs_rows(
                tenant_id=tenant.pk, buyer_ids=buyer_ids, as_of=AS_OF, rates=rates
            )
            query_seconds += time.perf_counter() - query_started
            copy_rows(
                cursor,
                "bench_floor",
                ["buyer_id", "score", "grade", "probability_of_default", "factors"],
                (f"{row[0]}\t55.00\t5\t0.00800\t{payload}\n" for row in rows),
            )
    return time.perf_counter() - started, query_seconds


# --- Job -------------------------------------------------------------------------------------------


class Breakdown:
    """Wall time spent in the job's steps, by wrapping the module functions it calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._originals: list[tuple[object, str, Callable]] = []

    def wrap(self, module: object, name: str, label: str) -> None:
        original = getattr(module, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        self._originals.append((module, name, original))
        setattr(module, name, timed)

    def restore(self) -> None:
        for module, name, original in reversed(self._originals):
            setattr(module, name, original)


def measure_job(
    tenants: list[Tenant], chunk_size: int, *, period: date = PERIOD, as_of: date = AS_OF
) -> tuple[float, Breakdown, int]:
    breakdown = Breakdown()
    breakdown.wrap(rescoring, "buyer_risk_frame", "risk-input query")
    breakdown.wrap(scoring, "score_frame", "scoring (pandas)")
    breakdown.wrap(rescoring, "scores_write", "COPY + INSERT ON CONFLICT")
    breakdown.wrap(rescoring, "_evaluate_alerts", "alert hook")
    runs = []
    for tenant in tenants:
        with tenant_context(tenant):
            runs.append(RescoreRun.objects.create(tenant=tenant, period=period, trigger="monthly"))
    started = time.perf_counter()
    try:
        for run in runs:
            rescoring.rescore_run_execute(
                tenant_id=run.tenant_id, run_id=run.pk, as_of=AS_OF, chunk_size=chunk_size
            )
    finally:
        elapsed = time.perf_counter() - started
        breakdown.restore()
    alerts = 0
    for tenant, run in zip(tenants, runs, strict=True):
        with tenant_context(tenant):
            run.refresh_from_db()
            if run.status != RescoreRun.Status.SUCCEEDED:
                raise SystemExit(f"run {run.pk} ended {run.status}: {run.error}")
            alerts += run.alerts_raised
    return elapsed, breakdown, alerts


# --- Naive -----------------------------------------------------------------------------------------


def naive_score(buyer: Buyer, *, tenant: Tenant, rates: dict[str, Decimal]) -> None:
    """What a first version looks like: the ORM per buyer, Python sums, one row at a time."""
    from monitoring.alerts import evaluate_alerts

    def eur(amount: Decimal, currency: str) -> Decimal | None:
        try:
            return convert(amount, from_currency=currency, to_currency="EUR", units_per_eur=rates)
        except MissingRate:
            return None

    statement = buyer.financials.filter(period_end__lte=AS_OF).order_by("-period_end").first()
    open_items, settled = [], []
    for invoice in buyer.invoices.filter(status__in=OPEN_STATUSES):
        outstanding = eur(invoice.amount - invoice.paid_amount, invoice.currency)
        if outstanding is not None:
            open_items.append(
                receivables.OpenItem(due_date=invoice.due_date, outstanding=outstanding)
            )
    for invoice in buyer.invoices.filter(
        status="paid", paid_date__gte=AS_OF - timedelta(days=DBT_LOOKBACK_DAYS)
    ):
        amount = eur(invoice.amount, invoice.currency)
        if amount is not None:
            settled.append(
                receivables.SettledItem(
                    issue_date=invoice.issue_date, due_date=invoice.due_date, paid_date=invoice.paid_date, amount=amount
                )
            )  # fmt: skip
    exposure = receivables.exposure(open_items)
    dbt = receivables.days_beyond_terms(settled=settled, open_items=open_items, as_of=AS_OF)
    overdue = receivables.overdue_amount(open_items, as_of=AS_OF)
    over_90 = sum(
        (i.outstanding for i in open_items if receivables.days_past_due(due_date=i.due_date, as_of=AS_OF) > 90),
        Decimal(0),
    )  # fmt: skip
    broken = (
        buyer.payment_plans.annotate(current=ledger.payment_plan_status(as_of=AS_OF))
        .filter(current="broken", agreed_date__gte=AS_OF - timedelta(days=365))
        .count()
    )
    disputed = sum(
        (eur(d.amount, d.currency) or Decimal(0) for d in buyer.disputes.filter(status="open")),
        Decimal(0),
    )
    recent_disputes = buyer.disputes.filter(opened_date__gt=AS_OF - timedelta(days=90)).count()
    legal = tuple(
        (event.kind, event.event_date)
        for event in buyer.legal_events.filter(
            event_date__gt=AS_OF - timedelta(days=730), event_date__lte=AS_OF
        )
    )
    country = CountryRisk.objects.filter(
        country_id=buyer.country_id, effective_date__lte=AS_OF
    ).first()
    sector = SectorRisk.objects.filter(
        nace_section=buyer.nace_section, effective_date__lte=AS_OF
    ).first()
    result = scoring.score_buyer(
        scoring.BuyerRiskInputs(
            as_of=AS_OF,
            statement=scoring.StatementFigures(
                **{name: getattr(statement, name) for name in scoring.STATEMENT_COLUMNS}
            ) if statement else None,
            statement_age_months=(
                (AS_OF.year - statement.period_end.year) * 12 + AS_OF.month - statement.period_end.month
                - (AS_OF.day < statement.period_end.day)
            ) if statement else None,
            days_beyond_terms=dbt,
            overdue_share=overdue / exposure if exposure else None,
            over_90_share=over_90 / exposure if exposure else None,
            broken_plans_12m=broken if broken or dbt is not None else None,
            disputed_share=disputed / exposure if exposure else None,
            disputes_opened_90d=(
                recent_disputes if recent_disputes or dbt is not None or disputed else None
            ),
            country=buyer.country_id,
            country_rating=country.rating if country else None,
            sector=buyer.nace_section,
            sector_rating=sector.rating if sector else None,
            legal_events=legal,
            buyer_status=buyer.status,
        )
    )  # fmt: skip
    BuyerScore.objects.update_or_create(
        tenant=tenant,
        buyer=buyer,
        period=NAIVE_PERIOD,
        defaults={
            "model_version": scoring.MODEL_VERSION,
            "score": result.score,
            "grade": result.grade,
            "probability_of_default": result.probability_of_default,
            "factors": result.factors,
            "trigger": BuyerScore.Trigger.MONTHLY,
        },
    )
    evaluate_alerts(tenant=tenant, buyer_ids=[buyer.pk], period=NAIVE_PERIOD, as_of=AS_OF)


def measure_naive(
    portfolio: Portfolio, tenants: list[Tenant], sample_size: int
) -> tuple[float, int]:
    rng = random.Random(11)
    rates = fx_rates_on(AS_OF)
    per_tenant = max(1, sample_size // len(tenants))
    scored = 0
    started = time.perf_counter()
    for index, tenant in enumerate(tenants):
        sample = rng.sample(
            portfolio.buyer_ids(index), min(per_tenant, len(portfolio.buyer_ids(index)))
        )
        with tenant_context(tenant):
            for buyer in Buyer.objects.filter(pk__in=sample):
                naive_score(buyer, tenant=tenant, rates=rates)
                scored += 1
    return time.perf_counter() - started, scored


# --- Main ---------------------------------------------------------------------------------------------


def check_agreement(tenants: list[Tenant], naive_scored: int) -> int:
    """The naive loop and the job must produce the same scores (else the comparison is moot)."""
    mismatches = 0
    for tenant in tenants:
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM monitoring_buyerscore naive JOIN monitoring_buyerscore job "
                "ON job.buyer_id = naive.buyer_id AND job.period = %s "
                "WHERE naive.period = %s AND (naive.grade <> job.grade OR abs(naive.score - job.score) > 0.05)",
                [PERIOD, NAIVE_PERIOD],
            )
            mismatches += cursor.fetchone()[0]
    return mismatches


def alert_mark() -> int:
    with owner_role(), connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM monitoring_alert")
        return cursor.fetchone()[0]


def reset_period(period: date, mark: int) -> None:
    """Undo a job run (its scores, alerts and runs), so the next run does the same work."""
    with owner_role(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM monitoring_buyerscore WHERE period = %s", [period])
        cursor.execute("DELETE FROM monitoring_alert WHERE id > %s", [mark])
        cursor.execute("DELETE FROM monitoring_rescorerun WHERE period = %s", [period])
        cursor.execute("VACUUM ANALYZE monitoring_buyerscore, monitoring_alert")


def row(label: str, seconds: float, buyers: int | None = None) -> str:
    rate = f"{buyers / seconds:>12,.0f}" if buyers else ""
    return f"{label:<46}{seconds:>10.2f}{rate}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buyers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=2_000_000)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--sample", type=int, default=500, help="buyers in the naive loop")
    parser.add_argument("--chunk-size", type=int, default=rescoring.CHUNK_SIZE)
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of the floor and the job; the fastest counts"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    options = parser.parse_args()
    n = options.buyers

    load_at_start = os.getloadavg()[0]
    original = create_database("rescore")
    print(f"scratch database {connection.settings_dict['NAME']}", flush=True)
    try:
        portfolio = Portfolio(buyers=n, invoices=options.invoices, tenants=options.tenants)
        started = time.perf_counter()
        counts = portfolio.build()
        print(
            f"built in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{value:,} {key}" for key, value in counts.items()),
            flush=True,
        )
        tenants = list(Tenant.objects.filter(pk__in=portfolio.tenant_ids).order_by("pk"))
        previous_seconds, _breakdown, previous_alerts = measure_job(
            tenants, options.chunk_size, period=PREVIOUS_PERIOD, as_of=PREVIOUS_PERIOD
        )
        print(
            f"last month's run (set-up, untimed): {previous_seconds:.1f} s, "
            f"{previous_alerts:,} alerts",
            flush=True,
        )
        example = scoring.score_buyer(
            scoring.BuyerRiskInputs(
                as_of=AS_OF, days_beyond_terms=Decimal("12.5"), overdue_share=Decimal("0.2")
            )
        )
        payload = scoring._text_json(example.factors)

        measure_floor(portfolio, tenants, payload)  # warm-up: caches, plans
        floors, jobs = [], []
        mark = alert_mark()
        for attempt in range(options.repeat):
            if attempt:
                reset_period(PERIOD, mark)
            floors.append(measure_floor(portfolio, tenants, payload))
            jobs.append(measure_job(tenants, options.chunk_size))
            print(
                f"run {attempt + 1}: floor {floors[-1][0]:.2f} s, job {jobs[-1][0]:.2f} s",
                flush=True,
            )
        floor_seconds, floor_query = min(floors)
        job_seconds, breakdown, alerts = min(jobs, key=lambda job: job[0])
        naive_sample_seconds, naive_scored = measure_naive(portfolio, tenants, options.sample)
        naive_seconds = naive_sample_seconds / naive_scored * n
        mismatches = check_agreement(tenants, naive_scored)
    finally:
        if options.keep:
            print(f"kept {connection.settings_dict['NAME']}")
        else:
            drop_database(original)

    alert_hook = breakdown.seconds["alert hook"]
    job_to_floor = job_seconds / floor_seconds
    naive_to_job = naive_seconds / job_seconds
    print()
    print(
        f"Monthly re-scoring: {n:,} buyers, {options.invoices:,} invoices, "
        f"{options.tenants} tenants, chunks of {options.chunk_size:,}, best of {options.repeat}"
    )
    print(f"{'':<46}{'seconds':>10}{'buyers/s':>12}")
    print(row("floor: 1 GROUP BY + COPY per tenant", floor_seconds, n))
    print(row("  risk-input query, all buyers at once", floor_query))
    print(row("  COPY of the result rows, commit", floor_seconds - floor_query))
    print(row("job: rescore_run_execute, alert hook incl.", job_seconds, n))
    for label, seconds in breakdown.seconds.items():
        print(row(f"  {label}", seconds))
    print(row("  pending buyers, progress, commits", job_seconds - sum(breakdown.seconds.values())))
    print(
        row(f"naive ORM loop: {naive_scored} buyers, x {n / naive_scored:,.0f}", naive_seconds, n)
    )
    print(f"alerts raised by the job: {alerts:,}; naive vs job score mismatches: {mismatches}")
    print(f"load average {load_at_start:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print(f"job without the alert hook / floor = {(job_seconds - alert_hook) / floor_seconds:.2f}")
    job_ok = job_to_floor <= JOB_TO_FLOOR_TARGET
    naive_ok = naive_to_job >= NAIVE_TO_JOB_TARGET
    print(
        f"job / floor  = {job_to_floor:6.2f}  (target <= {JOB_TO_FLOOR_TARGET:g})  "
        f"{'PASS' if job_ok else 'FAIL'}"
    )
    print(
        f"naive / job  = {naive_to_job:6.1f}  (target >= {NAIVE_TO_JOB_TARGET:g})  "
        f"{'PASS' if naive_ok else 'FAIL'}"
    )
    return 0 if job_ok and naive_ok and mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
