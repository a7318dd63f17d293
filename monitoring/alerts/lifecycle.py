"""Raising and resolving alerts: evaluating the rules for a chunk of buyers (see the package
docstring), the webhook events, and a person acknowledging and resolving an alert."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers import ledger
from creditguard.audit.services import audit_record
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.context import current_tenant
from creditguard.tenancy.models import Tenant

from .. import webhooks
from ..models import Alert
from ..rules import RULES, rule_settings
from .rules import EVALUATORS, SCORE_RULES, Candidate, Kind, _Context, _rows

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

AUTO_RESOLVED_PREFIX = "Resolved automatically"
EVENT_CREATED = "alert.created"
EVENT_ACKNOWLEDGED = "alert.acknowledged"
EVENT_RESOLVED = "alert.resolved"
EVENT_DEADLINE_APPROACHING = "deadline.approaching"


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
RETURNING id, rule
"""

AUTO_RESOLVE_SQL = """
UPDATE monitoring_alert a
SET status = 'resolved', resolved_at = %(now)s, resolved_by_id = NULL, resolution_note = %(note)s
WHERE a.tenant_id = %(tenant)s AND a.buyer_id = ANY(%(buyers)s) AND a.rule = ANY(%(rules)s)
  AND a.status <> 'resolved'
  -- NOT IN over the held conditions is a hashed subplan: one probe per open alert, where a
  -- correlated NOT EXISTS over unnest() scanned every held condition for each (none is NULL).
  AND (a.buyer_id, a.rule, a.condition_key) NOT IN (
      SELECT held.buyer_id, held.rule, held.condition_key
      FROM unnest(%(held_buyers)s::bigint[], %(held_rules)s::text[], %(held_keys)s::text[])
           AS held(buyer_id, rule, condition_key))
RETURNING a.id
"""


def _insert(
    tenant: Tenant, candidates: Sequence[Candidate], now: datetime
) -> list[tuple[int, str]]:
    """Raise the candidates not raised yet; ``(id, rule)`` of the new alerts."""
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
    return [(row[0], row[1]) for row in _rows(INSERT_SQL, params)]


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
        tenant=tenant,
        buyer_ids=list(buyer_ids),
        period=period,
        as_of=as_of,
        settings=settings,
        factors=ledger.base_factors(fx_rates_on(as_of), base=tenant.base_currency),
    )
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
    _publish(tenant, [alert_id for alert_id, _rule in created], EVENT_CREATED)
    # A new policy-deadline alert is also published as its own event type, for receivers
    # that follow deadlines only (event id per alert: never delivered twice).
    _publish(
        tenant,
        [alert_id for alert_id, rule in created if rule == Kind.POLICY_DEADLINE],
        EVENT_DEADLINE_APPROACHING,
    )
    _publish(tenant, resolved, EVENT_RESOLVED)
    return len(created)


# --- Webhook events --------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The alert as webhook receivers get it (the same fields as the API)."""
    payload: dict[str, Any] = json.loads(
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
    return payload


def alert_event_id(alert_id: int, event_type: str) -> str:
    """Stable per alert and event type: a repeated publish never delivers twice."""
    if not event_type.startswith("alert."):
        return f"evt_alert_{alert_id}_{event_type.replace('.', '_')}"
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


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


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
