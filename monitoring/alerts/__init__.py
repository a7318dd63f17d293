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
4. Webhook events ("alert.created", "alert.resolved", and "deadline.approaching" for each new
   policy-deadline alert) are recorded in the same transaction and sent after commit.

``risk_event_at`` is when the risk showed up (the score's computation, the day an invoice
crossed the threshold, the legal event's date, the country rating's effective date) and
``created_at`` the warning, so `warning_lead_times` measures the delay between the two.

The package: `rules` (the conditions, one query per rule, and the limit sources), `lifecycle`
(evaluation, webhook events, acknowledge and resolve) and `selectors` (titles, lead times).
"""

from .lifecycle import (
    AUTO_RESOLVED_PREFIX,
    EVENT_ACKNOWLEDGED,
    EVENT_CREATED,
    EVENT_DEADLINE_APPROACHING,
    EVENT_RESOLVED,
    alert_acknowledge,
    alert_event_id,
    alert_payload,
    alert_resolve,
    evaluate_alerts,
)
from .rules import (
    INSURANCE_RULES,
    SCORE_RULES,
    TITLES,
    Candidate,
    CoverChangeFigure,
    CoverChangeSource,
    CreditLimitFigure,
    DeadlineFigure,
    DeadlineSource,
    LimitSource,
    deadline_stage,
    register_cover_change_source,
    register_deadline_source,
    register_limit_source,
)
from .selectors import alert_title, is_auto_resolved, lead_time_days, warning_lead_times

__all__ = [
    "AUTO_RESOLVED_PREFIX",
    "EVENT_ACKNOWLEDGED",
    "EVENT_CREATED",
    "EVENT_DEADLINE_APPROACHING",
    "EVENT_RESOLVED",
    "INSURANCE_RULES",
    "SCORE_RULES",
    "TITLES",
    "Candidate",
    "CoverChangeFigure",
    "CoverChangeSource",
    "CreditLimitFigure",
    "DeadlineFigure",
    "DeadlineSource",
    "LimitSource",
    "alert_acknowledge",
    "alert_event_id",
    "alert_payload",
    "alert_resolve",
    "alert_title",
    "deadline_stage",
    "evaluate_alerts",
    "is_auto_resolved",
    "lead_time_days",
    "register_cover_change_source",
    "register_deadline_source",
    "register_limit_source",
    "warning_lead_times",
]
