"""Template files: per import kind, the header row (every field, named as the mapping expects,
so the columns map themselves) and one example row.

The example rows belong together: the invoice is the example buyer's, the payment pays the
example invoice. Imported in the order buyers, invoices, payments, statements, each template
imports without a problem.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ..exports import csv_bytes, xlsx_bytes
from ..models import ImportJob
from .mapping import import_fields

TEMPLATE_FORMATS = ("csv", "xlsx")

EXAMPLE_ROWS: dict[str, dict[str, Any]] = {
    ImportJob.Kind.BUYERS: {
        "erp_reference": "B-1001",
        "legal_name": "Muster Handels GmbH",
        "registration_number": "HRB 12345",
        "vat_number": "DE123456789",
        "lei": "",
        "country": "DE",
        "city": "Hamburg",
        "address": "Hafenstraße 1",
        "nace_code": "46.69",
        "parent_erp_reference": "",
        "currency": "EUR",
        "payment_terms_days": 30,
        "status": "active",
    },
    ImportJob.Kind.INVOICES: {
        "erp_reference": "INV-1001",
        "buyer_erp_reference": "B-1001",
        "number": "2026-0001",
        "issue_date": date(2026, 1, 15),
        "due_date": date(2026, 2, 14),
        "amount": Decimal("12500.00"),
        "currency": "EUR",
        "paid_amount": Decimal("0.00"),
        "paid_date": None,
        "status": "",
    },
    ImportJob.Kind.PAYMENTS: {
        "erp_reference": "PAY-1001",
        "buyer_erp_reference": "B-1001",
        "received_date": date(2026, 2, 10),
        "amount": Decimal("5000.00"),
        "currency": "EUR",
        "invoice_erp_reference": "INV-1001",
        "allocated_amount": Decimal("5000.00"),
    },
    ImportJob.Kind.FINANCIAL_STATEMENTS: {
        "buyer_erp_reference": "B-1001",
        "period_end": date(2025, 12, 31),
        "period_months": 12,
        "currency": "EUR",
        "revenue": Decimal("12000000.00"),
        "ebit": Decimal("900000.00"),
        "net_income": Decimal("600000.00"),
        "total_assets": Decimal("8000000.00"),
        "current_assets": Decimal("3500000.00"),
        "current_liabilities": Decimal("2000000.00"),
        "total_liabilities": Decimal("5000000.00"),
        "retained_earnings": Decimal("1500000.00"),
        "equity": Decimal("3000000.00"),
        # The optional figures (a column may be left out or a cell left empty).
        "interest_expense": Decimal("150000.00"),
        "gross_profit": Decimal("4200000.00"),
        "depreciation_amortisation": Decimal("350000.00"),
        "cost_of_sales": Decimal("7800000.00"),
        "inventory": Decimal("1200000.00"),
        "trade_receivables": Decimal("1500000.00"),
        "cash": Decimal("400000.00"),
        "short_term_debt": Decimal("600000.00"),
        "provisions": Decimal("250000.00"),
        "prior_period_revenue": Decimal("11000000.00"),
        "audited": "true",
        "source": "annual report",
        "published_on": date(2026, 4, 30),
    },
}


def template_file(*, kind: str, file_format: str) -> bytes:
    """The template of `kind` as CSV (UTF-8 with a byte-order mark, as Excel reads it) or XLSX."""
    columns = [field.name for field in import_fields(kind)]
    row = [EXAMPLE_ROWS[kind][name] for name in columns]
    if file_format == "csv":
        return csv_bytes(columns, [row])
    return xlsx_bytes(columns, [row], title=kind)
