"""The daily coverage sweep: for every open invoice under an insurance policy, its deadlines and
the insured / uninsured / over-cover parts of what it owes, written to `InvoiceCoverage`.

Set-based: ONE statement per tenant computes every row from the ledger (`buyers.ledger`
fragments), the scope and terms in force (`policies.insurance.scope.SCOPE_CTES`), the cover in
force (`policies.insurance.cover.COVER_IN_FORCE_CTE`), the deadline rules
(`policies.insurance.deadlines`) and the insured split (`policies.insurance.coverage`, one
window pass per buyer), then

- upserts them with ``INSERT ... ON CONFLICT (tenant_id, invoice_id) DO UPDATE``, touching a row
  only when one of its values changed (a quiet day rewrites almost nothing), and
- deletes, in the same statement, the rows of invoices that are no longer open or no longer
  under a policy (paid, written off, buyer out of scope, currency without a rate).

What counts as "under a policy": the buyer is in the policy's scope on the sweep date (one
policy per buyer: `scope`), the invoice's issue date is in the policy's cover period, and its
currency has a rate on the sweep date (like every ledger figure). The cover that is allocated
is the sum, converted with the rates of the sweep date, of the buyer's covers in force that
belong to that policy; covers recorded without a policy count for no policy's mechanics.

``InvoiceCoverage.as_of`` is therefore the date a row's figures last changed; the date of the
last sweep is recorded by an audit event (`SWEEP_ACTION`, read by
`policies.insurance.kpis.last_sweep_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from django.core.cache import cache
from django.db import connection, transaction

from buyers import ledger
from creditguard.audit.services import audit_record
from creditguard.queue import enqueue
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.context import current_tenant
from creditguard.tenancy.models import Tenant
from monitoring.alerts import INSURANCE_RULES, evaluate_alerts
from monitoring.models import AlertRule
from monitoring.rules import rule_setting

from ..insurance import alert_sources, coverage, deadlines
from ..insurance.cover import COVER_IN_FORCE_CTE
from ..insurance.planner import set_based_planner
from ..insurance.scope import SCOPE_CTES

SWEEP_ACTION: Final = "insurance.coverage_sweep"
# Buyers per alert evaluation: the deadline source reads them in one pass of the sweep's rows.
ALERT_CHUNK: Final = 50_000
AS_OF: Final = "%(as_of)s::date"

# The columns the sweep computes, in the table's order (tenant_id and invoice_id lead).
VALUE_COLUMNS: Final = (
    "policy_id",
    "buyer_id",
    "due_date",
    "outstanding",
    "insured",
    "uninsured",
    "over_cover",
    "disputed",
    "extension_end",
    "notify_by",
    "earliest_claim",
    "claim_by",
    "notified",
    "cover_lost",
)

# (invoice_id, policy_id, buyer_id, due_date, outstanding, disputed, notified, the four
# deadlines, cover_lost, eligible, cover, insured, uninsured, over_cover) of every open invoice
# under a policy of the tenant on %(as_of)s. Parameters: tenant, as_of, fx_currencies,
# fx_factors.
COVERAGE_CTES: Final = f"""
{ledger.fx_cte()},
{SCOPE_CTES.strip()},
{COVER_IN_FORCE_CTE.strip()},
cover AS (
    SELECT c.buyer_id, c.policy_id, SUM(ROUND(c.amount * fx.factor, 2)) AS amount
    FROM cover_in_force c JOIN fx ON fx.currency = c.currency
    WHERE c.policy_id IS NOT NULL
    GROUP BY c.buyer_id, c.policy_id
),
notices AS ({deadlines.NOTICES_SQL.strip()}),
items AS (
    SELECT i.id AS invoice_id, bp.policy_id, i.buyer_id, i.due_date,
           {ledger.outstanding_in_base_sql("i")} AS outstanding,
           {ledger.disputed_sql("i")} AS disputed,
           (n.invoice_id IS NOT NULL) AS notified,
           n.sent_on,
           {deadlines.deadline_columns_sql(due="i.due_date", version="t", granted="n.granted_until")}
    FROM buyers_invoice i
    JOIN fx ON fx.currency = i.currency
    JOIN buyer_policy bp ON bp.buyer_id = i.buyer_id
    JOIN policy_terms t ON t.policy_id = bp.policy_id
    JOIN policy_period p ON p.policy_id = bp.policy_id
    LEFT JOIN notices n ON n.invoice_id = i.id
    WHERE i.tenant_id = %(tenant)s AND {ledger.open_sql("i")}
      AND i.issue_date BETWEEN p.cover_start AND p.cover_end
),
flagged AS (
    SELECT items.*,
           {coverage.cover_lost_sql(notify_by="items.notify_by", as_of=AS_OF, sent_on="items.sent_on")}
               AS cover_lost
    FROM items
),
allocation AS (
    SELECT f.*,
           {coverage.eligible_sql(outstanding="f.outstanding", disputed="f.disputed", cover_lost="f.cover_lost", in_period="true")}
               AS eligible,
           COALESCE(c.amount, 0) AS cover
    FROM flagged f
    LEFT JOIN cover c ON c.buyer_id = f.buyer_id AND c.policy_id = f.policy_id
),
split AS ({coverage.insured_split_sql("allocation").strip()})
"""  # noqa: S608  (fragments of the rule modules, no input)

_ALL_COLUMNS = ("tenant_id", "invoice_id", "as_of", *VALUE_COLUMNS)


def _row(alias: str) -> str:
    return "ROW(" + ", ".join(f"{alias}.{name}" for name in VALUE_COLUMNS) + ")"


# The computed rows are compared with the stored ones in one hash join, so only new and
# changed rows reach the INSERT (a quiet day probes the unique index for a handful of rows, not
# for every invoice), and the stored rows without a computed one are the ones to delete. The
# INSERT keeps ON CONFLICT ... WHERE changed, so two sweeps at once still write each row once.
SWEEP_SQL: Final = f"""
WITH {COVERAGE_CTES.strip()},
stored AS (
    SELECT c.* FROM policies_invoicecoverage c WHERE c.tenant_id = %(tenant)s
),
changes AS (
    SELECT s.* FROM split s LEFT JOIN stored e ON e.invoice_id = s.invoice_id
    WHERE e.invoice_id IS NULL OR {_row("e")} IS DISTINCT FROM {_row("s")}
),
written AS (
    INSERT INTO policies_invoicecoverage AS c ({", ".join(_ALL_COLUMNS)})
    SELECT %(tenant)s, s.invoice_id, {AS_OF}, {", ".join(f"s.{name}" for name in VALUE_COLUMNS)}
    FROM changes s
    ON CONFLICT (tenant_id, invoice_id) DO UPDATE
    SET as_of = EXCLUDED.as_of, {", ".join(f"{name} = EXCLUDED.{name}" for name in VALUE_COLUMNS)}
    WHERE {_row("c")} IS DISTINCT FROM {_row("EXCLUDED")}
    RETURNING (c.xmax = 0) AS inserted
),
removed AS (
    DELETE FROM policies_invoicecoverage c
    WHERE c.tenant_id = %(tenant)s
      AND c.invoice_id IN (
          SELECT e.invoice_id FROM stored e LEFT JOIN split s ON s.invoice_id = e.invoice_id
          WHERE s.invoice_id IS NULL)
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM split),
       (SELECT COUNT(*) FILTER (WHERE inserted) FROM written),
       (SELECT COUNT(*) FILTER (WHERE NOT inserted) FROM written),
       (SELECT COUNT(*) FROM removed)
"""  # noqa: S608  (fragments of the rule modules, no input)


# A change to policies, cover or notifications asks for a sweep of its tenant soon after; the
# changes of a few seconds share one (`coverage_refresh_soon`, task `policies.coverage_refresh`).
REFRESH_DELAY_SECONDS: Final = 2
REFRESH_PENDING_SECONDS: Final = 300


def refresh_pending_key(tenant_id: int) -> str:
    return f"policies:coverage-refresh:{tenant_id}"


def coverage_refresh_soon(*, tenant: Tenant) -> None:
    """After the current transaction commits, sweep `tenant` again (and evaluate its insurance
    alerts), so the pages, the KPIs and the alerts reflect a change within seconds rather than
    at the next daily run. At most one refresh per tenant is queued: the task clears the key
    before it sweeps, so a change made while it runs queues the next one."""

    def queue() -> None:
        if cache.add(refresh_pending_key(tenant.pk), 1, timeout=REFRESH_PENDING_SECONDS):
            enqueue(
                "policies.coverage_refresh", tenant_id=tenant.pk, countdown=REFRESH_DELAY_SECONDS
            )

    transaction.on_commit(queue)


@dataclass(frozen=True)
class SweepResult:
    as_of: date
    invoices: int  # open invoices under a policy
    inserted: int
    updated: int  # rows whose figures changed
    deleted: int  # rows of invoices no longer open or under a policy


def sweep_params(*, tenant: Tenant, as_of: date) -> dict[str, Any]:
    """The parameters of `COVERAGE_CTES` / `SWEEP_SQL` (the benchmark's floor uses them too)."""
    return {
        "tenant": tenant.pk,
        "as_of": as_of,
        **ledger.fx_params(fx_rates_on(as_of), base=tenant.base_currency),
    }


@transaction.atomic
def coverage_sweep(*, tenant: Tenant, as_of: date) -> SweepResult:
    """Recompute `InvoiceCoverage` of ``tenant`` for ``as_of`` (see the module docstring).

    Runs with ``tenant`` active (the task's transaction); idempotent: a second sweep for the
    same day changes nothing. Records the sweep as an audit event by the system.
    """
    if current_tenant().pk != tenant.pk:
        raise RuntimeError("coverage_sweep must run with its tenant active")
    with connection.cursor() as cursor, set_based_planner(cursor):
        cursor.execute(SWEEP_SQL, sweep_params(tenant=tenant, as_of=as_of))
        invoices, inserted, updated, deleted = cursor.fetchone()
    result = SweepResult(
        as_of=as_of, invoices=invoices, inserted=inserted, updated=updated, deleted=deleted
    )
    audit_record(
        tenant=tenant,
        actor=None,
        action=SWEEP_ACTION,
        after={
            "as_of": as_of,
            "invoices": invoices,
            "inserted": inserted,
            "updated": updated,
            "deleted": deleted,
        },
    )
    return result


def insurance_alerts_evaluate(*, tenant: Tenant, as_of: date) -> int:
    """Evaluate monitoring's insurance rules (cover reduced, policy deadline) on ``as_of``, after
    the sweep; returns the number of alerts raised.

    Only the buyers the rules can concern are evaluated: those with an unnotified invoice whose
    deadline is within the tenant's ``days_ahead`` (or passed), those with a cover cut recorded
    within ``lookback_days``, and those with an open insurance alert (so it can resolve).
    """
    buyer_ids = sorted(
        alert_sources.insurance_alert_buyers(
            as_of=as_of,
            days_ahead=int(
                rule_setting(tenant=tenant, kind=AlertRule.Kind.POLICY_DEADLINE).thresholds[
                    "days_ahead"
                ]
            ),
            lookback_days=int(
                rule_setting(tenant=tenant, kind=AlertRule.Kind.COVER_REDUCED).thresholds[
                    "lookback_days"
                ]
            ),
        )
    )
    raised = 0
    for start in range(0, len(buyer_ids), ALERT_CHUNK):
        raised += evaluate_alerts(
            tenant=tenant,
            buyer_ids=buyer_ids[start : start + ALERT_CHUNK],
            period=as_of.replace(day=1),
            as_of=as_of,
            kinds=INSURANCE_RULES,
        )
    return raised
