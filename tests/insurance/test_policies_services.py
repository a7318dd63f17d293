"""Insurance policies and cover: creation, endorsements with their history, named buyers, cover
decisions effective after the notice period, the cover in force read from the decisions, DCL."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from creditguard.audit.models import AuditEvent
from monitoring.models import WebhookDelivery
from policies import selectors
from policies.insurance.scope import version_in_force
from policies.insurance.terms import PolicyTerms, PremiumTier
from policies.models import CoverDecision, InsurerCover, PolicyBuyer, PolicyVersion
from policies.services import covers as cover_services
from policies.services import insurance as insurance_services
from policies.services.covers import CoverTerms, insurer_cover_save
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    CreditLimitFactory,
    FinancialStatementFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

TODAY = date.today()
TERMS = PolicyTerms(
    period_start=date(TODAY.year, 1, 1),
    period_end=date(TODAY.year, 12, 31),
    indemnity_commercial_pct=Decimal("90"),
    indemnity_political_pct=Decimal("95"),
    max_liability=Decimal("5000000"),
    covered_risks=("insolvency", "protracted_default"),
    covered_countries=("DE", "FR"),
    waiting_period_days=180,
    max_extension_days=60,
    notification_days=30,
    claim_filing_days=90,
    cover_notice_days=30,
    premium_basis="turnover",
    premium_rate_pct=Decimal("0.18"),
    dcl_max_amount=Decimal("25000"),
    dcl_report_max_age_days=365,
    dcl_min_on_time_payments=2,
)


def create_policy(tenant, actor, number="TCI-1", terms=TERMS, **kwargs):
    return insurance_services.insurance_policy_create(
        tenant=tenant,
        actor=actor,
        insurer=kwargs.pop("insurer", "Allianz Trade"),
        number=number,
        currency="EUR",
        terms=terms,
        **kwargs,
    )


@pytest.fixture
def policy(tenant_a, owner):
    with active(tenant_a):
        return create_policy(tenant_a, owner)


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, country_id="DE", legal_name="Nordlicht GmbH")


def test_creating_a_policy_writes_version_one_effective_from_the_period_start(
    tenant_a, owner, policy
):
    with active(tenant_a):
        version = PolicyVersion.objects.get(policy=policy)
        audit = AuditEvent.objects.get(action="insurance_policy.create")

    assert version.version == 1
    assert version.effective_from == TERMS.period_start
    assert version.covered_countries == ["DE", "FR"]
    assert audit.after["terms"]["indemnity_commercial_pct"] == "90.00"


def test_invalid_terms_and_a_duplicate_number_are_refused_with_field_keys(tenant_a, owner, policy):
    broken = dataclasses.replace(
        TERMS,
        indemnity_commercial_pct=Decimal("0"),
        premium_tiers=(PremiumTier(Decimal("100"), Decimal("1")), PremiumTier(None, Decimal("1"))),
        covered_countries=("DE", "ZZ"),
    )
    with active(tenant_a), pytest.raises(ValidationError) as refused:
        create_policy(tenant_a, owner, number="tci-1", terms=broken, insurer="allianz trade")

    assert set(refused.value.message_dict) == {
        "indemnity_commercial_pct",
        "covered_countries[1]",
        "number",
    }


def test_an_endorsement_is_a_new_version_and_the_history_is_kept(tenant_a, owner, policy):
    endorsed_from = TERMS.period_start + timedelta(days=90)
    with active(tenant_a):
        version = insurance_services.insurance_policy_endorse(
            tenant=tenant_a,
            actor=owner,
            policy=policy,
            effective_from=endorsed_from,
            endorsement_reference="END-1",
            change_note="Poland added.",
            changes={"covered_countries": ["DE", "FR", "PL"], "cover_notice_days": 14},
        )
        before = version_in_force(policy=policy, on=endorsed_from - timedelta(days=1))
        after = version_in_force(policy=policy, on=endorsed_from)
        audit = AuditEvent.objects.get(action="insurance_policy.endorse")

    assert version.version == 2
    assert before.version == 1 and before.covered_countries == ["DE", "FR"]
    assert after.pk == version.pk
    assert after.covered_countries == ["DE", "FR", "PL"]
    assert after.cover_notice_days == 14
    assert after.max_liability == TERMS.max_liability  # copied
    assert audit.before == {
        "version": 1,
        "covered_countries": ["DE", "FR"],
        "cover_notice_days": 30,
    }


def test_an_endorsement_that_changes_nothing_or_breaks_the_terms_is_refused(
    tenant_a, owner, policy
):
    with active(tenant_a):
        with pytest.raises(ValidationError) as nothing:
            insurance_services.insurance_policy_endorse(
                tenant=tenant_a,
                actor=owner,
                policy=policy,
                effective_from=TODAY,
                changes={"cover_notice_days": 30},
            )
        with pytest.raises(ValidationError) as broken:
            insurance_services.insurance_policy_endorse(
                tenant=tenant_a,
                actor=owner,
                policy=policy,
                effective_from=TODAY,
                changes={"dcl_report_max_age_days": None, "dcl_min_on_time_payments": None},
            )
        assert PolicyVersion.objects.count() == 1

    assert "non_field_errors" in nothing.value.message_dict
    assert list(broken.value.message_dict) == ["dcl_report_max_age_days"]


def test_naming_a_buyer_includes_or_excludes_it_and_removing_forgets_it(
    tenant_a, owner, policy, buyer
):
    with active(tenant_a):
        insurance_services.policy_buyer_set(
            tenant=tenant_a, actor=owner, policy=policy, buyer=buyer, kind="excluded"
        )
        insurance_services.policy_buyer_set(
            tenant=tenant_a, actor=owner, policy=policy, buyer=buyer, kind="excluded"
        )
        entry = PolicyBuyer.objects.get()
        removed = insurance_services.policy_buyer_remove(
            tenant=tenant_a, actor=owner, policy=policy, buyer=buyer
        )
        again = insurance_services.policy_buyer_remove(
            tenant=tenant_a, actor=owner, policy=policy, buyer=buyer
        )
        actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))

    assert entry.kind == "excluded"
    assert removed and not again
    assert actions.count("insurance_policy.buyer_set") == 1  # the repeat changed nothing
    assert "insurance_policy.buyer_remove" in actions


# --- Cover decisions -------------------------------------------------------------------------


def record(tenant, actor, buyer, policy, kind, amount, decision_date, **kwargs):
    return cover_services.cover_decision_record(
        tenant=tenant,
        actor=actor,
        buyer=buyer,
        policy=policy,
        kind=kind,
        amount=Decimal(amount),
        currency="EUR",
        decision_date=decision_date,
        **kwargs,
    )


def cover_on(tenant, buyer, day):
    return selectors.cover_in_force(
        tenant=tenant, buyer_ids=[buyer.pk], as_of=day, rates={"EUR": Decimal(1)}
    ).get(buyer.pk, Decimal(0))


def test_a_reduction_takes_effect_after_the_notice_period(tenant_a, owner, policy, buyer):
    granted_on = TODAY - timedelta(days=60)
    reduced_on = TODAY - timedelta(days=10)
    with active(tenant_a):
        record(tenant_a, owner, buyer, policy, "grant", "100000", granted_on, reference="CL-1")
        reduction = record(tenant_a, owner, buyer, policy, "reduction", "40000", reduced_on)
        cover = InsurerCover.objects.get()
        # 30 days' notice: effective 20 days from today.
        assert reduction.effective_date == reduced_on + timedelta(days=30)
        assert cover_on(tenant_a, buyer, TODAY) == Decimal("100000")
        assert cover_on(tenant_a, buyer, reduction.effective_date - timedelta(days=1)) == Decimal(
            "100000"
        )
        assert cover_on(tenant_a, buyer, reduction.effective_date) == Decimal("40000")
        overview = selectors.limits_overview(tenant=tenant_a).get(pk=buyer.pk)
        later = selectors.limits_overview(tenant=tenant_a, as_of=reduction.effective_date).get(
            pk=buyer.pk
        )

    assert cover.policy_id == policy.pk and cover.kind == "named"
    assert cover.status == "reduced" and cover.amount == Decimal("40000")
    assert overview.insurer_cover == Decimal("100000")
    assert later.insurer_cover == Decimal("40000")


def test_a_withdrawal_ends_the_cover_after_notice_and_a_grant_applies_at_once(
    tenant_a, owner, policy, buyer
):
    with active(tenant_a):
        record(tenant_a, owner, buyer, policy, "grant", "50000", TODAY - timedelta(days=5))
        withdrawal = record(tenant_a, owner, buyer, policy, "withdrawal", "999", TODAY)
        assert withdrawal.amount == 0
        assert withdrawal.effective_date == TODAY + timedelta(days=30)
        assert cover_on(tenant_a, buyer, TODAY + timedelta(days=29)) == Decimal("50000")
        assert cover_on(tenant_a, buyer, TODAY + timedelta(days=30)) == 0
        regrant = record(
            tenant_a, owner, buyer, policy, "grant", "20000", TODAY + timedelta(days=40)
        )
        assert regrant.effective_date == regrant.decision_date
        assert cover_on(tenant_a, buyer, TODAY + timedelta(days=40)) == Decimal("20000")


@pytest.mark.parametrize(
    ("kind", "amount", "field"),
    [
        ("reduction", "10000", "kind"),  # nothing to reduce yet
        ("grant", "0", "amount"),
        ("promotion", "1", "kind"),
    ],
)
def test_decisions_that_make_no_sense_are_refused(
    tenant_a, owner, policy, buyer, kind, amount, field
):
    with active(tenant_a), pytest.raises(ValidationError) as refused:
        record(tenant_a, owner, buyer, policy, kind, amount, TODAY)

    assert field in refused.value.message_dict


def test_an_increase_must_increase_and_a_buyer_out_of_scope_is_refused(
    tenant_a, owner, policy, buyer
):
    with active(tenant_a):
        record(tenant_a, owner, buyer, policy, "grant", "50000", TODAY)
        with pytest.raises(ValidationError) as lower:
            record(tenant_a, owner, buyer, policy, "increase", "40000", TODAY)
        italian = BuyerFactory(tenant=tenant_a, country_id="IT")
        with pytest.raises(ValidationError) as outside:
            record(tenant_a, owner, italian, policy, "grant", "1000", TODAY)
        insurance_services.policy_buyer_set(
            tenant=tenant_a, actor=owner, policy=policy, buyer=italian, kind="included"
        )
        included = record(tenant_a, owner, italian, policy, "grant", "1000", TODAY)

    assert "amount" in lower.value.message_dict
    assert "buyer" in outside.value.message_dict
    assert included.amount == Decimal("1000")


def test_every_decision_is_audited_and_published_as_a_webhook_event(
    tenant_a, owner, policy, buyer, django_capture_on_commit_callbacks
):
    with active(tenant_a):
        WebhookEndpointFactory(tenant=tenant_a, event_types=["cover.changed"])
        decision = record(tenant_a, owner, buyer, policy, "grant", "75000", TODAY)
        delivery = WebhookDelivery.objects.get()
        audit = AuditEvent.objects.get(action="insurer_cover.decision")

    assert delivery.event_type == "cover.changed"
    assert delivery.event_id == f"evt_cover_decision_{decision.pk}"
    assert delivery.payload["data"]["decision"]["amount"] == "75000.00"
    assert delivery.payload["data"]["buyer"]["id"] == buyer.pk
    assert audit.after["decision"]["kind"] == "grant"


def test_saving_a_cover_the_old_way_appends_the_decision_it_stands_for(tenant_a, owner, buyer):
    terms = CoverTerms(
        insurer="Atradius", amount=Decimal("80000"), currency="EUR", decision_date=TODAY
    )
    with active(tenant_a):
        cover = insurer_cover_save(tenant=tenant_a, actor=owner, buyer=buyer, terms=terms)
        insurer_cover_save(
            tenant=tenant_a,
            actor=owner,
            buyer=buyer,
            terms=CoverTerms.of(cover, amount=Decimal("30000"), status="reduced"),
            cover=cover,
        )
        insurer_cover_save(
            tenant=tenant_a,
            actor=owner,
            buyer=buyer,
            terms=CoverTerms.of(cover, notes="called the insurer"),
            cover=cover,
        )
        insurer_cover_save(
            tenant=tenant_a,
            actor=owner,
            buyer=buyer,
            terms=CoverTerms.of(cover, amount=Decimal("90000"), status="granted"),
            cover=cover,
        )
        kinds = list(CoverDecision.objects.order_by("id").values_list("kind", "amount"))

    assert kinds == [
        ("grant", Decimal("80000.00")),
        ("reduction", Decimal("30000.00")),
        ("increase", Decimal("90000.00")),
    ]


def test_the_factory_cover_counts_from_its_grant_decision(tenant_a, buyer):
    with active(tenant_a):
        InsurerCoverFactory(buyer=buyer, amount=Decimal("60000"))
        InsurerCoverFactory(buyer=buyer, amount=Decimal("5000"), status="withdrawn")

        assert cover_on(tenant_a, buyer, TODAY) == Decimal("60000")


# --- Discretionary credit limits -------------------------------------------------------------


def paid_invoice(buyer, *, days_ago, late=False):
    due = TODAY - timedelta(days=days_ago)
    return InvoiceFactory(
        buyer=buyer,
        issue_date=due - timedelta(days=30),
        due_date=due,
        paid_amount=Decimal("1000"),
        paid_date=due + timedelta(days=3 if late else -1),
        status="paid",
    )


def test_dcl_refresh_grants_changes_and_withdraws_discretionary_covers(tenant_a, owner, policy):
    with active(tenant_a):
        reported = BuyerFactory(tenant=tenant_a, country_id="DE", legal_name="Reported")
        FinancialStatementFactory(buyer=reported)
        CreditLimitFactory(buyer=reported, amount=Decimal("18000"))
        payer = BuyerFactory(tenant=tenant_a, country_id="FR", legal_name="Payer")
        paid_invoice(payer, days_ago=40)
        paid_invoice(payer, days_ago=100)
        paid_invoice(payer, days_ago=120, late=True)
        CreditLimitFactory(buyer=payer, amount=Decimal("90000"))
        late = BuyerFactory(tenant=tenant_a, country_id="DE", legal_name="Late payer")
        paid_invoice(late, days_ago=40, late=True)
        CreditLimitFactory(buyer=late, amount=Decimal("90000"))
        named = BuyerFactory(tenant=tenant_a, country_id="DE", legal_name="Named")
        FinancialStatementFactory(buyer=named)
        CreditLimitFactory(buyer=named, amount=Decimal("90000"))
        record(tenant_a, owner, named, policy, "grant", "200000", TODAY)

        granted = cover_services.dcl_refresh(tenant=tenant_a, as_of=TODAY)
        repeated = cover_services.dcl_refresh(tenant=tenant_a, as_of=TODAY)
        covers = {
            cover.buyer.legal_name: cover
            for cover in InsurerCover.objects.select_related("buyer").filter(kind="discretionary")
        }
        # The payer's own limit drops, then its country leaves the policy.
        payer.credit_limits.update(amount=Decimal("10000"))
        reduced = cover_services.dcl_refresh(tenant=tenant_a, as_of=TODAY)
        insurance_services.policy_buyer_set(
            tenant=tenant_a, actor=owner, policy=policy, buyer=payer, kind="excluded"
        )
        withdrawn = cover_services.dcl_refresh(tenant=tenant_a, as_of=TODAY)
        payer_kinds = list(
            CoverDecision.objects.filter(cover__buyer=payer)
            .order_by("id")
            .values_list("kind", "amount")
        )
        in_force = cover_on(tenant_a, payer, TODAY)

    assert granted == 2 and repeated == 0
    assert set(covers) == {"Reported", "Payer"}
    assert covers["Reported"].amount == Decimal("18000")  # own limit below the DCL maximum
    assert covers["Reported"].evidence["reasons"] == [
        "report_recent",
        "too_few_payments",
        "capped_by_own_limit",
    ]
    assert covers["Payer"].amount == Decimal("25000")
    assert covers["Payer"].evidence["on_time_payments"] == 2
    assert covers["Payer"].policy_id == policy.pk
    assert reduced == 1 and withdrawn == 1
    assert payer_kinds == [
        ("grant", Decimal("25000.00")),
        ("reduction", Decimal("10000.00")),
        ("withdrawal", Decimal("0.00")),
    ]
    assert in_force == 0  # a DCL withdrawal has no insurer's notice period


def test_on_time_payments_in_the_database_follow_the_pure_rule(tenant_a, buyer):
    from buyers.models import Invoice
    from policies.insurance.dcl import paid_on_time
    from policies.insurance.policy_selectors import on_time_q

    as_of, lookback = TODAY, 365
    cases = [
        ("paid", TODAY - timedelta(days=10), TODAY - timedelta(days=10)),
        ("paid", TODAY - timedelta(days=10), TODAY - timedelta(days=9)),
        ("paid", TODAY, TODAY - timedelta(days=lookback)),
        ("paid", TODAY, TODAY - timedelta(days=lookback + 1)),
        ("paid", TODAY + timedelta(days=30), TODAY + timedelta(days=1)),
        ("partially_paid", TODAY, TODAY - timedelta(days=5)),
    ]
    with active(tenant_a):
        for status, due, paid in cases:
            InvoiceFactory(
                buyer=buyer,
                issue_date=due - timedelta(days=30),
                due_date=due,
                paid_amount=Decimal("1000") if status == "paid" else Decimal("10"),
                paid_date=paid,
                status=status,
            )
        in_sql = set(
            Invoice.objects.filter(on_time_q(as_of=as_of, lookback_days=lookback)).values_list(
                "due_date", "paid_date"
            )
        )
    expected = {
        (due, paid)
        for status, due, paid in cases
        if paid_on_time(
            status=status, due_date=due, paid_date=paid, as_of=as_of, lookback_days=lookback
        )
    }

    assert in_sql == expected
    assert len(expected) == 2
