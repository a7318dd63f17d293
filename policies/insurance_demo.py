"""Demo trade credit insurance for `manage.py seed_demo`: a domestic and an export policy per
tenant (last year's, renewed for this year; the export one also endorsed mid-term), cover for most buyers under the policy that covers
them, some reductions and withdrawals (a few still inside their notice period), discretionary
credit limits, overdue notifications proposed, sent (one late, so its cover is lost) and with
an extension granted, and monthly declarations submitted up to the last two periods, the first
policy year closed.

Deterministic (seeded per tenant); everything goes through the services. `insurance_policies`
runs before the limits are seeded (covers are recorded under the policies), `insurance_activity`
after them.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from buyers.models import Buyer, PaymentPlan
from creditguard.dates import today
from creditguard.tenancy.models import Tenant

from .insurance import scope
from .insurance.terms import CountryGroupRate, PolicyTerms, PremiumTier
from .models import CoverDecision, Declaration, InsurancePolicy, InsurerCover, OverdueNotification
from .services import coverage, covers, declarations, insurance, overdue_notifications

HOME_COUNTRY = {"EUR": "DE", "CNY": "CN"}
EU = ["AT", "BE", "CZ", "DE", "ES", "FR", "HU", "IT", "NL", "PL", "RO", "SE"]
EMERGING = ["AE", "BR", "IN", "MX", "TR", "ZA"]
# (insurer, policy number, name) for the home market and for exports, by base currency.
INSURERS = {
    "EUR": (
        ("Allianz Trade", "AT-DE-2025-118734", "Domestic whole turnover"),
        ("Atradius", "ATR-EXP-55120", "Export whole turnover"),
    ),
    "CNY": (
        ("中国人民财产保险 PICC", "PICC-TC-2025-0321", "国内贸易信用保险 Domestic"),
        ("中国信保 Sinosure", "SINO-ST-2025-8866", "短期出口信用保险 Export"),
    ),
}


def _home(tenant: Tenant) -> str:
    return HOME_COUNTRY.get(tenant.base_currency, "DE")


def insurance_policies(*, tenant: Tenant, scale: Decimal, as_of: date) -> list[InsurancePolicy]:
    """The two policies (last year's, renewed for this year), with the tenant active."""
    start, end = date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)
    home = _home(tenant)
    countries = sorted(set(Buyer.objects.values_list("country_id", flat=True)))
    (dom_insurer, dom_number, dom_name), (exp_insurer, exp_number, exp_name) = INSURERS.get(
        tenant.base_currency, INSURERS["EUR"]
    )
    domestic = insurance.insurance_policy_create(
        tenant=tenant,
        actor=None,
        insurer=dom_insurer,
        number=dom_number,
        name=dom_name,
        currency=tenant.base_currency,
        terms=PolicyTerms(
            period_start=start,
            period_end=end,
            indemnity_commercial_pct=Decimal("90"),
            indemnity_political_pct=Decimal("0"),
            max_liability=4_000_000 * scale,
            covered_risks=("insolvency", "protracted_default"),
            covered_countries=(home,),
            waiting_period_days=180,
            max_extension_days=60,
            notification_days=30,
            claim_filing_days=90,
            cover_notice_days=15,
            premium_basis="turnover",
            premium_rate_pct=Decimal("0.12"),
            non_qualifying_loss=1_000 * scale,
            aggregate_first_loss=25_000 * scale,
            dcl_max_amount=25_000 * scale,
            dcl_report_max_age_days=365,
            dcl_min_on_time_payments=2,
            premium_tiers=(
                PremiumTier(up_to=5_000_000 * scale, rate_pct=Decimal("0.15")),
                PremiumTier(up_to=None, rate_pct=Decimal("0.10")),
            ),
            minimum_premium=15_000 * scale,
            declaration_frequency="monthly",
            declaration_due_days=15,
        ),
    )
    exports = [code for code in countries if code != home]
    emerging = tuple(code for code in EMERGING if code in exports)
    eu = tuple(code for code in EU if code in exports)
    export_terms = PolicyTerms(
        period_start=start,
        period_end=end,
        indemnity_commercial_pct=Decimal("90"),
        indemnity_political_pct=Decimal("95"),
        max_liability=6_000_000 * scale,
        covered_risks=("insolvency", "protracted_default", "political"),
        covered_countries=tuple(code for code in exports if code not in ("AE",)),
        waiting_period_days=180,
        max_extension_days=90,
        notification_days=30,
        claim_filing_days=120,
        cover_notice_days=30,
        premium_basis="balances",
        premium_rate_pct=Decimal("0.06"),
        deductible_per_buyer=2_500 * scale,
        dcl_max_amount=50_000 * scale,
        dcl_report_max_age_days=365,
        dcl_min_on_time_payments=3,
        country_group_rates=tuple(
            group
            for group in (
                CountryGroupRate(name="EU", countries=eu, rate_pct=Decimal("0.05")),
                CountryGroupRate(
                    name="Emerging markets", countries=emerging, rate_pct=Decimal("0.12")
                ),
            )
            if group.countries
        ),
        minimum_premium=20_000 * scale,
        declaration_frequency="monthly",
        declaration_due_days=20,
    )
    export = insurance.insurance_policy_create(
        tenant=tenant,
        actor=None,
        insurer=exp_insurer,
        number=exp_number,
        name=exp_name,
        currency=tenant.base_currency,
        terms=export_terms,
    )
    for policy in (domestic, export):
        insurance.insurance_policy_endorse(
            tenant=tenant,
            actor=None,
            policy=policy,
            effective_from=date(as_of.year, 1, 1),
            changes={
                "period_start": date(as_of.year, 1, 1),
                "period_end": date(as_of.year, 12, 31),
            },
            endorsement_reference="REN-01",
            change_note="Renewed for the year on the same terms.",
        )
    # Mid-term endorsement: the United Arab Emirates added, the maximum liability raised.
    if "AE" in exports:
        insurance.insurance_policy_endorse(
            tenant=tenant,
            actor=None,
            policy=export,
            effective_from=date(as_of.year, 7, 1),
            changes={
                "covered_countries": [*export_terms.covered_countries, "AE"],
                "max_liability": 7_500_000 * scale,
            },
            endorsement_reference="END-02",
            change_note="United Arab Emirates added; maximum liability raised.",
        )
    return [domestic, export]


def record_cover(
    rng: random.Random,
    *,
    tenant: Tenant,
    buyer: Buyer,
    amount: Decimal,
    as_of: date,
) -> None:
    """The insurer's decisions on `buyer` under the policy covering it: a grant, sometimes
    reduced or withdrawn later."""
    decided = max(date(as_of.year - 1, 1, 1), as_of - timedelta(days=rng.randint(300, 700)))
    policy_id = scope.policy_of_buyers(buyer_ids=[buyer.pk], on=decided).get(buyer.pk)
    if policy_id is None:
        return
    policy = InsurancePolicy.objects.get(pk=policy_id)
    reference = f"CL-{rng.randint(1000000, 9999999)}"
    expiry = decided + timedelta(days=730) if rng.random() < 0.3 else None
    covers.cover_decision_record(
        tenant=tenant,
        actor=None,
        buyer=buyer,
        policy=policy,
        kind="grant",
        amount=amount,
        currency=policy.currency,
        decision_date=decided,
        expiry_date=expiry,
        reference=reference,
        conditions=rng.choice(["", "", "Payment terms up to 90 days.", "Retention of title."]),
    )
    later = decided + timedelta(days=rng.randint(10, 30))
    change = rng.choices(["none", "reduction", "withdrawal"], weights=[88, 8, 4])[0]
    if change == "reduction":
        covers.cover_decision_record(
            tenant=tenant,
            actor=None,
            buyer=buyer,
            policy=policy,
            kind="reduction",
            amount=(amount / 2).quantize(Decimal("1")),
            currency=policy.currency,
            decision_date=later,
            reference=reference,
        )
    elif change == "withdrawal":
        covers.cover_decision_record(
            tenant=tenant,
            actor=None,
            buyer=buyer,
            policy=policy,
            kind="withdrawal",
            amount=Decimal("0"),
            currency=policy.currency,
            decision_date=later,
            reference=reference,
        )


def insurance_activity(*, tenant: Tenant, as_of: date) -> None:
    """DCLs, recent cover cuts, the sweep, notifications, declarations and alerts."""
    rng = random.Random(f"creditguard-insurance-{tenant.slug}")
    covers.dcl_refresh(tenant=tenant, as_of=as_of)
    _recent_cuts(rng, tenant=tenant, as_of=as_of)
    coverage.coverage_sweep(tenant=tenant, as_of=as_of)
    _notifications(rng, tenant=tenant, as_of=as_of)
    coverage.coverage_sweep(tenant=tenant, as_of=as_of)
    _declarations(tenant=tenant, as_of=as_of)
    coverage.insurance_alerts_evaluate(tenant=tenant, as_of=as_of)


def _recent_cuts(rng: random.Random, *, tenant: Tenant, as_of: date) -> None:
    """Cover cuts decided in the last days: some still inside the policy's notice period."""
    named = list(
        InsurerCover.objects.filter(kind="named", policy__isnull=False, amount__gt=0)
        .select_related("buyer", "policy")
        .order_by("pk")
    )
    for cover in rng.sample(named, min(len(named), 4)):
        last = cover.decisions.order_by("-effective_date", "-id").first()
        if last is None or last.kind != CoverDecision.Kind.GRANT or last.decision_date > as_of:
            continue
        assert cover.policy is not None
        covers.cover_decision_record(
            tenant=tenant,
            actor=None,
            buyer=cover.buyer,
            policy=cover.policy,
            kind="reduction",
            amount=(cover.amount * Decimal("0.6")).quantize(Decimal("1")),
            currency=cover.currency,
            decision_date=as_of - timedelta(days=rng.randint(2, 12)),
            reference=last.reference,
            conditions="Reduced after the buyer's latest accounts showed losses.",
        )


def _notifications(rng: random.Random, *, tenant: Tenant, as_of: date) -> None:
    """A year of notification history, then today's proposals.

    Month by month, the invoices that reached the end of their extension period were proposed
    on that day and sent a few days later, in time (an invoice already past its deadline on the
    day is sent late and loses its cover); one sent notification has an extension granted, those
    of buyers with a payment plan have it recorded. Today's proposals stay: two reviewed, one
    whose deadline has passed sent late today, the other past-deadline ones unsent (cover
    lost)."""
    first_sent = True
    for months_back in range(12, 0, -1):
        day = as_of - timedelta(days=30 * months_back)
        overdue_notifications.overdue_notifications_propose(tenant=tenant, as_of=day)
        for notification in OverdueNotification.objects.filter(status="proposed").order_by("pk"):
            OverdueNotification.objects.filter(pk=notification.pk).update(
                created_at=datetime.combine(day, time(9), tzinfo=UTC)
            )
            notification.refresh_from_db()
            notification = overdue_notifications.notification_review(
                tenant=tenant, actor=None, notification=notification
            )
            sent_on = day + timedelta(days=rng.randint(1, 5))
            notification = overdue_notifications.notification_mark_sent(
                tenant=tenant,
                actor=None,
                notification=notification,
                sent_on=min(sent_on, max(notification.deadline, day), today()),
                insurer_reference=f"TOL-{rng.randint(100000, 999999)}",
            )
            _extension_or_plan(rng, tenant=tenant, notification=notification, grant=first_sent)
            first_sent = False
    overdue_notifications.overdue_notifications_propose(tenant=tenant, as_of=as_of)
    proposed = list(
        OverdueNotification.objects.filter(status="proposed").order_by("deadline", "pk")
    )
    past = [notification for notification in proposed if notification.deadline < as_of]
    for notification in past[:1]:
        notification = overdue_notifications.notification_review(
            tenant=tenant, actor=None, notification=notification
        )
        overdue_notifications.notification_mark_sent(
            tenant=tenant,
            actor=None,
            notification=notification,
            sent_on=today(),
            insurer_reference=f"TOL-{rng.randint(100000, 999999)}",
        )
    for notification in [n for n in proposed if n.deadline >= as_of][:2]:
        overdue_notifications.notification_review(
            tenant=tenant, actor=None, notification=notification
        )


def _extension_or_plan(
    rng: random.Random, *, tenant: Tenant, notification: OverdueNotification, grant: bool
) -> None:
    latest_due = max(item.due_date for item in notification.items.all())
    if grant:
        extension = overdue_notifications.extension_request_create(
            tenant=tenant,
            actor=None,
            notification=notification,
            kind="extension",
            requested_until=latest_due + timedelta(days=120),
            notes="Buyer confirmed payment after its customer settles; 30 days asked.",
            beyond_maximum=True,
        )
        overdue_notifications.extension_request_decide(
            tenant=tenant,
            actor=None,
            extension=extension,
            decision="granted",
            decided_on=today(),  # recorded today, whatever day the demo is seeded for
        )
    elif plan := PaymentPlan.objects.filter(buyer_id=notification.buyer_id).first():
        overdue_notifications.extension_request_create(
            tenant=tenant,
            actor=None,
            notification=notification,
            kind="payment_plan",
            requested_until=latest_due + timedelta(days=150),
            payment_plan=plan,
            notes="Three monthly instalments agreed with the buyer.",
            beyond_maximum=True,
        )


def _declarations(*, tenant: Tenant, as_of: date) -> None:
    """Every ended month declared; all but the last two submitted; last year closed."""
    declarations.declarations_prepare(tenant=tenant, as_of=as_of)
    for policy in InsurancePolicy.objects.order_by("pk"):
        periods = list(Declaration.objects.filter(policy=policy).order_by("period_start"))
        for declaration in periods[:-2]:
            declaration = declarations.declaration_review(
                tenant=tenant, actor=None, declaration=declaration
            )
            declarations.declaration_submit(tenant=tenant, actor=None, declaration=declaration)
        if periods[-2:]:
            declarations.declaration_review(tenant=tenant, actor=None, declaration=periods[-2])
        first_year = date(as_of.year - 1, 1, 1)
        if any(d.period_start.year == first_year.year for d in periods):
            declarations.policy_year_close(
                tenant=tenant, actor=None, policy=policy, year_start=first_year
            )
