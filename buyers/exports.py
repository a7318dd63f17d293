"""CSV and XLSX exports of buyers and invoices, safe to open in a spreadsheet.

Columns are the import field names, so an exported file maps itself when it is imported again.
Text that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return)
gets a leading apostrophe, as OWASP's CSV-injection guidance recommends; numbers and dates stay
numbers and dates. The import drops that apostrophe again (`buyers.imports`).

Files are built in memory inside the request: the tenant is set in the request's transaction,
so a streaming response would run its queries after the tenant is gone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# The CSV escaping lives in creditguard (every export uses it); re-exported for this app's callers.
from creditguard.spreadsheet import FORMULA_TRIGGERS, csv_bytes, formula_safe  # noqa: F401

from .models import Buyer, Invoice

# Built in memory inside one request. openpyxl needs about 0.1 ms of CPU per invoice row, so
# XLSX stops at 50,000 rows (~5 s) to stay well inside the web server's 30 s timeout; CSV is
# some 40 times cheaper per row.
EXPORT_MAX_ROWS = {"csv": 100_000, "xlsx": 50_000}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

BUYER_COLUMNS = (
    ("erp_reference", "erp_reference"),
    ("legal_name", "legal_name"),
    ("registration_number", "registration_number"),
    ("vat_number", "vat_number"),
    ("lei", "lei"),
    ("country", "country_id"),
    ("city", "city"),
    ("address", "address"),
    ("nace_code", "nace_code"),
    ("parent_erp_reference", "parent__erp_reference"),
    ("currency", "currency"),
    ("payment_terms_days", "payment_terms_days"),
    ("status", "status"),
)
INVOICE_COLUMNS = (
    ("erp_reference", "erp_reference"),
    ("buyer_erp_reference", "buyer__erp_reference"),
    ("number", "number"),
    ("issue_date", "issue_date"),
    ("due_date", "due_date"),
    ("amount", "amount"),
    ("currency", "currency"),
    ("paid_amount", "paid_amount"),
    ("paid_date", "paid_date"),
    ("status", "status"),
)


class ExportTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows")
        self.limit = limit


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def export_table(*, kind: str, max_rows: int, status: str = "", country: str = "") -> Table:
    """The active tenant's buyers or invoices, optionally filtered by status and country."""
    if kind == "buyers":
        columns, rows = BUYER_COLUMNS, Buyer.objects.order_by("erp_reference", "id")
        if country:
            rows = rows.filter(country_id=country.upper())
    elif kind == "invoices":
        columns, rows = INVOICE_COLUMNS, Invoice.objects.order_by("issue_date", "id")
        if country:
            rows = rows.filter(buyer__country_id=country.upper())
    else:
        raise ValueError(f"cannot export {kind!r}")
    if status:
        rows = rows.filter(status=status)
    values = list(rows.values_list(*(lookup for _name, lookup in columns))[: max_rows + 1])
    if len(values) > max_rows:
        raise ExportTooLarge(max_rows)
    return Table(columns=tuple(name for name, _lookup in columns), rows=values)


def _xlsx_value(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, str):
        # Control characters are not allowed in the XML of a worksheet.
        return formula_safe(ILLEGAL_CHARACTERS_RE.sub("", value))
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)  # a number cell, shown with its cents
        cell.number_format = "#,##0.00"
        return cell
    return value  # integers and dates stay typed cells


def xlsx_bytes(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([_xlsx_value(sheet, name) for name in columns])
    for row in rows:
        sheet.append([_xlsx_value(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_file(*, kind: str, file_format: str, status: str = "", country: str = "") -> bytes:
    table = export_table(
        kind=kind, max_rows=EXPORT_MAX_ROWS[file_format], status=status, country=country
    )
    if file_format == "csv":
        return csv_bytes(table.columns, table.rows)
    return xlsx_bytes(table.columns, table.rows, title=kind)
