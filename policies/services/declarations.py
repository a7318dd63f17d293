"""Turnover and month-end-balance declarations with their premium: prepared for every ended
period, reviewed, submitted (then locked: a database trigger refuses any change of a submitted
row, so nothing here ever writes one), corrected by adjustments, closed at year end with the
top-up to the minimum premium, and reminded before they are due.

Figures: `policies.insurance.declaration_basis` (what counts, from the ledger) and
`policies.insurance.premium` (rates, tiers, minimum). The terms used for a period are those in
force on its last day (`scope.version_in_force`); the periods follow the policy year of the
versions (`premium.declaration_periods`) and the declaration frequency of the latest version of
that year.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Final

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission
from creditguard.audit.services import actor_label, audit_record, snapshot
from creditguard.tenancy.models import Tenant

from ..insurance import declaration_basis, premium
from ..insurance.scope import version_in_force
from ..models import Declaration, DeclarationAdjustment, InsurancePolicy, PolicyVersion
from .notifications import notify
from .transitions import TransitionNotAllowed

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

Status = Declaration.Status
ZERO: Final = Decimal("0")
CENT: Final = Decimal("0.01")
REMINDER_DAYS_BEFORE: Final = 7
DECLARATION_FIELDS: Final = [
    "period_start",
    "period_end",
    "due_date",
    "basis",
    "declared_amount",
    "premium",
    "currency",
    "status",
]


# --- Computing a period --------------------------------------------------------------------------


def premium_terms(version: PolicyVersion) -> premium.PremiumTerms:
    return premium.PremiumTerms.parse(
        premium_rate_pct=version.premium_rate_pct,
        country_group_rates=version.country_group_rates,
        premium_tiers=version.premium_tiers,
        minimum_premium=version.minimum_premium,
    )


def _figures(
    *,
    policy: InsurancePolicy,
    version: PolicyVersion,
    period_start: date,
    period_end: date,
    year_to_date_before: Decimal,
) -> tuple[Decimal, Decimal, dict[str, Any], Decimal]:
    """(declared amount, premium, breakdown, tiered basis) of one period."""
    basis = declaration_basis.period_basis(
        policy=policy, basis=version.premium_basis, period_start=period_start, period_end=period_end
    )
    result = premium.premium_for(
        basis_amount_by_country=basis.by_country,
        terms=premium_terms(version),
        year_to_date_before=year_to_date_before,
    )
    breakdown: dict[str, Any] = {
        "basis": version.premium_basis,
        "version": version.version,
        "base_rate_pct": str(version.premium_rate_pct),
        "by_country": {c: f"{amount:.2f}" for c, amount in sorted(basis.by_country.items())},
        "lines": declaration_basis.jsonable_lines(result.lines),
        "basis_total": f"{result.basis_total:.2f}",
        "premium": f"{result.premium:.2f}",
        "year_to_date_before": f"{result.year_to_date_before:.2f}",
        "year_to_date_after": f"{result.year_to_date_after:.2f}",
        "tiered_basis": f"{result.tiered_basis:.2f}",
        "invoices": basis.invoices,
        "fx_date": basis.fx_date.isoformat(),
        "fx_missing": basis.missing_currencies,
        "month_ends": [day.isoformat() for day in basis.month_ends],
    }
    if version.premium_basis == "balances":
        breakdown["approximation"] = declaration_basis.BALANCES_APPROXIMATION
    return result.basis_total, result.premium, breakdown, result.tiered_basis


def _policy_years(policy: InsurancePolicy) -> list[tuple[date, date, PolicyVersion]]:
    """(start, end, latest version) of each policy year named by the versions."""
    years: dict[tuple[date, date], PolicyVersion] = {}
    for version in PolicyVersion.objects.filter(policy=policy).order_by(
        "effective_from", "version"
    ):
        years[(version.period_start, version.period_end)] = version
    return [(start, end, version) for (start, end), version in sorted(years.items())]


def _tiered_basis(declaration: Declaration) -> Decimal:
    return Decimal(str((declaration.breakdown or {}).get("tiered_basis", "0")))


def _prepare_policy(*, tenant: Tenant, policy: InsurancePolicy, as_of: date) -> int:
    changed = 0
    existing = {
        declaration.period_start: declaration
        for declaration in Declaration.objects.select_for_update().filter(policy=policy)
    }
    for year_start, year_end, year_version in _policy_years(policy):
        year_to_date = ZERO
        for start, end in premium.declaration_periods(
            period_start=year_start,
            period_end=year_end,
            frequency=year_version.declaration_frequency,
        ):
            if end >= as_of:
                break
            declaration = existing.get(start)
            if declaration is not None and declaration.status == Status.SUBMITTED:
                year_to_date += _tiered_basis(declaration)
                continue
            version = version_in_force(policy=policy, on=end) or year_version
            amount, premium_amount, breakdown, tiered = _figures(
                policy=policy,
                version=version,
                period_start=start,
                period_end=end,
                year_to_date_before=year_to_date,
            )
            year_to_date += tiered
            values = {
                "period_end": end,
                "due_date": end + timedelta(days=version.declaration_due_days),
                "basis": version.premium_basis,
                "declared_amount": amount,
                "premium": premium_amount,
                "currency": policy.currency,
                "breakdown": breakdown,
            }
            if declaration is None:
                declaration = Declaration.objects.create(
                    tenant=tenant, policy=policy, period_start=start, **values
                )
                audit_record(
                    tenant=tenant,
                    actor=None,
                    action="declaration.prepare",
                    obj=declaration,
                    after=snapshot(declaration, DECLARATION_FIELDS),
                )
                changed += 1
                continue
            if all(getattr(declaration, name) == value for name, value in values.items()):
                continue
            before = snapshot(declaration, DECLARATION_FIELDS)
            for name, value in values.items():
                setattr(declaration, name, value)
            if declaration.status == Status.REVIEWED:
                # What the reviewer saw is no longer what would be submitted.
                declaration.status = Status.DRAFT
                declaration.reviewed_at = None
                declaration.reviewed_by = None
            declaration.save()
            audit_record(
                tenant=tenant,
                actor=None,
                action="declaration.recompute",
                obj=declaration,
                before=before,
                after=snapshot(declaration, DECLARATION_FIELDS),
            )
            changed += 1
    return changed


@transaction.atomic
def declarations_prepare(*, tenant: Tenant, as_of: date) -> int:
    """Draft every ended declaration period of every policy (and recompute the drafts whose
    figures changed); the number created or changed. Runs with `tenant` active; idempotent."""
    return sum(
        _prepare_policy(tenant=tenant, policy=policy, as_of=as_of)
        for policy in InsurancePolicy.objects.order_by("id")
    )


# --- Workflow ------------------------------------------------------------------------------------


def _locked(declaration: Declaration) -> Declaration:
    return Declaration.objects.select_for_update().get(pk=declaration.pk)


@transaction.atomic
def declaration_review(*, tenant: Tenant, actor: Actor, declaration: Declaration) -> Declaration:
    declaration = _locked(declaration)
    if declaration.status != Status.DRAFT:
        raise TransitionNotAllowed(
            _("Only a draft declaration can be reviewed (this one is %(status)s).")
            % {"status": declaration.get_status_display()}
        )
    declaration.status = Status.REVIEWED
    declaration.reviewed_at = timezone.now()
    declaration.reviewed_by = actor if isinstance(actor, User) else None
    declaration.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="declaration.review",
        obj=declaration,
        before={"status": Status.DRAFT},
        after={"status": Status.REVIEWED},
    )
    return declaration


@transaction.atomic
def declaration_submit(*, tenant: Tenant, actor: Actor, declaration: Declaration) -> Declaration:
    """Submitted to the insurer: locked from now on (corrections are adjustments)."""
    declaration = _locked(declaration)
    if declaration.status == Status.DRAFT:
        raise TransitionNotAllowed(_("Review the declaration before submitting it."))
    if declaration.status != Status.REVIEWED:
        raise TransitionNotAllowed(_("This declaration is already submitted."))
    declaration.status = Status.SUBMITTED
    declaration.submitted_at = timezone.now()
    declaration.submitted_by = actor if isinstance(actor, User) else None
    declaration.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="declaration.submit",
        obj=declaration,
        before={"status": Status.REVIEWED},
        after=snapshot(declaration, DECLARATION_FIELDS),
    )
    return declaration


def _average_rate_premium(declaration: Declaration, amount_change: Decimal) -> Decimal:
    if declaration.declared_amount:
        rate = declaration.premium / declaration.declared_amount
    else:
        rate = Decimal(str(declaration.breakdown.get("base_rate_pct", "0"))) / 100
    return (amount_change * rate).quantize(CENT, rounding=ROUND_HALF_UP)


@transaction.atomic
def declaration_adjust(
    *,
    tenant: Tenant,
    actor: Actor,
    declaration: Declaration,
    amount_change: Decimal,
    reason: str,
    premium_change: Decimal | None = None,
) -> DeclarationAdjustment:
    """Correct a submitted declaration. Without `premium_change`, the premium changes at the
    declaration's average rate (its premium ÷ its declared amount; the base rate when nothing
    was declared)."""
    declaration = Declaration.objects.get(pk=declaration.pk)
    if declaration.status != Status.SUBMITTED:
        raise TransitionNotAllowed(
            _("A declaration that is not submitted is corrected by preparing it again.")
        )
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the declaration is corrected.")]})
    if amount_change == 0 and not premium_change:
        raise ValidationError({"amount_change": [_("The correction changes nothing.")]})
    if premium_change is None:
        premium_change = _average_rate_premium(declaration, amount_change)
    adjustment = DeclarationAdjustment.objects.create(
        tenant=tenant,
        declaration=declaration,
        kind=DeclarationAdjustment.Kind.CORRECTION,
        amount_change=amount_change,
        premium_change=premium_change,
        reason=reason,
        created_by_label=_label(actor),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="declaration.adjust",
        obj=adjustment,
        after={
            "declaration_id": declaration.pk,
            "amount_change": amount_change,
            "premium_change": premium_change,
            "reason": reason,
        },
    )
    return adjustment


def _label(actor: Actor) -> str:
    return actor_label(actor)[:200]


def _year_declarations(
    policy: InsurancePolicy, year_start: date, year_end: date
) -> list[Declaration]:
    return list(
        Declaration.objects.filter(
            policy=policy, period_start__gte=year_start, period_start__lte=year_end
        ).order_by("period_start")
    )


@transaction.atomic
def policy_year_close(
    *, tenant: Tenant, actor: Actor, policy: InsurancePolicy, year_start: date
) -> DeclarationAdjustment:
    """Close an ended policy year: every period submitted, then the premiums charged (with
    their corrections) are topped up to the minimum premium of the terms in force at year end,
    recorded as a year-end adjustment on the last declaration (0 when nothing is due). Once."""
    years = {start: (end, version) for start, end, version in _policy_years(policy)}
    if year_start not in years:
        raise ValidationError({"year_start": [_("The policy has no year starting that day.")]})
    year_end, year_version = years[year_start]
    version = version_in_force(policy=policy, on=year_end) or year_version
    periods = premium.declaration_periods(
        period_start=year_start, period_end=year_end, frequency=year_version.declaration_frequency
    )
    declarations = _year_declarations(policy, year_start, year_end)
    submitted = {d.period_start for d in declarations if d.status == Status.SUBMITTED}
    open_periods = [start for start, _end in periods if start not in submitted]
    if open_periods:
        raise ValidationError(
            {
                "year_start": [
                    _("Submit every declaration of the year first (missing: %(periods)s).")
                    % {"periods": ", ".join(day.isoformat() for day in open_periods)}
                ]
            }
        )
    adjustments = DeclarationAdjustment.objects.filter(declaration__in=declarations)
    if adjustments.filter(kind=DeclarationAdjustment.Kind.YEAR_END).exists():
        raise TransitionNotAllowed(_("This policy year is already closed."))
    corrections = (
        adjustments.filter(kind=DeclarationAdjustment.Kind.CORRECTION).aggregate(
            total=Sum("premium_change")
        )["total"]
        or ZERO
    )
    result = premium.year_end_adjustment(
        premiums_charged=[*(d.premium for d in declarations), corrections],
        minimum_premium=version.minimum_premium,
    )
    adjustment = DeclarationAdjustment.objects.create(
        tenant=tenant,
        declaration=declarations[-1],
        kind=DeclarationAdjustment.Kind.YEAR_END,
        premium_change=result.top_up,
        reason=_(
            "Year-end adjustment: premiums charged %(charged)s %(currency)s, minimum premium "
            "%(minimum)s %(currency)s, top-up %(top_up)s %(currency)s."
        )
        % {
            "charged": f"{result.premiums_charged:.2f}",
            "minimum": f"{result.minimum_premium:.2f}",
            "top_up": f"{result.top_up:.2f}",
            "currency": policy.currency,
        },
        created_by_label=_label(actor),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="declaration.year_close",
        obj=adjustment,
        after={
            "policy_id": policy.pk,
            "year_start": year_start,
            "premiums_charged": result.premiums_charged,
            "minimum_premium": result.minimum_premium,
            "top_up": result.top_up,
        },
    )
    return adjustment


# --- Reminders -----------------------------------------------------------------------------------


def _insurance_managers() -> list[User]:
    return [
        membership.user
        for membership in Membership.objects.filter(is_active=True).select_related("user")
        if membership.allows(Permission.MANAGE_INSURANCE) and membership.user.is_active
    ]


def reminder_stage(*, due_date: date, as_of: date, reminder_sent_on: date | None) -> str | None:
    """ "before" from `REMINDER_DAYS_BEFORE` days ahead of the due date, "overdue" after it;
    each once (`reminder_sent_on` is the day the last one went: before the due date for the
    first, after it for the second)."""
    if as_of > due_date:
        return None if reminder_sent_on is not None and reminder_sent_on > due_date else "overdue"
    if as_of >= due_date - timedelta(days=REMINDER_DAYS_BEFORE) and reminder_sent_on is None:
        return "before"
    return None


@transaction.atomic
def declaration_reminders(*, tenant: Tenant, as_of: date) -> int:
    """In-app reminders of the declarations not yet submitted, to the members who manage
    insurance; the number sent. Never touches a submitted declaration."""
    sent = 0
    managers: list[User] | None = None
    window = as_of + timedelta(days=REMINDER_DAYS_BEFORE)
    for declaration in Declaration.objects.filter(
        status__in=[Status.DRAFT, Status.REVIEWED], due_date__lte=window
    ).select_related("policy"):
        stage = reminder_stage(
            due_date=declaration.due_date,
            as_of=as_of,
            reminder_sent_on=declaration.reminder_sent_on,
        )
        if stage is None:
            continue
        claimed = Declaration.objects.filter(
            pk=declaration.pk,
            status__in=[Status.DRAFT, Status.REVIEWED],
            reminder_sent_on=declaration.reminder_sent_on,
        ).update(reminder_sent_on=as_of)
        if not claimed:
            continue
        if managers is None:
            managers = _insurance_managers()
        values = {
            "policy": str(declaration.policy),
            "start": declaration.period_start.isoformat(),
            "end": declaration.period_end.isoformat(),
            "due": declaration.due_date.isoformat(),
        }
        message = (
            _("Declaration %(policy)s %(start)s–%(end)s is overdue: it was due on %(due)s.")
            if stage == "overdue"
            else _("Declaration %(policy)s %(start)s–%(end)s is due on %(due)s.")
        ) % values
        notify(
            tenant=tenant,
            users=managers,
            message=message,
            link=reverse("insurance:declaration-detail", args=[declaration.pk]),
        )
        sent += 1
    return sent
