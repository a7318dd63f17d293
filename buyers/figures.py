"""Per-buyer figures kept current (`BuyerFigures`), so that no page aggregates invoices on read.

Freshness does not rely on every writer remembering to say what it changed: statement-level
triggers on each table a figure depends on (buyers migration 0005) mark the buyers a statement
touched in `FiguresDirty`. `figures_fresh(tenant=...)`, called by a view before it reads
`BuyerFigures`, then

- refreshes every buyer of the tenant when the figures are not for today (overdue and aging
  move with the date; the daily job `buyers.figures_daily` normally did it already), else
- refreshes only the buyers marked dirty, claimed with DELETE ... RETURNING,

and costs one small query when nothing is dirty.

A refresh is set-based: one INSERT ... ON CONFLICT DO UPDATE per batch of buyers. The
receivables columns come from the SQL form of the receivables rules (`buyers.ledger`, the one
owner of exposure, overdue and aging); the columns that belong to the apps above buyers (score
and grade from monitoring, limit and cover from policies, ...) from grouped queries of theirs
(`SourceRows`), joined into the same statement. Those apps register a `FigureSource` from
their ``ready()``: buyers never imports them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import QuerySet, Sum

from creditguard.dates import today
from creditguard.queue import enqueue_on_commit
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.models import Tenant

from . import ledger, receivables
from .models import Buyer, BuyerFigures, PortfolioSnapshot

T = TypeVar("T")

BATCH_SIZE = 5000
CREDIT_SALES_DAYS = 365  # `BuyerFigures.credit_sales_365`: DSO over a year


@dataclass(frozen=True)
class FigureContext:
    """What a source needs to build its expressions: the tenant, the day and the FX rates."""

    tenant: Tenant
    as_of: date
    rates: Mapping[str, Decimal]  # units per EUR (`fx_rates_on`)


@dataclass(frozen=True)
class SourceRows:
    """Rows of a source: ``rows`` is a queryset of ``values("buyer_id", <column>=..., ...)``
    with at most one row per buyer of the batch, named after `BuyerFigures` columns;
    ``defaults`` gives the value of a column for a buyer without a row (NULL when absent)."""

    rows: QuerySet[Any, Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # Row names that cannot be the column's own (a model field of the same name): name → column
    renames: Mapping[str, str] = field(default_factory=dict)


# A source computes some `BuyerFigures` columns for a batch of buyers of the context's tenant,
# set-based (one grouped or DISTINCT ON query per `SourceRows`), with its app's own rules.
FigureSource = Callable[[FigureContext, Sequence[int]], Iterable[SourceRows]]
FIGURE_SOURCES: list[FigureSource] = []


def register_figure_source(source: FigureSource) -> None:
    """Let the figures include the columns `source` computes (called from an app's ``ready``)."""
    if source not in FIGURE_SOURCES:
        FIGURE_SOURCES.append(source)


# --- Reading ---------------------------------------------------------------------------------


def figures_fresh(*, tenant: Tenant) -> None:
    """Make the tenant's `BuyerFigures` current; one query when they already are.

    A request refreshes inline only what is quick: a new day's full refresh of a tenant of up
    to `INLINE_BUYERS` buyers, or up to `INLINE_DIRTY` dirty buyers. Anything larger (the first
    request after midnight of a large tenant, a sweep or import that touched most buyers) goes
    to a task, sent once, and the page shows the figures as they are until it has run.
    """
    day = today()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT FROM buyers_portfoliosnapshot"
            "               WHERE tenant_id = %s AND as_of = %s),"
            "       (SELECT count(*) FROM (SELECT FROM buyers_figuresdirty"
            "                              WHERE tenant_id = %s LIMIT %s) d)",
            [tenant.pk, day, tenant.pk, INLINE_DIRTY + 1],
        )
        fresh_today, dirty = cursor.fetchone()
    if not fresh_today:
        if Buyer.unscoped.filter(tenant=tenant)[: INLINE_BUYERS + 1].count() <= INLINE_BUYERS:
            refresh_all(tenant=tenant, as_of=day)
            return
        _refresh_later(tenant, "all", day)
    if dirty > INLINE_DIRTY:
        _refresh_later(tenant, "dirty", day)
        # Known changes not in the figures yet: nothing cached on them is served meanwhile.
        transaction.on_commit(_Marker(tenant.pk))
    elif dirty:
        refresh_dirty(tenant=tenant, as_of=day)


INLINE_BUYERS = 20_000
INLINE_DIRTY = 5_000


def _refresh_later(tenant: Tenant, scope: str, day: date) -> None:
    # One task per tenant, scope and day (a dirty refresh: per minute) however many requests.
    window = day.isoformat() if scope == "all" else str(int(time.time() // 60))
    if cache.add(f"figures:refresh:{tenant.pk}:{scope}:{window}", 1, timeout=3600):
        enqueue_on_commit("buyers.figures_refresh", scope, day.isoformat(), tenant_id=tenant.pk)


# --- Refreshing ------------------------------------------------------------------------------


def refresh_dirty(*, tenant: Tenant, as_of: date | None = None) -> int:
    """Refresh the buyers marked dirty (claimed, so two callers do not both do it)."""
    as_of = as_of or today()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM buyers_figuresdirty WHERE tenant_id = %s RETURNING buyer_id",
                [tenant.pk],
            )
            buyer_ids = sorted({row[0] for row in cursor.fetchall()})
        refresh_buyers(tenant=tenant, buyer_ids=buyer_ids, as_of=as_of)
    return len(buyer_ids)


def refresh_all(*, tenant: Tenant, as_of: date | None = None) -> PortfolioSnapshot:
    """Refresh every buyer of the tenant and write the day's `PortfolioSnapshot`."""
    as_of = as_of or today()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Claim first: what is marked after this statement stays marked for the next call.
            cursor.execute("DELETE FROM buyers_figuresdirty WHERE tenant_id = %s", [tenant.pk])
        buyer_ids = list(
            Buyer.unscoped.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True)
        )
        refresh_buyers(tenant=tenant, buyer_ids=buyer_ids, as_of=as_of)
        snapshot = write_snapshot(tenant=tenant, as_of=as_of)
    return snapshot


def figures_version(*, tenant: Tenant) -> int:
    """A number that changes whenever the tenant's figures change (after the refresh commits):
    a key for caching what is computed from them, e.g. totals over every buyer. Prefer
    `cached_on_figures`, which also covers a refresh this transaction has not committed yet."""
    return int(cache.get_or_set(_version_key(tenant.pk), 0, timeout=None) or 0)


def cached_on_figures(
    *, tenant: Tenant, key: str, compute: Callable[[], T], timeout: int = 24 * 3600
) -> T:
    """``compute()`` (something read from the tenant's figures), cached until they change.

    The version moves when a refresh commits; a request that has just refreshed (the view's
    `figures_fresh`, inside the request's transaction) would still read the old version and
    be served the old value, so until that commit the value is computed afresh, uncached;
    so it is while changes wait for a refresh in the background (`figures_fresh` sent it).
    """
    if _refresh_pending(tenant.pk):
        return compute()
    versioned = f"{key}:{tenant.pk}:{figures_version(tenant=tenant)}"
    return cast(T, cache.get_or_set(versioned, compute, timeout=timeout))


def figures_changed(*, tenant: Tenant) -> None:
    """Say that the tenant's figures changed without a refresh (a buyer row deleted with its
    figures): what is cached on them is computed afresh once the transaction commits."""
    transaction.on_commit(_VersionBump(tenant.pk))


def _version_key(tenant_id: int) -> str:
    return f"figures:version:{tenant_id}"


class _Marker:
    """An on-commit callback that says "this transaction saw the tenant's figures change":
    recognisable in the pending callbacks (`_refresh_pending`), which Django drops on
    rollback."""

    def __init__(self, tenant_id: int) -> None:
        self.figures_tenant_id = tenant_id

    def __call__(self) -> None:
        pass


class _VersionBump(_Marker):
    """The on-commit callback that moves the version."""

    def __call__(self) -> None:
        key = _version_key(self.figures_tenant_id)
        cache.add(key, 0, timeout=None)
        cache.incr(key)


def _refresh_pending(tenant_id: int) -> bool:
    """Whether this connection's open transaction changed the tenant's figures."""
    return any(
        getattr(entry[1], "figures_tenant_id", None) == tenant_id
        for entry in connection.run_on_commit
    )


def refresh_buyers(*, tenant: Tenant, buyer_ids: Sequence[int], as_of: date) -> None:
    if not buyer_ids:
        return
    transaction.on_commit(_VersionBump(tenant.pk))
    rates = fx_rates_on(as_of)
    context = FigureContext(tenant=tenant, as_of=as_of, rates=rates)
    for start in range(0, len(buyer_ids), BATCH_SIZE):
        batch = list(buyer_ids[start : start + BATCH_SIZE])
        _upsert_batch(context, batch)


def write_snapshot(*, tenant: Tenant, as_of: date) -> PortfolioSnapshot:
    totals = BuyerFigures.unscoped.filter(tenant=tenant).aggregate(
        exposure=Sum("exposure"),
        overdue=Sum("overdue"),
        insured=Sum("insured"),
        credit_sales_365=Sum("credit_sales_365"),
    )
    snapshot, _created = PortfolioSnapshot.unscoped.update_or_create(
        tenant=tenant,
        as_of=as_of,
        defaults={
            **{key: value or Decimal("0") for key, value in totals.items()},
            "buyer_count": Buyer.unscoped.filter(tenant=tenant).count(),
        },
    )
    return snapshot


RECEIVABLES_COLUMNS = (
    "exposure",
    "overdue",
    "disputed",
    *(f"aging_{key}" for key in receivables.AGING_BUCKET_KEYS),
    "open_invoices",
    "overdue_invoices",
    "days_overdue_max",
    "credit_sales_365",
)
# What a buyer gets for a column no registered source computes (NOT NULL columns; the others
# are NULL).
SOURCE_COLUMN_DEFAULTS: dict[str, Any] = {
    "limit_blocked": False,
    "insured": Decimal("0"),
    "model_version": "",
    "open_alerts": 0,
}


def _receivables_select() -> str:
    """The receivables columns of the batch's buyers (``b``), in the ledger's SQL rules."""
    as_of = "%(as_of)s::date"
    is_open = ledger.open_sql("i")
    overdue = ledger.overdue_sql("i", as_of=as_of)
    outstanding = ledger.outstanding_in_base_sql("i")
    bucket = ledger.aging_bucket_sql("i", as_of=as_of)

    def money(condition: str, value: str = outstanding) -> str:
        return f"COALESCE(SUM({value}) FILTER (WHERE {condition}), 0)"

    values = [
        money(is_open),
        money(overdue),
        money(f"{is_open} AND {ledger.disputed_sql('i')}"),
        *(money(f"{is_open} AND {bucket} = '{key}'") for key in receivables.AGING_BUCKET_KEYS),
        f"COUNT(i.id) FILTER (WHERE {is_open})",
        f"COUNT(i.id) FILTER (WHERE {overdue})",
        f"COALESCE(MAX({ledger.days_past_due_sql('i', as_of=as_of)}) FILTER (WHERE {overdue}), 0)",
        money(
            ledger.credit_sales_sql("i", as_of=as_of, period_days=CREDIT_SALES_DAYS),
            ledger.amount_in_base_sql("i"),
        ),
    ]
    selected = ", ".join(
        f"{value} AS {column}" for value, column in zip(values, RECEIVABLES_COLUMNS, strict=True)
    )
    # The ledger's fragments, names and literals; values are parameters.
    return f"""
        SELECT b.id AS buyer_id, {selected}
        FROM b
        LEFT JOIN buyers_invoice i ON i.tenant_id = %(tenant)s AND i.buyer_id = b.id
        LEFT JOIN fx ON fx.currency = i.currency
        GROUP BY b.id
    """  # noqa: S608


def _upsert_batch(context: FigureContext, buyer_ids: list[int]) -> None:
    """Every column of the batch's buyers in one INSERT ... ON CONFLICT DO UPDATE: the
    receivables aggregate joined with each source's rows (absent rows take the defaults)."""
    params: dict[str, Any] = {
        "tenant": context.tenant.pk,
        "buyers": buyer_ids,
        "as_of": context.as_of,
        **ledger.fx_params(context.rates, base=context.tenant.base_currency),
    }
    ctes = [
        ledger.fx_cte(),
        "b AS (SELECT id FROM buyers_buyer"
        " WHERE tenant_id = %(tenant)s AND id = ANY(%(buyers)s::bigint[]))",
        f"r AS ({_receivables_select()})",
    ]
    columns = ["tenant_id", "buyer_id", "as_of", *RECEIVABLES_COLUMNS]
    values = ["%(tenant)s", "r.buyer_id", "%(as_of)s::date"]
    values += [f"r.{column}" for column in RECEIVABLES_COLUMNS]
    joins = []
    parts = [part for source in FIGURE_SOURCES for part in source(context, buyer_ids)]
    with connection.cursor() as cursor:
        for index, part in enumerate(parts):
            rows_sql, rows_params = part.rows.query.sql_with_params()
            # Inlined with their values quoted by the driver, then every % doubled: the
            # statement takes named parameters, the source's query came with positional ones.
            inlined = cursor.mogrify(rows_sql, rows_params).decode().replace("%", "%%")
            ctes.append(f"s{index} AS ({inlined})")
            joins.append(f"LEFT JOIN s{index} ON s{index}.buyer_id = r.buyer_id")
            names = [name for name in part.rows.query.values_select if name != "buyer_id"]
            names += [name for name in part.rows.query.annotation_select if name not in names]
            for name in names:
                column = part.renames.get(name, name)
                BuyerFigures._meta.get_field(column)  # a column of the table, nothing else
                if not name.isidentifier() or column in columns:
                    raise ValueError(f"source column {name!r} as {column!r}")
                columns.append(column)
                default = part.defaults.get(column, SOURCE_COLUMN_DEFAULTS.get(column))
                params[f"default_{column}"] = default
                values.append(f'COALESCE(s{index}."{name}", %(default_{column})s)')
        for column, default in SOURCE_COLUMN_DEFAULTS.items():
            if column not in columns:
                columns.append(column)
                params[f"default_{column}"] = default
                values.append(f"%(default_{column})s")
        updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns[2:])
        # Names checked above or of this module, SQL of the ledger and the ORM, values as
        # parameters or quoted by the driver.
        sql = f"""
            WITH {", ".join(ctes)}
            INSERT INTO buyers_buyerfigures ({", ".join(columns)})
            SELECT {", ".join(values)} FROM r {" ".join(joins)}
            ON CONFLICT (tenant_id, buyer_id) DO UPDATE SET {updates}
        """  # noqa: S608
        cursor.execute(sql, params)


# --- Daily job and bulk loads ----------------------------------------------------------------


def figures_daily_run(*, tenant: Tenant, as_of: date) -> PortfolioSnapshot:
    """The daily job: every buyer's figures for ``as_of`` and the day's portfolio snapshot."""
    return refresh_all(tenant=tenant, as_of=as_of)


def analyze_if_grown(tables: Mapping[str, int]) -> None:
    """After a bulk load, have the tables it grew re-analysed (after commit, by a task).

    ``tables`` maps table name to rows written. Autovacuum analyses a table only once 10% of it
    changed: a new tenant loaded into a large shared table stays unknown to the planner until
    then (it expects one row for the tenant and re-reads its invoices per buyer). The runtime
    role may not ANALYZE; the task calls the owner's `app_analyze_table`. A load of
    `ANALYZE_MIN_ROWS` rows or more, or of a tenth of the table, counts; ERP loads arrive in
    many requests, so a table is analysed at most once per `ANALYZE_DEBOUNCE_SECONDS`.
    """
    grown = sorted(table for table, rows in tables.items() if rows and _grew_notably(table, rows))
    grown = [
        table
        for table in grown
        if cache.add(f"figures:analyze:{table}", 1, timeout=ANALYZE_DEBOUNCE_SECONDS)
    ]
    if grown:
        enqueue_on_commit("buyers.analyze_tables", grown, countdown=ANALYZE_DELAY_SECONDS)


ANALYZE_MIN_ROWS = 500
ANALYZE_DEBOUNCE_SECONDS = 60
# Let the rest of a multi-request ERP load land first; the debounce window covers it.
ANALYZE_DELAY_SECONDS = 0


def _grew_notably(table: str, rows: int) -> bool:
    if rows >= ANALYZE_MIN_ROWS:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    if row is None:
        return False
    return rows > 0.1 * max(row[0], 0)


# What the demo seed loads in bulk (portfolio's seed_demo analyses them afterwards).
ANALYZABLE_AFTER_SEED = (
    "buyers_buyer",
    "buyers_invoice",
    "buyers_payment",
    "buyers_paymentallocation",
    "monitoring_buyerscore",
)


def analyze_tables(tables: Iterable[str]) -> None:
    """ANALYZE each table through the owner's whitelisting `app_analyze_table`."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute("SELECT app_analyze_table(%s)", [table])
