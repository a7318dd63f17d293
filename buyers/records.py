"""Validation of raw ERP records for the bulk upserts: buyers, invoices, payments, statements.

`parse_records(kind, rows)` checks every row (a mapping, e.g. decoded JSON or a mapped
spreadsheet row) and returns the cleaned records plus one `RecordError` per problem found,
all of them, not just the first. It never queries per record: the only query is the set of
country codes, loaded once per call for buyers. Unknown keys are ignored; a row that is not
an object is an error. Within one batch a repeated natural key (`erp_reference`; for
statements `buyer_erp_reference` + `period_end`) is an error on the later row.

Cleaned records carry every field (defaults filled in) as Python values shaped like the model
fields: `str`, `int`, `bool`, `datetime.date`, `decimal.Decimal` (quantized to cents), `None`
for an empty nullable field. When there are no errors they line up one to one with `rows`.
References to other records (`buyer_erp_reference`, `parent_erp_reference`,
`invoice_erp_reference`) are only checked for shape here; `buyers.bulk` resolves them in SQL.

Kind-specific rules:
- buyers: `nace_section` is added from `nace_code`; a buyer cannot be its own parent.
- invoices: `status` is derived from the amounts with `receivables.invoice_status`; a given
  "disputed" or "written_off" status is honoured, any other given status is replaced by the
  derived one. `status_given` records whether the row had a status at all: a row without one
  keeps a dispute or write-off recorded earlier (see `buyers.bulk`).
- payments: `allocations` is a list of `{"invoice_erp_reference", "amount"}`, one per
  invoice, totalling at most the payment amount.
- financial_statements: the checks of `receivables.financial_statement_checks`; its errors
  refuse the record, its warnings are kept on the cleaned record as `warnings` (a list of
  `{"code", "message", "values"}`, the English message) and stored with the statement.

Validation is plain Python on purpose (no serializer per record): 10,000 invoices take a few
tens of milliseconds.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from creditguard.dates import EARLIEST_YEAR, LATEST_YEAR, is_supported
from creditguard.reference.models import Country
from creditguard.reference.nace import section_of

from .models import Buyer, FinancialStatement, Invoice
from .receivables import (
    NON_FIELD,
    STATEMENT_WARNINGS,
    financial_statement_checks,
    invoice_status,
)

KINDS: tuple[str, ...] = ("buyers", "invoices", "payments", "financial_statements")
NON_FIELD_ERRORS = "non_field_errors"  # the field name the API uses for record-wide errors

# ISO 4217 codes a business invoices in: not the precious metals, bond-market units, SDR and
# the "testing" / "no currency" codes (XAU, XDR, XTS, XXX, ...), which ISO lists too.
NOT_TRADE_CURRENCIES = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)
CURRENCIES: frozenset[str] = (
    frozenset(currency.alpha_3 for currency in pycountry.currencies) - NOT_TRADE_CURRENCIES
)
CENT = Decimal("0.01")
ZERO = Decimal("0")
# MONEY in buyers.models: 18 digits, 2 of them decimals.
MONEY_LIMIT = Decimal("1e16")
# The usual shape of an amount, which fits the column as it is.
_plain_amount = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{1,2})?").fullmatch
REFERENCE_MAX_LENGTH = 64


@dataclass(frozen=True)
class RecordError:
    index: int
    field: str
    message: str


class _Invalid(Exception):
    """A field value is invalid; the argument is the (translated) message."""


Cleaner = Callable[[Any], Any]
REQUIRED = object()  # the "default" of a field that must be given
# (name, cleaner, default when missing or empty, or REQUIRED); the cleaners of required text
# fields refuse what is empty after stripping.
FieldSpec = tuple[str, Cleaner, Any]


# --- Field cleaners: value -> cleaned value, or raise _Invalid ----------------------------------


def _text(max_length: int, *, required: bool = False) -> Cleaner:
    def clean(value: Any) -> str:
        if not isinstance(value, str):
            if type(value) is not int:
                raise _Invalid(_("Enter a string."))
            value = str(value)  # ERP numbers used as identifiers
        value = value.strip()
        if len(value) > max_length:
            raise _Invalid(
                _("Ensure this field has no more than %(max)d characters.") % {"max": max_length}
            )
        if "\x00" in value:
            raise _Invalid(_("Null characters are not allowed."))
        if required and not value:  # only whitespace
            raise _Invalid(_("This field is required."))
        return value

    return clean


_reference = _text(REFERENCE_MAX_LENGTH)
_required_reference = _text(REFERENCE_MAX_LENGTH, required=True)


@lru_cache(maxsize=4096)  # a batch repeats the same few hundred dates
def _iso_date(text: str) -> date | None:
    # YYYY-MM-DD only: fromisoformat alone would also take "20240131" or week dates.
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None


def _date(value: Any) -> date:
    if type(value) is str:
        parsed = _iso_date(value)
        if parsed is None:
            raise _Invalid(_("Enter a valid date in the format YYYY-MM-DD."))
    elif isinstance(value, datetime):  # spreadsheet cells
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    else:
        raise _Invalid(_("Enter a valid date in the format YYYY-MM-DD."))
    if not is_supported(parsed):
        raise _Invalid(
            _("Enter a date between %(first)d and %(last)d.")
            % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
        )
    return parsed


def _decimal(value: Any) -> Decimal:
    """A finite amount with at most 2 decimals, within the MONEY column's range."""
    kind = type(value)
    if kind is float:
        # JSON numbers arrive as floats; their shortest repr is what the sender wrote.
        value, kind = repr(value), str
    if kind is str and _plain_amount(value):
        return Decimal(value).quantize(CENT)  # nothing to check: the pattern says it all
    if kind is str and not value.isascii():
        raise _Invalid(_("Enter a number."))  # Decimal() would read Arabic-Indic digits too
    if kind is str or kind is int:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise _Invalid(_("Enter a number.")) from None
    elif kind is Decimal:
        amount = value
    else:
        raise _Invalid(_("Enter a number."))
    if not amount.is_finite():
        raise _Invalid(_("Enter a number."))
    if abs(amount) >= MONEY_LIMIT:
        raise _Invalid(_("Ensure the amount is less than 10^16."))
    cents = amount.quantize(CENT)
    if cents != amount:
        raise _Invalid(_("Ensure there are no more than 2 decimal places."))
    return cents


def _positive_amount(value: Any) -> Decimal:
    amount = _decimal(value)
    if amount <= ZERO:
        raise _Invalid(_("Ensure this value is greater than 0."))
    return amount


def _non_negative_amount(value: Any) -> Decimal:
    amount = _decimal(value)
    if amount < ZERO:
        raise _Invalid(_("Ensure this value is greater than or equal to 0."))
    return amount


def _integer(minimum: int, maximum: int) -> Cleaner:
    def clean(value: Any) -> int:
        if type(value) is not int:
            digits = value.strip().removeprefix("-") if isinstance(value, str) else ""
            whole_float = isinstance(value, float) and value.is_integer()
            if not ((digits.isascii() and digits.isdecimal()) or whole_float):
                raise _Invalid(_("Enter a whole number."))
            value = int(value)
        if not minimum <= value <= maximum:
            raise _Invalid(
                _("Ensure this value is between %(min)d and %(max)d.")
                % {"min": minimum, "max": maximum}
            )
        return value

    return clean


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, str) or type(value) is int:
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Invalid(_("Enter true or false."))


def _choice(choices: Sequence[str]) -> Cleaner:
    allowed = frozenset(choices)

    def clean(value: Any) -> str:
        if type(value) is str and value in allowed:
            return value
        raise _Invalid(_("Enter one of: %(choices)s.") % {"choices": ", ".join(sorted(allowed))})

    return clean


def _currency(value: Any) -> str:
    if type(value) is not str:
        raise _Invalid(_("Enter an ISO 4217 currency code such as EUR."))
    if value in CURRENCIES:
        return value
    if value.strip().upper() in CURRENCIES:
        return value.strip().upper()
    raise _Invalid(_("Enter an ISO 4217 currency code such as EUR."))


def _country(codes: frozenset[str]) -> Cleaner:
    def clean(value: Any) -> str:
        if type(value) is not str:
            raise _Invalid(_("Enter an ISO 3166 alpha-2 country code such as DE."))
        if value in codes:
            return value
        if value.strip().upper() in codes:
            return value.strip().upper()
        raise _Invalid(_("Enter an ISO 3166 alpha-2 country code such as DE."))

    return clean


def _nace_code(value: Any) -> str:
    if isinstance(value, str) and section_of(value) is not None:
        return value.strip()
    raise _Invalid(_("Enter a NACE Rev. 2 code such as 46 or 46.69."))


def _lei(value: Any) -> str:
    lei = _reference(value).upper()
    if lei and not (len(lei) == 20 and lei.isascii() and lei.isalnum()):
        raise _Invalid(_("A LEI has 20 letters and digits."))
    return lei


# --- Field lists per kind -----------------------------------------------------------------------


def _buyer_fields(country_codes: frozenset[str]) -> list[FieldSpec]:
    return [
        ("erp_reference", _required_reference, REQUIRED),
        ("legal_name", _text(200, required=True), REQUIRED),
        ("registration_number", _text(64), ""),
        ("vat_number", _text(32), ""),
        ("lei", _lei, ""),
        ("country", _country(country_codes), REQUIRED),
        ("city", _text(100), ""),
        ("address", _text(300), ""),
        ("nace_code", _nace_code, REQUIRED),
        ("parent_erp_reference", _reference, None),
        ("currency", _currency, REQUIRED),
        ("payment_terms_days", _integer(0, 365), 30),
        ("status", _choice(Buyer.Status.values), Buyer.Status.ACTIVE.value),
    ]


INVOICE_FIELDS: list[FieldSpec] = [
    ("erp_reference", _required_reference, REQUIRED),
    ("buyer_erp_reference", _required_reference, REQUIRED),
    ("number", _text(64), ""),
    ("issue_date", _date, REQUIRED),
    ("due_date", _date, REQUIRED),
    ("amount", _positive_amount, REQUIRED),
    ("currency", _currency, REQUIRED),
    ("paid_amount", _non_negative_amount, ZERO),
    ("paid_date", _date, None),
    ("status", _choice(Invoice.Status.values), None),
]

PAYMENT_FIELDS: list[FieldSpec] = [
    ("erp_reference", _required_reference, REQUIRED),
    ("buyer_erp_reference", _required_reference, REQUIRED),
    ("received_date", _date, REQUIRED),
    ("amount", _positive_amount, REQUIRED),
    ("currency", _currency, REQUIRED),
    ("allocations", lambda value: value, ()),  # checked in _check_payment
]

# The one list of a financial statement's figures (amounts in the statement's currency), in the
# order every form, API shape, import, export and the bulk upsert show them; they all derive
# from it. Adding a figure touches the model, this tuple and a migration.
STATEMENT_FIGURES: tuple[str, ...] = (
    "revenue",
    "ebit",
    "net_income",
    "total_assets",
    "current_assets",
    "current_liabilities",
    "total_liabilities",
    "retained_earnings",
    "equity",
)
# Optional figures (empty = not given, stored as NULL) that the finer ratios need; they follow
# the required ones everywhere the figures are listed.
STATEMENT_OPTIONAL_FIGURES: tuple[str, ...] = (
    "interest_expense",
    "gross_profit",
    "depreciation_amortisation",
    "cost_of_sales",
    "inventory",
    "trade_receivables",
    "cash",
    "short_term_debt",
    "provisions",
    "prior_period_revenue",
)

STATEMENT_FIELDS: list[FieldSpec] = [
    ("buyer_erp_reference", _required_reference, REQUIRED),
    ("period_end", _date, REQUIRED),
    ("period_months", _integer(1, 24), 12),
    ("currency", _currency, REQUIRED),
    *((name, _decimal, REQUIRED) for name in STATEMENT_FIGURES),
    *((name, _decimal, None) for name in STATEMENT_OPTIONAL_FIGURES),
    ("audited", _boolean, False),
    ("source", _text(60), ""),
    # The day the statement became known (published, or received): as-of scoring uses it from
    # that day on (`buyers.ledger.statement_known_on`). Empty: six months after the period end,
    # or the day it is recorded if earlier.
    ("published_on", _date, None),
]
# The figures of the income statement; the others are balance sheet figures.
INCOME_STATEMENT_FIGURES: frozenset[str] = frozenset({"revenue", "ebit", "net_income"})
# The statement's own fields, as the model, the API output and the audit trail name them.
STATEMENT_COLUMNS: tuple[str, ...] = tuple(
    name for name, _clean, _default in STATEMENT_FIELDS if name != "buyer_erp_reference"
)
# (figure, label): the labels are the model fields' names, capitalised (translated lazily).
STATEMENT_FIGURE_LABELS: tuple[tuple[str, str], ...] = tuple(
    (name, capfirst(FinancialStatement._meta.get_field(name).verbose_name))
    for name in STATEMENT_FIGURES
)
STATEMENT_OPTIONAL_FIGURE_LABELS: tuple[tuple[str, str], ...] = tuple(
    (name, capfirst(FinancialStatement._meta.get_field(name).verbose_name))
    for name in STATEMENT_OPTIONAL_FIGURES
)
# The required figures the checks take by name; the optional ones go in `optional`.
_CHECKED_FIGURES = tuple(
    name for name in inspect.signature(financial_statement_checks).parameters if name != "optional"
)


# --- Whole-record checks: record -> [(field, message)] ------------------------------------------


def _check_buyer(record: dict) -> list[tuple[str, str]]:
    record["nace_section"] = section_of(record["nace_code"])
    if record["parent_erp_reference"] == "":
        record["parent_erp_reference"] = None
    if record["parent_erp_reference"] == record["erp_reference"]:
        return [("parent_erp_reference", _("A buyer cannot be its own parent."))]
    return []


def _check_invoice(record: dict) -> list[tuple[str, str]]:
    problems = []
    if record["due_date"] < record["issue_date"]:
        problems.append(("due_date", _("The due date cannot be before the issue date.")))
    amount = record["amount"]
    paid_amount = record["paid_amount"]
    if paid_amount > amount:
        problems.append(("paid_amount", _("The paid amount cannot exceed the amount.")))
    given = record["status"]
    record["status_given"] = given is not None
    record["status"] = invoice_status(
        amount=amount,
        paid_amount=paid_amount,
        disputed=given == "disputed",
        written_off=given == "written_off",
    )
    return problems


def _check_payment(record: dict) -> list[tuple[str, str]]:
    allocations = record["allocations"]
    if not isinstance(allocations, list | tuple):
        return [("allocations", _("Enter a list of allocations."))]
    problems = []
    cleaned = []
    seen: set[str] = set()
    total = ZERO
    for position, allocation in enumerate(allocations):
        prefix = f"allocations[{position}]"
        if not isinstance(allocation, Mapping):
            problems.append((prefix, _("Expected an object.")))
            continue
        reference = amount = None
        for name, clean in (
            ("invoice_erp_reference", _required_reference),
            ("amount", _positive_amount),
        ):
            value = allocation.get(name)
            try:
                if value is None or value == "":
                    raise _Invalid(_("This field is required."))
                if name == "amount":
                    amount = clean(value)
                else:
                    reference = clean(value)
            except _Invalid as invalid:
                problems.append((f"{prefix}.{name}", str(invalid)))
        if reference is None or amount is None:
            continue
        if reference in seen:
            problems.append(
                (
                    f"{prefix}.invoice_erp_reference",
                    _("This invoice is already allocated in this payment."),
                )
            )
            continue
        seen.add(reference)
        total += amount
        cleaned.append({"invoice_erp_reference": reference, "amount": amount})
    if not problems and total > record["amount"]:
        problems.append(
            (
                "allocations",
                _("The allocations total %(total)s, more than the payment amount %(amount)s.")
                % {"total": total, "amount": record["amount"]},
            )
        )
    record["allocations"] = cleaned
    return problems


def _check_statement(record: dict) -> list[tuple[str, str]]:
    published_on = record["published_on"]
    if published_on is not None and published_on < record["period_end"]:
        return [("published_on", _("The publication date cannot be before the period end."))]
    errors, warnings = financial_statement_checks(
        **{name: record[name] for name in _CHECKED_FIGURES},
        optional={name: record[name] for name in STATEMENT_OPTIONAL_FIGURES},
    )
    record["warnings"] = [
        {"code": warning.code, "message": warning.text, "values": dict(warning.params)}
        for warning in warnings
    ]
    return [
        (
            NON_FIELD_ERRORS if problem.field == NON_FIELD else problem.field,
            _(problem.message) % problem.params if problem.params else _(problem.message),
        )
        for problem in errors
    ]


def statement_warning_text(warning: Mapping[str, Any]) -> str:
    """A stored warning (`{"code", "message", "values"}`) in the active language."""
    values = warning.get("values") or {}
    message = _(STATEMENT_WARNINGS.get(warning.get("code", ""), warning.get("message", "")))
    try:
        return message % values if values else message
    except (KeyError, TypeError, ValueError):
        return str(warning.get("message", ""))


# --- Entry point --------------------------------------------------------------------------------


def _natural_key_of(kind: str) -> Callable[[dict], tuple[str, Any]]:
    """The batch-unique key of a (possibly partly) cleaned record: (field to report, value).

    The value is None when the key fields did not clean.
    """
    if kind == "financial_statements":

        def statement_key(record: dict) -> tuple[str, Any]:
            buyer, period_end = record.get("buyer_erp_reference"), record.get("period_end")
            return "period_end", (buyer, period_end) if buyer and period_end else None

        return statement_key
    return lambda record: ("erp_reference", record.get("erp_reference") or None)


def _spec(kind: str) -> tuple[list[FieldSpec], Callable[[dict], list[tuple[str, str]]]]:
    if kind == "buyers":
        codes = frozenset(Country.objects.values_list("code", flat=True))
        return _buyer_fields(codes), _check_buyer
    if kind == "invoices":
        return INVOICE_FIELDS, _check_invoice
    if kind == "payments":
        return PAYMENT_FIELDS, _check_payment
    if kind == "financial_statements":
        return STATEMENT_FIELDS, _check_statement
    raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}")


def parse_records(
    kind: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[dict], list[RecordError]]:
    """Clean and validate `rows` of `kind`; see the module docstring for the rules."""
    records, _indexes, errors = parse_records_indexed(kind, rows)
    return records, errors


def parse_records_indexed(
    kind: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[dict], list[int], list[RecordError]]:
    """`parse_records`, plus the index in `rows` of every cleaned record.

    For callers that go on to check the valid records (e.g. their references) while some
    rows are invalid, and must still report errors by the row's index.
    """
    fields, check = _spec(kind)
    natural_key = _natural_key_of(kind)
    required_message = _("This field is required.")
    records: list[dict] = []
    indexes: list[int] = []
    errors: list[RecordError] = []
    first_index: dict[Any, int] = {}
    for index, row in enumerate(rows):
        if type(row) is not dict and not isinstance(row, Mapping):
            errors.append(RecordError(index, NON_FIELD_ERRORS, _("Expected an object.")))
            continue
        record: dict[str, Any] = {}
        valid = True
        get = row.get
        for name, clean, default in fields:
            value = get(name)
            if value is None or value == "":
                if default is REQUIRED:
                    errors.append(RecordError(index, name, required_message))
                    valid = False
                else:
                    record[name] = default
                continue
            try:
                record[name] = clean(value)
            except _Invalid as invalid:
                errors.append(RecordError(index, name, str(invalid)))
                valid = False
        # Duplicates are caught even when the earlier record is invalid.
        field, key = natural_key(record)
        if key is not None:
            earlier = first_index.setdefault(key, index)
            if earlier != index:
                errors.append(
                    RecordError(
                        index,
                        field,
                        _("Duplicate of record %(index)d in this batch.") % {"index": earlier},
                    )
                )
                continue
        if not valid:
            continue
        problems = check(record)
        if problems:
            errors.extend(RecordError(index, field, message) for field, message in problems)
            continue
        records.append(record)
        indexes.append(index)
    return records, indexes, errors


# --- One record: the single-object edges (API views, pages) -------------------------------------


def parse_record(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """One record through the same rules as a batch, for an API body or a page's form.

    The cleaned record, or a ValidationError keyed by field (an API answers it as a 400 with
    field errors, a page puts each message on its field).
    """
    cleaned, errors = parse_records(kind, [data])
    if errors:
        messages: dict[str, list[str]] = {}
        for error in errors:
            messages.setdefault(error.field, []).append(error.message)
        raise ValidationError(messages)
    return cleaned[0]


def buyer_record(buyer: Buyer) -> dict[str, Any]:
    """The buyer as `parse_record("buyers", ...)` reads it: the base of a partial update."""
    return {
        "erp_reference": buyer.erp_reference,
        "legal_name": buyer.legal_name,
        "registration_number": buyer.registration_number,
        "vat_number": buyer.vat_number,
        "lei": buyer.lei,
        "country": buyer.country_id,
        "city": buyer.city,
        "address": buyer.address,
        "nace_code": buyer.nace_code,
        "parent_erp_reference": buyer.parent.erp_reference if buyer.parent_id else "",
        "currency": buyer.currency,
        "payment_terms_days": buyer.payment_terms_days,
        "status": buyer.status,
    }


def statement_record(statement: FinancialStatement) -> dict[str, Any]:
    """The statement as `parse_record("financial_statements", ...)` reads it."""
    return {
        "buyer_erp_reference": statement.buyer.erp_reference,
        **{name: getattr(statement, name) for name in STATEMENT_COLUMNS},
    }


def invoice_record(invoice: Invoice) -> dict[str, Any]:
    """The invoice as `parse_record("invoices", ...)` reads it."""
    return {
        "buyer_erp_reference": invoice.buyer.erp_reference,
        **{
            name: getattr(invoice, name)
            for name, _clean, _default in INVOICE_FIELDS
            if name != "buyer_erp_reference"
        },
    }
