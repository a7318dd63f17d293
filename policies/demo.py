"""Demo limits for `manage.py seed_demo`: a credit policy, limits and insurer cover for most
buyers, a few over-limit, blocked and expired limits, reviews coming due, and pending limit
requests (one already half-approved under four-eyes, one returned for information). The
insurance policies the covers belong to, and what happens under them, are in
`policies.insurance_demo`.

Deterministic (seeded per tenant) and idempotent: a tenant that already has a credit policy is
left as it is. Everything goes through the services, so the audit trail and notifications look
like real use. Call it after the buyer portfolio (and, when available, the scores) are seeded.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from buyers.models import Buyer
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Role
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from . import insurance_demo, schedule, selectors, services
from .models import CreditLimit, CreditPolicy, LimitDecision, LimitRequest

# (grades, max terms, max limit in EUR, % equity, % revenue, insurance above (EUR), level)
BANDS_EUR = [
    (1, 2, 90, 2_000_000, "20", "10", 1_000_000, "standard"),
    (3, 4, 75, 1_000_000, "15", "8", 400_000, "standard"),
    (5, 6, 60, 400_000, "10", "5", 150_000, "standard"),
    (7, 7, 45, 150_000, "7.5", "3", 50_000, "standard"),
    (8, 8, 30, 50_000, "5", "2", 25_000, "four_eyes"),
    (9, 9, 30, 10_000, None, None, 0, "four_eyes"),
    (10, 10, 0, 0, None, None, None, "four_eyes"),
]
JUSTIFICATIONS = [
    "Framework agreement signed for next year; expected monthly orders of about a tenth of the "
    "requested limit.",
    "Seasonal peak: the buyer doubles its orders before the spring season.",
    "New product line ordered by the buyer; payment history with us is good.",
    "Buyer asks for longer terms and a higher limit after its merger with a competitor.",
    "Exposure already exceeds the current limit because of two large deliveries; please align.",
    "Long-standing customer, audited accounts received last week.",
]


def _scale(tenant: Tenant, as_of: date) -> Decimal:
    """Demo amounts are set in EUR; other base currencies get a round multiple."""
    rate = fx_rates_on(as_of).get(tenant.base_currency, Decimal(1))
    return Decimal(max(1, round(rate)))


def _round_up(amount: Decimal, step: Decimal) -> Decimal:
    return (amount / step).to_integral_value(rounding=ROUND_CEILING) * step


def seed_demo_policies(*, tenant: Tenant, as_of: date) -> bool:
    """Seed limits for `tenant`; returns False when it already had a credit policy."""
    rng = random.Random(f"creditguard-limits-{tenant.slug}")
    with tenant_context(tenant):
        if CreditPolicy.objects.exists() or not Buyer.objects.exists():
            return False
        scale = _scale(tenant, as_of)
        policy = _policy(tenant=tenant, scale=scale, as_of=as_of)
        insurance_demo.insurance_policies(tenant=tenant, scale=scale, as_of=as_of)
        members = _members()
        buyer_ids = list(Buyer.objects.order_by("pk").values_list("pk", flat=True))
        figures = selectors.buyer_figures(tenant=tenant, buyer_ids=buyer_ids, as_of=as_of)
        limited = _limits_and_covers(
            rng,
            tenant=tenant,
            policy=policy,
            figures=figures,
            members=members,
            scale=scale,
            as_of=as_of,
        )
        _requests(
            rng, tenant=tenant, figures=figures, limited=limited, members=members, scale=scale
        )
        services.limit_reviews_run(tenant=tenant, as_of=as_of)
        insurance_demo.insurance_activity(tenant=tenant, as_of=as_of)
    return True


def _policy(*, tenant: Tenant, scale: Decimal, as_of: date) -> CreditPolicy:
    effective = date(as_of.year - 1, 1, 1)
    return services.credit_policy_create(
        tenant=tenant,
        actor=None,
        as_of=effective,
        **{
            "effective_from": effective,
            "four_eyes_threshold": 250_000 * scale,
            "lowest_acceptable_grade": 8,
            "overdue_hold_days": 60,
            "overdue_hold_amount": 5_000 * scale,
            "limit_without_financials": 50_000 * scale,
            "notes": "Demo policy: limits by grade, four-eyes above 250k EUR equivalent.",
        },
        bands=[
            {
                "grade_from": low,
                "grade_to": high,
                "max_payment_terms_days": terms,
                "max_limit": maximum * scale,
                "max_limit_equity_pct": equity,
                "max_limit_revenue_pct": revenue,
                "insurance_required_above": None if insured is None else insured * scale,
                "approval_level": level,
            }
            for low, high, terms, maximum, equity, revenue, insured, level in BANDS_EUR
        ],
    )


def _members() -> dict[str, list[Membership]]:
    by_role: dict[str, list[Membership]] = {}
    for membership in Membership.objects.select_related("user").order_by(
        "approval_authority", "pk"
    ):
        by_role.setdefault(membership.role, []).append(membership)
    return by_role


def _limits_and_covers(
    rng: random.Random,
    *,
    tenant: Tenant,
    policy: CreditPolicy,
    figures: dict[int, selectors.BuyerFigures],
    members: dict[str, list[Membership]],
    scale: Decimal,
    as_of: date,
) -> list[int]:
    managers = members.get(Role.CREDIT_MANAGER, []) or members.get(Role.ADMIN, [])
    owner = managers[0].user if managers else None
    step = 5_000 * scale
    limited: list[int] = []
    # A few buyers with real exposure whose limit they have outgrown.
    sizeable = [pk for pk, f in figures.items() if f.exposure > 20_000 * scale]
    over_limit = set(rng.sample(sizeable, min(len(sizeable), max(3, len(figures) // 25))))
    for buyer_id, buyer_figures in figures.items():
        buyer = buyer_figures.buyer
        if buyer.status == Buyer.Status.CLOSED or (
            buyer_id not in over_limit and rng.random() < 0.12
        ):
            continue  # most buyers have a limit; these do not
        recommended = selectors.recommend_for(figures=buyer_figures, policy=policy)
        wanted = max(buyer_figures.exposure * Decimal(str(rng.uniform(1.2, 2.2))), 10_000 * scale)
        if recommended is not None and recommended.amount >= step:
            wanted = min(wanted, max(recommended.amount, buyer_figures.exposure))
        if buyer_id in over_limit:
            wanted = buyer_figures.exposure * Decimal(str(rng.uniform(0.6, 0.9)))
            amount = max(step, (wanted / step).to_integral_value(rounding=ROUND_FLOOR) * step)
        else:
            amount = _round_up(wanted, step)
        risk = schedule.risk_class_for_grade(buyer_figures.grade)
        # Granted recently enough to be in force, except a few that expired unreviewed.
        max_age = {"low": 370, "medium": 100, "high": 35}[risk.value]
        granted_on = as_of - timedelta(days=rng.randint(5, max_age))
        showcase = buyer_id in over_limit  # over-limit cases stay in force and unblocked
        if rng.random() < 0.02 and not showcase:
            granted_on = as_of - timedelta(days=400)
        limit = services.credit_limit_set(
            tenant=tenant,
            actor=None,
            buyer=buyer,
            amount=amount,
            payment_terms_days=min(buyer.payment_terms_days, 90),
            grade=buyer_figures.grade,
            granted_on=granted_on,
            owner=owner,
        )
        limited.append(buyer_id)
        if buyer.status in (Buyer.Status.INSOLVENT, Buyer.Status.ON_HOLD) or (
            rng.random() < 0.015 and not showcase
        ):
            services.credit_limit_block(
                tenant=tenant,
                actor=None,
                limit=limit,
                reason="Insolvency filing reported"
                if buyer.status == Buyer.Status.INSOLVENT
                else "Payment promises broken twice",
            )
        if rng.random() < 0.7:
            _cover(rng, tenant=tenant, buyer=buyer, limit=limit, scale=scale, as_of=as_of)
    return limited


def _cover(
    rng: random.Random,
    *,
    tenant: Tenant,
    buyer: Buyer,
    limit: CreditLimit,
    scale: Decimal,
    as_of: date,
) -> None:
    share = Decimal(rng.choice(["1", "1", "1", "0.8", "0.5", "1.25"]))
    insurance_demo.record_cover(
        rng,
        tenant=tenant,
        buyer=buyer,
        amount=_round_up(limit.amount * share, 5_000 * scale),
        as_of=as_of,
    )


def _requests(
    rng: random.Random,
    *,
    tenant: Tenant,
    figures: dict[int, selectors.BuyerFigures],
    limited: list[int],
    members: dict[str, list[Membership]],
    scale: Decimal,
) -> None:
    analysts = members.get(Role.ANALYST, [])
    managers = members.get(Role.CREDIT_MANAGER, [])
    if not analysts or not managers:
        return
    requester = analysts[0].user
    over_limit = [pk for pk in limited if figures[pk].over_limit and not figures[pk].blocked]
    others = [
        pk
        for pk in limited
        if not figures[pk].over_limit and not figures[pk].blocked and figures[pk].grade != 10
    ]
    chosen = over_limit[:3] + rng.sample(others, min(len(others), 6))
    amounts = [
        Decimal(a) * scale
        for a in (
            "120000",
            "300000",
            "650000",
            "45000",
            "180000",
            "90000",
            "400000",
            "60000",
            "220000",
        )
    ]
    created = []
    for index, buyer_id in enumerate(chosen):
        buyer_figures = figures[buyer_id]
        base = max(buyer_figures.exposure * Decimal("1.5"), amounts[index % len(amounts)])
        by_manager = index == 4  # a credit manager's own request: he may not decide it
        created.append(
            services.limit_request_create(
                tenant=tenant,
                actor=managers[0].user if by_manager else requester,
                buyer=buyer_figures.buyer,
                **{
                    "amount": _round_up(base, 10_000 * scale),
                    "payment_terms_days": rng.choice([30, 45, 60, 60, 90]),
                    "justification": JUSTIFICATIONS[index % len(JUSTIFICATIONS)],
                },
            )
        )
    senior = managers[-1]
    # Approvals keep the credit policy: the half-approved showcase is one within it.
    above_threshold = [
        r
        for r in created
        if r.amount > 250_000 * scale
        and not services.limit_request_breaches(tenant=tenant, request=r)
        and r.requested_by_id != senior.user_id
    ]
    if len(managers) > 1 and above_threshold:
        services.limit_request_decide(
            tenant=tenant,
            actor=senior.user,
            membership=senior,
            request=above_threshold[0],
            kind=LimitDecision.Kind.APPROVE,
            comment="Fine with me; second approval please.",
        )
    if len(created) > 1 and created[-1] not in above_threshold[:1]:
        services.limit_request_decide(
            tenant=tenant,
            actor=senior.user,
            membership=senior,
            request=created[-1],
            kind=LimitDecision.Kind.REQUEST_INFORMATION,
            comment="Please attach the latest management accounts and the order forecast.",
        )
    _override(
        tenant=tenant, created=created, taken=[*above_threshold[:1], *created[-1:]], members=members
    )


def _override(
    *,
    tenant: Tenant,
    created: list[LimitRequest],
    taken: list[LimitRequest],
    members: dict[str, list[Membership]],
) -> None:
    """One request outside the credit policy approved by administrators as an override, with
    the reason: it shows in the request, the buyer's limit, its history and the audit trail.
    The request closest to the policy is taken; under four-eyes a second administrator
    overrides too, so the limit is granted."""
    admins = [admin for admin in members.get(Role.ADMIN, []) if admin.user.is_active]
    outside = [
        request
        for request in created
        if request not in taken and services.limit_request_breaches(tenant=tenant, request=request)
    ]
    outside.sort(key=lambda r: r.amount / max(r.recommended_amount or Decimal(0), Decimal(1)))
    reasons = [
        "Parent company guarantee for the full amount signed on 30 November; the group pays "
        "within terms. Review after the season.",
        "Agreed: the guarantee covers the amount above the policy.",
    ]
    for request in outside:
        approvers = [
            admin
            for admin in admins
            if admin.user_id != request.requested_by_id
            and (selectors.authority_in_base(tenant=tenant, membership=admin) or 0)
            >= request.amount
        ]
        if not approvers:
            continue
        for admin, reason in zip(approvers, reasons, strict=False):
            decided = services.limit_request_decide(
                tenant=tenant,
                actor=admin.user,
                membership=admin,
                request=request,
                kind=LimitDecision.Kind.APPROVE,
                comment="Key account; approved above the policy for the season.",
                override_reason=reason,
            )
            if decided.status != LimitRequest.Status.PENDING:
                break
        return
