"""Alerts: evaluating the early-warning rules for a chunk of buyers, acknowledging and resolving
alerts, and the "days from risk event to warning" KPI.

How `evaluate_alerts` works, per chunk (up to a few thousand buyers, a dozen queries in all):

1. One set-based query per rule finds the conditions that hold now (`Candidate`s).
2. State rules (overdue, dispute spike, broken plan, over limit) resolve their open alerts
   whose condition is no longer among them: `resolved_by` stays empty and the note starts
   with `AUTO_RESOLVED_PREFIX`. Event rules (grade, score, country, legal event) never do:
   the event happened, a person decides when it is dealt with.
3. One ``INSERT ... ON CONFLICT DO NOTHING`` on the partial unique index
   ``alert_one_open_per_condition`` raises the new alerts, so an open condition is never
   raised twice, even by two workers at once. It also skips:
   - for event rules, any earlier alert with the same condition key (the key names the
     event: ``grade:2026-11``, ``legal:<id>``), resolved or not, so a daily re-evaluation
     does not raise a resolved event again;
   - for state rules, an alert of the same condition resolved by a person after the risk
     event began: that occurrence was dealt with. When the condition goes away and comes
     back (a new risk event), it is raised again.
4. Webhook events ("alert.created", "alert.resolved") are recorded in the same transaction
   and sent after commit.

``risk_event_at`` is when the risk showed up (the score's computation, the day an invoice
crossed the threshold, the legal event's date, the country rating's effective date) and
``created_at`` the warning, so `warning_lead_times` measures the delay between the two.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers.selectors import OPEN_STATUSES
from creditguard.audit.services import audit_record
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.context import current_tenant
from creditguard.tenancy.models import Tenant

from . import webhooks
from .models import Alert, AlertRule, LegalEvent
from .rules import RULES, RuleSetting, rule_settings

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

Kind = AlertRule.Kind
Severity = Alert.Severity
AUTO_RESOLVED_PREFIX = "Resolved automatically"
# `buyers.receivables.payment_plan_status` counts an instalment as missed this many days
# after its due date (its default grace period).
PLAN_GRACE_DAYS = 5
OVERDUE_SEVERITIES = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
LEGAL_SEVERITIES = {
    LegalEvent.Kind.INSOLVENCY_FILING: Severity.CRITICAL,
    LegalEvent.Kind.INSOLVENCY_PROCEEDINGS: Severity.CRITICAL,
    LegalEvent.Kind.COURT_JUDGMENT: Severity.HIGH,
    LegalEvent.Kind.PAYMENT_DEFAULT: Severity.HIGH,
    LegalEvent.Kind.TAX_LIEN: Severity.HIGH,
}
EVENT_CREATED = "alert.created"
EVENT_ACKNOWLEDGED = "alert.acknowledged"
EVENT_RESOLVED = "alert.resolved"


def gettext_noop(message: str) -> str:
    """Mark an English title template for ``makemessages``; `alert_title` translates it."""
    return message


TITLES = {
    "grade": gettext_noop("Grade downgraded from %(previous)s to %(grade)s"),
    "score": gettext_noop("Score fell by %(points)s points to %(score)s"),
    "overdue": gettext_noop("%(amount)s %(currency)s more than %(days)s days overdue"),
    "country": gettext_noop(
        "Country rating of %(country)s worsened from %(previous)s to %(rating)s"
    ),
    "disputes": gettext_noop(
        "%(count)s disputes for %(amount)s %(currency)s opened in the last %(days)s days"
    ),
    "plan": gettext_noop("Payment plan %(plan)s is broken"),
    "over_limit": gettext_noop(
        "Exposure of %(exposure)s %(currency)s is over the credit limit of %(limit)s %(currency)s"
    ),
    LegalEvent.Kind.INSOLVENCY_FILING: gettext_noop("Insolvency filing on %(date)s"),
    LegalEvent.Kind.INSOLVENCY_PROCEEDINGS: gettext_noop(
        "Insolvency proceedings opened on %(date)s"
    ),
    LegalEvent.Kind.COURT_JUDGMENT: gettext_noop("Court judgment for payment on %(date)s"),
    LegalEvent.Kind.TAX_LIEN: gettext_noop("Tax lien on %(date)s"),
    LegalEvent.Kind.PAYMENT_DEFAULT: gettext_noop("Payment default reported on %(date)s"),
    LegalEvent.Kind.MANAGEMENT_CHANGE: gettext_noop("Management change on %(date)s"),
    LegalEvent.Kind.OTHER: gettext_noop("Legal event on %(date)s"),
}


@dataclass(frozen=True)
class Candidate:
    """A condition that holds for one buyer now; becomes an alert unless already raised."""

    buyer_id: int
    rule: str
    condition_key: str
    severity: str
    title_key: str
    title_params: dict[str, str]
    evidence: dict[str, Any]
    risk_event_at: datetime

    @property
    def title(self) -> str:
        return TITLES[self.title_key] % self.title_params

    def evidence_json(self) -> str:
        document = {
            **self.evidence,
            "i18n_title": {"msgid": TITLES[self.title_key], "params": self.title_params},
        }
        return json.dumps(document, cls=DjangoJSONEncoder)


def alert_title(alert: Alert) -> str:
    """The alert's title in the active language (stored titles are English)."""
    message = alert.evidence.get("i18n_title") if isinstance(alert.evidence, dict) else None
    if not message:
        return alert.title
    try:
        return _(message["msgid"]) % message["params"]
    except (KeyError, TypeError, ValueError):
        return alert.title


def is_auto_resolved(alert: Alert) -> bool:
    return (
        alert.status == Alert.Status.RESOLVED
        and alert.resolved_by_id is None
        and alert.resolution_note.startswith(AUTO_RESOLVED_PREFIX)
    )


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _points(value: Decimal) -> str:
    return f"{value.normalize():f}"


@dataclass
class _Context:
    tenant: Tenant
    buyer_ids: list[int]
    period: date
    as_of: date
    settings: dict[str, RuleSetting]
    currencies: list[str] = field(default_factory=list)
    factors: list[Decimal] = field(default_factory=list)

    def enabled(self, kind: str) -> bool:
        return self.settings[kind].enabled

    def thresholds(self, kind: str) -> dict[str, Any]:
        return self.settings[kind].thresholds

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "tenant": self.tenant.pk,
            "buyers": self.buyer_ids,
            "as_of": self.as_of,
            "currencies": self.currencies,
            "factors": self.factors,
            "open_statuses": list(OPEN_STATUSES),
            **extra,
        }


def _rows(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Amounts are converted into the base currency with the rates known on the evaluation date
# (the `fx` CTE of the queries below); rows in a currency without a rate are left out, as in
# `buyers.selectors`.


# --- Rules -----------------------------------------------------------------------------------


def _grade_and_score(ctx: _Context) -> list[Candidate]:
    grade_on, score_on = ctx.enabled(Kind.GRADE_DOWNGRADE), ctx.enabled(Kind.SCORE_DROP)
    if not (grade_on or score_on):
        return []
    grade, score = ctx.thresholds(Kind.GRADE_DOWNGRADE), ctx.thresholds(Kind.SCORE_DROP)
    rows = _rows(
        """
        SELECT s.buyer_id, s.grade, s.score, s.computed_at, s.model_version,
               previous.period, previous.grade, previous.score
        FROM monitoring_buyerscore s
        JOIN LATERAL (
            SELECT p.period, p.grade, p.score FROM monitoring_buyerscore p
            WHERE p.tenant_id = s.tenant_id AND p.buyer_id = s.buyer_id AND p.period < s.period
            ORDER BY p.period DESC LIMIT 1
        ) previous ON true
        WHERE s.tenant_id = %(tenant)s AND s.period = %(period)s AND s.buyer_id = ANY(%(buyers)s)
          AND ((%(grade_on)s AND (s.grade - previous.grade >= %(min_steps)s
                                  OR (s.grade >= %(high_grade)s AND previous.grade < %(high_grade)s)))
               OR (%(score_on)s AND previous.score - s.score >= %(min_points)s))
        """,
        ctx.params(
            period=ctx.period,
            grade_on=grade_on,
            min_steps=grade["min_steps"],
            high_grade=grade["high_risk_grade"],
            score_on=score_on,
            min_points=score["min_points"],
        ),
    )
    period_label = f"{ctx.period:%Y-%m}"
    candidates = []
    for (
        buyer_id,
        new_grade,
        new_score,
        computed_at,
        model_version,
        prev_period,
        prev_grade,
        prev_score,
    ) in rows:
        evidence = {
            "period": ctx.period,
            "previous_period": prev_period,
            "grade": new_grade,
            "previous_grade": prev_grade,
            "score": new_score,
            "previous_score": prev_score,
            "model_version": model_version,
        }
        enters_high_risk = new_grade >= grade["high_risk_grade"] > prev_grade
        if grade_on and (new_grade - prev_grade >= grade["min_steps"] or enters_high_risk):
            candidates.append(
                Candidate(
                    buyer_id=buyer_id,
                    rule=Kind.GRADE_DOWNGRADE,
                    condition_key=f"grade:{period_label}",
                    severity=Severity.HIGH
                    if enters_high_risk or new_grade >= grade["high_risk_grade"]
                    else Severity.MEDIUM,
                    title_key="grade",
                    title_params={"previous": str(prev_grade), "grade": str(new_grade)},
                    evidence={**evidence, "steps": new_grade - prev_grade},
                    risk_event_at=computed_at,
                )
            )
        drop = prev_score - new_score
        if score_on and drop >= score["min_points"]:
            candidates.append(
                Candidate(
                    buyer_id=buyer_id,
                    rule=Kind.SCORE_DROP,
                    condition_key=f"score:{period_label}",
                    severity=Severity.HIGH if drop >= score["high_points"] else Severity.MEDIUM,
                    title_key="score",
                    title_params={"points": _points(drop), "score": _points(new_score)},
                    evidence={**evidence, "drop": drop},
                    risk_event_at=computed_at,
                )
            )
    return candidates


def _overdue(ctx: _Context) -> list[Candidate]:
    thresholds = ctx.thresholds(Kind.OVERDUE)
    days: list[int] = thresholds["days"]
    rows = _rows(
        """
        WITH fx(currency, factor) AS (
            SELECT * FROM unnest(%(currencies)s::text[], %(factors)s::numeric[])
        ),
        items AS (
            SELECT i.buyer_id, i.due_date, (i.amount - i.paid_amount) * fx.factor AS outstanding
            FROM buyers_invoice i JOIN fx ON fx.currency = i.currency
            WHERE i.tenant_id = %(tenant)s AND i.buyer_id = ANY(%(buyers)s)
              AND i.status = ANY(%(open_statuses)s) AND i.amount > i.paid_amount
              AND i.due_date <= %(as_of)s::date - %(min_days)s::int
        ),
        crossed AS (
            SELECT items.buyer_id, t.days, items.due_date,
                   SUM(items.outstanding) OVER running AS running,
                   SUM(items.outstanding) OVER bucket AS total,
                   COUNT(*) OVER bucket AS invoices
            FROM items JOIN unnest(%(days)s::int[]) AS t(days)
                 ON items.due_date <= %(as_of)s::date - t.days
            WINDOW bucket AS (PARTITION BY items.buyer_id, t.days),
                   running AS (bucket ORDER BY items.due_date ROWS UNBOUNDED PRECEDING)
        ),
        buckets AS (
            SELECT buyer_id, days, MAX(total) AS amount, MAX(invoices) AS invoices,
                   MIN(due_date) AS oldest_due,
                   MIN(due_date) FILTER (WHERE running >= %(min_amount)s) AS crossing_due
            FROM crossed GROUP BY buyer_id, days
            HAVING MAX(total) >= %(min_amount)s
        )
        SELECT DISTINCT ON (buyer_id) buyer_id, days, ROUND(amount, 2), invoices, oldest_due,
               crossing_due
        FROM buckets ORDER BY buyer_id, days DESC
        """,
        ctx.params(days=days, min_days=min(days), min_amount=thresholds["min_amount"]),
    )
    currency = ctx.tenant.base_currency
    candidates = []
    for buyer_id, bucket_days, amount, invoices, oldest_due, crossing_due in rows:
        bucket = days.index(bucket_days)
        candidates.append(
            Candidate(
                buyer_id=buyer_id,
                rule=Kind.OVERDUE,
                condition_key=f"overdue:{bucket_days}",
                severity=OVERDUE_SEVERITIES[min(bucket, len(OVERDUE_SEVERITIES) - 1)],
                title_key="overdue",
                title_params={
                    "amount": _money(amount),
                    "currency": currency,
                    "days": str(bucket_days),
                },
                evidence={
                    "days": bucket_days,
                    "amount": amount,
                    "currency": currency,
                    "invoices": invoices,
                    "oldest_due_date": oldest_due,
                    "min_amount": thresholds["min_amount"],
                    "as_of": ctx.as_of,
                },
                # The day the amount past `days` first reached min_amount: the due date of the
                # invoice that tipped it over, plus the bucket's days.
                risk_event_at=_start_of_day(crossing_due + timedelta(days=bucket_days)),
            )
        )
    return candidates


def _over_limit(ctx: _Context) -> list[Candidate]:
    tolerance = Decimal(ctx.thresholds(Kind.OVER_LIMIT)["tolerance_percent"])
    rows = _rows(
        """
        WITH fx(currency, factor) AS (
            SELECT * FROM unnest(%(currencies)s::text[], %(factors)s::numeric[])
        ),
        exposure AS (
            SELECT i.buyer_id, SUM((i.amount - i.paid_amount) * fx.factor) AS amount
            FROM buyers_invoice i JOIN fx ON fx.currency = i.currency
            WHERE i.tenant_id = %(tenant)s AND i.buyer_id = ANY(%(buyers)s)
              AND i.status = ANY(%(open_statuses)s)
            GROUP BY i.buyer_id
        )
        SELECT l.buyer_id, l.id, ROUND(l.amount * fx.factor, 2), ROUND(e.amount, 2), l.updated_at
        FROM policies_creditlimit l
        JOIN fx ON fx.currency = l.currency
        JOIN exposure e ON e.buyer_id = l.buyer_id
        WHERE l.tenant_id = %(tenant)s AND l.buyer_id = ANY(%(buyers)s) AND l.status = 'active'
          AND e.amount > l.amount * fx.factor * (1 + %(tolerance)s / 100.0)
        """,
        ctx.params(tolerance=tolerance),
    )
    currency = ctx.tenant.base_currency
    return [
        Candidate(
            buyer_id=buyer_id,
            rule=Kind.OVER_LIMIT,
            condition_key=f"limit:{limit_id}",
            severity=Alert.Severity.HIGH,
            title_key="over_limit",
            title_params={
                "exposure": _money(exposure),
                "limit": _money(limit),
                "currency": currency,
            },
            evidence={
                "exposure": exposure,
                "limit": limit,
                "currency": currency,
                "tolerance_percent": tolerance,
                "as_of": ctx.as_of,
            },
            # Exposure is only known as of now; the limit's last change bounds it from below.
            risk_event_at=max(limit_updated_at, _start_of_day(ctx.as_of)),
        )
        for buyer_id, limit_id, limit, exposure, limit_updated_at in rows
    ]


def _country_downgrade(ctx: _Context) -> list[Candidate]:
    thresholds = ctx.thresholds(Kind.COUNTRY_DOWNGRADE)
    rows = _rows(
        """
        WITH chunk AS (
            SELECT id, country_id FROM buyers_buyer
            WHERE tenant_id = %(tenant)s AND id = ANY(%(buyers)s)
        ),
        history AS (
            SELECT r.country_id, r.rating, r.effective_date,
                   LAG(r.rating) OVER by_date AS previous_rating,
                   LAG(r.effective_date) OVER by_date AS previous_date,
                   ROW_NUMBER() OVER (PARTITION BY r.country_id ORDER BY r.effective_date DESC)
                       AS recency
            FROM monitoring_countryrisk r
            WHERE r.effective_date <= %(as_of)s
              AND r.country_id IN (SELECT country_id FROM chunk)
            WINDOW by_date AS (PARTITION BY r.country_id ORDER BY r.effective_date)
        )
        SELECT chunk.id, h.country_id, c.name, h.rating, h.previous_rating, h.effective_date,
               h.previous_date
        FROM chunk
        JOIN history h ON h.country_id = chunk.country_id AND h.recency = 1
        JOIN reference_country c ON c.code = h.country_id
        WHERE h.previous_rating IS NOT NULL
          AND h.rating - h.previous_rating >= %(min_steps)s
          AND h.effective_date > %(as_of)s::date - %(lookback)s::int
        """,
        ctx.params(min_steps=thresholds["min_steps"], lookback=thresholds["lookback_days"]),
    )
    return [
        Candidate(
            buyer_id=buyer_id,
            rule=Kind.COUNTRY_DOWNGRADE,
            condition_key=f"country:{country}:{effective:%Y-%m-%d}",
            severity=Severity.HIGH if rating >= thresholds["high_risk_rating"] else Severity.MEDIUM,
            title_key="country",
            title_params={"country": name, "previous": str(previous), "rating": str(rating)},
            evidence={
                "country": country,
                "rating": rating,
                "previous_rating": previous,
                "effective_date": effective,
                "previous_effective_date": previous_date,
            },
            risk_event_at=_start_of_day(effective),
        )
        for buyer_id, country, name, rating, previous, effective, previous_date in rows
    ]


def _legal_event(ctx: _Context) -> list[Candidate]:
    thresholds = ctx.thresholds(Kind.LEGAL_EVENT)
    # Dated within the look-back, or learned of within it: an insolvency filed six weeks ago
    # and reported today still needs a warning.
    rows = _rows(
        """
        SELECT e.id, e.buyer_id, e.kind, e.event_date, e.source, e.created_at
        FROM monitoring_legalevent e
        WHERE e.tenant_id = %(tenant)s AND e.buyer_id = ANY(%(buyers)s) AND e.kind = ANY(%(kinds)s)
          AND e.event_date <= %(as_of)s
          AND (e.event_date > %(as_of)s::date - %(lookback)s::int
               OR e.created_at >= %(since)s)
        """,
        ctx.params(
            kinds=thresholds["kinds"],
            lookback=thresholds["lookback_days"],
            since=_start_of_day(ctx.as_of - timedelta(days=thresholds["lookback_days"] - 1)),
        ),
    )
    return [
        Candidate(
            buyer_id=buyer_id,
            rule=Kind.LEGAL_EVENT,
            condition_key=f"legal:{event_id}",
            severity=LEGAL_SEVERITIES.get(kind, Severity.MEDIUM),
            title_key=kind,
            title_params={"date": event_date.isoformat()},
            evidence={
                "legal_event_id": event_id,
                "kind": kind,
                "event_date": event_date,
                "source": source,
                "reported_at": reported_at,
            },
            risk_event_at=_start_of_day(event_date),
        )
        for event_id, buyer_id, kind, event_date, source, reported_at in rows
    ]


def _dispute_spike(ctx: _Context) -> list[Candidate]:
    thresholds = ctx.thresholds(Kind.DISPUTE_SPIKE)
    rows = _rows(
        """
        WITH fx(currency, factor) AS (
            SELECT * FROM unnest(%(currencies)s::text[], %(factors)s::numeric[])
        ),
        exposure AS (
            SELECT i.buyer_id, SUM((i.amount - i.paid_amount) * fx.factor) AS amount
            FROM buyers_invoice i JOIN fx ON fx.currency = i.currency
            WHERE i.tenant_id = %(tenant)s AND i.buyer_id = ANY(%(buyers)s)
              AND i.status = ANY(%(open_statuses)s) AND i.amount > i.paid_amount
            GROUP BY i.buyer_id
        ),
        recent AS (
            SELECT d.buyer_id, d.opened_date, d.amount * fx.factor AS amount,
                   SUM(d.amount * fx.factor) OVER running AS running_amount,
                   COUNT(*) OVER running AS running_count
            FROM buyers_dispute d JOIN fx ON fx.currency = d.currency
            WHERE d.tenant_id = %(tenant)s AND d.buyer_id = ANY(%(buyers)s)
              AND d.opened_date > %(as_of)s::date - %(lookback)s::int
              AND d.opened_date <= %(as_of)s
            WINDOW running AS (PARTITION BY d.buyer_id ORDER BY d.opened_date, d.id
                               ROWS UNBOUNDED PRECEDING)
        )
        SELECT r.buyer_id, COUNT(*), ROUND(SUM(r.amount), 2), ROUND(COALESCE(e.amount, 0), 2),
               MIN(r.opened_date) FILTER (
                   WHERE r.running_count >= %(min_disputes)s
                      OR (e.amount > 0 AND r.running_amount * 100 > %(share)s * e.amount))
        FROM recent r LEFT JOIN exposure e ON e.buyer_id = r.buyer_id
        GROUP BY r.buyer_id, e.amount
        HAVING COUNT(*) >= %(min_disputes)s
            OR (e.amount > 0 AND SUM(r.amount) * 100 > %(share)s * e.amount)
        """,
        ctx.params(
            lookback=thresholds["lookback_days"],
            min_disputes=thresholds["min_disputes"],
            share=thresholds["share_percent"],
        ),
    )
    currency = ctx.tenant.base_currency
    candidates = []
    for buyer_id, count, amount, exposure, crossing_date in rows:
        share = (amount * 100 / exposure).quantize(Decimal("0.1")) if exposure > 0 else None
        candidates.append(
            Candidate(
                buyer_id=buyer_id,
                rule=Kind.DISPUTE_SPIKE,
                condition_key="disputes",
                severity=Severity.MEDIUM,
                title_key="disputes",
                title_params={
                    "count": str(count),
                    "amount": _money(amount),
                    "currency": currency,
                    "days": str(thresholds["lookback_days"]),
                },
                evidence={
                    "disputes": count,
                    "amount": amount,
                    "exposure": exposure,
                    "share_percent": share,
                    "currency": currency,
                    "lookback_days": thresholds["lookback_days"],
                    "as_of": ctx.as_of,
                },
                # The dispute that took the buyer over the threshold.
                risk_event_at=_start_of_day(crossing_date),
            )
        )
    return candidates


def _broken_payment_plan(ctx: _Context) -> list[Candidate]:
    # The stored status changes when a payment is recorded; a plan whose instalment simply
    # went unpaid past its grace period is broken too, although nobody has touched it since.
    rows = _rows(
        """
        SELECT p.id, p.buyer_id, p.erp_reference, p.currency, p.total_amount, p.agreed_date,
               MIN(i.due_date) FILTER (
                   WHERE (i.paid_amount < i.amount AND i.due_date + %(grace)s < %(as_of)s)
                      OR i.paid_date > i.due_date + %(grace)s) AS first_missed_due,
               COALESCE(SUM(GREATEST(i.amount - i.paid_amount, 0)), 0) AS outstanding
        FROM buyers_paymentplan p
        LEFT JOIN buyers_instalment i ON i.plan_id = p.id AND i.tenant_id = p.tenant_id
        WHERE p.tenant_id = %(tenant)s AND p.buyer_id = ANY(%(buyers)s) AND p.status <> 'completed'
        GROUP BY p.id
        HAVING p.status = 'broken'
            OR bool_or(i.paid_amount < i.amount AND i.due_date + %(grace)s < %(as_of)s)
        """,
        ctx.params(grace=PLAN_GRACE_DAYS),
    )
    candidates = []
    for (
        plan_id,
        buyer_id,
        reference,
        currency,
        total,
        agreed,
        first_missed_due,
        outstanding,
    ) in rows:
        broke_on = (
            first_missed_due + timedelta(days=PLAN_GRACE_DAYS + 1) if first_missed_due else agreed
        )
        candidates.append(
            Candidate(
                buyer_id=buyer_id,
                rule=Kind.BROKEN_PAYMENT_PLAN,
                condition_key=f"plan:{plan_id}",
                severity=Severity.HIGH,
                title_key="plan",
                title_params={"plan": reference},
                evidence={
                    "payment_plan_id": plan_id,
                    "erp_reference": reference,
                    "currency": currency,
                    "total_amount": total,
                    "outstanding": outstanding,
                    "first_missed_due_date": first_missed_due,
                    "grace_days": PLAN_GRACE_DAYS,
                },
                risk_event_at=_start_of_day(broke_on),
            )
        )
    return candidates


EVALUATORS = {
    Kind.GRADE_DOWNGRADE: _grade_and_score,  # evaluates score_drop as well (one query)
    Kind.OVERDUE: _overdue,
    Kind.OVER_LIMIT: _over_limit,
    Kind.COUNTRY_DOWNGRADE: _country_downgrade,
    Kind.LEGAL_EVENT: _legal_event,
    Kind.DISPUTE_SPIKE: _dispute_spike,
    Kind.BROKEN_PAYMENT_PLAN: _broken_payment_plan,
}


# --- Evaluation ------------------------------------------------------------------------------

INSERT_SQL = """
INSERT INTO monitoring_alert (tenant_id, buyer_id, rule, condition_key, severity, title, evidence,
                              status, risk_event_at, created_at, resolution_note)
SELECT %(tenant)s, c.buyer_id, c.rule, c.condition_key, c.severity, c.title, c.evidence::jsonb,
       'open', c.risk_event_at, %(now)s, ''
FROM unnest(%(buyer_ids)s::bigint[], %(rules)s::text[], %(keys)s::text[], %(severities)s::text[],
            %(titles)s::text[], %(evidence)s::text[], %(risk_times)s::timestamptz[],
            %(once)s::boolean[])
     AS c(buyer_id, rule, condition_key, severity, title, evidence, risk_event_at, once)
WHERE NOT EXISTS (
    SELECT 1 FROM monitoring_alert a
    WHERE a.tenant_id = %(tenant)s AND a.buyer_id = c.buyer_id AND a.rule = c.rule
      AND a.condition_key = c.condition_key
      AND (c.once
           OR a.status <> 'resolved'
           OR (NOT (a.resolved_by_id IS NULL AND a.resolution_note LIKE %(auto_pattern)s)
               AND a.resolved_at >= c.risk_event_at))
)
ON CONFLICT (tenant_id, buyer_id, rule, condition_key) WHERE status <> 'resolved' DO NOTHING
RETURNING id
"""

AUTO_RESOLVE_SQL = """
UPDATE monitoring_alert a
SET status = 'resolved', resolved_at = %(now)s, resolved_by_id = NULL, resolution_note = %(note)s
WHERE a.tenant_id = %(tenant)s AND a.buyer_id = ANY(%(buyers)s) AND a.rule = ANY(%(rules)s)
  AND a.status <> 'resolved'
  AND NOT EXISTS (
      SELECT 1 FROM unnest(%(held_buyers)s::bigint[], %(held_rules)s::text[], %(held_keys)s::text[])
                    AS held(buyer_id, rule, condition_key)
      WHERE held.buyer_id = a.buyer_id AND held.rule = a.rule
        AND held.condition_key = a.condition_key)
RETURNING a.id
"""


def _insert(tenant: Tenant, candidates: Sequence[Candidate], now: datetime) -> list[int]:
    if not candidates:
        return []
    params = {
        "tenant": tenant.pk,
        "now": now,
        "auto_pattern": AUTO_RESOLVED_PREFIX + "%",
        "buyer_ids": [c.buyer_id for c in candidates],
        "rules": [str(c.rule) for c in candidates],
        "keys": [c.condition_key for c in candidates],
        "severities": [str(c.severity) for c in candidates],
        "titles": [c.title[:200] for c in candidates],
        "evidence": [c.evidence_json() for c in candidates],
        "risk_times": [c.risk_event_at for c in candidates],
        "once": [not RULES[c.rule].auto_resolves for c in candidates],
    }
    return [row[0] for row in _rows(INSERT_SQL, params)]


def _auto_resolve(
    ctx: _Context, rules: list[str], holding: Sequence[Candidate], now: datetime
) -> list[int]:
    if not rules:
        return []
    note = _("%(prefix)s: the condition no longer held on %(date)s.") % {
        "prefix": AUTO_RESOLVED_PREFIX,
        "date": ctx.as_of.isoformat(),
    }
    params = {
        "tenant": ctx.tenant.pk,
        "now": now,
        "note": note[:300],
        "buyers": ctx.buyer_ids,
        "rules": rules,
        "held_buyers": [c.buyer_id for c in holding],
        "held_rules": [str(c.rule) for c in holding],
        "held_keys": [c.condition_key for c in holding],
    }
    return [row[0] for row in _rows(AUTO_RESOLVE_SQL, params)]


def _fx(tenant: Tenant, as_of: date) -> tuple[list[str], list[Decimal]]:
    rates = fx_rates_on(as_of)
    base = tenant.base_currency
    if base not in rates:
        return [base], [Decimal(1)]
    return list(rates), [rates[base] / rate for rate in rates.values()]


SCORE_RULES = frozenset({Kind.GRADE_DOWNGRADE, Kind.SCORE_DROP})


def evaluate_alerts(
    *,
    tenant: Tenant,
    buyer_ids: list[int],
    period: date,
    as_of: date | None = None,
    kinds: frozenset[str] | None = None,
) -> int:
    """Evaluate the enabled rules for `buyer_ids`; return the number of alerts raised.

    `period` is the scoring period whose grades and scores are compared with the previous
    ones; `as_of` (default today) is the date the receivables rules look at; `kinds` limits
    the rules evaluated (default: all — the monthly re-scoring passes SCORE_RULES, since the
    daily evaluation covers the others). Runs inside the caller's transaction with `tenant`
    active; safe to repeat (see the module docstring).
    """
    if current_tenant().pk != tenant.pk:
        raise RuntimeError("evaluate_alerts must run with its tenant active")
    if not buyer_ids:
        return 0
    as_of = as_of or timezone.localdate()
    settings = {setting.kind: setting for setting in rule_settings(tenant=tenant)}
    ctx = _Context(
        tenant=tenant, buyer_ids=list(buyer_ids), period=period, as_of=as_of, settings=settings
    )
    ctx.currencies, ctx.factors = _fx(tenant, as_of)
    wanted = frozenset(RULES) if kinds is None else kinds
    candidates: list[Candidate] = []
    for kind, evaluator in EVALUATORS.items():
        # The grade evaluator checks score_drop too and looks at both settings itself.
        if kind == Kind.GRADE_DOWNGRADE:
            if wanted & SCORE_RULES:
                candidates.extend(c for c in evaluator(ctx) if c.rule in wanted)
        elif kind in wanted and settings[kind].enabled:
            candidates.extend(evaluator(ctx))
    state_rules = [
        str(kind)
        for kind, definition in RULES.items()
        if definition.auto_resolves and settings[kind].enabled and kind in wanted
    ]
    now = timezone.now()
    resolved = _auto_resolve(
        ctx, state_rules, [c for c in candidates if c.rule in state_rules], now
    )
    created = _insert(tenant, candidates, now)
    _publish(tenant, created, EVENT_CREATED)
    _publish(tenant, resolved, EVENT_RESOLVED)
    return len(created)


# --- Webhook events --------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The alert as webhook receivers get it (the same fields as the API)."""
    return json.loads(
        json.dumps(
            {
                "id": alert.pk,
                "buyer": {
                    "id": alert.buyer_id,
                    "erp_reference": alert.buyer.erp_reference,
                    "legal_name": alert.buyer.legal_name,
                },
                "rule": alert.rule,
                "condition_key": alert.condition_key,
                "severity": alert.severity,
                "status": alert.status,
                "title": alert.title,
                "evidence": {k: v for k, v in alert.evidence.items() if k != "i18n_title"},
                "risk_event_at": _iso(alert.risk_event_at),
                "created_at": _iso(alert.created_at),
                "acknowledged_at": _iso(alert.acknowledged_at),
                "resolved_at": _iso(alert.resolved_at),
                "resolution_note": alert.resolution_note,
            },
            cls=DjangoJSONEncoder,
        )
    )


def alert_event_id(alert_id: int, event_type: str) -> str:
    """Stable per alert and event type: a repeated publish never delivers twice."""
    return f"evt_alert_{alert_id}_{event_type.removeprefix('alert.')}"


def _publish(tenant: Tenant, alert_ids: Iterable[int], event_type: str) -> None:
    alert_ids = list(alert_ids)
    if not alert_ids or not webhooks.has_subscribers(event_type=event_type):
        return
    alerts = Alert.objects.filter(pk__in=alert_ids).select_related("buyer")
    webhooks.webhook_events_publish(
        tenant=tenant,
        events=[
            webhooks.WebhookEvent(
                event_id=alert_event_id(alert.pk, event_type),
                event_type=event_type,
                data=alert_payload(alert),
            )
            for alert in alerts
        ],
    )


# --- Acknowledge and resolve -----------------------------------------------------------------


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().select_related("buyer").get(pk=alert.pk)


def _user(actor: Actor) -> AbstractBaseUser | None:
    return actor if isinstance(actor, AbstractBaseUser) else None


@transaction.atomic
def alert_acknowledge(*, tenant: Tenant, actor: Actor, alert: Alert) -> Alert:
    """Someone has seen the alert and is on it. Acknowledging twice changes nothing."""
    alert = _locked(alert)
    if alert.status == Alert.Status.RESOLVED:
        raise ValidationError({"status": _("A resolved alert cannot be acknowledged.")})
    if alert.status == Alert.Status.ACKNOWLEDGED:
        return alert
    alert.status = Alert.Status.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = _user(actor)
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="alert.acknowledge",
        obj=alert,
        before={"status": Alert.Status.OPEN},
        after={"status": alert.status},
    )
    _publish(tenant, [alert.pk], EVENT_ACKNOWLEDGED)
    return alert


@transaction.atomic
def alert_resolve(*, tenant: Tenant, actor: Actor, alert: Alert, note: str = "") -> Alert:
    """Close the alert. If its condition still holds, it is not raised again for the same
    occurrence (see the module docstring)."""
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationError({"note": _("Keep the note to 300 characters.")})
    alert = _locked(alert)
    if alert.status == Alert.Status.RESOLVED:
        raise ValidationError({"status": _("This alert is already resolved.")})
    before = alert.status
    alert.status = Alert.Status.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_by = _user(actor)
    alert.resolution_note = note
    alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="alert.resolve",
        obj=alert,
        before={"status": before},
        after={"status": alert.status, "note": note},
    )
    _publish(tenant, [alert.pk], EVENT_RESOLVED)
    return alert


# --- Selectors -------------------------------------------------------------------------------


def warning_lead_times(*, tenant: Tenant, since: datetime) -> dict[str, Any]:
    """The KPI "days from risk event to warning" over alerts raised since `since`.

    Returns ``{"count", "median_days", "p90_days"}``; the days are Decimal with one decimal
    place, None when there were no alerts.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY lead.days),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY lead.days)
            FROM (
                SELECT GREATEST(EXTRACT(EPOCH FROM created_at - risk_event_at), 0) / 86400 AS days
                FROM monitoring_alert
                WHERE tenant_id = %s AND created_at >= %s
            ) lead
            """,
            [tenant.pk, since],
        )
        count, median, p90 = cursor.fetchone()

    def days(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))

    return {"count": count, "median_days": days(median), "p90_days": days(p90)}


def lead_time_days(alert: Alert) -> Decimal:
    """Days from the risk event to this alert's warning, one decimal place."""
    seconds = max((alert.created_at - alert.risk_event_at).total_seconds(), 0)
    return (Decimal(str(seconds)) / 86400).quantize(Decimal("0.1"))
