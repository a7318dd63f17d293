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
    "monitoring.PdCalibration",
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


# The tenant with six years of history (nordwind) trains a scorecard: fewer buyers than the
# demo's still give it enough defaults.
SEED = {"buyers": 40, "history_buyers": 300, "verbosity": 0}
# Claims come from insolvent buyers' notified invoices in the claim window (6-9 months ago):
# 300 simulated buyers may have none there (the demo's 1,300 have some).
THIN_IN_THE_TEST = {("nordwind", "claims.Claim")}


def model_lab(slug: str) -> dict[str, object]:
    from monitoring.modellab.lifecycle import pending_request
    from monitoring.models import BackfillRun, ModelScore, ScoringModel

    with tenant_context(Tenant.objects.get(slug=slug)):
        models = list(ScoringModel.objects.all())
        return {
            "backfills": list(BackfillRun.objects.values_list("status", flat=True)),
            "models": [(model.status, pending_request(model)) for model in models],
            "requested_by": [model.promotion_requested_by.username for model in models],
            "test_auc": [model.metrics["test"]["model"]["auc"] for model in models],
            "shadow_scores": ModelScore.objects.count(),
        }


@pytest.mark.django_db(transaction=True)
def test_the_demo_seed_fills_every_module_and_a_second_run_changes_nothing():
    from monitoring.modellab.lifecycle import PendingRequest
    from monitoring.models import ScoringModel

    call_command("seed_demo", **SEED, stdout=StringIO())
    first = counts()
    first_lab = model_lab("nordwind")
    call_command("seed_demo", **SEED, stdout=StringIO())

    assert counts() == first
    assert model_lab("nordwind") == first_lab
    assert set(first) == {"acme", "huadong", "nordwind"}
    for slug, per_model in first.items():
        empty = [
            label
            for label, count in per_model.items()
            if count == 0 and (slug, label) not in THIN_IN_THE_TEST
        ]
        assert empty == [], f"{slug}: nothing seeded for {empty}"
        assert per_model["buyers.Invoice"] > 40 * 40
        assert per_model["monitoring.PdCalibration"] == 1, slug
    # The model lab's tenant: history back-filled, a scorecard trained and in shadow mode, its
    # shadow scores beside the official ones, its promotion waiting for a second person.
    assert first["nordwind"]["buyers.Buyer"] == 300
    assert first_lab["backfills"] == ["succeeded"]
    assert first_lab["models"] == [(ScoringModel.Status.SHADOW, PendingRequest.PROMOTION)]
    assert first_lab["requested_by"] == ["credit.manager@nordwind.example"]
    assert float(first_lab["test_auc"][0]) > 0.7
    assert first_lab["shadow_scores"] > 250
