"""Which policy covers a buyer, the terms in force, and the cover in force on a day: the pure,
ORM and SQL versions of each rule agree."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from policies.insurance import cover, scope
from policies.models import PolicyBuyer
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    CoverDecisionFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    PolicyVersionFactory,
)

DAY = date(2026, 6, 30)
COUNTRIES = ["DE", "FR", "CN", "US", "PL"]


def test_in_scope_by_name_and_country():
    assert scope.in_scope(country="DE", named=None, covered_countries=["DE"])
    assert not scope.in_scope(country="US", named=None, covered_countries=["DE"])
    assert scope.in_scope(country="US", named="included", covered_countries=["DE"])
    assert not scope.in_scope(country="DE", named="excluded", covered_countries=["DE"])


def test_version_in_force_is_the_latest_effective(tenant_a):
    with active(tenant_a):
        policy = InsurancePolicyFactory(tenant=tenant_a)
        first = PolicyVersionFactory(
            policy=policy, version=1, effective_from=date(2026, 1, 1), period_start=date(2026, 1, 1)
        )
        second = PolicyVersionFactory(
            policy=policy, version=2, effective_from=date(2026, 7, 1), period_start=date(2026, 1, 1)
        )
        assert scope.version_in_force(policy=policy, on=date(2025, 12, 31)) is None
        assert scope.version_in_force(policy=policy, on=DAY) == first
        assert scope.version_in_force(policy=policy, on=date(2026, 7, 1)) == second
        assert scope.versions_in_force(on=DAY) == {policy.pk: first}


@pytest.mark.parametrize("seed", range(6))
def test_orm_and_sql_agree_with_the_pure_rule(tenant_a, seed):
    rng = random.Random(seed)
    with active(tenant_a):
        policies = []
        for _ in range(3):
            policy = InsurancePolicyFactory(tenant=tenant_a)
            PolicyVersionFactory(
                policy=policy,
                version=1,
                effective_from=date(2026, 1, 1),
                period_start=date(2026, 1, 1),
                covered_countries=rng.sample(COUNTRIES, rng.randint(0, 3)),
            )
            policies.append(policy)
        # A later policy whose terms start after the day: covers nobody yet.
        future = InsurancePolicyFactory(tenant=tenant_a)
        PolicyVersionFactory(
            policy=future, version=1, effective_from=date(2027, 1, 1), covered_countries=COUNTRIES
        )
        buyers = [
            BuyerFactory(tenant=tenant_a, country_id=rng.choice(COUNTRIES)) for _ in range(25)
        ]
        named: dict[tuple[int, int], str] = {}
        for buyer in buyers:
            for policy in policies:
                if rng.random() < 0.2:
                    kind = rng.choice(["included", "excluded"])
                    PolicyBuyer.objects.create(
                        tenant=tenant_a, policy=policy, buyer=buyer, kind=kind
                    )
                    named[(policy.pk, buyer.pk)] = kind

        versions = scope.versions_in_force(on=DAY)
        expected: dict[int, int] = {}
        for buyer in buyers:
            candidates = [
                policy.pk
                for policy in policies
                if scope.in_scope(
                    country=buyer.country_id,
                    named=named.get((policy.pk, buyer.pk)),
                    covered_countries=versions[policy.pk].covered_countries,
                )
            ]
            by_name = [pk for pk in candidates if named.get((pk, buyer.pk)) == "included"]
            if candidates:
                expected[buyer.pk] = min(by_name or candidates)

        assert scope.policy_of_buyers(on=DAY) == expected
        for policy in [*policies, future]:
            orm = set(scope.covered_buyers(policy=policy, on=DAY).values_list("pk", flat=True))
            assert orm == {pk for pk, policy_id in expected.items() if policy_id == policy.pk}
        some = [buyer.pk for buyer in buyers[:5]]
        assert scope.policy_of_buyers(buyer_ids=some, on=DAY) == {
            pk: expected[pk] for pk in some if pk in expected
        }


def test_effective_date_waits_for_the_notice_only_for_reductions():
    day = date(2026, 3, 1)
    assert cover.effective_date(kind="grant", decision_date=day, notice_days=30) == day
    assert cover.effective_date(kind="increase", decision_date=day, notice_days=30) == day
    assert cover.effective_date(kind="refusal", decision_date=day, notice_days=30) == day
    later = date(2026, 3, 31)
    assert cover.effective_date(kind="reduction", decision_date=day, notice_days=30) == later
    assert cover.effective_date(kind="withdrawal", decision_date=day, notice_days=30) == later


def test_amount_in_force_hand_computed():
    decisions = [
        cover.DecisionFigure(1, "grant", Decimal("100000"), date(2026, 1, 10)),
        cover.DecisionFigure(2, "reduction", Decimal("40000"), date(2026, 4, 1)),
        cover.DecisionFigure(3, "withdrawal", Decimal("0"), date(2026, 9, 1)),
    ]
    assert cover.amount_in_force(decisions, date(2026, 1, 9)) == 0
    assert cover.amount_in_force(decisions, date(2026, 3, 31)) == Decimal("100000")
    assert cover.amount_in_force(decisions, date(2026, 4, 1)) == Decimal("40000")
    assert cover.amount_in_force(decisions, date(2026, 9, 1)) == 0
    expiring = [cover.DecisionFigure(1, "grant", Decimal("5"), date(2026, 1, 1), date(2026, 2, 1))]
    assert cover.amount_in_force(expiring, date(2026, 2, 1)) == Decimal("5")
    assert cover.amount_in_force(expiring, date(2026, 2, 2)) == 0


@pytest.mark.parametrize("seed", range(4))
def test_cover_in_force_sql_agrees_with_the_pure_rule(tenant_a, seed):
    rng = random.Random(seed)
    kinds = ["grant", "increase", "reduction", "withdrawal", "refusal", "expiry"]
    start = date(2026, 1, 1)
    with active(tenant_a):
        covers = {}
        for _ in range(8):
            insurer_cover = InsurerCoverFactory(buyer=BuyerFactory(tenant=tenant_a), history=False)
            figures = []
            for _ in range(rng.randint(1, 4)):
                decided = start + timedelta(days=rng.randint(0, 200))
                kind = rng.choice(kinds)
                expiry = (
                    decided + timedelta(days=rng.randint(10, 300)) if rng.random() < 0.3 else None
                )
                decision = CoverDecisionFactory(
                    cover=insurer_cover,
                    kind=kind,
                    amount=Decimal(rng.randint(0, 9) * 10000),
                    decision_date=decided,
                    effective_date=cover.effective_date(
                        kind=kind, decision_date=decided, notice_days=rng.choice([0, 30])
                    ),
                    expiry_date=expiry,
                )
                figures.append(
                    cover.DecisionFigure(
                        decision.pk, kind, decision.amount, decision.effective_date, expiry
                    )
                )
            covers[insurer_cover.pk] = figures
        for day in (start, start + timedelta(days=90), start + timedelta(days=240)):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"WITH {cover.COVER_IN_FORCE_CTE} SELECT cover_id, amount FROM cover_in_force",
                    {"tenant": tenant_a.pk, "as_of": day},
                )
                sql = {cover_id: amount for cover_id, amount in cursor.fetchall()}
            pure = {
                pk: amount
                for pk, figures in covers.items()
                if (amount := cover.amount_in_force(figures, day)) > 0
            }
            assert sql == pure
