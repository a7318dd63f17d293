"""Buyers and members for the approval-rule tests (service, pages, API), on the bands of
`tests.policies.conftest.BANDS`: grades 1–4 (90 days, 1,000,000, 15 % equity, 8 % revenue),
5–7 (60 days, 300,000, 10 %, 5 %, insurance required above 100,000) and 8–10 (30 days,
25,000, always four-eyes); lowest acceptable grade 8."""

from datetime import date
from decimal import Decimal

from policies import services
from policies.models import LimitRequest
from tests.conftest import active
from tests.factories import BuyerFactory, BuyerScoreFactory, FinancialStatementFactory
from tests.policies.conftest import member


def graded_buyer(tenant, grade: int, *, equity: str | None = "10000000", reference: str = ""):
    """A buyer with `grade` and, unless `equity` is None, accounts on file (revenue 20 M)."""
    with active(tenant):
        buyer = BuyerFactory(tenant=tenant, erp_reference=reference or f"G-{grade}")
        BuyerScoreFactory(buyer=buyer, grade=grade, period=date(2026, 1, 1))
        if equity is not None:
            FinancialStatementFactory(
                buyer=buyer, equity=Decimal(equity), revenue=Decimal("20000000")
            )
        return buyer


def head_of_credit(tenant, email: str = "head@a.example"):
    """An administrator (may change, and so override, the credit policy) with authority."""
    with active(tenant):
        return member(tenant, "admin", email, "2000000")


def limit_request(tenant, buyer, requester, amount: str, terms: int) -> LimitRequest:
    with active(tenant):
        return services.limit_request_create(
            tenant=tenant,
            actor=requester,
            buyer=buyer,
            amount=Decimal(amount),
            payment_terms_days=terms,
            justification="Seasonal peak",
        )
