"""buyers.records: validation of raw ERP records, one rule per test, errors as index/field/message."""

from datetime import date
from decimal import Decimal

import pytest

from buyers.api.serializers import StatementInput, StatementOutput
from buyers.forms import StatementForm
from buyers.imports import import_fields
from buyers.records import NON_FIELD_ERRORS, STATEMENT_FIGURES, RecordError, parse_records
from buyers.services import STATEMENT_FIELDS
from tests.buyers.statements import FIGURES

BUYER = {
    "erp_reference": "C-1",
    "legal_name": "Nordlicht Maschinenbau GmbH",
    "country": "DE",
    "nace_code": "28.41",
    "currency": "EUR",
}
INVOICE = {
    "erp_reference": "INV-1",
    "buyer_erp_reference": "C-1",
    "issue_date": "2026-01-10",
    "due_date": "2026-02-09",
    "amount": "1000.00",
    "currency": "EUR",
}
PAYMENT = {
    "erp_reference": "PAY-1",
    "buyer_erp_reference": "C-1",
    "received_date": "2026-02-01",
    "amount": "1500.00",
    "currency": "EUR",
    "allocations": [
        {"invoice_erp_reference": "INV-1", "amount": "1000.00"},
        {"invoice_erp_reference": "INV-2", "amount": "500.00"},
    ],
}
STATEMENT = {
    "buyer_erp_reference": "C-1",
    "period_end": "2025-12-31",
    "currency": "EUR",
    **FIGURES,
}


def errors_of(kind, *rows):
    _records, errors = parse_records(kind, list(rows))
    return [(error.index, error.field) for error in errors]


def one(kind, row):
    records, errors = parse_records(kind, [row])
    assert errors == []
    return records[0]


# --- Shared rules -------------------------------------------------------------------------------


def test_errors_carry_index_field_and_a_message():
    _records, errors = parse_records(
        "invoices", [INVOICE, {**INVOICE, "erp_reference": "I-2", "amount": "x"}]
    )

    assert errors == [RecordError(1, "amount", "Enter a number.")]


def test_it_rejects_a_record_that_is_not_an_object():
    assert errors_of("invoices", INVOICE, ["INV-2"], "INV-3") == [
        (1, NON_FIELD_ERRORS),
        (2, NON_FIELD_ERRORS),
    ]


def test_it_ignores_unknown_keys():
    record = one("invoices", {**INVOICE, "colour": "blue"})

    assert "colour" not in record


def test_it_lists_every_missing_required_field():
    assert errors_of("invoices", {"erp_reference": "INV-1"}) == [
        (0, "buyer_erp_reference"),
        (0, "issue_date"),
        (0, "due_date"),
        (0, "amount"),
        (0, "currency"),
    ]


def test_blank_and_whitespace_only_count_as_missing():
    assert errors_of("invoices", {**INVOICE, "erp_reference": "  ", "buyer_erp_reference": ""}) == [
        (0, "erp_reference"),
        (0, "buyer_erp_reference"),
    ]


def test_it_reports_every_bad_record_not_just_the_first():
    rows = [INVOICE] + [
        {**INVOICE, "erp_reference": f"I-{n}", "currency": "EURO"} for n in range(5)
    ]

    assert errors_of("invoices", *rows) == [(n, "currency") for n in range(1, 6)]


def test_a_duplicate_erp_reference_is_an_error_on_the_later_record():
    _records, errors = parse_records("invoices", [INVOICE, {**INVOICE, "amount": "5"}])

    assert errors == [RecordError(1, "erp_reference", "Duplicate of record 0 in this batch.")]


def test_a_duplicate_is_caught_even_when_the_earlier_record_is_invalid():
    assert errors_of("invoices", {**INVOICE, "amount": "-1"}, INVOICE) == [
        (0, "amount"),
        (1, "erp_reference"),
    ]


def test_references_are_at_most_64_characters_and_are_stripped():
    assert errors_of("invoices", {**INVOICE, "erp_reference": "X" * 65}) == [(0, "erp_reference")]
    assert one("invoices", {**INVOICE, "erp_reference": " INV-9 "})["erp_reference"] == "INV-9"


def test_integer_references_are_taken_as_text():
    assert one("invoices", {**INVOICE, "erp_reference": 4711})["erp_reference"] == "4711"


def test_text_must_be_a_string_without_null_characters():
    assert errors_of(
        "invoices",
        {**INVOICE, "number": ["A"]},
        {**INVOICE, "erp_reference": "I-2", "number": "A\x00"},
    ) == [(0, "number"), (1, "number")]


def test_currency_must_be_an_iso_4217_code():
    assert errors_of(
        "invoices",
        {**INVOICE, "currency": "XYZ"},
        {**INVOICE, "erp_reference": "I-2", "currency": "EU"},
        {**INVOICE, "erp_reference": "I-3", "currency": 978},
    ) == [(0, "currency"), (1, "currency"), (2, "currency")]
    assert one("invoices", {**INVOICE, "currency": "chf"})["currency"] == "CHF"


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAU", "XDR"])
def test_iso_codes_that_are_not_trade_currencies_are_refused(code):
    assert errors_of("invoices", {**INVOICE, "currency": code}) == [(0, "currency")]


def test_real_x_currencies_are_accepted():
    assert one("invoices", {**INVOICE, "currency": "XOF"})["currency"] == "XOF"


def test_unknown_kinds_are_a_programming_error():
    with pytest.raises(ValueError, match="unknown record kind"):
        parse_records("claims", [])


# --- Invoices -----------------------------------------------------------------------------------


def test_a_valid_invoice_is_cleaned_into_typed_values_with_defaults():
    record = one("invoices", INVOICE)

    assert record == {
        "erp_reference": "INV-1",
        "buyer_erp_reference": "C-1",
        "number": "",
        "issue_date": date(2026, 1, 10),
        "due_date": date(2026, 2, 9),
        "amount": Decimal("1000.00"),
        "currency": "EUR",
        "paid_amount": Decimal("0"),
        "paid_date": None,
        "status": "open",
        "status_given": False,
    }


@pytest.mark.parametrize("value", ["2026-02-30", "10.01.2026", "20260110", "2026-W02-1", 20260110])
def test_dates_must_be_iso_calendar_dates(value):
    assert errors_of("invoices", {**INVOICE, "issue_date": value}) == [(0, "issue_date")]


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31"])
def test_dates_must_lie_between_1900_and_2100(value):
    assert errors_of("invoices", {**INVOICE, "issue_date": value, "due_date": value}) == [
        (0, "issue_date"),
        (0, "due_date"),
    ]


def test_the_date_range_includes_its_first_and_last_years():
    record = one("invoices", {**INVOICE, "issue_date": "1900-01-01", "due_date": "2100-12-31"})

    assert (record["issue_date"], record["due_date"]) == (date(1900, 1, 1), date(2100, 12, 31))


def test_the_due_date_cannot_be_before_the_issue_date():
    assert errors_of("invoices", {**INVOICE, "due_date": "2026-01-09"}) == [(0, "due_date")]
    assert one("invoices", {**INVOICE, "due_date": "2026-01-10"})["due_date"] == date(2026, 1, 10)


@pytest.mark.parametrize("amount", ["0", "-5", "0.00", 0])
def test_the_amount_must_be_positive(amount):
    assert errors_of("invoices", {**INVOICE, "amount": amount}) == [(0, "amount")]


@pytest.mark.parametrize(
    "amount",
    ["12.345", 12.345, "NaN", "Infinity", "1e16", "12,50", True, "١٢٣", "١٢٣.٥٠", "１２３", "12３"],
)
def test_the_amount_must_be_a_finite_number_with_at_most_two_decimals(amount):
    assert errors_of("invoices", {**INVOICE, "amount": amount}) == [(0, "amount")]


@pytest.mark.parametrize(
    ("sent", "cleaned"),
    [("1000.5", "1000.50"), (1000, "1000.00"), (1000.25, "1000.25"), ("12.300", "12.30")],
)
def test_amounts_may_be_json_numbers_or_strings(sent, cleaned):
    assert one("invoices", {**INVOICE, "amount": sent})["amount"] == Decimal(cleaned)


def test_the_paid_amount_is_between_zero_and_the_amount():
    assert errors_of(
        "invoices",
        {**INVOICE, "paid_amount": "1000.01"},
        {**INVOICE, "erp_reference": "I-2", "paid_amount": "-1"},
    ) == [(0, "paid_amount"), (1, "paid_amount")]


def test_a_fully_paid_invoice_without_paid_date_keeps_it_empty():
    record = one("invoices", {**INVOICE, "paid_amount": "1000"})

    assert (record["status"], record["paid_date"]) == ("paid", None)


@pytest.mark.parametrize(
    ("paid_amount", "status", "expected"),
    [
        ("0", None, "open"),
        ("400", None, "partially_paid"),
        ("1000", None, "paid"),
        ("400", "paid", "partially_paid"),  # a given open/paid status is derived anyway
        ("0", "disputed", "disputed"),
        ("1000", "disputed", "paid"),
        ("400", "written_off", "written_off"),
    ],
)
def test_the_status_is_derived_honouring_disputed_and_written_off(paid_amount, status, expected):
    row = {**INVOICE, "paid_amount": paid_amount}
    if status:
        row["status"] = status
    record = one("invoices", row)

    assert (record["status"], record["status_given"]) == (expected, status is not None)


def test_an_unknown_status_is_an_error():
    assert errors_of("invoices", {**INVOICE, "status": "lost"}) == [(0, "status")]


def test_a_full_bulk_batch_of_ten_thousand_invoices_validates():
    # Its speed is measured by bench/ingest.py against a COPY of the same rows, not here.
    rows = [
        {
            **INVOICE,
            "erp_reference": f"INV-{n}",
            "buyer_erp_reference": f"C-{n % 300}",
            "number": f"2026-{n}",
            "amount": 100 + n % 5000 + 0.25,
            "paid_amount": 0,
        }
        for n in range(10_000)
    ]
    records, errors = parse_records("invoices", rows)

    assert (len(records), errors) == (10_000, [])


# --- Buyers -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_valid_buyer_gets_defaults_and_its_nace_section():
    record = one("buyers", BUYER)

    assert record == {
        **BUYER,
        "registration_number": "",
        "vat_number": "",
        "lei": "",
        "city": "",
        "address": "",
        "parent_erp_reference": None,
        "payment_terms_days": 30,
        "status": "active",
        "nace_section": "C",
    }


@pytest.mark.django_db
def test_the_country_must_be_an_iso_3166_code_from_the_reference_table():
    assert errors_of(
        "buyers", {**BUYER, "country": "XX"}, {**BUYER, "erp_reference": "C-2", "country": "DEU"}
    ) == [(0, "country"), (1, "country")]
    assert one("buyers", {**BUYER, "country": "fr"})["country"] == "FR"


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["99.99", "46.99", "04", "4", "46.691", "G", ""])
def test_the_nace_code_must_exist(code):
    assert errors_of("buyers", {**BUYER, "nace_code": code}) == [(0, "nace_code")]


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["46.69", "46.6", "46"])
def test_a_nace_class_group_or_division_is_accepted(code):
    record = one("buyers", {**BUYER, "nace_code": code})

    assert (record["nace_code"], record["nace_section"]) == (code, "G")


@pytest.mark.django_db
def test_a_lei_has_twenty_letters_and_digits():
    assert errors_of(
        "buyers",
        {**BUYER, "lei": "529900T8BM49AURSDO5"},
        {**BUYER, "erp_reference": "C-2", "lei": "529900T8BM49AURSDO5-"},
    ) == [(0, "lei"), (1, "lei")]
    assert one("buyers", {**BUYER, "lei": "529900t8bm49aursdo55"})["lei"] == "529900T8BM49AURSDO55"


@pytest.mark.django_db
@pytest.mark.parametrize("days", [-1, 366, "thirty", 30.5, True])
def test_payment_terms_are_0_to_365_whole_days(days):
    assert errors_of("buyers", {**BUYER, "payment_terms_days": days}) == [(0, "payment_terms_days")]


@pytest.mark.django_db
def test_payment_terms_may_be_sent_as_text():
    assert one("buyers", {**BUYER, "payment_terms_days": "60"})["payment_terms_days"] == 60


@pytest.mark.django_db
def test_the_status_must_be_a_buyer_status():
    assert errors_of("buyers", {**BUYER, "status": "bankrupt"}) == [(0, "status")]
    assert one("buyers", {**BUYER, "status": "on_hold"})["status"] == "on_hold"


@pytest.mark.django_db
def test_text_fields_respect_the_column_lengths():
    assert errors_of(
        "buyers", {**BUYER, "legal_name": "x" * 201, "vat_number": "x" * 33, "city": "x" * 101}
    ) == [(0, "legal_name"), (0, "vat_number"), (0, "city")]


@pytest.mark.django_db
def test_a_buyer_cannot_be_its_own_parent():
    assert errors_of("buyers", {**BUYER, "parent_erp_reference": "C-1"}) == [
        (0, "parent_erp_reference")
    ]


@pytest.mark.django_db
def test_the_parent_reference_is_kept_for_the_upsert_to_resolve():
    assert one("buyers", {**BUYER, "parent_erp_reference": "C-0"})["parent_erp_reference"] == "C-0"
    assert one("buyers", {**BUYER, "parent_erp_reference": ""})["parent_erp_reference"] is None


@pytest.mark.django_db
def test_the_currency_is_required_for_a_buyer():
    assert errors_of("buyers", {k: v for k, v in BUYER.items() if k != "currency"}) == [
        (0, "currency")
    ]


# --- Payments -----------------------------------------------------------------------------------


def test_a_valid_payment_keeps_its_allocations():
    record = one("payments", PAYMENT)

    assert record["allocations"] == [
        {"invoice_erp_reference": "INV-1", "amount": Decimal("1000.00")},
        {"invoice_erp_reference": "INV-2", "amount": Decimal("500.00")},
    ]


def test_allocations_are_optional():
    assert (
        one("payments", {k: v for k, v in PAYMENT.items() if k != "allocations"})["allocations"]
        == []
    )


def test_allocations_may_not_total_more_than_the_payment():
    _records, errors = parse_records("payments", [{**PAYMENT, "amount": "1499.99"}])

    assert [(e.field, e.message) for e in errors] == [
        (
            "allocations",
            "The allocations total 1500.00, more than the payment amount 1499.99.",
        )
    ]


def test_each_allocation_names_an_invoice_and_a_positive_amount():
    row = {
        **PAYMENT,
        "allocations": [
            {"invoice_erp_reference": "", "amount": "10"},
            {"invoice_erp_reference": "INV-2", "amount": "0"},
            {"invoice_erp_reference": "INV-3"},
            "INV-4",
        ],
    }

    assert errors_of("payments", row) == [
        (0, "allocations[0].invoice_erp_reference"),
        (0, "allocations[1].amount"),
        (0, "allocations[2].amount"),
        (0, "allocations[3]"),
    ]


def test_an_invoice_is_allocated_at_most_once_per_payment():
    row = {
        **PAYMENT,
        "allocations": [
            {"invoice_erp_reference": "INV-1", "amount": "10"},
            {"invoice_erp_reference": "INV-1", "amount": "20"},
        ],
    }

    assert errors_of("payments", row) == [(0, "allocations[1].invoice_erp_reference")]


def test_allocations_must_be_a_list():
    assert errors_of("payments", {**PAYMENT, "allocations": {"INV-1": "10"}}) == [
        (0, "allocations")
    ]


def test_a_payment_needs_a_positive_amount_and_a_received_date():
    assert errors_of(
        "payments", {**PAYMENT, "amount": "0", "received_date": "yesterday", "allocations": []}
    ) == [(0, "received_date"), (0, "amount")]


# --- Financial statements -----------------------------------------------------------------------


def test_a_valid_statement_gets_its_defaults():
    record = one("financial_statements", STATEMENT)

    assert (record["period_months"], record["audited"], record["source"]) == (12, False, "")
    assert record["equity"] == Decimal("2400000.00")


def test_losses_and_negative_equity_are_accepted():
    row = {
        **STATEMENT,
        "ebit": "-100",
        "net_income": "-200",
        "retained_earnings": "-300",
        "total_liabilities": "6100000",
        "equity": "-100000",
    }

    assert one("financial_statements", row)["equity"] == Decimal("-100000.00")


def test_the_plausibility_checks_of_receivables_apply():
    row = {**STATEMENT, "current_assets": "7000000", "revenue": "-1"}

    assert errors_of("financial_statements", row) == [(0, "current_assets"), (0, "revenue")]


def test_a_balance_sheet_that_does_not_balance_is_kept_with_a_warning():
    # Issue 13: was a record-wide error; a gap is now a warning on the cleaned record.
    [record], errors = parse_records("financial_statements", [{**STATEMENT, "equity": "1000000"}])

    assert errors == []
    [warning] = record["warnings"]
    assert warning["code"] == "balance_gap"
    assert warning["values"]["gap"] == "1400000.00"
    assert warning["message"].startswith(
        "Total assets differ from total liabilities plus equity by 1400000.00 ("
    )


@pytest.mark.parametrize(("audited", "expected"), [(True, True), ("false", False), ("yes", True)])
def test_audited_is_a_boolean(audited, expected):
    assert one("financial_statements", {**STATEMENT, "audited": audited})["audited"] is expected


def test_audited_rejects_anything_else():
    assert errors_of("financial_statements", {**STATEMENT, "audited": "maybe"}) == [(0, "audited")]


@pytest.mark.parametrize("months", [0, 25])
def test_a_period_covers_1_to_24_months(months):
    assert errors_of("financial_statements", {**STATEMENT, "period_months": months}) == [
        (0, "period_months")
    ]


def test_two_statements_of_one_buyer_for_the_same_period_end_are_duplicates():
    assert errors_of(
        "financial_statements",
        STATEMENT,
        {**STATEMENT, "buyer_erp_reference": "C-2"},
        {**STATEMENT, "revenue": "1"},
    ) == [(2, "period_end")]


def test_every_entry_point_takes_the_statement_figures_from_the_one_spec():
    figures = set(STATEMENT_FIGURES)
    assert figures == set(FIGURES)
    assert figures <= set(StatementInput().fields)
    assert figures <= set(StatementOutput.Meta.fields)
    assert figures <= set(StatementForm().fields)
    assert figures <= {field.name for field in import_fields("financial_statements")}
    assert figures <= set(STATEMENT_FIELDS)
