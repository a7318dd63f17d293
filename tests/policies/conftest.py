"""Fixtures for limits: a credit policy, a buyer with a grade, and members with authority.

Tenant A (the standing `owner`, `teammate`, `outsider` come from tests/conftest.py) gets:
- `requester`: analyst, may request limits;
- `manager`: credit manager with 500,000 EUR approval authority;
- `senior`: credit manager with 5,000,000 EUR;
- `viewer`: may only look.
"""

from datetime import date
from decimal import Decimal

import pytest

from creditguard.accounts.models import Membership
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    BuyerScoreFactory,
    CreditPolicyBandFactory,
    CreditPolicyFactory,
    MembershipFactory,
)

# (grade_from, grade_to, terms, max limit, % equity, % revenue, insurance above, level)
BANDS = [
    (1, 4, 90, "1000000", "15", "8", None, "standard"),
    (5, 7, 60, "300000", "10", "5", "100000", "standard"),
    (8, 10, 30, "25000", None, None, None, "four_eyes"),
]


def policy_with_bands(tenant, **overrides):
    """A credit policy version with the three bands above (create with the tenant active)."""
    policy = CreditPolicyFactory(tenant=tenant, **overrides)
    for low, high, terms, maximum, equity, revenue, insured, level in BANDS:
        CreditPolicyBandFactory(
            policy=policy,
            grade_from=low,
            grade_to=high,
            max_payment_terms_days=terms,
            max_limit=Decimal(maximum),
            max_limit_equity_pct=Decimal(equity) if equity else None,
            max_limit_revenue_pct=Decimal(revenue) if revenue else None,
            insurance_required_above=Decimal(insured) if insured else None,
            approval_level=level,
        )
    return policy


def member(tenant, role: str, email: str, authority: str = "0", currency: str = "EUR"):
    """A user with a membership in `tenant` (activate the tenant first)."""
    return MembershipFactory(
        tenant=tenant,
        role=role,
        user__email=email,
        approval_authority=Decimal(authority),
        approval_currency=currency,
    ).user


@pytest.fixture
def policy(tenant_a):
    with active(tenant_a):
        return policy_with_bands(tenant_a)


@pytest.fixture
def buyer(tenant_a):
    """A buyer graded 3 (low risk)."""
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")
        BuyerScoreFactory(buyer=buyer, grade=3, period=date(2026, 1, 1))
        return buyer


@pytest.fixture
def requester(tenant_a):
    with active(tenant_a):
        return member(tenant_a, "analyst", "requester@a.example")


@pytest.fixture
def manager(tenant_a):
    with active(tenant_a):
        return member(tenant_a, "credit_manager", "manager@a.example", "500000")


@pytest.fixture
def senior(tenant_a):
    with active(tenant_a):
        return member(tenant_a, "credit_manager", "senior@a.example", "5000000")


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return member(tenant_a, "viewer", "viewer@a.example")


def membership_of(user, tenant):
    with active(tenant):
        return Membership.objects.get(user=user)
