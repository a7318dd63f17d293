"""Builders for the overdue-notification tests: a policy with terms, a buyer under it, open
invoices and the `InvoiceCoverage` rows the daily sweep would write for them (create with the
tenant active)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from creditguard.reference.models import FxRate
from policies.models import InvoiceCoverage
from tests.factories import (
    BuyerFactory,
    InsurancePolicyFactory,
    InvoiceFactory,
    PolicyVersionFactory,
)

AS_OF = date.today()


def policy_with_terms(tenant, **terms):
    policy = InsurancePolicyFactory(tenant=tenant, insurer="Allianz Trade", number="TCI-518233")
    PolicyVersionFactory(
        policy=policy,
        tenant=tenant,
        version=1,
        period_start=AS_OF - timedelta(days=400),
        period_end=AS_OF + timedelta(days=300),
        effective_from=AS_OF - timedelta(days=400),
        covered_countries=["DE", "CN"],
        **terms,
    )
    return policy


def covered_invoice(policy, buyer, *, due_days_ago: int, amount="1000.00", currency="EUR", **kw):
    """An open invoice due `due_days_ago` days ago and its coverage row (60 days' maximum
    extension, 30 days to notify: the factory's terms)."""
    due = AS_OF - timedelta(days=due_days_ago)
    invoice = InvoiceFactory(
        buyer=buyer,
        tenant=buyer.tenant,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        currency=currency,
        **kw,
    )
    InvoiceCoverage.objects.create(
        tenant=buyer.tenant,
        invoice=invoice,
        policy=policy,
        buyer=buyer,
        as_of=AS_OF,
        due_date=due,
        outstanding=invoice.amount - invoice.paid_amount,
        insured=Decimal("0"),
        uninsured=invoice.amount - invoice.paid_amount,
        over_cover=Decimal("0"),
        disputed=False,
        extension_end=due + timedelta(days=60),
        notify_by=due + timedelta(days=90),
        earliest_claim=due + timedelta(days=180),
        claim_by=due + timedelta(days=270),
        notified=False,
        cover_lost=False,
    )
    return invoice


def chinese_buyer(tenant):
    return BuyerFactory(
        tenant=tenant,
        legal_name="上海华东贸易有限公司",
        registration_number="91310000MA1FL0XX1",
        vat_number="CN913100001",
        country_id="CN",
        address="浦东新区世纪大道100号",
        city="上海",
        currency="CNY",
    )


def usd_rate(on: date = AS_OF, units_per_eur: str = "1.0850") -> None:
    FxRate.objects.get_or_create(
        currency="USD", rate_date=on, defaults={"units_per_eur": Decimal(units_per_eur)}
    )
