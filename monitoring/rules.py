"""Early-warning rules: what each rule checks, its default thresholds and severities, and a
tenant's settings (an `AlertRule` row overrides the defaults of one rule).

The ten rules and their defaults (amounts in the tenant's base currency; grade 1 = best,
10 = worst; score 0-100, higher = better):

=====================  ============================================  ===========================
rule                   raises an alert when                          severity
=====================  ============================================  ===========================
grade_downgrade        the period's grade is >= ``min_steps`` (2)    medium; high when the new
                       grades worse than the buyer's previous        grade enters
                       score, or enters ``high_risk_grade`` (8)+     ``high_risk_grade``+
score_drop             the score fell >= ``min_points`` (15) since   medium; high from
                       the previous score                            ``high_points`` (30)
                       (both compare scores of the same model version: a change of the
                       official model moves grades without any news about the buyer)
overdue                >= ``min_amount`` (1,000) is more than        low / medium / high for
                       ``days`` (31, 61, 91) past due; one alert     the 1st / 2nd / 3rd bucket
                       for the highest bucket reached                (critical from a 4th)
over_limit             exposure > credit limit x (1 + tolerance)     high
                       (limits come from the registered limit
                       sources: `alerts.register_limit_source`)
country_downgrade      the buyer's country rating worsened by >=     medium; high when the new
                       ``min_steps`` (1) at an effective date in     rating is >=
                       the last ``lookback_days`` (92)               ``high_risk_rating`` (8)
legal_event            a legal event of one of ``kinds`` dated in    critical for insolvency,
                       the last ``lookback_days`` (30)               high for judgments, defaults
                                                                     and tax liens, else medium
dispute_spike          disputes opened in the last ``lookback_days`` medium
                       (30) number >= ``min_disputes`` (3) or
                       exceed ``share_percent`` (20) % of exposure
broken_payment_plan    a payment plan is broken: an instalment       high
                       unpaid, or paid, more than 5 days (the grace
                       period) after its due date
cover_reduced          the insurer reduced, withdrew or refused a    high
                       cover: one alert per decision recorded in
                       the last ``lookback_days`` (30) (decisions
                       come from the registered cover-change
                       sources: `alerts.register_cover_change_source`)
policy_deadline        an open invoice not notified to the insurer   medium; high within 3 days;
                       has its overdue-notification or claim-filing  critical once passed (the
                       deadline within ``days_ahead`` (10) days, or  cover is lost)
                       past; one alert per buyer and deadline kind
                       (deadlines come from the registered deadline
                       sources: `alerts.register_deadline_source`)
=====================  ============================================  ===========================

"Event" rules (grade, score, country, legal event, cover reduced) raise once per event.
"State" rules (overdue, over limit, dispute spike, broken plan, policy deadline) resolve
themselves when the condition no longer holds; see `monitoring.alerts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from creditguard.audit.services import audit_record
from creditguard.tenancy.models import Tenant

from .models import AlertRule, LegalEvent

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

Kind = AlertRule.Kind
ThresholdType = Literal["int", "decimal", "int_list", "choice_list"]
MAX_BUCKETS = 6
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Threshold:
    """One configurable number (or list) of a rule, with its bounds."""

    name: str
    label: str
    type: ThresholdType
    default: Any
    min_value: int | Decimal | None = None
    max_value: int | Decimal | None = None
    choices: tuple[str, ...] = ()


# Rule texts name thresholds by placeholders (``%(grades)s``), never by their setting names
# (``min_steps``): `RuleSetting.description` fills them with the tenant's values in words.
def _number(value: Any) -> str:
    """15 → "15", Decimal("12.50") → "12.5", 1000 → "1,000"."""
    number = Decimal(str(value))
    return f"{number.normalize():,f}" if number == number.to_integral() else f"{number:,}"


def _plural_count(value: Any) -> int:
    """The number ngettext chooses the plural form by (a fraction reads as plural)."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral() else 2


def _days(value: Any) -> str:
    return ngettext("%(count)s day", "%(count)s days", _plural_count(value)) % {
        "count": _number(value)
    }


def _day_list(values: list[int]) -> str:
    """[31, 61, 91] → "31, 61 and 91 days"."""
    numbers = [_number(value) for value in values]
    if len(numbers) > 1:
        joined = _("%(first)s and %(last)s") % {
            "first": ", ".join(numbers[:-1]),
            "last": numbers[-1],
        }
    else:
        joined = "".join(numbers)
    return ngettext("%(count)s day", "%(count)s days", _plural_count(values[-1])) % {
        "count": joined
    }


def _grades(value: Any) -> str:
    return ngettext("%(count)s grade", "%(count)s grades", _plural_count(value)) % {
        "count": _number(value)
    }


def _steps(value: Any) -> str:
    return ngettext("%(count)s step", "%(count)s steps", _plural_count(value)) % {
        "count": _number(value)
    }


def _points(value: Any) -> str:
    return ngettext("%(count)s point", "%(count)s points", _plural_count(value)) % {
        "count": _number(value)
    }


def _disputes(value: Any) -> str:
    return ngettext("%(count)s dispute", "%(count)s disputes", _plural_count(value)) % {
        "count": _number(value)
    }


@dataclass(frozen=True)
class RuleDefinition:
    kind: str
    description: str
    severity: str
    thresholds: tuple[Threshold, ...] = ()
    # State rules resolve their alerts when the condition stops holding; event rules do not.
    auto_resolves: bool = False
    check: Callable[[dict[str, Any]], dict[str, str]] | None = None
    # The placeholders of `description` and `severity`, in words, from the thresholds.
    words: Callable[[dict[str, Any]], dict[str, str]] | None = None

    def describe(self, thresholds: dict[str, Any]) -> tuple[str, str]:
        """(description, severity) in the active language with these thresholds filled in."""
        words = self.words(thresholds) if self.words else {}
        return str(self.description) % words, str(self.severity) % words

    @property
    def label(self) -> str:
        return str(Kind(self.kind).label)

    def defaults(self) -> dict[str, Any]:
        return {threshold.name: threshold.default for threshold in self.thresholds}


def _check_score_drop(values: dict[str, Any]) -> dict[str, str]:
    if values["high_points"] < values["min_points"]:
        return {
            "high_points": _("Must be at least the drop that raises an alert (%(points)s).")
            % {"points": _points(values["min_points"])}
        }
    return {}


LEGAL_EVENT_KINDS = tuple(LegalEvent.Kind.values)
DEFAULT_LEGAL_EVENT_KINDS = [
    LegalEvent.Kind.INSOLVENCY_FILING.value,
    LegalEvent.Kind.INSOLVENCY_PROCEEDINGS.value,
    LegalEvent.Kind.COURT_JUDGMENT.value,
    LegalEvent.Kind.PAYMENT_DEFAULT.value,
]

RULES: dict[str, RuleDefinition] = {
    rule.kind: rule
    for rule in (
        RuleDefinition(
            Kind.GRADE_DOWNGRADE,
            gettext_lazy(
                "The grade worsened by at least %(grades)s since the previous score, "
                "or reached grade %(high_risk_grade)s or worse."
            ),
            gettext_lazy("Medium; high when the new grade is %(high_risk_grade)s or worse."),
            (
                Threshold("min_steps", gettext_lazy("Grades worse (at least)"), "int", 2, 1, 9),
                Threshold("high_risk_grade", gettext_lazy("High-risk grade"), "int", 8, 2, 10),
            ),
            words=lambda values: {
                "grades": _grades(values["min_steps"]),
                "high_risk_grade": _number(values["high_risk_grade"]),
            },
        ),
        RuleDefinition(
            Kind.SCORE_DROP,
            gettext_lazy("The score fell by at least %(points)s since the previous score."),
            gettext_lazy("Medium; high from a drop of %(high_points)s."),
            (
                Threshold(
                    "min_points",
                    gettext_lazy("Score drop (points)"),
                    "decimal",
                    Decimal(15),
                    Decimal(1),
                    100,
                ),
                Threshold(
                    "high_points",
                    gettext_lazy("Drop for high severity (points)"),
                    "decimal",
                    Decimal(30),
                    Decimal(1),
                    100,
                ),
            ),
            check=_check_score_drop,
            words=lambda values: {
                "points": _points(values["min_points"]),
                "high_points": _points(values["high_points"]),
            },
        ),
        RuleDefinition(
            Kind.OVERDUE,
            gettext_lazy(
                "At least %(min_amount)s (base currency) is more than %(days)s past due; "
                "one alert for the highest of these buckets reached."
            ),
            gettext_lazy("Low, medium, high for the first, second, third bucket."),
            (
                Threshold(
                    "days",
                    gettext_lazy("Days past due (buckets)"),
                    "int_list",
                    [31, 61, 91],
                    1,
                    3650,
                ),
                Threshold(
                    "min_amount",
                    gettext_lazy("Minimum overdue amount"),
                    "decimal",
                    Decimal(1000),
                    Decimal(0),
                    Decimal("1e15"),
                ),
            ),
            auto_resolves=True,
            words=lambda values: {
                "min_amount": _number(values["min_amount"]),
                "days": _day_list(values["days"]),
            },
        ),
        RuleDefinition(
            Kind.OVER_LIMIT,
            gettext_lazy(
                "Exposure exceeds the buyer's active credit limit by more than "
                "%(tolerance_percent)s%%."
            ),
            gettext_lazy("High."),
            (
                Threshold(
                    "tolerance_percent",
                    gettext_lazy("Tolerance (%)"),
                    "decimal",
                    Decimal(0),
                    Decimal(0),
                    100,
                ),
            ),
            auto_resolves=True,
            words=lambda values: {"tolerance_percent": _number(values["tolerance_percent"])},
        ),
        RuleDefinition(
            Kind.COUNTRY_DOWNGRADE,
            gettext_lazy(
                "The buyer's country rating worsened by at least %(steps)s at an effective "
                "date within the last %(days)s."
            ),
            gettext_lazy("Medium; high when the new rating is %(high_risk_rating)s or worse."),
            (
                Threshold("min_steps", gettext_lazy("Rating steps"), "int", 1, 1, 9),
                Threshold("lookback_days", gettext_lazy("Look back (days)"), "int", 92, 1, 3650),
                Threshold("high_risk_rating", gettext_lazy("High-risk rating"), "int", 8, 1, 10),
            ),
            words=lambda values: {
                "steps": _steps(values["min_steps"]),
                "days": _days(values["lookback_days"]),
                "high_risk_rating": _number(values["high_risk_rating"]),
            },
        ),
        RuleDefinition(
            Kind.LEGAL_EVENT,
            gettext_lazy(
                "A legal event of one of the kinds ticked below, dated within the last %(days)s."
            ),
            gettext_lazy(
                "Critical for insolvency; high for judgments, payment defaults and tax liens; "
                "medium otherwise."
            ),
            (
                Threshold("lookback_days", gettext_lazy("Look back (days)"), "int", 30, 1, 3650),
                Threshold(
                    "kinds",
                    gettext_lazy("Event kinds"),
                    "choice_list",
                    DEFAULT_LEGAL_EVENT_KINDS,
                    choices=LEGAL_EVENT_KINDS,
                ),
            ),
            words=lambda values: {"days": _days(values["lookback_days"])},
        ),
        RuleDefinition(
            Kind.DISPUTE_SPIKE,
            gettext_lazy(
                "At least %(disputes)s opened in the last %(days)s, or disputed amounts above "
                "%(share_percent)s%% of the buyer's exposure."
            ),
            gettext_lazy("Medium."),
            (
                Threshold("lookback_days", gettext_lazy("Look back (days)"), "int", 30, 1, 365),
                Threshold("min_disputes", gettext_lazy("Disputes (at least)"), "int", 3, 1, 1000),
                Threshold(
                    "share_percent",
                    gettext_lazy("Share of exposure (%)"),
                    "decimal",
                    Decimal(20),
                    Decimal("0.01"),
                    1000,
                ),
            ),
            auto_resolves=True,
            words=lambda values: {
                "disputes": _disputes(values["min_disputes"]),
                "days": _days(values["lookback_days"]),
                "share_percent": _number(values["share_percent"]),
            },
        ),
        RuleDefinition(
            Kind.BROKEN_PAYMENT_PLAN,
            gettext_lazy(
                "A payment plan is broken: an instalment was missed by more than the grace period."
            ),
            gettext_lazy("High."),
            auto_resolves=True,
        ),
        RuleDefinition(
            Kind.COVER_REDUCED,
            gettext_lazy(
                "The insurer reduced, withdrew or refused a buyer's cover: a decision recorded "
                "within the last %(days)s."
            ),
            gettext_lazy("High."),
            (Threshold("lookback_days", gettext_lazy("Look back (days)"), "int", 30, 1, 365),),
            words=lambda values: {"days": _days(values["lookback_days"])},
        ),
        RuleDefinition(
            Kind.POLICY_DEADLINE,
            gettext_lazy(
                "An open invoice not notified to the insurer has its overdue-notification or "
                "claim-filing deadline within %(days)s, or the deadline has passed."
            ),
            gettext_lazy(
                "Medium; high within 3 days; critical once the deadline has passed (cover lost)."
            ),
            (Threshold("days_ahead", gettext_lazy("Days ahead"), "int", 10, 1, 365),),
            auto_resolves=True,
            words=lambda values: {"days": _days(values["days_ahead"])},
        ),
    )
}


@dataclass(frozen=True)
class RuleSetting:
    """A tenant's effective setting of one rule: the defaults merged with its AlertRule row."""

    definition: RuleDefinition
    enabled: bool
    thresholds: dict[str, Any]
    customised: bool = False
    updated_at: datetime | None = None
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.definition.kind

    @property
    def description(self) -> str:
        """What the rule watches, in words, with this tenant's thresholds."""
        return self.definition.describe(self.thresholds)[0]

    @property
    def severity(self) -> str:
        return self.definition.describe(self.thresholds)[1]


def _stored(values: Mapping[str, Any], definition: RuleDefinition) -> dict[str, Any]:
    """Stored thresholds as typed values; unknown or unreadable entries fall back to defaults."""
    typed = definition.defaults()
    for threshold in definition.thresholds:
        if threshold.name in values:
            # A bound tightened since the value was saved: the default is the safe reading.
            with suppress(ValidationError):
                typed[threshold.name] = _parse(threshold, values[threshold.name])
    return typed


def rule_settings(*, tenant: Tenant) -> list[RuleSetting]:
    """Every rule, in `AlertRule.Kind` order, with the tenant's overrides applied."""
    rows = {rule.kind: rule for rule in AlertRule.objects.filter(tenant=tenant)}
    settings = []
    for kind in Kind.values:
        definition = RULES[kind]
        row = rows.get(kind)
        settings.append(
            RuleSetting(
                definition=definition,
                enabled=row.enabled if row else True,
                thresholds=_stored(row.thresholds if row else {}, definition),
                customised=row is not None,
                updated_at=row.updated_at if row else None,
                defaults=definition.defaults(),
            )
        )
    return settings


def rule_setting(*, tenant: Tenant, kind: str) -> RuleSetting:
    for setting in rule_settings(tenant=tenant):
        if setting.kind == kind:
            return setting
    raise ValidationError({"kind": _("Unknown rule.")})


# --- Validation ------------------------------------------------------------------------------


def _bounds_error(threshold: Threshold) -> str:
    if threshold.max_value is None:
        return _("Must be at least %(min)s.") % {"min": threshold.min_value}
    return _("Must be between %(min)s and %(max)s.") % {
        "min": threshold.min_value,
        "max": threshold.max_value,
    }


def _parse_int(threshold: Threshold, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(_("Enter a whole number."))
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(_("Enter a whole number.")) from None
    if (threshold.min_value is not None and number < threshold.min_value) or (
        threshold.max_value is not None and number > threshold.max_value
    ):
        raise ValidationError(_bounds_error(threshold))
    return number


def _parse(threshold: Threshold, value: Any) -> Any:
    if threshold.type == "int":
        return _parse_int(threshold, value)
    if threshold.type == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ValidationError(_("Enter a number."))
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValidationError(_("Enter a number."))
        if (threshold.min_value is not None and number < threshold.min_value) or (
            threshold.max_value is not None and number > threshold.max_value
        ):
            raise ValidationError(_bounds_error(threshold))
        return number.quantize(CENT)
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Enter a non-empty list."))
    if threshold.type == "int_list":
        numbers = sorted(_parse_int(threshold, item) for item in value)
        if len(set(numbers)) != len(numbers):
            raise ValidationError(_("Each value may appear only once."))
        if len(numbers) > MAX_BUCKETS:
            raise ValidationError(_("Enter at most %(count)s values.") % {"count": MAX_BUCKETS})
        return numbers
    unknown = [item for item in value if item not in threshold.choices]
    if unknown:
        raise ValidationError(
            _("Unknown value %(value)s; choose from %(choices)s.")
            % {"value": unknown[0], "choices": ", ".join(threshold.choices)}
        )
    return [choice for choice in threshold.choices if choice in value]


def validate_thresholds(kind: str, values: Any, *, current: Mapping[str, Any]) -> dict[str, Any]:
    """`values` (some or all thresholds of `kind`) applied over `current`, as typed values.

    Errors are keyed ``thresholds.<name>`` so an API client sees which field is wrong.
    """
    definition = RULES[kind]
    if not isinstance(values, Mapping):
        raise ValidationError({"thresholds": _("Enter an object of threshold values.")})
    by_name = {threshold.name: threshold for threshold in definition.thresholds}
    merged = dict(current)
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        threshold = by_name.get(name)
        if threshold is None:
            errors[f"thresholds.{name}"] = [_("Unknown threshold for this rule.")]
            continue
        try:
            merged[name] = _parse(threshold, value)
        except ValidationError as error:
            errors[f"thresholds.{name}"] = error.messages
    if not errors and definition.check is not None:
        errors = {
            f"thresholds.{name}": [message] for name, message in definition.check(merged).items()
        }
    if errors:
        raise ValidationError(errors)
    return merged


def thresholds_as_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed thresholds as stored and shown by the API (decimals as strings with 2 places)."""
    return {
        name: str(value.quantize(CENT)) if isinstance(value, Decimal) else value
        for name, value in values.items()
    }


# --- Update ----------------------------------------------------------------------------------


@transaction.atomic
def rule_update(
    *,
    tenant: Tenant,
    actor: Actor,
    kind: str,
    enabled: bool | None = None,
    thresholds: Mapping[str, Any] | None = None,
) -> RuleSetting:
    """Turn a rule on or off and/or change some of its thresholds (the others keep theirs)."""
    if kind not in RULES:
        raise ValidationError({"kind": _("Unknown rule.")})
    if enabled is not None and not isinstance(enabled, bool):
        raise ValidationError({"enabled": _("Enter true or false.")})
    current = rule_setting(tenant=tenant, kind=kind)
    new_thresholds = (
        validate_thresholds(kind, thresholds, current=current.thresholds)
        if thresholds is not None
        else current.thresholds
    )
    new_enabled = current.enabled if enabled is None else enabled
    before = {"enabled": current.enabled, "thresholds": thresholds_as_json(current.thresholds)}
    after = {"enabled": new_enabled, "thresholds": thresholds_as_json(new_thresholds)}
    rule, _created = AlertRule.objects.select_for_update().get_or_create(
        tenant=tenant, kind=kind, defaults=after
    )
    if (rule.enabled, rule.thresholds) != (after["enabled"], after["thresholds"]):
        rule.enabled = new_enabled
        rule.thresholds = after["thresholds"]
        rule.save(update_fields=["enabled", "thresholds", "updated_at"])
    if before != after:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="alert_rule.update",
            obj=rule,
            before={key: value for key, value in before.items() if after[key] != value},
            after={key: value for key, value in after.items() if before[key] != value},
        )
    return rule_setting(tenant=tenant, kind=kind)
