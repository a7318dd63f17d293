"""The demo shows an approval outside the credit policy, recorded as an override with its
reason, next to approvals within it."""

from datetime import date

import pytest
from django.core.management import call_command

from buyers.demo import seed_demo_buyers
from creditguard.audit.models import AuditEvent
from policies.demo import seed_demo_policies
from policies.models import LimitDecision
from tests.conftest import active
from tests.policies.conftest import member

AS_OF = date(2026, 11, 2)


@pytest.mark.django_db
def test_the_demo_records_one_override_with_its_reason(tenant_a):
    call_command("import_fx_rates", demo=True, verbosity=0)
    with active(tenant_a):
        member(tenant_a, "analyst", "analyst@demo.example")
        member(tenant_a, "credit_manager", "manager@demo.example", "500000")
        member(tenant_a, "credit_manager", "senior@demo.example", "5000000")
        member(tenant_a, "admin", "admin@demo.example", "2000000")
    seed_demo_buyers(tenant=tenant_a, buyer_count=60, as_of=AS_OF)

    seed_demo_policies(tenant=tenant_a, as_of=AS_OF)

    with active(tenant_a):
        overrides = [d for d in LimitDecision.objects.all() if d.is_override]
        assert len(overrides) == 1
        assert overrides[0].decided_by.email == "admin@demo.example"
        assert overrides[0].policy_breaches
        assert "guarantee" in overrides[0].override_reason
        # Every other approval of the demo keeps the policy.
        assert all(not d.policy_breaches for d in LimitDecision.objects.all() if not d.is_override)
        audited = AuditEvent.objects.filter(
            action="limit_request.approve", object_id=str(overrides[0].request_id)
        ).get()
        assert audited.after["policy_override"] is True
