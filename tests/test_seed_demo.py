"""`manage.py seed_demo` builds a portfolio that shows every capability, and is idempotent."""

from io import StringIO

import pytest
from django.core.management import call_command

from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

COUNTED = [
    "buyers.Buyer",
    "buyers.Invoice",
    "buyers.Payment",
    "buyers.FinancialStatement",
    "buyers.Dispute",
    "buyers.PaymentPlan",
    "monitoring.BuyerScore",
    "monitoring.Alert",
    "monitoring.LegalEvent",
    "policies.CreditLimit",
    "policies.LimitRequest",
    "policies.InsurerCover",
    "policies.InsurancePolicy",
    "policies.CoverDecision",
    "policies.OverdueNotification",
    "policies.Declaration",
    "policies.InvoiceCoverage",
    "claims.Claim",
    "accounts.Membership",
]


def counts() -> dict[str, dict[str, int]]:
    from django.apps import apps

    result = {}
    for tenant in Tenant.objects.order_by("slug"):
        with tenant_context(tenant):
            result[tenant.slug] = {
                label: apps.get_model(label).objects.count() for label in COUNTED
            }
    return result


@pytest.mark.django_db(transaction=True)
def test_the_demo_seed_fills_every_module_and_a_second_run_changes_nothing():
    call_command("seed_demo", buyers=40, verbosity=0, stdout=StringIO())
    first = counts()
    call_command("seed_demo", buyers=40, verbosity=0, stdout=StringIO())

    assert counts() == first
    assert set(first) == {"acme", "huadong"}
    for slug, per_model in first.items():
        empty = [label for label, count in per_model.items() if count == 0]
        assert empty == [], f"{slug}: nothing seeded for {empty}"
        assert per_model["buyers.Invoice"] > 40 * 40
