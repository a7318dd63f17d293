"""The demo limits: a policy, limits and cover for most buyers, pending and over-limit cases;
and the insurance under which the covers are: two policies with their history, notifications,
declarations and the sweep's figures."""

from datetime import date

import pytest
from django.core.management import call_command

from buyers.demo import seed_demo_buyers
from policies import selectors
from policies.demo import seed_demo_policies
from policies.models import (
    CoverDecision,
    CreditLimit,
    CreditPolicy,
    Declaration,
    DeclarationAdjustment,
    InsurancePolicy,
    InsurerCover,
    InvoiceCoverage,
    LimitRequest,
    OverdueNotification,
    PolicyVersion,
)
from tests.conftest import active
from tests.policies.conftest import member

AS_OF = date(2026, 11, 2)


@pytest.fixture
def demo_tenant(tenant_a):
    call_command("import_fx_rates", demo=True, verbosity=0)
    with active(tenant_a):
        member(tenant_a, "analyst", "analyst@demo.example")
        member(tenant_a, "credit_manager", "manager@demo.example", "500000")
        member(tenant_a, "credit_manager", "senior@demo.example", "5000000")
    seed_demo_buyers(tenant=tenant_a, buyer_count=60, as_of=AS_OF)
    return tenant_a


@pytest.mark.django_db
def test_the_demo_seeds_a_policy_limits_cover_requests_and_over_limit_buyers(demo_tenant):
    assert seed_demo_policies(tenant=demo_tenant, as_of=AS_OF) is True

    with active(demo_tenant):
        buyers = 60
        assert CreditPolicy.objects.count() == 1
        assert CreditLimit.objects.count() >= buyers * 0.7
        assert InsurerCover.objects.count() >= buyers * 0.4
        assert LimitRequest.objects.filter(status="pending").count() >= 3
        assert LimitRequest.objects.filter(status="information_requested").count() == 1
        over = selectors.limits_overview(tenant=demo_tenant, state="over_limit", as_of=AS_OF)
        assert over.count() >= 3


@pytest.mark.django_db
def test_the_demo_insures_most_buyers_under_a_domestic_and_an_export_policy(demo_tenant):
    seed_demo_policies(tenant=demo_tenant, as_of=AS_OF)

    with active(demo_tenant):
        assert InsurancePolicy.objects.count() == 2
        # Last year's terms, the renewal, and the export policy's mid-term endorsement.
        assert PolicyVersion.objects.count() >= 4
        assert not InsurerCover.objects.filter(policy__isnull=True).exists()
        assert InsurerCover.objects.filter(kind="named").count() >= 60 * 0.4
        assert InsurerCover.objects.filter(kind="discretionary").exists()
        assert CoverDecision.objects.filter(kind="reduction").exists()
        statuses = set(OverdueNotification.objects.values_list("status", flat=True))
        assert {"sent", "proposed"} <= statuses
        assert Declaration.objects.filter(status="submitted").exists()
        assert Declaration.objects.exclude(status="submitted").exists()
        assert DeclarationAdjustment.objects.filter(kind="year_end").count() == 2
        coverage = InvoiceCoverage.objects.all()
        assert coverage.filter(insured__gt=0).exists()
        assert coverage.filter(over_cover__gt=0).exists()


@pytest.mark.django_db
def test_seeding_the_demo_twice_changes_nothing(demo_tenant):
    seed_demo_policies(tenant=demo_tenant, as_of=AS_OF)
    with active(demo_tenant):
        before = (CreditLimit.objects.count(), LimitRequest.objects.count())

    assert seed_demo_policies(tenant=demo_tenant, as_of=AS_OF) is False
    with active(demo_tenant):
        assert (CreditLimit.objects.count(), LimitRequest.objects.count()) == before
