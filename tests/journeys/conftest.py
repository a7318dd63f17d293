"""Committed rows for the browser journeys (the live server reads them through its own
connection, so every journey is a transactional test; the rows are flushed after each one).

`acme` is a small portfolio in EUR: three graded buyers with invoices, one open alert, a
credit policy with three bands, and four members — an administrator who may override the
policy (also a viewer of a second tenant), a credit manager, an analyst and a viewer.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from creditguard.accounts.models import Membership
from creditguard.dates import today
from creditguard.tenancy.context import tenant_context
from tests.factories import (
    AlertFactory,
    BuyerFactory,
    BuyerScoreFactory,
    FinancialStatementFactory,
    InvoiceFactory,
    TenantFactory,
)
from tests.policies.conftest import member, policy_with_bands

ADMIN = "anna@acme.example"
MANAGER = "carl@acme.example"
ANALYST = "lina@acme.example"
VIEWER = "vera@acme.example"


@dataclass(frozen=True)
class Acme:
    tenant_id: int
    other_tenant_name: str
    hanse: int  # grade 3, 120,000 EUR of which 80,000 overdue, one open alert
    lyon: int  # grade 5, 30,000 EUR not due
    risky: int  # grade 9, 10,000 EUR overdue
    alert: int


def _graded_buyer(tenant, name: str, country: str, grade: int, reference: str):
    buyer = BuyerFactory(
        tenant=tenant, legal_name=name, country_id=country, erp_reference=reference
    )
    BuyerScoreFactory(buyer=buyer, grade=grade, period=date(2026, 1, 1))
    FinancialStatementFactory(buyer=buyer, equity=Decimal("10000000"), revenue=Decimal("20000000"))
    return buyer


def _invoice(buyer, reference: str, amount: str, due_in_days: int) -> None:
    InvoiceFactory(
        buyer=buyer,
        tenant=buyer.tenant,
        erp_reference=reference,
        amount=Decimal(amount),
        currency="EUR",
        issue_date=today() - timedelta(days=60),
        due_date=today() + timedelta(days=due_in_days),
    )


@pytest.fixture
def acme(transactional_db) -> Acme:
    tenant = TenantFactory(name="Acme Journeys GmbH", slug="acme-journeys", base_currency="EUR")
    other = TenantFactory(name="Beta Journeys Ltd", slug="beta-journeys", base_currency="EUR")
    with tenant_context(tenant):
        admin = member(tenant, "admin", ADMIN, "2000000")
        admin.first_name, admin.last_name = "Anna", "Berger"
        admin.save(update_fields=["first_name", "last_name"])
        manager = member(tenant, "credit_manager", MANAGER, "500000")
        manager.first_name, manager.last_name = "Carl", "Vogel"
        manager.save(update_fields=["first_name", "last_name"])
        member(tenant, "analyst", ANALYST)
        member(tenant, "viewer", VIEWER)
        policy_with_bands(tenant)
        hanse = _graded_buyer(tenant, "Hanse Stahlhandel AG", "DE", 3, "C-100")
        _invoice(hanse, "INV-100-1", "80000.00", -20)
        _invoice(hanse, "INV-100-2", "40000.00", 30)
        lyon = _graded_buyer(tenant, "Lyon Métaux SA", "FR", 5, "C-200")
        _invoice(lyon, "INV-200-1", "30000.00", 25)
        risky = _graded_buyer(tenant, "Risky Trading Ltd", "GB", 9, "C-300")
        _invoice(risky, "INV-300-1", "10000.00", -45)
        alert = AlertFactory(
            buyer=hanse,
            tenant=tenant,
            severity="high",
            title="Hanse Stahlhandel AG: 80,000 EUR overdue for 20 days",
        )
    with tenant_context(other):
        Membership.objects.create(tenant=other, user=admin, role="viewer")
    return Acme(
        tenant_id=tenant.pk,
        other_tenant_name=other.name,
        hanse=hanse.pk,
        lyon=lyon.pk,
        risky=risky.pk,
        alert=alert.pk,
    )
