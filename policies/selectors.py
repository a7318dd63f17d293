"""Reads for credit limits: the policy in force, a buyer's key figures, recommendations, the
limits overview, the approval queue and the credit check. Figures are in base currency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf

from buyers import ledger, receivables
from buyers.figures import cached_on_figures, figures_fresh
from buyers.models import Buyer, FinancialStatement, Invoice
from buyers.models import BuyerFigures as MaintainedFigures
from buyers.selectors import buyers_with_exposure
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission
from creditguard.audit.models import AuditEvent
from creditguard.dates import today
from creditguard.reference.fx import MissingRate, convert
from creditguard.reference.selectors import fx_factor, fx_rates_on
from creditguard.tenancy.models import Tenant
from monitoring.alerts import CreditLimitFigure
from monitoring.models import BuyerScore

from . import approval, credit_check, recommendation, schedule
from .insurance import cover as cover_rules
from .insurance.policy_selectors import in_force_amount
from .models import (
    CoverDecision,
    CreditLimit,
    CreditPolicy,
    CreditPolicyBand,
    InsurerCover,
    LimitDecision,
    LimitRequest,
    Notification,
)

ZERO = Decimal("0")
MONEY_FIELD = DecimalField(max_digits=24, decimal_places=2)
BLOCKING_BUYER_STATUSES = (Buyer.Status.ON_HOLD, Buyer.Status.INSOLVENT, Buyer.Status.CLOSED)
USABLE_LIMIT_STATUSES = (CreditLimit.Status.ACTIVE, CreditLimit.Status.BLOCKED)
# Disputed invoices are not a sign of payment behaviour, so they do not hold orders.
QUEUE_SIZE = 100


# --- Credit policy ---------------------------------------------------------------------------


def policy_versions() -> QuerySet[CreditPolicy]:
    return CreditPolicy.objects.select_related("created_by").prefetch_related("bands")


def policy_in_force(*, on: date) -> CreditPolicy | None:
    """The latest version effective on or before `on`, with its bands loaded."""
    return (
        CreditPolicy.objects.filter(effective_from__lte=on)
        .prefetch_related("bands")
        .order_by("-effective_from", "-version")
        .first()
    )


def policy_in_force_with_bands(*, on: date) -> tuple[CreditPolicy | None, list[CreditPolicyBand]]:
    """Policy and bands in one query (the credit check's hot path)."""
    in_force = (
        CreditPolicy.objects.filter(effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .values("pk")[:1]
    )
    bands = list(
        CreditPolicyBand.objects.select_related("policy")
        .filter(policy_id=Subquery(in_force))
        .order_by("grade_from")
    )
    return (bands[0].policy if bands else None), bands


def pure_band(band: CreditPolicyBand) -> recommendation.Band:
    return recommendation.Band(
        grade_from=band.grade_from,
        grade_to=band.grade_to,
        max_payment_terms_days=band.max_payment_terms_days,
        max_limit=band.max_limit,
        max_limit_equity_pct=band.max_limit_equity_pct,
        max_limit_revenue_pct=band.max_limit_revenue_pct,
        insurance_required_above=band.insurance_required_above,
        four_eyes=band.approval_level == CreditPolicyBand.ApprovalLevel.FOUR_EYES,
    )


def band_for(policy: CreditPolicy | None, grade: int | None) -> CreditPolicyBand | None:
    if policy is None or grade is None:
        return None
    return next(
        (band for band in policy.bands.all() if band.grade_from <= grade <= band.grade_to), None
    )


# --- A buyer's key figures -------------------------------------------------------------------


def latest_grades(*, buyer_ids: list[int]) -> dict[int, int]:
    """The current grade of each buyer: the grade of its latest score."""
    rows = (
        BuyerScore.objects.filter(buyer_id__in=buyer_ids)
        .order_by("buyer_id", "-period", "-computed_at")
        .distinct("buyer_id")
        .values_list("buyer_id", "grade")
    )
    return dict(rows)


@dataclass(frozen=True)
class StatementFigures:
    period_end: date
    equity: Decimal
    revenue: Decimal


def latest_financials(
    *, tenant: Tenant, buyer_ids: list[int], rates: dict[str, Decimal]
) -> dict[int, StatementFigures]:
    """Equity and revenue of each buyer's latest statement, in base currency (statements in a
    currency without a rate are treated as missing)."""
    rows = (
        FinancialStatement.objects.filter(buyer_id__in=buyer_ids)
        .order_by("buyer_id", "-period_end")
        .distinct("buyer_id")
        .values_list("buyer_id", "period_end", "currency", "equity", "revenue")
    )
    figures = {}
    for buyer_id, period_end, currency, equity, revenue in rows:
        try:
            figures[buyer_id] = StatementFigures(
                period_end=period_end,
                equity=_to_base(equity, currency, tenant, rates),
                revenue=_to_base(revenue, currency, tenant, rates),
            )
        except MissingRate:
            continue
    return figures


def cover_in_force(
    *, tenant: Tenant, buyer_ids: list[int], as_of: date, rates: dict[str, Decimal]
) -> dict[int, Decimal]:
    """Total insurer cover in force per buyer on `as_of`, in base currency: per cover the
    amount of its latest decision effective on or before `as_of` (`insurance.cover`), so a
    reduction or withdrawal counts only from its effective date."""
    totals: dict[int, Decimal] = {}
    latest = (
        CoverDecision.objects.filter(cover__buyer_id__in=buyer_ids, effective_date__lte=as_of)
        .order_by("cover_id", "-effective_date", "-id")
        .distinct("cover_id")
        .values_list(
            "cover__buyer_id", "id", "kind", "amount", "currency", "effective_date", "expiry_date"
        )
    )
    for buyer_id, pk, kind, amount, currency, effective, expiry in latest:
        in_force = cover_rules.amount_in_force(
            [
                cover_rules.DecisionFigure(
                    id=pk, kind=kind, amount=amount, effective_date=effective, expiry_date=expiry
                )
            ],
            as_of,
        )
        if not in_force:
            continue
        try:
            totals[buyer_id] = totals.get(buyer_id, ZERO) + _to_base(
                in_force, currency, tenant, rates
            )
        except MissingRate:
            continue
    return totals


def _to_base(amount: Decimal, currency: str, tenant: Tenant, rates: dict[str, Decimal]) -> Decimal:
    return convert(
        amount, from_currency=currency, to_currency=tenant.base_currency, units_per_eur=rates
    )


@dataclass
class BuyerFigures:
    """What a credit manager looks at before deciding on a limit."""

    buyer: Buyer
    currency: str
    exposure: Decimal
    overdue: Decimal
    grade: int | None
    financials: StatementFigures | None
    insurer_cover: Decimal
    dso: Decimal | None
    limit: CreditLimit | None
    as_of: date

    @property
    def risk_class(self) -> str:
        return schedule.risk_class_for_grade(self.grade).value

    @property
    def limit_usable(self) -> bool:
        return self.limit is not None and self.limit.status in USABLE_LIMIT_STATUSES

    @property
    def limit_amount(self) -> Decimal | None:
        return self.limit.amount if self.limit is not None and self.limit_usable else None

    @property
    def utilisation(self) -> Decimal | None:
        return utilisation(self.exposure, self.limit_amount)

    @property
    def over_limit(self) -> bool:
        return self.limit_amount is not None and self.exposure > self.limit_amount

    @property
    def blocked(self) -> bool:
        return self.buyer.status in BLOCKING_BUYER_STATUSES or (
            self.limit is not None and self.limit.status == CreditLimit.Status.BLOCKED
        )

    @property
    def uninsured(self) -> Decimal:
        """The part of the limit above the insurer cover."""
        if self.limit_amount is None:
            return ZERO
        return max(self.limit_amount - self.insurer_cover, ZERO)

    @property
    def available(self) -> Decimal:
        if self.limit_amount is None:
            return ZERO
        return max(self.limit_amount - self.exposure, ZERO)


def utilisation(exposure: Decimal, limit: Decimal | None) -> Decimal | None:
    """Exposure / limit as a fraction; None without a limit (or a zero limit)."""
    if not limit:
        return None
    return exposure / limit


def buyer_figures(
    *, tenant: Tenant, buyer_ids: list[int], as_of: date | None = None
) -> dict[int, BuyerFigures]:
    """Key figures of several buyers in a fixed number of queries."""
    as_of = as_of or today()
    rates = fx_rates_on(as_of)
    buyers = {
        buyer.pk: buyer
        for buyer in buyers_with_exposure(tenant=tenant, as_of=as_of).filter(pk__in=buyer_ids)
    }
    ids = list(buyers)
    grades = latest_grades(buyer_ids=ids)
    financials = latest_financials(tenant=tenant, buyer_ids=ids, rates=rates)
    covers = cover_in_force(tenant=tenant, buyer_ids=ids, as_of=as_of, rates=rates)
    sales = ledger.credit_sales(
        Invoice.objects.filter(buyer_id__in=ids),
        factors=ledger.base_factors(rates, base=tenant.base_currency),
        as_of=as_of,
    )
    limits = {
        limit.buyer_id: limit
        for limit in CreditLimit.objects.filter(buyer_id__in=ids).select_related("owner")
    }
    return {
        pk: BuyerFigures(
            buyer=buyer,
            currency=tenant.base_currency,
            exposure=buyer.exposure,
            overdue=buyer.overdue,
            grade=grades.get(pk),
            financials=financials.get(pk),
            insurer_cover=covers.get(pk, ZERO),
            dso=receivables.dso(receivables=buyer.exposure, credit_sales=sales.get(pk, ZERO)),
            limit=limits.get(pk),
            as_of=as_of,
        )
        for pk, buyer in buyers.items()
    }


def recommend_for(
    *,
    figures: BuyerFigures,
    policy: CreditPolicy | None,
    requested_amount: Decimal | None = None,
    requested_terms_days: int | None = None,
) -> recommendation.Recommendation | None:
    """None when the tenant has no credit policy in force."""
    if policy is None:
        return None
    band = band_for(policy, figures.grade)
    return recommendation.recommend(
        grade=figures.grade,
        band=pure_band(band) if band else None,
        financials=(
            recommendation.Financials(
                equity=figures.financials.equity, revenue=figures.financials.revenue
            )
            if figures.financials
            else None
        ),
        exposure=figures.exposure,
        insurer_cover=figures.insurer_cover,
        limit_without_financials=policy.limit_without_financials,
        requested_amount=requested_amount,
        requested_terms_days=requested_terms_days,
    )


# --- Approval authority ----------------------------------------------------------------------


def authority_in_base(
    *, tenant: Tenant, membership: Membership, as_of: date | None = None
) -> Decimal | None:
    """The member's approval authority in base currency; None when no rate converts it."""
    if membership.approval_currency == tenant.base_currency:
        return membership.approval_authority
    try:
        return _to_base(
            membership.approval_authority,
            membership.approval_currency,
            tenant,
            fx_rates_on(as_of or today()),
        )
    except MissingRate:
        return None


def deciders(*, minimum_authority: Decimal | None = None, tenant: Tenant) -> list[Membership]:
    """Active members who may decide on limits, optionally only those whose authority covers
    `minimum_authority` (falls back to all deciders when none does)."""
    members = [
        membership
        for membership in Membership.objects.filter(is_active=True).select_related("user")
        if membership.allows(Permission.DECIDE_LIMIT) and membership.user.is_active
    ]
    if minimum_authority is None:
        return members
    covering = [
        membership
        for membership in members
        if (authority := authority_in_base(tenant=tenant, membership=membership)) is not None
        and authority >= minimum_authority
    ]
    return covering or members


# --- Limit requests --------------------------------------------------------------------------


def limit_requests() -> QuerySet[LimitRequest]:
    return LimitRequest.objects.select_related("buyer", "requested_by", "policy")


def current_round_approvals(request: LimitRequest) -> list[approval.Approval]:
    return [
        approval.Approval(approver_id=decision.decided_by_id, amount=decision.amount)
        for decision in request.decisions.all()
        if decision.round == request.round
        and decision.kind in LimitDecision.APPROVALS
        and decision.amount is not None  # always: an approval records the approved amount
        and decision.decided_by_id is not None
    ]


@dataclass
class QueueItem:
    request: LimitRequest
    figures: BuyerFigures
    recommendation: recommendation.Recommendation | None
    approvals: list[approval.Approval]
    approvals_needed: int
    amount_on_the_table: Decimal
    objections: list[approval.Objection] = field(default_factory=list)

    @property
    def urgent(self) -> bool:
        return self.figures.over_limit or self.figures.blocked


def request_items(
    *,
    tenant: Tenant,
    requests: list[LimitRequest],
    viewer: Membership | None = None,
    as_of: date | None = None,
) -> list[QueueItem]:
    """Requests with their buyer's figures, the recommendation and who may still approve."""
    as_of = as_of or today()
    figures = buyer_figures(tenant=tenant, buyer_ids=[r.buyer_id for r in requests], as_of=as_of)
    policy = policy_in_force(on=as_of)
    authority = authority_in_base(tenant=tenant, membership=viewer, as_of=as_of) if viewer else None
    items = []
    for request in requests:
        buyer_figures_ = figures[request.buyer_id]
        approvals = current_round_approvals(request)
        on_the_table = approval.amount_on_the_table(
            requested_amount=request.amount, approvals=approvals
        )
        band = band_for(policy, buyer_figures_.grade)
        needed = approval.required_approvals(
            amount=on_the_table,
            four_eyes_threshold=policy.four_eyes_threshold if policy else ZERO,
            band_four_eyes=bool(
                band and band.approval_level == CreditPolicyBand.ApprovalLevel.FOUR_EYES
            ),
        )
        item = QueueItem(
            request=request,
            figures=buyer_figures_,
            recommendation=recommend_for(
                figures=buyer_figures_,
                policy=policy,
                requested_amount=request.amount,
                requested_terms_days=request.payment_terms_days,
            ),
            approvals=approvals,
            approvals_needed=needed,
            amount_on_the_table=on_the_table,
        )
        if viewer is not None:
            item.objections = approval.objections(
                is_pending=request.status == LimitRequest.Status.PENDING,
                may_decide=viewer.allows(Permission.DECIDE_LIMIT),
                decider_id=viewer.user_id,
                requester_id=request.requested_by_id,
                approving=True,
                amount=on_the_table,
                authority=authority,
                earlier_approver_ids={a.approver_id for a in approvals},
            )
        items.append(item)
    return items


def approval_queue(
    *, tenant: Tenant, viewer: Membership | None = None, as_of: date | None = None
) -> list[QueueItem]:
    """Pending requests by urgency: over-limit or blocked buyers first, then the oldest."""
    requests = list(
        limit_requests()
        .filter(status=LimitRequest.Status.PENDING)
        .prefetch_related("decisions")
        .order_by("created_at", "id")[:QUEUE_SIZE]
    )
    items = request_items(tenant=tenant, requests=requests, viewer=viewer, as_of=as_of)
    return sorted(
        items, key=lambda item: (not item.urgent, item.request.created_at, item.request.pk)
    )


# --- Limits overview -------------------------------------------------------------------------

OVERVIEW_ORDERINGS: dict[str, tuple[str | OrderBy, ...]] = {
    "name": ("legal_name",),
    "exposure": ("-exposure",),
    "limit": (F("limit_amount").desc(nulls_last=True),),
    "utilisation": (F("utilisation").desc(nulls_last=True), "-exposure"),
    "review": (F("limit_review_date").asc(nulls_last=True),),
}


def limits_overview(
    *,
    tenant: Tenant,
    search: str = "",
    state: str = "",
    risk_class: str = "",
    ordering: str = "utilisation",
    as_of: date | None = None,
) -> QuerySet[Any]:
    """Buyers with exposure, own limit and insurer cover side by side, in one query.

    Today's overview reads the maintained figures (`buyers.BuyerFigures`, made current here):
    no invoice or cover decision is aggregated per request. Another day (a report's date, a
    reduction's effective date) is computed from the ledger and the decisions."""
    if as_of is None or as_of == today():
        figures_fresh(tenant=tenant)
        buyers = _overview_from_figures(tenant=tenant)
        as_of = today()
    else:
        buyers = _overview_computed(tenant=tenant, as_of=as_of)
    usable = Q(limit_status__in=USABLE_LIMIT_STATUSES)
    review_window_end = as_of + timedelta(days=schedule.REMINDER_DAYS)
    buyers = buyers.annotate(
        over_limit=_flag(usable & Q(exposure__gt=F("limit_amount"))),
        is_blocked=_flag(
            Q(status__in=BLOCKING_BUYER_STATUSES) | Q(limit_status=CreditLimit.Status.BLOCKED)
        ),
        review_due=_flag(usable & Q(limit_review_date__lte=review_window_end)),
    )
    if search:
        buyers = buyers.filter(Q(legal_name__icontains=search) | Q(erp_reference__iexact=search))
    if risk_class:
        buyers = buyers.filter(limit_risk_class=risk_class)
    if state == "over_limit":
        buyers = buyers.filter(usable, exposure__gt=F("limit_amount"))
    elif state == "blocked":
        buyers = buyers.filter(
            Q(status__in=BLOCKING_BUYER_STATUSES) | Q(limit_status=CreditLimit.Status.BLOCKED)
        )
    elif state == "no_limit":
        buyers = buyers.filter(~usable | Q(limit_status__isnull=True))
    elif state == "review_due":
        buyers = buyers.filter(usable, limit_review_date__lte=review_window_end)
    elif state == "expired":
        buyers = buyers.filter(limit_status=CreditLimit.Status.EXPIRED)
    elif state == "uninsured":
        buyers = buyers.filter(usable, limit_amount__gt=F("insurer_cover"))
    ordered: QuerySet[Any] = buyers.order_by(
        *OVERVIEW_ORDERINGS.get(ordering, OVERVIEW_ORDERINGS["utilisation"]), "id"
    )
    return ordered


def _overview_from_figures(*, tenant: Tenant) -> QuerySet[Any]:
    # The buyer's one limit is joined (creditlimit_one_per_buyer), not looked up per column;
    # filters use these annotations, so they share the one join. The figures' own tenant_id
    # lets their (tenant_id, utilisation) and (tenant_id, exposure) indexes give the order.
    return (
        Buyer.objects.filter(figures__tenant_id=tenant.pk)
        .select_related("country")
        .annotate(
            exposure=F("figures__exposure"),
            overdue=F("figures__overdue"),
            open_invoices=F("figures__open_invoices"),
            limit_id=F("credit_limits__id"),
            limit_amount=F("credit_limits__amount"),
            limit_status=F("credit_limits__status"),
            limit_terms=F("credit_limits__payment_terms_days"),
            limit_review_date=F("credit_limits__review_date"),
            limit_expiry_date=F("credit_limits__expiry_date"),
            limit_risk_class=F("credit_limits__risk_class"),
            insurer_cover=Coalesce(F("figures__cover"), Value(ZERO), output_field=MONEY_FIELD),
            # exposure / the limit in force in base currency (NULL without a usable limit)
            utilisation=F("figures__utilisation"),
        )
    )


def _overview_computed(*, tenant: Tenant, as_of: date) -> QuerySet[Any]:
    rates = fx_rates_on(as_of)
    limit = CreditLimit.objects.filter(buyer_id=OuterRef("pk"))
    # The cover in force is read from the decisions (`insurance.cover`): a reduction counts
    # only from its effective date.
    cover = (
        InsurerCover.objects.filter(buyer_id=OuterRef("pk"))
        .annotate(in_force=in_force_amount(as_of=as_of))
        .values("buyer_id")
        .annotate(total=Sum(F("in_force") * fx_factor(rates, to_currency=tenant.base_currency)))
        .values("total")
    )
    buyers = buyers_with_exposure(tenant=tenant, as_of=as_of).annotate(
        limit_id=Subquery(limit.values("pk")[:1]),
        limit_amount=Subquery(limit.values("amount")[:1]),
        limit_status=Subquery(limit.values("status")[:1]),
        limit_terms=Subquery(limit.values("payment_terms_days")[:1]),
        limit_review_date=Subquery(limit.values("review_date")[:1]),
        limit_expiry_date=Subquery(limit.values("expiry_date")[:1]),
        limit_risk_class=Subquery(limit.values("risk_class")[:1]),
        insurer_cover=Coalesce(
            Subquery(cover, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD
        ),
    )
    return buyers.annotate(
        utilisation=Case(
            When(
                Q(limit_status__in=USABLE_LIMIT_STATUSES),
                then=ExpressionWrapper(
                    F("exposure") / NullIf(F("limit_amount"), Value(ZERO)),
                    output_field=DecimalField(max_digits=30, decimal_places=6),
                ),
            ),
            default=Value(None),
            output_field=DecimalField(max_digits=30, decimal_places=6),
        )
    )


def _flag(condition: Q) -> Case:
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


@dataclass(frozen=True)
class LimitsSummary:
    currency: str
    buyers: int  # in the overview, unfiltered
    limits: int
    total_limits: Decimal
    total_cover: Decimal
    over_limit: int
    blocked: int
    review_due: int
    pending_requests: int


def _figures_totals() -> dict[str, Any]:
    blocked = Q(buyer__status__in=BLOCKING_BUYER_STATUSES) | Q(limit_blocked=True)
    return MaintainedFigures.objects.aggregate(
        buyers=Count("pk"),
        limits=Count("pk", filter=Q(credit_limit__isnull=False)),
        total_limits=Sum("credit_limit"),
        total_cover=Sum("cover"),
        over_limit=Count("pk", filter=Q(utilisation__gt=1)),
        blocked=Count("pk", filter=blocked),
    )


def limits_summary(*, tenant: Tenant, as_of: date | None = None) -> LimitsSummary:
    """The overview's key figures: one aggregate over the maintained figures (limits in force,
    cover in force, over limit, blocked), one count of reviews due and one of pending
    requests. Another day than today is computed from the overview of that day."""
    as_of = as_of or today()
    if as_of == today():
        figures_fresh(tenant=tenant)
        # Totals over every buyer: computed once per change of the figures (`figures_version`).
        totals = cached_on_figures(
            tenant=tenant, key=f"limits:summary:{as_of}", compute=_figures_totals
        )
    else:
        overview = limits_overview(tenant=tenant, as_of=as_of)
        totals = overview.aggregate(
            buyers=Count("pk"),
            limits=Count("pk", filter=Q(limit_status__in=USABLE_LIMIT_STATUSES)),
            total_limits=Sum("limit_amount", filter=Q(limit_status__in=USABLE_LIMIT_STATUSES)),
            total_cover=Sum("insurer_cover"),
            over_limit=Count("pk", filter=Q(over_limit=True)),
            blocked=Count("pk", filter=Q(is_blocked=True)),
        )
    return LimitsSummary(
        currency=tenant.base_currency,
        buyers=totals["buyers"],
        limits=totals["limits"],
        total_limits=totals["total_limits"] or ZERO,
        total_cover=totals["total_cover"] or ZERO,
        over_limit=totals["over_limit"],
        blocked=totals["blocked"],
        review_due=CreditLimit.objects.filter(
            status__in=USABLE_LIMIT_STATUSES,
            review_date__lte=as_of + timedelta(days=schedule.REMINDER_DAYS),
        ).count(),
        pending_requests=LimitRequest.objects.filter(status=LimitRequest.Status.PENDING).count(),
    )


# --- Monitoring ------------------------------------------------------------------------------


def active_limits_for_monitoring(
    *, tenant: Tenant, buyer_ids: list[int], factors: Mapping[str, Decimal]
) -> list[CreditLimitFigure]:
    """The buyers' active credit limits in base currency: the limit source of monitoring's
    over-limit rule (registered in `PoliciesConfig.ready`). Limits in a currency without a
    rate are left out."""
    rows = CreditLimit.objects.filter(
        buyer_id__in=buyer_ids, status=CreditLimit.Status.ACTIVE
    ).values_list("buyer_id", "pk", "amount", "currency", "updated_at")
    return [
        CreditLimitFigure(
            buyer_id=buyer_id,
            limit_id=limit_id,
            amount=receivables.to_base(amount, factors[currency]),
            changed_at=updated_at,
        )
        for buyer_id, limit_id, amount, currency, updated_at in rows
        if currency in factors
    ]


# --- History ---------------------------------------------------------------------------------


def limit_history(*, buyer: Buyer) -> QuerySet[AuditEvent]:
    """Audit events of the buyer's limit, its covers and its limit requests, newest first."""
    limit_ids = [
        str(pk) for pk in CreditLimit.objects.filter(buyer=buyer).values_list("pk", flat=True)
    ]
    cover_ids = [
        str(pk) for pk in InsurerCover.objects.filter(buyer=buyer).values_list("pk", flat=True)
    ]
    request_ids = [
        str(pk) for pk in LimitRequest.objects.filter(buyer=buyer).values_list("pk", flat=True)
    ]
    return AuditEvent.objects.select_related("actor_user").filter(
        Q(object_type="policies.creditlimit", object_id__in=limit_ids)
        | Q(object_type="policies.insurercover", object_id__in=cover_ids)
        | Q(object_type="policies.limitrequest", object_id__in=request_ids)
    )


# --- Credit check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditCheckOutcome:
    buyer: Buyer
    currency: str
    grade: int | None
    order_amount: Decimal  # in base currency
    result: credit_check.CreditCheckResult


def credit_check_buyer(
    *,
    tenant: Tenant,
    buyer_erp_reference: str,
    order_amount: Decimal,
    order_currency: str,
    order_terms_days: int | None,
    as_of: date | None = None,
) -> CreditCheckOutcome | None:
    """The credit check in four small queries: FX rates; the policy with its bands; the buyer
    with its limit and grade; its open receivables by currency."""
    as_of = as_of or today()
    rates = fx_rates_on(as_of)
    order_in_base = _to_base(order_amount, order_currency, tenant, rates)
    policy, bands = policy_in_force_with_bands(on=as_of)
    overdue_days = policy.overdue_hold_days if policy else 0
    limit = CreditLimit.objects.filter(buyer_id=OuterRef("pk"))
    grade = BuyerScore.objects.filter(buyer_id=OuterRef("pk")).order_by("-period", "-computed_at")
    buyer = (
        Buyer.objects.filter(erp_reference=buyer_erp_reference)
        .annotate(
            limit_amount=Subquery(limit.values("amount")[:1]),
            limit_status=Subquery(limit.values("status")[:1]),
            limit_terms=Subquery(limit.values("payment_terms_days")[:1]),
            limit_expiry_date=Subquery(limit.values("expiry_date")[:1]),
            grade=Subquery(grade.values("grade")[:1]),
        )
        .first()
    )
    if buyer is None:
        return None
    # Exposure and what is overdue beyond the policy's days (disputed invoices do not hold
    # orders), in one aggregate by the receivables rules of `buyers.ledger`.
    factors = ledger.base_factors(rates, base=tenant.base_currency)
    outstanding = ledger.outstanding_in_base(factors)
    totals = Invoice.objects.filter(buyer_id=buyer.pk).aggregate(
        exposure=Sum(outstanding, filter=ledger.open_q()),
        overdue=Sum(
            outstanding,
            filter=ledger.overdue_q(as_of=as_of, beyond_days=overdue_days) & ~ledger.disputed_q(),
        ),
    )
    exposure = totals["exposure"] or ZERO
    overdue_beyond = totals["overdue"] or ZERO
    band = next(
        (b for b in bands if buyer.grade is not None and b.grade_from <= buyer.grade <= b.grade_to),
        None,
    )
    limit_state = None
    if buyer.limit_status is not None:
        limit_state = credit_check.LimitState(
            amount=buyer.limit_amount,
            status=buyer.limit_status,
            payment_terms_days=buyer.limit_terms,
            expiry_date=buyer.limit_expiry_date,
        )
    result = credit_check.evaluate(
        order_amount=order_in_base,
        order_terms_days=order_terms_days,
        buyer_status=buyer.status,
        limit=limit_state,
        exposure=exposure,
        overdue_beyond_days=overdue_beyond if policy else ZERO,
        grade=buyer.grade,
        rules=credit_check.CheckRules(
            overdue_days=overdue_days,
            overdue_amount=policy.overdue_hold_amount if policy else ZERO,
            lowest_acceptable_grade=policy.lowest_acceptable_grade if policy else None,
            max_terms_days=band.max_payment_terms_days if band else None,
        ),
    )
    return CreditCheckOutcome(
        buyer=buyer,
        currency=tenant.base_currency,
        grade=buyer.grade,
        order_amount=order_in_base,
        result=result,
    )


# --- Notifications ---------------------------------------------------------------------------


def notifications_of(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)
