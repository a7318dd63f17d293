"""Demo data for the dashboard: the portfolio's past month-end snapshots, so the DSO trend shows a
year at once instead of filling in month by month.

Each month-end is computed from the demo invoices with the ledger's expressions
(`buyers.ledger`): an invoice was open at a month-end when it had been issued and was not yet
paid; its outstanding then was its whole amount when it has been paid since, and today's
outstanding when it is still open (the demo does not date partial payments). The insured part is
today's share of exposure insured (the coverage sweep keeps no history).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from buyers import ledger
from buyers.models import Buyer, BuyerFigures, Invoice, PortfolioSnapshot
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from .selectors import DSO_WINDOW_DAYS, month_ends

ZERO = Decimal("0.00")


def _total(invoices: QuerySet[Invoice], expression: object) -> Decimal:
    return invoices.aggregate(
        total=Coalesce(Sum(expression), ZERO, output_field=ledger.MONEY_FIELD)
    )["total"]


def _outstanding_at(
    invoices: QuerySet[Invoice], *, month_end: date, factors: dict[str, Decimal]
) -> Decimal:
    issued = invoices.filter(issue_date__lte=month_end)
    paid_since = issued.filter(paid_date__gt=month_end).exclude(ledger.open_q())
    still_open = issued.filter(ledger.open_q())
    return _total(paid_since, ledger.amount_in_base(factors)) + _total(
        still_open, ledger.outstanding_in_base(factors)
    )


def seed_demo_portfolio_history(*, tenant: Tenant, as_of: date) -> int:
    """The missing month-end snapshots of the last twelve months; returns how many were added."""
    added = 0
    with tenant_context(tenant):
        present = set(PortfolioSnapshot.objects.values_list("as_of", flat=True))
        missing = [end for end in month_ends(as_of=as_of) if end not in present]
        if not missing:
            return 0
        figures = BuyerFigures.objects.aggregate(
            exposure=Coalesce(Sum("exposure"), ZERO), insured=Coalesce(Sum("insured"), ZERO)
        )
        insured_share = (
            figures["insured"] / figures["exposure"] if figures["exposure"] > 0 else Decimal(0)
        )
        buyer_count = Buyer.objects.count()
        invoices = Invoice.objects.all()
        for month_end in missing:
            factors = ledger.base_factors(fx_rates_on(month_end), base=tenant.base_currency)
            exposure = _outstanding_at(invoices, month_end=month_end, factors=factors)
            overdue = _outstanding_at(
                invoices.filter(due_date__lt=month_end), month_end=month_end, factors=factors
            )
            sales = _total(
                invoices.filter(
                    Q(issue_date__gt=month_end - timedelta(days=DSO_WINDOW_DAYS))
                    & Q(issue_date__lte=month_end)
                ),
                ledger.amount_in_base(factors),
            )
            PortfolioSnapshot.objects.create(
                tenant=tenant,
                as_of=month_end,
                exposure=exposure,
                overdue=overdue,
                insured=(exposure * insured_share).quantize(ZERO),
                credit_sales_365=sales,
                buyer_count=buyer_count,
            )
            added += 1
    return added
