"""Spreadsheet imports: upload checks, reading CSV/XLSX into pandas, column mapping, preview and
the all-or-nothing run behind the `buyers.import_run` task.

Record rules are not here: `buyers.records.parse_records` parses and validates rows and
`buyers.bulk.bulk_upsert` writes them. This module turns the user's file into rows keyed by
field name, and turns record errors back into the user's coordinates: the spreadsheet row
number (the header is row 1, the first data row is row 2) and the column name in their file.

Decisions:
- CSV must be UTF-8, with or without a byte-order mark. Other encodings are refused rather than
  guessed: cp1252 and GBK decode each other's bytes without error, so a guess silently garbles
  legal names. Excel saves "CSV UTF-8"; an .xlsx upload avoids the question altogether.
- The delimiter (comma, semicolon or tab) is detected with `csv.Sniffer`; when it cannot
  decide, the candidate that occurs most often in the header row wins, and a header with none
  of them is a one-column file.
- Every value is read as text (`dtype=str`, no NA conversion) so leading zeros, dates and
  numbers reach `parse_records` exactly as the user typed them, apart from surrounding spaces.
  XLSX cells that Excel stores as numbers or dates are written out as plain text ("1500",
  "2024-01-31").
- Only the first worksheet of a workbook is read, with the cached results of formulas.
- A leading apostrophe in front of = + - @ tab or carriage return is dropped: it is the escape
  that our own exports add (see `buyers.exports`), so an exported file imports unchanged.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from creditguard.audit.services import audit_record
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from .bulk import BulkValidationError, bulk_upsert
from .exports import FORMULA_TRIGGERS, csv_bytes
from .models import Buyer, ImportJob, Invoice
from .records import NON_FIELD_ERRORS, RecordError, parse_records

logger = logging.getLogger(__name__)

# openpyxl parses workbooks with defusedxml when it is installed, which refuses XML entity
# declarations (billion laughs, external entities). Without it, uploads would be unsafe to open.
if not openpyxl.DEFUSEDXML:
    raise ImproperlyConfigured("openpyxl must run with defusedxml installed to read uploads")

IMPORT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
IMPORT_MAX_ROWS = 200_000
IMPORT_MAX_COLUMNS = 100
# Zip-bomb limits, checked on the archive's directory before openpyxl decompresses anything.
# zipfile never inflates an entry beyond the size its directory declares (and then fails the
# CRC check), so the declared sizes are a safe bound.
XLSX_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
XLSX_MAX_COMPRESSION_RATIO = 100
XLSX_MAX_ENTRIES = 10_000
# Small parts (styles, themes) may compress better than 100:1 without being dangerous.
XLSX_RATIO_CHECK_MIN_BYTES = 1024 * 1024
XLSX_REQUIRED_PARTS = frozenset({"[Content_Types].xml", "xl/workbook.xml"})
CSV_SNIFF_BYTES = 64 * 1024
CSV_DELIMITERS = ",;\t"

PREVIEW_ROWS = 20
PREVIEW_ERRORS = 50
# A failed job keeps this many errors; the rest are counted, not stored.
MAX_STORED_ERRORS = 10_000
# Validation runs in chunks so the progress bar moves; about 50 steps for a big file.
PROGRESS_STEPS = 50
MIN_CHUNK_ROWS = 500
# With acks_late, a task whose worker died is delivered again. A job still "running" after the
# Celery hard time limit cannot have a live worker any more, so the redelivery may take it over.
STALE_RUNNING_AFTER = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)

FILE_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


class ImportFileError(Exception):
    """The uploaded file cannot be read; `message` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Target fields ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetField:
    """A field of an import kind: what the user maps one of their columns onto."""

    name: str
    label: Promise
    required: bool = False
    # Other header spellings that map onto this field automatically (compared normalised).
    synonyms: tuple[str, ...] = ()


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
        ),
        TargetField(
            "due_date",
            gettext_lazy("Due date"),
            True,
            ("due", "payment due", "payment due date", "到期日"),
        ),
        TargetField(
            "amount",
            gettext_lazy("Amount"),
            True,
            ("invoice amount", "total", "gross amount", "amount due", "金额"),
        ),
        TargetField("currency", gettext_lazy("Currency"), True, ("ccy", "币种")),
        TargetField("paid_amount", gettext_lazy("Paid amount"), synonyms=("paid", "amount paid")),
        TargetField("paid_date", gettext_lazy("Paid date"), synonyms=("payment date", "date paid")),
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
        ),
        TargetField("amount", gettext_lazy("Amount"), True, ("payment amount", "total", "金额")),
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
        ),
        TargetField("period_months", gettext_lazy("Months covered"), synonyms=("months",)),
        TargetField("currency", gettext_lazy("Currency"), True, ("ccy", "币种")),
        TargetField("revenue", gettext_lazy("Revenue"), True, ("sales", "turnover", "营业收入")),
        TargetField(
            "ebit",
            gettext_lazy("EBIT"),
            True,
            ("operating profit", "operating income", "operating result"),
        ),
        TargetField(
            "net_income", gettext_lazy("Net income"), True, ("net profit", "profit", "净利润")
        ),
        TargetField("total_assets", gettext_lazy("Total assets"), True, ("assets", "总资产")),
        TargetField("current_assets", gettext_lazy("Current assets"), True, ("流动资产",)),
        TargetField(
            "current_liabilities", gettext_lazy("Current liabilities"), True, ("流动负债",)
        ),
        TargetField(
            "total_liabilities", gettext_lazy("Total liabilities"), True, ("liabilities", "总负债")
        ),
        TargetField("retained_earnings", gettext_lazy("Retained earnings"), True),
        TargetField(
            "equity",
            gettext_lazy("Equity"),
            True,
            ("shareholders equity", "book equity", "所有者权益"),
        ),
        TargetField("audited", gettext_lazy("Audited"), synonyms=("is audited",)),
        TargetField("source", gettext_lazy("Source"), synonyms=("data source",)),
    ),
}


def import_fields(kind: str) -> tuple[TargetField, ...]:
    return IMPORT_FIELDS[kind]


# --- Reading files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """The file's table: its header and its data rows as text.

    `frame` has one column per header name; its index is the spreadsheet row number, so it
    survives dropping empty rows.
    """

    columns: tuple[str, ...]
    frame: pd.DataFrame

    @property
    def row_count(self) -> int:
        return len(self.frame)


def file_format_of(filename: str) -> str | None:
    return FILE_FORMATS.get(Path(filename).suffix.lower())


def read_sheet(content: bytes, file_format: str) -> Sheet:
    """Read a CSV or XLSX file, refusing anything unsafe, malformed or too large."""
    if len(content) > IMPORT_MAX_UPLOAD_BYTES:
        raise ImportFileError(_too_large_message())
    grid = _read_csv_grid(content) if file_format == "csv" else _read_xlsx_grid(content)
    return _sheet_from_grid(grid)


def _too_large_message() -> str:
    return _("The file is larger than %(megabytes)d MB.") % {
        "megabytes": IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)
    }


def detect_delimiter(text: str) -> str:
    sample = text[:CSV_SNIFF_BYTES]
    if len(text) > CSV_SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a cut line would mislead the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {delimiter: header.count(delimiter) for delimiter in CSV_DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


_PANDAS_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_csv_grid(content: bytes) -> pd.DataFrame:
    if b"\x00" in content:
        raise ImportFileError(_("The file is not a CSV text file."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _(
                "The file is not UTF-8 encoded. In Excel, save it as “CSV UTF-8”, "
                "or upload the .xlsx workbook instead."
            )
        ) from error
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=detect_delimiter(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            # Blank lines are rows in a spreadsheet too; keeping them keeps row numbers right.
            skip_blank_lines=False,
            # One row past the limit tells "too many" apart; blank lines count as rows here.
            nrows=IMPORT_MAX_ROWS + 2,
        ).fillna("")
    except pd.errors.ParserError as error:
        found = _PANDAS_FIELD_COUNT.search(str(error))
        if found:
            expected, line, seen = found.groups()
            raise ImportFileError(
                _(
                    "Row %(row)s has %(seen)s values but the header row has %(expected)s. "
                    "Check the delimiter and quotes."
                )
                % {"row": line, "seen": seen, "expected": expected}
            ) from error
        raise ImportFileError(_("The CSV file is malformed: check the quotes.")) from error
    if len(grid) > IMPORT_MAX_ROWS + 1:
        raise _too_many_rows()
    return grid


def _check_xlsx_archive(content: bytes) -> None:
    not_a_workbook = ImportFileError(_("The file is not a valid Excel workbook (.xlsx)."))
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as error:
        raise not_a_workbook from error
    if len(entries) > XLSX_MAX_ENTRIES:
        raise ImportFileError(_("The workbook has too many parts to be a spreadsheet."))
    if not {entry.filename for entry in entries} >= XLSX_REQUIRED_PARTS:
        raise not_a_workbook
    uncompressed = sum(entry.file_size for entry in entries)
    compressed = sum(entry.compress_size for entry in entries)
    too_dense = [
        (entry.file_size, entry.compress_size)
        for entry in entries
        if entry.file_size > XLSX_RATIO_CHECK_MIN_BYTES
    ]
    if uncompressed > XLSX_RATIO_CHECK_MIN_BYTES:
        too_dense.append((uncompressed, compressed))
    if uncompressed > XLSX_MAX_UNCOMPRESSED_BYTES or any(
        size > XLSX_MAX_COMPRESSION_RATIO * max(packed, 1) for size, packed in too_dense
    ):
        raise ImportFileError(
            _("The workbook unpacks to far more data than a spreadsheet of this size holds.")
        )


def cell_text(value: Any) -> str:
    """An XLSX cell as the text a user would type for it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_xlsx_grid(content: bytes) -> pd.DataFrame:
    """The first worksheet's non-empty rows, indexed by spreadsheet row number - 1."""
    _check_xlsx_archive(content)
    rows: list[list[str]] = []
    positions: list[int] = []
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=True, keep_links=False
        )
        try:
            if not workbook.worksheets:
                raise ImportFileError(_("The workbook has no worksheet."))
            # Read-only worksheets yield empty rows for gaps, so the position is the row number.
            # Empty rows are skipped here: Excel often stores thousands of formatted empty ones.
            cells = workbook.worksheets[0].iter_rows(
                values_only=True, max_col=IMPORT_MAX_COLUMNS + 1
            )
            for position, values in enumerate(cells):
                texts = [cell_text(value).strip() for value in values]
                if any(texts) or position == 0:
                    rows.append(texts)
                    positions.append(position)
                    if len(rows) > IMPORT_MAX_ROWS + 1:
                        raise _too_many_rows()
        finally:
            workbook.close()
    except ImportFileError:
        raise
    except Exception as error:
        # openpyxl reports broken or hostile workbooks with many exception types (KeyError,
        # ValueError, defusedxml's EntitiesForbidden, XML ParseError ...); all mean the same.
        raise ImportFileError(_("The file is not a valid Excel workbook (.xlsx).")) from error
    if not rows:
        raise ImportFileError(_("The file is empty."))
    width = max(len(row) for row in rows)
    return pd.DataFrame(
        [row + [""] * (width - len(row)) for row in rows], index=positions, dtype=str
    )


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(count)s rows; split it into smaller files.")
        % {"count": f"{IMPORT_MAX_ROWS:,}"}
    )


def _sheet_from_grid(grid: pd.DataFrame) -> Sheet:
    """Header and data rows from a grid indexed by position (spreadsheet row number - 1)."""
    if grid.empty:
        raise ImportFileError(_("The file is empty."))
    grid = grid.apply(lambda column: column.str.strip())
    header = [str(name) for name in grid.iloc[0]]
    if grid.index[0] != 0 or not any(header):
        raise ImportFileError(_("The first row must hold the column names."))
    if len([name for name in header if name]) > IMPORT_MAX_COLUMNS:
        raise ImportFileError(
            _("The file has more than %(count)d columns.") % {"count": IMPORT_MAX_COLUMNS}
        )
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise ImportFileError(
                _("The column name “%(name)s” appears twice in the first row.") % {"name": name}
            )
        seen.add(name)
    # Columns without a name carry nothing the mapping could use (often Excel's stray cells).
    named = [position for position, name in enumerate(header) if name]
    frame = grid.iloc[1:, named]
    frame.columns = [header[position] for position in named]
    frame.index = frame.index + 1
    frame = frame[(frame != "").any(axis=1)]
    if frame.empty:
        raise ImportFileError(_("The file has a header but no data rows."))
    if len(frame) > IMPORT_MAX_ROWS:
        raise _too_many_rows()
    return Sheet(columns=tuple(frame.columns), frame=frame)


def read_job_sheet(job: ImportJob) -> Sheet:
    try:
        with job.file.open("rb") as handle:
            content = handle.read(IMPORT_MAX_UPLOAD_BYTES + 1)
    except OSError as error:
        raise ImportFileError(
            _("The uploaded file is no longer available; upload it again.")
        ) from error
    return read_sheet(content, file_format_of(job.file.name) or "csv")


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


# --- Validation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A problem in the user's file, in their coordinates; `row` is None for the whole file."""

    row: int | None
    column: str
    value: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    errors: list[RowError]
    row_count: int

    @property
    def valid_row_count(self) -> int:
        return self.row_count - len({error.row for error in self.errors if error.row is not None})


@dataclass(frozen=True)
class _Source:
    """The rows (positions in the file's data rows) that one record input was built from."""

    row: int
    allocation_rows: tuple[int, ...] = ()


@dataclass
class _Assembly:
    """Mapped rows turned into `parse_records` inputs, remembering where each came from."""

    rows: Sequence[Mapping[str, str]]
    row_numbers: Sequence[int]
    mapping: Mapping[str, str]
    inputs: list[dict[str, Any]]
    sources: list[_Source]
    # (row position, field, message) found while assembling: duplicates, inconsistent payments
    problems: list[tuple[int, str, str]]

    def row_error(self, error: RecordError) -> RowError:
        source = self.sources[error.index]
        position, field = _locate(error.field, source)
        return self._error_at(position, field, str(error.message))

    def _error_at(self, position: int, field: str, message: str) -> RowError:
        return RowError(
            row=self.row_numbers[position],
            column=self.mapping.get(field) or field,
            value=str(self.rows[position].get(field, "")),
            message=message,
        )

    def assembly_errors(self) -> list[RowError]:
        return [self._error_at(*problem) for problem in self.problems]


_ALLOCATION_FIELD = re.compile(r"^allocations\[(\d+)\](?:\.(\w+))?$")
_ALLOCATION_COLUMNS = {
    "invoice_erp_reference": "invoice_erp_reference",
    "amount": "allocated_amount",
}


def _locate(field: str, source: _Source) -> tuple[int, str]:
    """The row position and import field that a record error's field points at."""
    allocation = _ALLOCATION_FIELD.match(field)
    if allocation:
        number = int(allocation[1])
        rows = source.allocation_rows
        position = rows[number] if number < len(rows) else source.row
        return position, _ALLOCATION_COLUMNS.get(allocation[2] or "", "allocated_amount")
    if field == "allocations":
        return (source.allocation_rows or (source.row,))[-1], "allocated_amount"
    if field == NON_FIELD_ERRORS:
        return source.row, ""
    return source.row, field


def _value(row: Mapping[str, str], field: str) -> str:
    return (row.get(field) or "").strip()


# The fields that identify a record within one file, and the one a duplicate is reported on.
_NATURAL_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    ImportJob.Kind.BUYERS: (("erp_reference",), "erp_reference"),
    ImportJob.Kind.INVOICES: (("erp_reference",), "erp_reference"),
    ImportJob.Kind.FINANCIAL_STATEMENTS: (("buyer_erp_reference", "period_end"), "period_end"),
}
_PAYMENT_FIELDS = ("buyer_erp_reference", "received_date", "amount", "currency")
_ALLOCATION_INPUTS = ("invoice_erp_reference", "allocated_amount")


def _assemble(
    kind: str,
    rows: Sequence[Mapping[str, str]],
    row_numbers: Sequence[int],
    mapping: Mapping[str, str],
) -> _Assembly:
    """One record input per row, or for payments one per payment reference.

    Duplicates are found here, over the whole file, rather than by `parse_records`: validation
    runs in chunks, and the message must name the earlier spreadsheet row.
    """
    assembly = _Assembly(rows, row_numbers, mapping, inputs=[], sources=[], problems=[])
    if kind == ImportJob.Kind.PAYMENTS:
        _assemble_payments(assembly)
        return assembly
    key_fields, reported_field = _NATURAL_KEYS[kind]
    first_position: dict[tuple[str, ...], int] = {}
    for position, row in enumerate(rows):
        key = tuple(_value(row, field) for field in key_fields)
        if all(key):
            earlier = first_position.setdefault(key, position)
            if earlier != position:
                assembly.problems.append(
                    (
                        position,
                        reported_field,
                        _("Duplicate of row %(row)d.") % {"row": row_numbers[earlier]},
                    )
                )
                continue
        assembly.inputs.append(dict(row))
        assembly.sources.append(_Source(position))
    return assembly


def _assemble_payments(assembly: _Assembly) -> None:
    """Rows that share a payment reference are one payment with one allocation per row."""
    rows, row_numbers = assembly.rows, assembly.row_numbers
    by_reference: dict[str, int] = {}
    for position, row in enumerate(rows):
        allocation = None
        if any(_value(row, field) for field in _ALLOCATION_INPUTS):
            allocation = {
                "invoice_erp_reference": row.get("invoice_erp_reference", ""),
                "amount": row.get("allocated_amount", ""),
            }
        reference = _value(row, "erp_reference")
        index = by_reference.get(reference) if reference else None
        if index is None:
            payment = {
                field: value for field, value in row.items() if field not in _ALLOCATION_INPUTS
            }
            payment["allocations"] = [allocation] if allocation else []
            if reference:
                by_reference[reference] = len(assembly.inputs)
            assembly.inputs.append(payment)
            assembly.sources.append(_Source(position, (position,) if allocation else ()))
            continue
        source = assembly.sources[index]
        first_row = row_numbers[source.row]
        differing = [
            field
            for field in _PAYMENT_FIELDS
            if _value(row, field) != _value(rows[source.row], field)
        ]
        if differing:
            assembly.problems.append(
                (
                    position,
                    differing[0],
                    _("Row %(row)d has the same payment reference with a different value.")
                    % {"row": first_row},
                )
            )
        elif allocation is None:
            assembly.problems.append(
                (position, "erp_reference", _("Duplicate of row %(row)d.") % {"row": first_row})
            )
        else:
            assembly.inputs[index]["allocations"].append(allocation)
            assembly.sources[index] = _Source(source.row, (*source.allocation_rows, position))


def _chunk_size(input_count: int) -> int:
    return max(MIN_CHUNK_ROWS, -(-input_count // PROGRESS_STEPS))


def _existing(model: type[Buyer] | type[Invoice], references: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(references)
    for start in range(0, len(ordered), 5_000):
        found.update(
            model.objects.filter(erp_reference__in=ordered[start : start + 5_000]).values_list(
                "erp_reference", flat=True
            )
        )
    return found


def reference_errors(kind: str, inputs: Sequence[Mapping[str, Any]]) -> list[RecordError]:
    """Inputs that name a buyer (or an invoice) that neither the database nor the file holds.

    Checked on the raw inputs, so unknown references show up next to every other error.
    A preview convenience: `bulk_upsert` resolves references again inside its transaction.
    Needs the tenant active.
    """
    errors: list[RecordError] = []
    if kind == ImportJob.Kind.BUYERS:
        in_file = {_value(values, "erp_reference") for values in inputs}
        wanted = {_value(values, "parent_erp_reference") for values in inputs} - in_file - {""}
        unknown = wanted - _existing(Buyer, wanted)
        errors.extend(
            RecordError(index, "parent_erp_reference", _("Unknown parent buyer."))
            for index, values in enumerate(inputs)
            if _value(values, "parent_erp_reference") in unknown
        )
        return errors
    wanted = {_value(values, "buyer_erp_reference") for values in inputs} - {""}
    unknown = wanted - _existing(Buyer, wanted)
    errors.extend(
        RecordError(index, "buyer_erp_reference", _("Unknown buyer."))
        for index, values in enumerate(inputs)
        if _value(values, "buyer_erp_reference") in unknown
    )
    if kind == ImportJob.Kind.PAYMENTS:
        allocated = [
            (index, number, _value(allocation, "invoice_erp_reference"))
            for index, values in enumerate(inputs)
            for number, allocation in enumerate(values["allocations"])
        ]
        wanted = {reference for _index, _number, reference in allocated} - {""}
        unknown = wanted - _existing(Invoice, wanted)
        errors.extend(
            RecordError(
                index, f"allocations[{number}].invoice_erp_reference", _("Unknown invoice.")
            )
            for index, number, reference in allocated
            if reference in unknown
        )
    return errors


def validate_rows(
    *,
    tenant: Tenant,
    kind: str,
    rows: Sequence[Mapping[str, str]],
    row_numbers: Sequence[int],
    mapping: Mapping[str, str],
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Validation, _Assembly]:
    """Every row through `parse_records` (in chunks, reporting progress), then references.

    Without a transaction of its own: the reference check opens a short one with the tenant.
    """
    assembly = _assemble(kind, rows, row_numbers, mapping)
    inputs = assembly.inputs
    record_errors: list[RecordError] = []
    step = _chunk_size(len(inputs))
    for start in range(0, len(inputs), step):
        _records, chunk_errors = parse_records(kind, inputs[start : start + step])
        record_errors.extend(
            RecordError(error.index + start, error.field, error.message) for error in chunk_errors
        )
        if on_progress is not None:
            done = min(start + step, len(inputs))
            on_progress(len(rows) * done // max(len(inputs), 1))
    with tenant_context(tenant):
        record_errors.extend(reference_errors(kind, inputs))
    errors = assembly.assembly_errors() + [assembly.row_error(error) for error in record_errors]
    field_order = {field.name: order for order, field in enumerate(import_fields(kind))}
    column_order = {
        mapping[name]: order for name, order in field_order.items() if mapping.get(name)
    }
    errors.sort(
        key=lambda error: (error.row or 0, column_order.get(error.column, len(field_order)))
    )
    return Validation(errors=errors, row_count=len(rows)), assembly


def sheet_row_numbers(sheet: Sheet) -> list[int]:
    return [int(number) for number in sheet.frame.index]


# --- Jobs: upload, map, preview, queue ----------------------------------------------------------


def upload_check(upload: UploadedFile) -> str:
    """The upload's format ("csv" or "xlsx"), or ImportFileError before anything is read."""
    file_format = file_format_of(upload.name or "")
    if file_format is None:
        raise ImportFileError(_("Upload a .csv or .xlsx file."))
    if upload.size is not None and upload.size > IMPORT_MAX_UPLOAD_BYTES:
        raise ImportFileError(_too_large_message())
    return file_format


def import_job_create(
    *, tenant: Tenant, actor: AbstractBaseUser, kind: str, upload: UploadedFile
) -> ImportJob:
    """Store a readable upload as a new job with its columns auto-mapped."""
    file_format = upload_check(upload)
    content = upload.read(IMPORT_MAX_UPLOAD_BYTES + 1)
    sheet = read_sheet(content, file_format)
    job = ImportJob(
        tenant=tenant,
        kind=kind,
        original_filename=Path(upload.name or "").name[:255],
        column_mapping=auto_mapping(kind, sheet.columns),
        total_rows=sheet.row_count,
        created_by=actor,
    )
    # A generated name: the user's file name is only displayed, never part of a path.
    job.file.save(f"{uuid.uuid4().hex}.{file_format}", ContentFile(content), save=False)
    job.save()
    return job


def import_job_map(*, job: ImportJob, mapping: Mapping[str, str]) -> ImportJob:
    """Save the user's column choices; only before the job is queued."""
    if job.status != ImportJob.Status.UPLOADED:
        raise ImportFileError(_("This import has already been started."))
    job.column_mapping = {
        field.name: mapping.get(field.name) or "" for field in import_fields(job.kind)
    }
    job.save(update_fields=["column_mapping"])
    return job


@dataclass(frozen=True)
class PreviewRow:
    number: int
    cells: list[tuple[str, bool]]  # (value, has an error), in the order of Preview.fields


@dataclass(frozen=True)
class Preview:
    fields: list[TargetField]  # the mapped fields
    columns: list[str]  # their columns in the file
    rows: list[PreviewRow]
    validation: Validation

    @property
    def headings(self) -> list[tuple[TargetField, str]]:
        return list(zip(self.fields, self.columns, strict=True))

    @property
    def first_errors(self) -> list[RowError]:
        return self.validation.errors[:PREVIEW_ERRORS]


def import_job_preview(*, tenant: Tenant, job: ImportJob) -> Preview:
    """The first rows as they will be imported, and the validation of the whole file."""
    sheet = read_job_sheet(job)
    mapping = job.column_mapping
    rows = mapped_rows(sheet, mapping)
    row_numbers = sheet_row_numbers(sheet)
    validation, _assembly = validate_rows(
        tenant=tenant, kind=job.kind, rows=rows, row_numbers=row_numbers, mapping=mapping
    )
    fields = [field for field in import_fields(job.kind) if mapping.get(field.name)]
    flagged = {(error.row, error.column) for error in validation.errors}
    preview_rows = [
        PreviewRow(
            number=number,
            cells=[
                (values[field.name], (number, mapping[field.name]) in flagged) for field in fields
            ],
        )
        for number, values in zip(row_numbers[:PREVIEW_ROWS], rows[:PREVIEW_ROWS], strict=True)
    ]
    return Preview(
        fields=fields,
        columns=[mapping[field.name] for field in fields],
        rows=preview_rows,
        validation=validation,
    )


def import_job_errors(*, tenant: Tenant, job: ImportJob) -> list[RowError]:
    """A finished job's stored errors, or the current validation errors of a mapped upload."""
    if job.status == ImportJob.Status.UPLOADED:
        return import_job_preview(tenant=tenant, job=job).validation.errors
    return [RowError(**error) for error in job.errors]


def error_report_csv(errors: Iterable[RowError]) -> bytes:
    return csv_bytes(
        ("row", "column", "value", "message"),
        [(error.row, error.column, error.value, error.message) for error in errors],
    )


def import_job_queue(*, tenant: Tenant, job: ImportJob) -> bool:
    """Hand a mapped upload to the worker after commit; False if it was queued before."""
    from .tasks import import_run

    missing = missing_required_fields(job.kind, job.column_mapping)
    if missing:
        raise ImportFileError(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(str(field.label) for field in missing)}
        )
    queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        status=ImportJob.Status.QUEUED
    )
    if queued:
        job_id, tenant_id = job.pk, tenant.pk
        language = get_language() or settings.LANGUAGE_CODE
        transaction.on_commit(
            lambda: import_run.delay(job_id, tenant_id=tenant_id, language=language)
        )
    return bool(queued)


# --- Jobs: the run --------------------------------------------------------------------------------


def _set_progress(tenant: Tenant, job_id: int, processed_rows: int) -> None:
    # Its own short transaction, so the page polling progress.json sees it during the run.
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job_id).update(processed_rows=processed_rows)


def _finish_failed(tenant: Tenant, job_id: int, errors: Sequence[RowError]) -> None:
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            errors=[error.as_dict() for error in errors[:MAX_STORED_ERRORS]],
            finished_at=timezone.now(),
        )


def _claim(tenant: Tenant, job_id: int) -> ImportJob | None:
    """Compare-and-set queued → running, so a redelivered task never runs a job twice."""
    now = timezone.now()
    with tenant_context(tenant):
        claimed = (
            ImportJob.objects.filter(pk=job_id)
            .filter(
                Q(status=ImportJob.Status.QUEUED)
                | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_RUNNING_AFTER)
            )
            .update(status=ImportJob.Status.RUNNING, started_at=now, processed_rows=0)
        )
        if not claimed:
            return None
        return ImportJob.objects.select_related("created_by").get(pk=job_id)


def import_job_run(*, tenant_id: int, job_id: int) -> None:
    """Validate the whole file, then write it in one transaction, or write nothing.

    Progress and the outcome are written in short transactions of their own, so the caller
    must not hold one open (nobody would see the progress). A job that is not queued (already
    running, succeeded or failed) is left alone, which makes redelivery harmless.
    """
    tenant = Tenant.objects.get(pk=tenant_id, is_active=True)
    job = _claim(tenant, job_id)
    if job is None:
        return
    try:
        sheet = read_job_sheet(job)
        validation, assembly = validate_rows(
            tenant=tenant,
            kind=job.kind,
            rows=mapped_rows(sheet, job.column_mapping),
            row_numbers=sheet_row_numbers(sheet),
            mapping=job.column_mapping,
            on_progress=lambda done: _set_progress(tenant, job_id, done),
        )
        if validation.errors:
            _finish_failed(tenant, job_id, validation.errors)
            return
        with tenant_context(tenant):
            # bulk_upsert takes the raw inputs and cleans them again itself: the checks above
            # are for the report and the progress bar, this is the write's own guarantee.
            result = bulk_upsert(
                tenant=tenant, actor=job.created_by, kind=job.kind, records=assembly.inputs
            )
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.SUCCEEDED,
                total_rows=validation.row_count,
                processed_rows=validation.row_count,
                created_count=result.created,
                updated_count=result.updated,
                finished_at=timezone.now(),
            )
            audit_record(
                tenant=tenant,
                actor=job.created_by,
                action="import.run",
                obj=job,
                after={
                    "kind": job.kind,
                    "created": result.created,
                    "updated": result.updated,
                    "rows": validation.row_count,
                },
            )
    except BulkValidationError as error:
        _finish_failed(tenant, job_id, [assembly.row_error(problem) for problem in error.errors])
    except ImportFileError as error:
        _finish_failed(tenant, job_id, [RowError(None, "", "", error.message)])
    except Exception:
        logger.exception("import job %s of tenant %s stopped", job_id, tenant_id)
        message = _("The import stopped unexpectedly; nothing was imported.")
        _finish_failed(tenant, job_id, [RowError(None, "", "", message)])
        raise


def import_progress(job: ImportJob) -> dict[str, Any]:
    """What the job page polls: the numbers behind the progress bar and the outcome."""
    done = job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)
    percent = job.processed_rows * 100 // job.total_rows if job.total_rows else 0
    if job.status == ImportJob.Status.SUCCEEDED:
        percent = 100
    elif job.status == ImportJob.Status.RUNNING:
        percent = min(percent, 99)  # every row is checked, the write is still to come
    return {
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "processed_rows": job.processed_rows,
        "total_rows": job.total_rows,
        "percent": percent,
        "created": job.created_count,
        "updated": job.updated_count,
        "error_count": len(job.errors),
        "done": done,
    }
