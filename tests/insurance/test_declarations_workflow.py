"""Declarations, hand-computed: insured turnover per period (buyers under the policy with cover
in force), month-end balances, premium by country group, the workflow with its forbidden steps,
the lock after submission, corrections, the year-end top-up and reminders."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from creditguard.reference.models import FxRate
from policies.models import Declaration, DeclarationAdjustment, Notification
from policies.services import declarations as services
from policies.services.transitions import TransitionNotAllowed
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    MembershipFactory,
    PolicyVersionFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)
AS_OF = date(2026, 4, 10)  # January to March have ended


def _policy(tenant, **terms):
    policy = InsurancePolicyFactory(tenant=tenant, insurer="Atradius", number="DE-77")
    values = {
        "version": 1,
        "period_start": YEAR_START,
        "period_end": YEAR_END,
        "effective_from": YEAR_START,
        "covered_countries": ["DE", "FR"],
        "premium_basis": "turnover",
        "premium_rate_pct": D("0.20"),
        "country_group_rates": [{"name": "EU", "countries": ["FR"], "rate_pct": "0.15"}],
        "minimum_premium": D("12000.00"),
        "declaration_frequency": "monthly",
        "declaration_due_days": 15,
    }
    PolicyVersionFactory(policy=policy, tenant=tenant, **{**values, **terms})
    return policy


def _covered(tenant, policy, country):
    buyer = BuyerFactory(tenant=tenant, country_id=country)
    InsurerCoverFactory(
        buyer=buyer,
        tenant=tenant,
        policy=policy,
        amount=D("500000"),
        decision_date=date(2025, 12, 1),
    )
    return buyer


@pytest.fixture
def book(tenant_a):
    """January: DE 100,000 and FR 50,000 on covered buyers, 70,000 on a DE buyer without
    cover, 90,000 on a US buyer (out of scope). February: 25,000 USD on the covered DE buyer
    (1.25 USD per EUR on 28 February: 20,000 EUR). March: nothing."""
    with active(tenant_a):
        policy = _policy(tenant_a)
        german, french = _covered(tenant_a, policy, "DE"), _covered(tenant_a, policy, "FR")
        uncovered = BuyerFactory(tenant=tenant_a, country_id="DE")
        american = BuyerFactory(tenant=tenant_a, country_id="US")
        FxRate.objects.create(currency="USD", rate_date=date(2026, 2, 27), units_per_eur=D("1.25"))
        jan = {"issue_date": date(2026, 1, 15), "due_date": date(2026, 2, 14)}
        InvoiceFactory(buyer=german, tenant=tenant_a, amount=D("100000"), **jan)
        InvoiceFactory(buyer=french, tenant=tenant_a, amount=D("50000"), **jan)
        InvoiceFactory(buyer=uncovered, tenant=tenant_a, amount=D("70000"), **jan)
        InvoiceFactory(buyer=american, tenant=tenant_a, amount=D("90000"), **jan)
        InvoiceFactory(
            buyer=german,
            tenant=tenant_a,
            amount=D("25000"),
            currency="USD",
            issue_date=date(2026, 2, 3),
            due_date=date(2026, 3, 5),
        )
    return {"policy": policy, "german": german}


def _prepare(tenant, as_of=AS_OF):
    return services.declarations_prepare(tenant=tenant, as_of=as_of)


def test_it_drafts_every_ended_period_with_its_insured_turnover_and_premium(tenant_a, book):
    with active(tenant_a):
        assert _prepare(tenant_a) == 3
        jan, feb, mar = Declaration.objects.order_by("period_start")
        # DE 100,000 × 0.20 % = 200.00; FR (EU) 50,000 × 0.15 % = 75.00
        assert (jan.declared_amount, jan.premium) == (D("150000.00"), D("275.00"))
        assert jan.breakdown["by_country"] == {"DE": "100000.00", "FR": "50000.00"}
        assert [(line["group"], line["premium"]) for line in jan.breakdown["lines"]] == [
            ("EU", "75.00"),
            ("", "200.00"),
        ]
        assert (jan.period_end, jan.due_date, jan.status) == (
            date(2026, 1, 31),
            date(2026, 2, 15),
            "draft",
        )
        # 25,000 USD / 1.25 = 20,000 EUR × 0.20 % = 40.00
        assert (feb.declared_amount, feb.premium) == (D("20000.00"), D("40.00"))
        assert (mar.declared_amount, mar.premium) == (D("0"), D("0"))
        assert _prepare(tenant_a) == 0  # idempotent


def test_month_end_balances_count_open_receivables_of_covered_buyers(tenant_a):
    with active(tenant_a):
        policy = _policy(tenant_a, premium_basis="balances", declaration_frequency="quarterly")
        buyer = _covered(tenant_a, policy, "DE")
        # Open all quarter: 10,000 at each of the three month ends.
        InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=D("10000"),
            issue_date=date(2025, 12, 20),
            due_date=date(2026, 1, 20),
        )
        # Paid in full on 15 February: counts at the end of January only.
        InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=D("4000"),
            paid_amount=D("4000"),
            status="paid",
            paid_date=date(2026, 2, 15),
            issue_date=date(2026, 1, 10),
            due_date=date(2026, 2, 9),
        )
        # Issued in March: the end of March only.
        InvoiceFactory(buyer=buyer, tenant=tenant_a, amount=D("6000"),
                       issue_date=date(2026, 3, 2), due_date=date(2026, 4, 1))  # fmt: skip
        _prepare(tenant_a)
        quarter = Declaration.objects.get()
        # 14,000 + 10,000 + 16,000 = 40,000 × 0.20 % = 80.00
        assert (quarter.declared_amount, quarter.premium) == (D("40000.00"), D("80.00"))
        assert quarter.breakdown["month_ends"] == ["2026-01-31", "2026-02-28", "2026-03-31"]
        assert "approximation" in quarter.breakdown


def test_review_then_submit_locks_the_declaration(tenant_a, owner, book):
    with active(tenant_a):
        _prepare(tenant_a)
        jan = Declaration.objects.order_by("period_start").first()
        with pytest.raises(TransitionNotAllowed):
            services.declaration_submit(tenant=tenant_a, actor=owner, declaration=jan)
        services.declaration_review(tenant=tenant_a, actor=owner, declaration=jan)
        with pytest.raises(TransitionNotAllowed):
            services.declaration_review(tenant=tenant_a, actor=owner, declaration=jan)
        services.declaration_submit(tenant=tenant_a, actor=owner, declaration=jan)
        jan.refresh_from_db()
        assert jan.status == "submitted" and jan.submitted_at is not None
        with pytest.raises(TransitionNotAllowed):
            services.declaration_submit(tenant=tenant_a, actor=owner, declaration=jan)
        # The database refuses any change of a submitted row.
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE policies_declaration SET premium = 0 WHERE id = %s", [jan.pk])
        # A later sweep of figures leaves it alone even when the ledger changed.
        InvoiceFactory(
            buyer=book["german"], tenant=tenant_a, amount=D("1000"),
            issue_date=date(2026, 1, 20), due_date=date(2026, 2, 19),
        )  # fmt: skip
        assert _prepare(tenant_a) == 0
        jan.refresh_from_db()
        assert jan.premium == D("275.00")


def test_a_changed_ledger_recomputes_drafts_and_sends_reviewed_ones_back(tenant_a, owner, book):
    with active(tenant_a):
        _prepare(tenant_a)
        jan = Declaration.objects.order_by("period_start").first()
        services.declaration_review(tenant=tenant_a, actor=owner, declaration=jan)
        InvoiceFactory(
            buyer=book["german"], tenant=tenant_a, amount=D("1000"),
            issue_date=date(2026, 1, 20), due_date=date(2026, 2, 19),
        )  # fmt: skip
        assert _prepare(tenant_a) == 1
        jan.refresh_from_db()
        assert (jan.declared_amount, jan.premium, jan.status) == (
            D("151000.00"),
            D("277.00"),
            "draft",
        )


def test_corrections_after_submission_are_adjustments(tenant_a, owner, book):
    with active(tenant_a):
        _prepare(tenant_a)
        jan = Declaration.objects.order_by("period_start").first()
        with pytest.raises(TransitionNotAllowed):
            services.declaration_adjust(
                tenant=tenant_a, actor=owner, declaration=jan, amount_change=D("1"), reason="x"
            )
        services.declaration_review(tenant=tenant_a, actor=owner, declaration=jan)
        services.declaration_submit(tenant=tenant_a, actor=owner, declaration=jan)
        with pytest.raises(ValidationError):
            services.declaration_adjust(
                tenant=tenant_a, actor=owner, declaration=jan, amount_change=D("1"), reason=" "
            )
        # Average rate 275 / 150,000: 6,000 more declared → 11.00 more premium.
        adjustment = services.declaration_adjust(
            tenant=tenant_a,
            actor=owner,
            declaration=jan,
            amount_change=D("6000"),
            reason="Invoice 4711 was booked in February by mistake.",
        )
        assert (adjustment.kind, adjustment.premium_change) == ("correction", D("11.00"))


def test_closing_the_year_tops_up_to_the_minimum_premium_once(tenant_a, owner, book):
    with active(tenant_a):
        _prepare(tenant_a, as_of=date(2027, 1, 5))
        first = Declaration.objects.order_by("period_start").first()
        with pytest.raises(ValidationError):
            services.policy_year_close(
                tenant=tenant_a, actor=owner, policy=book["policy"], year_start=YEAR_START
            )
        for declaration in Declaration.objects.order_by("period_start"):
            services.declaration_review(tenant=tenant_a, actor=owner, declaration=declaration)
            services.declaration_submit(tenant=tenant_a, actor=owner, declaration=declaration)
        services.declaration_adjust(
            tenant=tenant_a, actor=owner, declaration=first, amount_change=D("0"),
            premium_change=D("-15.00"), reason="Credit note.",
        )  # fmt: skip
        adjustment = services.policy_year_close(
            tenant=tenant_a, actor=owner, policy=book["policy"], year_start=YEAR_START
        )
        # Charged 275 + 40 − 15 = 300.00; minimum 12,000 → top-up 11,700.00
        assert adjustment.kind == "year_end"
        assert adjustment.premium_change == D("11700.00")
        assert adjustment.declaration.period_start == date(2026, 12, 1)
        with pytest.raises(TransitionNotAllowed):
            services.policy_year_close(
                tenant=tenant_a, actor=owner, policy=book["policy"], year_start=YEAR_START
            )
        assert DeclarationAdjustment.objects.filter(kind="year_end").count() == 1


def test_reminders_go_before_the_due_date_and_when_overdue_once_each(tenant_a, owner, book):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer", user__email="v@a.example").user
        _prepare(tenant_a, as_of=date(2026, 2, 1))  # January, due 15 February
        jan = Declaration.objects.get()
        assert services.declaration_reminders(tenant=tenant_a, as_of=date(2026, 2, 7)) == 0
        assert services.declaration_reminders(tenant=tenant_a, as_of=date(2026, 2, 8)) == 1
        assert services.declaration_reminders(tenant=tenant_a, as_of=date(2026, 2, 9)) == 0
        assert services.declaration_reminders(tenant=tenant_a, as_of=date(2026, 2, 16)) == 1
        assert services.declaration_reminders(tenant=tenant_a, as_of=date(2026, 2, 20)) == 0
        assert Notification.objects.filter(user=owner).count() == 2
        assert not Notification.objects.filter(user=viewer).exists()
        jan.refresh_from_db()
        assert jan.reminder_sent_on == date(2026, 2, 16)


def test_a_submitted_declaration_gets_no_reminder(tenant_a, owner, book):
    with active(tenant_a):
        _prepare(tenant_a, as_of=date(2026, 2, 1))
        jan = Declaration.objects.get()
        services.declaration_review(tenant=tenant_a, actor=owner, declaration=jan)
        services.declaration_submit(tenant=tenant_a, actor=owner, declaration=jan)
        assert services.declaration_reminders(tenant=tenant_a, as_of=date(2026, 2, 16)) == 0


def test_tiers_carry_the_year_to_date_across_periods(tenant_a):
    with active(tenant_a):
        tiers = [{"up_to": "150000", "rate_pct": "0.30"}, {"up_to": None, "rate_pct": "0.10"}]
        policy = _policy(tenant_a, country_group_rates=[], premium_tiers=tiers)
        buyer = _covered(tenant_a, policy, "DE")
        for issued in (date(2026, 1, 10), date(2026, 2, 10)):
            InvoiceFactory(buyer=buyer, tenant=tenant_a, amount=D("100000"),
                           issue_date=issued, due_date=issued + timedelta(days=30))  # fmt: skip
        _prepare(tenant_a, as_of=date(2026, 3, 1))
        jan, feb = Declaration.objects.order_by("period_start")
        # January 0 → 100,000 at 0.30 % = 300.00; February 100,000 → 200,000:
        # 50,000 × 0.30 % = 150.00 + 50,000 × 0.10 % = 50.00
        assert (jan.premium, feb.premium) == (D("300.00"), D("200.00"))
        assert feb.breakdown["year_to_date_before"] == "100000.00"
