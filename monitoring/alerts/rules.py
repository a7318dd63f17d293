"""The early-warning conditions: one set-based query per rule finds, for a chunk of buyers,
the conditions that hold now (`Candidate`s); `monitoring.alerts.lifecycle` raises and resolves
the alerts. Receivables figures come from the rules of `buyers.ledger` (SQL fragments), never
from a copy of them.

Credit limits, insurer cover decisions and policy deadlines belong to a higher layer
(`policies`): the over-limit, cover-reduced and policy-deadline rules ask the sources registered
with `register_limit_source`, `register_cover_change_source` and `register_deadline_source`
(policies registers its own in `PoliciesConfig.ready`), so monitoring never reads another app's
tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from buyers import ledger, receivables
from creditguard.i18n import gettext_noop
from creditguard.tenancy.models import Tenant

from ..models import Alert, AlertRule, LegalEvent
from ..rules import RuleSetting

Kind = AlertRule.Kind
Severity = Alert.Severity
PLAN_GRACE_DAYS = receivables.PAYMENT_PLAN_GRACE_DAYS
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


# Plain titles are msgids (str); counted titles are ngettext_lazy promises keyed by "count".
TITLES: dict[str, Any] = {
    "grade": gettext_noop("Grade downgraded from %(previous)s to %(grade)s"),
    "score": gettext_noop("Score fell by %(points)s points to %(score)s"),
    "overdue": gettext_noop("%(amount)s %(currency)s more than %(days)s days overdue"),
    "country": gettext_noop(
        "Country rating of %(country)s worsened from %(previous)s to %(rating)s"
    ),
    # Titles with a count are plural-aware: ngettext_lazy picks the form by params["count"].
    "disputes": ngettext_lazy(
        "%(count)s dispute for %(amount)s %(currency)s opened in the last %(days)s days",
        "%(count)s disputes for %(amount)s %(currency)s opened in the last %(days)s days",
        "count",
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
    "cover_reduction": gettext_noop(
        "Insurer cover reduced from %(old)s to %(new)s %(currency)s from %(date)s"
    ),
    "cover_withdrawal": gettext_noop(
        "Insurer cover of %(old)s %(currency)s withdrawn from %(date)s"
    ),
    "cover_refusal": gettext_noop("Insurer refused cover on %(date)s"),
    "deadline_notify_by": ngettext_lazy(
        "Notify %(count)s overdue invoice (%(amount)s %(currency)s) to the insurer by %(date)s",
        "Notify %(count)s overdue invoices (%(amount)s %(currency)s) to the insurer by %(date)s",
        "count",
    ),
    "deadline_notify_by_passed": ngettext_lazy(
        "Notification deadline passed on %(date)s (cover lost); %(count)s invoice "
        "(%(amount)s %(currency)s) not notified",
        "Notification deadline passed on %(date)s (cover lost); %(count)s invoices "
        "(%(amount)s %(currency)s) not notified",
        "count",
    ),
    "deadline_claim_by": ngettext_lazy(
        "File the claim for %(count)s invoice (%(amount)s %(currency)s) by %(date)s",
        "File the claim for %(count)s invoices (%(amount)s %(currency)s) by %(date)s",
        "count",
    ),
    "deadline_claim_by_passed": ngettext_lazy(
        "Claim-filing deadline passed on %(date)s; %(count)s open invoice "
        "(%(amount)s %(currency)s) not notified",
        "Claim-filing deadline passed on %(date)s; %(count)s open invoices "
        "(%(amount)s %(currency)s) not notified",
        "count",
    ),
}


def title_text(title_key: str, params: Mapping[str, Any]) -> str:
    """A title in the active language; a counted title takes the form its count needs."""
    title = TITLES[title_key]
    if isinstance(title, str):
        return _(title) % params
    return str(title % {**params, "count": int(params["count"])})


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
        """The stored title: English, as the rules run with no user's language active."""
        with translation.override("en"):
            return title_text(self.title_key, self.title_params)

    def evidence_json(self) -> str:
        # The key, not the text: a counted title has two texts, chosen when shown.
        title = TITLES[self.title_key]
        i18n_title: dict[str, Any] = {"key": self.title_key, "params": self.title_params}
        if isinstance(title, str):
            i18n_title["msgid"] = title
        document = {**self.evidence, "i18n_title": i18n_title}
        return json.dumps(document, cls=DjangoJSONEncoder)


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
    factors: dict[str, Decimal]

    def enabled(self, kind: str) -> bool:
        return self.settings[kind].enabled

    def thresholds(self, kind: str) -> dict[str, Any]:
        return self.settings[kind].thresholds

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "tenant": self.tenant.pk,
            "buyers": self.buyer_ids,
            "as_of": self.as_of,
            "fx_currencies": list(self.factors),
            "fx_factors": list(self.factors.values()),
            **extra,
        }


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


# Amounts are converted into the base currency per invoice with the rates known on the
# evaluation date (`buyers.ledger.fx_cte`); rows in a currency without a rate are left out.


# --- Limit sources -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditLimitFigure:
    """A buyer's credit limit as the over-limit rule compares it with exposure."""

    buyer_id: int
    limit_id: int  # names the condition: a new limit is a new occurrence
    amount: Decimal  # in the tenant's base currency, rounded to cents
    changed_at: datetime


class LimitSource(Protocol):
    def __call__(
        self, *, tenant: Tenant, buyer_ids: list[int], factors: Mapping[str, Decimal]
    ) -> Iterable[CreditLimitFigure]: ...


LIMIT_SOURCES: list[LimitSource] = []


def register_limit_source(source: LimitSource) -> None:
    """Let the over-limit rule read limits from ``source`` (called from an app's ``ready``)."""
    if source not in LIMIT_SOURCES:
        LIMIT_SOURCES.append(source)


# --- Cover-change and deadline sources ----------------------------------------------------------


@dataclass(frozen=True)
class CoverChangeFigure:
    """An insurer's decision that cut a buyer's cover (reduction, withdrawal or refusal)."""

    buyer_id: int
    decision_id: int  # names the event: one alert per decision
    kind: str  # "reduction", "withdrawal" or "refusal"
    old_amount: Decimal  # the cover in force without this decision, decision currency
    new_amount: Decimal
    currency: str
    decision_date: date
    effective_date: date
    recorded_at: datetime
    insurer: str
    policy_id: int | None


class CoverChangeSource(Protocol):
    def __call__(
        self, *, tenant: Tenant, buyer_ids: list[int], since: datetime
    ) -> Iterable[CoverChangeFigure]: ...


@dataclass(frozen=True)
class DeadlineFigure:
    """The nearest policy deadline of one kind over a buyer's open, unnotified invoices."""

    buyer_id: int
    kind: str  # "notify_by" or "claim_by"
    deadline: date  # the earliest one among the invoices counted
    invoices: int
    amount: Decimal  # their outstanding, base currency
    invoice_ids: tuple[int, ...]
    policy_id: int


class DeadlineSource(Protocol):
    def __call__(
        self, *, tenant: Tenant, buyer_ids: list[int], as_of: date, days_ahead: int
    ) -> Iterable[DeadlineFigure]: ...


COVER_CHANGE_SOURCES: list[CoverChangeSource] = []
DEADLINE_SOURCES: list[DeadlineSource] = []
# Days before a policy deadline from which its alert is high rather than medium.
DEADLINE_IMMINENT_DAYS = 3


def register_cover_change_source(source: CoverChangeSource) -> None:
    """Let the cover-reduced rule read cover decisions from ``source`` (an app's ``ready``)."""
    if source not in COVER_CHANGE_SOURCES:
        COVER_CHANGE_SOURCES.append(source)


def register_deadline_source(source: DeadlineSource) -> None:
    """Let the policy-deadline rule read deadlines from ``source`` (an app's ``ready``)."""
    if source not in DEADLINE_SOURCES:
        DEADLINE_SOURCES.append(source)


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
              -- A new official model grades on its own scale: moving to it is not a risk event.
              AND p.model_version = s.model_version
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


# Fragments of the evaluation date and of the fx CTE shared by the receivables rules below.
AS_OF = "%(as_of)s::date"
FX = ledger.fx_cte()

OVERDUE_SQL = f"""
WITH {FX},
items AS (
    SELECT i.buyer_id, i.due_date, {ledger.outstanding_in_base_sql("i")} AS outstanding,
           {ledger.days_past_due_sql("i", as_of=AS_OF)} AS days_past_due
    FROM buyers_invoice i JOIN fx ON fx.currency = i.currency
    WHERE i.tenant_id = %(tenant)s AND i.buyer_id = ANY(%(buyers)s)
      AND {ledger.overdue_sql("i", as_of=AS_OF, beyond_days="(%(min_days)s::int - 1)")}
),
crossed AS (
    SELECT items.buyer_id, t.days, items.due_date,
           SUM(items.outstanding) OVER running AS running,
           SUM(items.outstanding) OVER bucket AS total,
           COUNT(*) OVER bucket AS invoices
    FROM items JOIN unnest(%(days)s::int[]) AS t(days) ON items.days_past_due >= t.days
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
SELECT DISTINCT ON (buyer_id) buyer_id, days, amount, invoices, oldest_due, crossing_due
FROM buckets ORDER BY buyer_id, days DESC
"""  # noqa: S608  (fragments of buyers.ledger, no input)


def _overdue(ctx: _Context) -> list[Candidate]:
    thresholds = ctx.thresholds(Kind.OVERDUE)
    days: list[int] = thresholds["days"]
    rows = _rows(
        OVERDUE_SQL,
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


EXPOSURE_SQL = f"""
WITH {FX}
SELECT i.buyer_id, SUM({ledger.outstanding_in_base_sql("i")})
FROM buyers_invoice i JOIN fx ON fx.currency = i.currency
WHERE i.tenant_id = %(tenant)s AND i.buyer_id = ANY(%(buyers)s) AND {ledger.open_sql("i")}
GROUP BY i.buyer_id
"""  # noqa: S608  (fragments of buyers.ledger, no input)


def _over_limit(ctx: _Context) -> list[Candidate]:
    limits = [
        limit
        for source in LIMIT_SOURCES
        for limit in source(tenant=ctx.tenant, buyer_ids=ctx.buyer_ids, factors=ctx.factors)
    ]
    if not limits:
        return []
    tolerance = Decimal(ctx.thresholds(Kind.OVER_LIMIT)["tolerance_percent"])
    exposures = dict(
        _rows(EXPOSURE_SQL, ctx.params(buyers=sorted({limit.buyer_id for limit in limits})))
    )
    currency = ctx.tenant.base_currency
    candidates = []
    for limit in limits:
        exposure = exposures.get(limit.buyer_id, ledger.ZERO)
        if exposure <= limit.amount * (1 + tolerance / 100):
            continue
        candidates.append(
            Candidate(
                buyer_id=limit.buyer_id,
                rule=Kind.OVER_LIMIT,
                condition_key=f"limit:{limit.limit_id}",
                severity=Alert.Severity.HIGH,
                title_key="over_limit",
                title_params={
                    "exposure": _money(exposure),
                    "limit": _money(limit.amount),
                    "currency": currency,
                },
                evidence={
                    "exposure": exposure,
                    "limit": limit.amount,
                    "currency": currency,
                    "tolerance_percent": tolerance,
                    "as_of": ctx.as_of,
                },
                # Exposure is only known as of now; the limit's last change bounds it from below.
                risk_event_at=max(limit.changed_at, _start_of_day(ctx.as_of)),
            )
        )
    return candidates


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
        f"""
        WITH exposure(buyer_id, amount) AS ({EXPOSURE_SQL}),
        fx AS (SELECT * FROM unnest(%(fx_currencies)s::text[], %(fx_factors)s::numeric[])
               AS fx(currency, factor)),
        recent AS (
            SELECT d.buyer_id, d.opened_date, ROUND(d.amount * fx.factor, 2) AS amount,
                   SUM(ROUND(d.amount * fx.factor, 2)) OVER running AS running_amount,
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
        """,  # noqa: S608
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


BROKEN_PLANS_SQL = f"""
SELECT p.id, p.buyer_id, p.erp_reference, p.currency, p.total_amount, p.agreed_date,
       plan.first_missed_due, plan.outstanding
FROM ({ledger.payment_plan_statuses_sql(tenant="%(tenant)s", buyers="%(buyers)s", as_of=AS_OF)})
     AS plan
JOIN buyers_paymentplan p ON p.tenant_id = %(tenant)s AND p.id = plan.plan_id
WHERE plan.status = 'broken'
"""  # noqa: S608  (fragments of buyers.ledger, no input)


def _broken_payment_plan(ctx: _Context) -> list[Candidate]:
    # The status is derived from the instalments at `as_of` (`buyers.ledger`), so a plan whose
    # instalment simply went unpaid past its grace period is broken although nobody touched it.
    rows = _rows(BROKEN_PLANS_SQL, ctx.params())
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


def _cover_reduced(ctx: _Context) -> list[Candidate]:
    lookback = int(ctx.thresholds(Kind.COVER_REDUCED)["lookback_days"])
    since = _start_of_day(ctx.as_of - timedelta(days=lookback - 1))
    candidates = []
    for source in COVER_CHANGE_SOURCES:
        for change in source(tenant=ctx.tenant, buyer_ids=ctx.buyer_ids, since=since):
            params = {
                "old": _money(change.old_amount),
                "new": _money(change.new_amount),
                "currency": change.currency,
                "date": change.effective_date.isoformat()
                if change.kind != "refusal"
                else change.decision_date.isoformat(),
            }
            candidates.append(
                Candidate(
                    buyer_id=change.buyer_id,
                    rule=Kind.COVER_REDUCED,
                    condition_key=f"cover:{change.decision_id}",
                    severity=Severity.HIGH,
                    title_key=f"cover_{change.kind}",
                    title_params=params,
                    evidence={
                        "cover_decision_id": change.decision_id,
                        "kind": change.kind,
                        "old_amount": change.old_amount,
                        "new_amount": change.new_amount,
                        "currency": change.currency,
                        "decision_date": change.decision_date,
                        "effective_date": change.effective_date,
                        "insurer": change.insurer,
                        "policy_id": change.policy_id,
                    },
                    # The insurer's decision is the risk event, whenever it takes effect.
                    risk_event_at=_start_of_day(change.decision_date),
                )
            )
    return candidates


def deadline_stage(*, deadline: date, as_of: date) -> tuple[str, str]:
    """``(stage, severity)`` of a policy deadline seen on ``as_of``: passed → critical (the
    cover or the claim is lost), within `DEADLINE_IMMINENT_DAYS` → high, otherwise medium."""
    days_left = (deadline - as_of).days
    if days_left < 0:
        return "passed", Severity.CRITICAL
    if days_left <= DEADLINE_IMMINENT_DAYS:
        return "imminent", Severity.HIGH
    return "approaching", Severity.MEDIUM


def _policy_deadline(ctx: _Context) -> list[Candidate]:
    days_ahead = int(ctx.thresholds(Kind.POLICY_DEADLINE)["days_ahead"])
    currency = ctx.tenant.base_currency
    candidates = []
    for source in DEADLINE_SOURCES:
        figures = source(
            tenant=ctx.tenant, buyer_ids=ctx.buyer_ids, as_of=ctx.as_of, days_ahead=days_ahead
        )
        for figure in figures:
            stage, severity = deadline_stage(deadline=figure.deadline, as_of=ctx.as_of)
            began = (
                figure.deadline + timedelta(days=1)
                if stage == "passed"
                else figure.deadline
                - timedelta(days=DEADLINE_IMMINENT_DAYS if stage == "imminent" else days_ahead)
            )
            candidates.append(
                Candidate(
                    buyer_id=figure.buyer_id,
                    rule=Kind.POLICY_DEADLINE,
                    # The stage is part of the key: moving to a graver stage resolves the
                    # earlier alert and raises one with the graver severity.
                    condition_key=f"deadline:{figure.kind}:{stage}",
                    severity=severity,
                    title_key=f"deadline_{figure.kind}" + ("_passed" if stage == "passed" else ""),
                    title_params={
                        "count": str(figure.invoices),
                        "amount": _money(figure.amount),
                        "currency": currency,
                        "date": figure.deadline.isoformat(),
                    },
                    evidence={
                        "deadline_kind": figure.kind,
                        "deadline": figure.deadline,
                        "days_left": (figure.deadline - ctx.as_of).days,
                        "invoices": figure.invoices,
                        "invoice_ids": list(figure.invoice_ids),
                        "amount": figure.amount,
                        "currency": currency,
                        "policy_id": figure.policy_id,
                        "days_ahead": days_ahead,
                        "as_of": ctx.as_of,
                    },
                    risk_event_at=_start_of_day(min(began, ctx.as_of)),
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
    Kind.COVER_REDUCED: _cover_reduced,
    Kind.POLICY_DEADLINE: _policy_deadline,
}

# The rules of the insurance capability, evaluated by its daily job after the coverage sweep.
INSURANCE_RULES = frozenset({Kind.COVER_REDUCED, Kind.POLICY_DEADLINE})


SCORE_RULES = frozenset({Kind.GRADE_DOWNGRADE, Kind.SCORE_DROP})
