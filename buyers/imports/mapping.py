"""Column mapping: the fields of each import kind (with the header spellings recognised for
them), the automatic and the user's mapping, and the mapped rows keyed by field name."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..exports import FORMULA_TRIGGERS
from ..models import ImportJob
from ..records import STATEMENT_FIGURE_LABELS, STATEMENT_OPTIONAL_FIGURE_LABELS
from .formats import (
    COMMA,
    EXAMPLE_AMOUNT,
    EXAMPLE_DATE,
    POINT,
    ReadOptions,
    ValueFormats,
    amount_reading,
    chosen,
    date_reading,
    guess_date_order,
    guess_number_format,
)
from .reading import Sheet

# --- Target fields ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetField:
    """A field of an import kind: what the user maps one of their columns onto."""

    name: str
    label: Promise
    required: bool = False
    # Other header spellings that map onto this field automatically (compared normalised).
    synonyms: tuple[str, ...] = ()
    # "amount" and "date" values are read in the file's number format and date order.
    value_type: str = "text"


AMOUNT, DATE = "amount", "date"
# Values shaped like an amount or a date in some format; other text ("ten") is left to the
# records' own message.
_AMOUNT_LIKE = re.compile(r"-?[0-9][0-9.,' \u00a0\u202f]*")
_DATE_LIKE = re.compile(r"[0-9]{1,4}(?:[-./][0-9]{1,4}){2}")


_BUYER_REFERENCE_SYNONYMS = (
    "buyer",
    "buyer id",
    "buyer reference",
    "buyer ref",
    "customer",
    "customer id",
    "customer no",
    "customer number",
    "customer reference",
    "debtor",
    "debtor id",
    "debtor no",
    "客户编号",
)

# Header spellings of statement figures other than the figure's name and label.
STATEMENT_FIGURE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "revenue": ("sales", "turnover", "营业收入"),
    "ebit": ("operating profit", "operating income", "operating result"),
    "net_income": ("net profit", "profit", "净利润"),
    "total_assets": ("assets", "总资产"),
    "current_assets": ("流动资产",),
    "current_liabilities": ("流动负债",),
    "total_liabilities": ("liabilities", "总负债"),
    "equity": ("shareholders equity", "book equity", "所有者权益"),
    "interest_expense": ("interest", "interest paid"),
    "depreciation_amortisation": ("depreciation", "d&a", "depreciation and amortization"),
    "cost_of_sales": ("cogs", "cost of goods sold"),
    "inventory": ("inventories", "stock"),
    "trade_receivables": ("accounts receivable", "debtors"),
    "cash": ("cash and cash equivalents",),
    "short_term_debt": ("short term debt", "current borrowings"),
    "prior_period_revenue": ("prior year revenue", "previous year revenue"),
}

IMPORT_FIELDS: dict[str, tuple[TargetField, ...]] = {
    ImportJob.Kind.BUYERS: (
        TargetField(
            "erp_reference",
            gettext_lazy("ERP reference"),
            True,
            (*_BUYER_REFERENCE_SYNONYMS, "erp id", "reference", "account", "客户编号"),
        ),
        TargetField(
            "legal_name",
            gettext_lazy("Legal name"),
            True,
            ("name", "company", "company name", "customer name", "buyer name", "客户名称"),
        ),
        TargetField(
            "registration_number",
            gettext_lazy("Registration number"),
            synonyms=("registration no", "company number", "reg no", "registry number"),
        ),
        TargetField(
            "vat_number",
            gettext_lazy("VAT number"),
            synonyms=("vat", "vat id", "vat no", "tax id", "税号"),
        ),
        TargetField("lei", gettext_lazy("LEI"), synonyms=("legal entity identifier",)),
        TargetField(
            "country",
            gettext_lazy("Country"),
            True,
            ("country code", "iso country", "country iso", "国家"),
        ),
        TargetField("city", gettext_lazy("City"), synonyms=("town", "城市")),
        TargetField("address", gettext_lazy("Address"), synonyms=("street", "地址")),
        TargetField(
            "nace_code",
            gettext_lazy("NACE code"),
            True,
            ("nace", "sector", "industry code", "行业代码"),
        ),
        TargetField(
            "parent_erp_reference",
            gettext_lazy("Parent ERP reference"),
            synonyms=("parent", "parent id", "parent reference", "group reference"),
        ),
        TargetField("currency", gettext_lazy("Currency"), True, ("ccy", "币种")),
        TargetField(
            "payment_terms_days",
            gettext_lazy("Payment terms (days)"),
            synonyms=("payment terms", "terms", "terms days", "付款期限"),
        ),
        TargetField("status", gettext_lazy("Status"), synonyms=("状态",)),
    ),
    ImportJob.Kind.INVOICES: (
        TargetField(
            "erp_reference",
            gettext_lazy("ERP reference"),
            True,
            ("invoice id", "invoice reference", "document id", "reference"),
        ),
        TargetField(
            "buyer_erp_reference",
            gettext_lazy("Buyer ERP reference"),
            True,
            _BUYER_REFERENCE_SYNONYMS,
        ),
        TargetField(
            "number",
            gettext_lazy("Invoice number"),
            synonyms=("invoice no", "invoice number", "invoice", "document number", "发票号"),
        ),
        TargetField(
            "issue_date",
            gettext_lazy("Issue date"),
            True,
            ("invoice date", "date", "document date", "开票日期"),
            DATE,
        ),
        TargetField(
            "due_date",
            gettext_lazy("Due date"),
            True,
            ("due", "payment due", "payment due date", "到期日"),
            DATE,
        ),
        TargetField(
            "amount",
            gettext_lazy("Amount"),
            True,
            ("invoice amount", "total", "gross amount", "amount due", "金额"),
            AMOUNT,
        ),
        TargetField("currency", gettext_lazy("Currency"), True, ("ccy", "币种")),
        TargetField(
            "paid_amount",
            gettext_lazy("Paid amount"),
            synonyms=("paid", "amount paid"),
            value_type=AMOUNT,
        ),
        TargetField(
            "paid_date",
            gettext_lazy("Paid date"),
            synonyms=("payment date", "date paid"),
            value_type=DATE,
        ),
        TargetField("status", gettext_lazy("Status"), synonyms=("状态",)),
    ),
    ImportJob.Kind.PAYMENTS: (
        TargetField(
            "erp_reference",
            gettext_lazy("ERP reference"),
            True,
            ("payment id", "payment reference", "reference"),
        ),
        TargetField(
            "buyer_erp_reference",
            gettext_lazy("Buyer ERP reference"),
            True,
            _BUYER_REFERENCE_SYNONYMS,
        ),
        TargetField(
            "received_date",
            gettext_lazy("Received date"),
            True,
            ("date", "payment date", "value date", "received"),
            DATE,
        ),
        TargetField(
            "amount", gettext_lazy("Amount"), True, ("payment amount", "total", "金额"), AMOUNT
        ),
        TargetField("currency", gettext_lazy("Currency"), True, ("ccy", "币种")),
        TargetField(
            "invoice_erp_reference",
            gettext_lazy("Invoice ERP reference"),
            synonyms=("invoice", "invoice id", "invoice reference"),
        ),
        TargetField(
            "allocated_amount",
            gettext_lazy("Allocated amount"),
            synonyms=("allocated", "allocation", "applied amount"),
            value_type=AMOUNT,
        ),
    ),
    ImportJob.Kind.FINANCIAL_STATEMENTS: (
        TargetField(
            "buyer_erp_reference",
            gettext_lazy("Buyer ERP reference"),
            True,
            _BUYER_REFERENCE_SYNONYMS,
        ),
        TargetField(
            "period_end",
            gettext_lazy("Period end"),
            True,
            ("year end", "fiscal year end", "balance sheet date", "period"),
            DATE,
        ),
        TargetField("period_months", gettext_lazy("Months covered"), synonyms=("months",)),
        TargetField("currency", gettext_lazy("Currency"), True, ("ccy", "币种")),
        *(
            TargetField(name, label, True, STATEMENT_FIGURE_SYNONYMS.get(name, ()), AMOUNT)
            for name, label in STATEMENT_FIGURE_LABELS
        ),
        *(
            TargetField(name, label, False, STATEMENT_FIGURE_SYNONYMS.get(name, ()), AMOUNT)
            for name, label in STATEMENT_OPTIONAL_FIGURE_LABELS
        ),
        TargetField("audited", gettext_lazy("Audited"), synonyms=("is audited",)),
        TargetField("source", gettext_lazy("Source"), synonyms=("data source",)),
        TargetField(
            "published_on",
            gettext_lazy("Published on"),
            synonyms=("publication date", "published", "filing date", "filed on", "date known"),
            value_type=DATE,
        ),
    ),
}


def import_fields(kind: str) -> tuple[TargetField, ...]:
    return IMPORT_FIELDS[kind]


# --- Column mapping ---------------------------------------------------------------------------


def normalised_column_name(name: str) -> str:
    return re.sub(r"[\s_\-./#:()]+", "", name.casefold())


def auto_mapping(kind: str, columns: Sequence[str]) -> dict[str, str]:
    """Field name → column, matching exact field names first, then synonyms; "" if none."""
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(normalised_column_name(column), column)
    fields = import_fields(kind)
    mapping = dict.fromkeys((field.name for field in fields), "")
    used: set[str] = set()
    for candidates_of in (
        lambda field: (field.name,),
        lambda field: field.synonyms,
    ):
        for field in fields:
            if mapping[field.name]:
                continue
            for candidate in candidates_of(field):
                column = by_name.get(normalised_column_name(candidate))
                if column and column not in used:
                    mapping[field.name] = column
                    used.add(column)
                    break
    return mapping


def missing_required_fields(kind: str, mapping: Mapping[str, str]) -> list[TargetField]:
    return [
        field for field in import_fields(kind) if field.required and not mapping.get(field.name)
    ]


def _unescape(value: str) -> str:
    if value[:1] == "'" and value[1:2] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def mapped_rows(sheet: Sheet, mapping: Mapping[str, str]) -> list[dict[str, str]]:
    """The data rows as {field name: text} for the mapped fields, in file order."""
    pairs = [(field, column) for field, column in mapping.items() if column]
    if not pairs:
        return [{} for _row in range(sheet.row_count)]
    fields = [field for field, _column in pairs]
    # Plain lists and zip: several times faster than DataFrame.to_dict on 200,000 rows.
    columns = [
        [_unescape(value) if value[:1] == "'" else value for value in sheet.frame[column].tolist()]
        for _field, column in pairs
    ]
    return [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]


# --- Amounts and dates in the file's format -------------------------------------------------------


def _typed_fields(kind: str, value_type: str, mapping: Mapping[str, str]) -> list[str]:
    return [
        field.name
        for field in import_fields(kind)
        if field.value_type == value_type and mapping.get(field.name)
    ]


def _cells(
    rows: Sequence[Mapping[str, str]], row_numbers: Sequence[int], names: Sequence[str]
) -> Iterator[tuple[int, str]]:
    for number, row in zip(row_numbers, rows, strict=True):
        for name in names:
            yield number, row.get(name, "")


def value_formats(
    *,
    kind: str,
    rows: Sequence[Mapping[str, str]],
    row_numbers: Sequence[int],
    mapping: Mapping[str, str],
    options: ReadOptions,
    delimiter: str,
) -> ValueFormats:
    """The number format and date order: the user's choice, or guessed from the mapped values."""
    if options.number_format:
        number = chosen(options.number_format)
    else:
        number = guess_number_format(
            _cells(rows, row_numbers, _typed_fields(kind, AMOUNT, mapping)),
            # Excel separates with semicolons where the decimal separator is a comma.
            hint=COMMA if delimiter == ";" else POINT,
        )
    if options.date_order:
        day = chosen(options.date_order)
    else:
        day = guess_date_order(_cells(rows, row_numbers, _typed_fields(kind, DATE, mapping)))
    return ValueFormats(number=number, date=day)


def localised_rows(
    kind: str, rows: Sequence[Mapping[str, str]], formats: ValueFormats
) -> tuple[list[dict[str, str]], list[tuple[int, str, str]]]:
    """The rows with amounts as "1234.56" and dates as "2025-01-31", as `buyers.records` reads
    them, and the cells shaped like one that are not, as (row position, field, message): their
    message names the format the file is read in. Cells keep their text when they cannot be
    read; other text ("ten") is left to the records' own message."""
    amounts = [field.name for field in import_fields(kind) if field.value_type == AMOUNT]
    dates = [field.name for field in import_fields(kind) if field.value_type == DATE]
    number_format, date_order = formats.number.value, formats.date.value
    amount_message = _("Enter an amount written like %(example)s.") % {
        "example": EXAMPLE_AMOUNT[number_format]
    }
    date_message = _("Enter a date written like %(example)s or 2025-01-31.") % {
        "example": EXAMPLE_DATE[date_order]
    }
    problems: list[tuple[int, str, str]] = []
    result: list[dict[str, str]] = []
    for position, row in enumerate(rows):
        values = dict(row)
        for names, read, message, setting, shaped in (
            (amounts, amount_reading, amount_message, number_format, _AMOUNT_LIKE),
            (dates, date_reading, date_message, date_order, _DATE_LIKE),
        ):
            for name in names:
                text = values.get(name)
                if not text:
                    continue
                reading = read(text, setting)
                if reading is not None:
                    values[name] = reading
                elif shaped.fullmatch(text.strip()):
                    problems.append((position, name, message))
        result.append(values)
    return result, problems
