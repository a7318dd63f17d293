"""A small book for the report tests: three buyers under one credit-insurance policy.

- "Elbe Maschinenbau GmbH" (DE, covered country): 50,000 open, 30,000 of it 40 days overdue;
  limit 40,000 (over it), cover 30,000 (exposure above cover); downgraded from grade 4 to 7 in
  the month, with an open alert.
- "上海华东贸易有限公司" (CN, covered country): 20,000 current; no limit, cover 100,000.
- "Great Lakes Tools Inc." (US, outside the covered countries): 30,000 overdue 10 days; limit
  50,000; no cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from buyers.models import Buyer
from creditguard.dates import today
from policies.models import InsurancePolicy
from policies.services.coverage import coverage_sweep
from tests.factories import (
    AlertFactory,
    BuyerFactory,
    BuyerScoreFactory,
    CreditLimitFactory,
    FinancialStatementFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    PolicyVersionFactory,
)

CHINESE_NAME = "上海华东贸易有限公司"
FACTOR = {
    "factor": "overdue_share",
    "label": "Overdue share",
    "message": "%(share)s%% of the exposure is overdue.",
    "params": {"share": "60.0"},
    "points": -12,
    "weight": 0.2,
    "value": 0.6,
}


@dataclass
class Book:
    german: Buyer
    chinese: Buyer
    american: Buyer
    policy: InsurancePolicy
    period: str  # the month the scores changed in ("YYYY-MM")


def invoice(buyer: Buyer, *, amount: str, days_past_due: int) -> None:
    due = today() - timedelta(days=days_past_due)
    InvoiceFactory(
        buyer=buyer, amount=Decimal(amount), issue_date=due - timedelta(days=30), due_date=due
    )


def make_book(tenant, *, prefix: str = "") -> Book:
    """Create the book in `tenant` (active); `prefix` marks the names of another tenant's."""
    day = today()
    this_month = day.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    policy = InsurancePolicyFactory(tenant=tenant, insurer="Allianz Trade", number="TCI-REPORT-1")
    PolicyVersionFactory(
        policy=policy,
        covered_countries=["DE", "CN"],
        period_start=date(day.year, 1, 1),
        period_end=date(day.year, 12, 31),
    )
    german = BuyerFactory(
        tenant=tenant, legal_name=f"{prefix}Elbe Maschinenbau GmbH", erp_reference="C-DE-1"
    )
    chinese = BuyerFactory(
        tenant=tenant,
        legal_name=f"{prefix}{CHINESE_NAME}",
        erp_reference="C-CN-1",
        country_id="CN",
        city="上海",
    )
    american = BuyerFactory(
        tenant=tenant,
        legal_name=f"{prefix}Great Lakes Tools Inc.",
        erp_reference="C-US-1",
        country_id="US",
    )
    invoice(german, amount="20000", days_past_due=-10)
    invoice(german, amount="30000", days_past_due=40)
    invoice(chinese, amount="20000", days_past_due=-20)
    invoice(american, amount="30000", days_past_due=10)
    CreditLimitFactory(buyer=german, amount=Decimal("40000"))
    CreditLimitFactory(buyer=american, amount=Decimal("50000"))
    InsurerCoverFactory(
        buyer=german, policy=policy, insurer="Allianz Trade", amount=Decimal("30000")
    )
    InsurerCoverFactory(
        buyer=chinese, policy=policy, insurer="Allianz Trade", amount=Decimal("100000")
    )
    FinancialStatementFactory(buyer=german, source="annual report")
    BuyerScoreFactory(buyer=german, period=last_month, grade=4, score=Decimal("66.00"))
    BuyerScoreFactory(
        buyer=german, period=this_month, grade=7, score=Decimal("48.50"), factors=[FACTOR]
    )
    BuyerScoreFactory(buyer=chinese, period=this_month, grade=2, score=Decimal("81.00"))
    AlertFactory(buyer=german, title=f"{prefix}Payment 40 days late", severity="high")
    coverage_sweep(tenant=tenant, as_of=day)
    return Book(german, chinese, american, policy, f"{this_month:%Y-%m}")
