"""What monitoring's insurance rules read from this app: the cover decisions that cut a buyer's
cover (`cover_reduced`) and the nearest policy deadlines of a buyer's open invoices
(`policy_deadline`). Registered in `PoliciesConfig.ready` with
`monitoring.alerts.register_cover_change_source` / `register_deadline_source`, so monitoring
never imports policies.

- A cover change is a `CoverDecision` of kind reduction, withdrawal or refusal **recorded**
  since ``since`` (a decision recorded late still warns). Its old amount is the cover that would
  be in force on its effective date without it (`cover.amount_in_force`), its new amount the
  decision's amount, or nothing for a withdrawal or refusal.
- A deadline is read from the last coverage sweep (`InvoiceCoverage`): per buyer and kind
  (``notify_by``, ``claim_by``), the invoices that are still open now (`buyers.ledger` open
  rule), not on a sent notification, and whose deadline of that kind is on or before
  ``as_of + days_ahead`` (passed ones included); the earliest deadline, their count and
  outstanding (base currency, as of the sweep).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from django.db import connection

from buyers import ledger
from creditguard.tenancy.context import current_tenant
from creditguard.tenancy.models import Tenant
from monitoring.alerts import INSURANCE_RULES, CoverChangeFigure, DeadlineFigure

from ..models import CoverDecision
from . import cover, deadlines
from .planner import set_based_planner

CUT_KINDS: Final = (
    CoverDecision.Kind.REDUCTION.value,
    CoverDecision.Kind.WITHDRAWAL.value,
    CoverDecision.Kind.REFUSAL.value,
)
INVOICE_IDS_SHOWN: Final = 20


def cover_changes_for_monitoring(
    *, tenant: Tenant, buyer_ids: list[int], since: datetime
) -> list[CoverChangeFigure]:
    """The cover cuts of ``buyer_ids`` recorded since ``since`` (see the module docstring)."""
    cuts = list(
        CoverDecision.objects.filter(
            kind__in=CUT_KINDS, created_at__gte=since, cover__buyer_id__in=buyer_ids
        ).select_related("cover")
    )
    if not cuts:
        return []
    history: dict[int, list[cover.DecisionFigure]] = defaultdict(list)
    for decision_id, cover_id, kind, amount, effective, expiry in CoverDecision.objects.filter(
        cover_id__in={cut.cover_id for cut in cuts}
    ).values_list("pk", "cover_id", "kind", "amount", "effective_date", "expiry_date"):
        history[cover_id].append(
            cover.DecisionFigure(
                id=decision_id,
                kind=kind,
                amount=amount,
                effective_date=effective,
                expiry_date=expiry,
            )
        )
    changes = []
    for cut in cuts:
        others = [figure for figure in history[cut.cover_id] if figure.id != cut.pk]
        changes.append(
            CoverChangeFigure(
                buyer_id=cut.cover.buyer_id,
                decision_id=cut.pk,
                kind=cut.kind,
                old_amount=cover.amount_in_force(others, cut.effective_date),
                new_amount=cover.ZERO if cut.kind in cover.ENDING else cut.amount,
                currency=cut.currency,
                decision_date=cut.decision_date,
                effective_date=cut.effective_date,
                recorded_at=cut.created_at,
                insurer=cut.cover.insurer,
                policy_id=cut.cover.policy_id,
            )
        )
    return changes


# The buyers are joined as a set (a hash join), not tested with ``= ANY(array)`` row by row.
DEADLINES_SQL: Final = f"""
SELECT c.buyer_id, k.kind, MIN(k.deadline), COUNT(*), SUM(c.outstanding),
       (array_agg(c.invoice_id ORDER BY k.deadline, c.invoice_id))[1:{INVOICE_IDS_SHOWN}],
       MIN(c.policy_id)
FROM policies_invoicecoverage c
JOIN unnest(%(buyers)s::bigint[]) AS chunk(buyer_id) ON chunk.buyer_id = c.buyer_id
JOIN buyers_invoice i ON i.tenant_id = c.tenant_id AND i.id = c.invoice_id
CROSS JOIN LATERAL (VALUES ('{deadlines.NOTIFY_BY}', c.notify_by),
                           ('{deadlines.CLAIM_BY}', c.claim_by)) AS k(kind, deadline)
WHERE c.tenant_id = %(tenant)s AND NOT c.notified
  AND {ledger.open_sql("i")}
  AND k.deadline <= %(as_of)s::date + %(days_ahead)s::int
GROUP BY c.buyer_id, k.kind
"""  # noqa: S608  (fragments and constants, no input)

# Buyers the insurance rules can concern on %(as_of)s (see `insurance_alert_buyers`).
ALERT_BUYERS_SQL: Final = f"""
SELECT c.buyer_id FROM policies_invoicecoverage c
WHERE c.tenant_id = %(tenant)s AND NOT c.notified
  AND LEAST(c.notify_by, c.claim_by) <= %(as_of)s::date + %(days_ahead)s::int
UNION
SELECT a.buyer_id FROM monitoring_alert a
WHERE a.tenant_id = %(tenant)s AND a.rule = ANY(%(rules)s) AND a.status <> 'resolved'
UNION
SELECT ic.buyer_id FROM policies_coverdecision d
JOIN policies_insurercover ic ON ic.tenant_id = d.tenant_id AND ic.id = d.cover_id
WHERE d.tenant_id = %(tenant)s AND d.kind IN ({", ".join(f"'{kind}'" for kind in CUT_KINDS)})
  AND d.created_at >= %(since)s
"""  # noqa: S608  (constants, no input)


def insurance_alert_buyers(*, as_of: date, days_ahead: int, lookback_days: int) -> set[int]:
    """The buyers of the current tenant that monitoring's insurance rules can concern on
    ``as_of``: an unnotified invoice with a deadline within ``days_ahead`` (or passed), a cover
    cut recorded in the last ``lookback_days``, or an open insurance alert (to resolve it)."""
    since = datetime.combine(as_of - timedelta(days=lookback_days - 1), time.min, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            ALERT_BUYERS_SQL,
            {
                "tenant": current_tenant().pk,
                "as_of": as_of,
                "days_ahead": days_ahead,
                "rules": [str(rule) for rule in INSURANCE_RULES],
                "since": since,
            },
        )
        return {int(buyer_id) for (buyer_id,) in cursor.fetchall()}


def deadlines_for_monitoring(
    *, tenant: Tenant, buyer_ids: list[int], as_of: date, days_ahead: int
) -> list[DeadlineFigure]:
    """The nearest deadlines of ``buyer_ids`` within ``days_ahead`` of ``as_of`` or passed."""
    with connection.cursor() as cursor, set_based_planner(cursor):
        cursor.execute(
            DEADLINES_SQL,
            {"tenant": tenant.pk, "buyers": buyer_ids, "as_of": as_of, "days_ahead": days_ahead},
        )
        rows = cursor.fetchall()
    return [
        DeadlineFigure(
            buyer_id=buyer_id,
            kind=kind,
            deadline=deadline,
            invoices=count,
            amount=amount,
            invoice_ids=tuple(invoice_ids),
            policy_id=policy_id,
        )
        for buyer_id, kind, deadline, count, amount, invoice_ids, policy_id in rows
    ]
