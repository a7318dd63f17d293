"""Reading an upload: format and size checks, CSV/XLSX into a table of text.

Decisions:
- A CSV file may be UTF-8 (with or without a byte-order mark), Windows-1252 or GB18030: what
  Excel writes as "CSV UTF-8" and as plain "CSV" on a Western European or a Chinese Windows.
  The encoding is detected (`formats.detect_encoding`); the user sees the guess on the mapping
  and preview pages and can change it, and the file is read again.
- The delimiter (comma, semicolon or tab) is detected with `csv.Sniffer`; when it cannot
  decide, the candidate that occurs most often in the header row wins, and a header with none
  of them is a one-column file. The user can change it too.
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
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from ..models import ImportJob
from .formats import DELIMITERS, ReadOptions, decode, detect_encoding, read_options_of

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
CSV_DELIMITERS = "".join(DELIMITERS)
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "gb18030": "GB18030"}

FILE_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


class ImportFileError(Exception):
    """The uploaded file cannot be read; `message` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Reading files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """The file's table: its header and its data rows as text.

    `frame` has one column per header name; its index is the spreadsheet row number, so it
    survives dropping empty rows.
    """

    columns: tuple[str, ...]
    frame: pd.DataFrame
    # How a CSV file was read (detected or chosen); "" for a workbook.
    encoding: str = ""
    delimiter: str = ""

    @property
    def row_count(self) -> int:
        return len(self.frame)


def file_format_of(filename: str) -> str | None:
    return FILE_FORMATS.get(Path(filename).suffix.lower())


def read_sheet(content: bytes, file_format: str, options: ReadOptions | None = None) -> Sheet:
    """Read a CSV or XLSX file, refusing anything unsafe, malformed or too large.

    A CSV file is read with `options`' encoding and delimiter, each detected when not given."""
    if len(content) > IMPORT_MAX_UPLOAD_BYTES:
        raise ImportFileError(_too_large_message())
    if file_format != "csv":
        return _sheet_from_grid(_read_xlsx_grid(content))
    options = options or ReadOptions()
    text, encoding = _csv_text(content, options.encoding)
    delimiter = options.delimiter or detect_delimiter(text)
    sheet = _sheet_from_grid(_read_csv_grid(text, delimiter))
    return Sheet(sheet.columns, sheet.frame, encoding=encoding, delimiter=delimiter)


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


def _csv_text(content: bytes, encoding: str) -> tuple[str, str]:
    """The file's text and its encoding (`encoding`, or the detected one if "")."""
    if b"\x00" in content:
        raise ImportFileError(_("The file is not a CSV text file."))
    used = encoding or detect_encoding(content)
    if used is None:
        raise ImportFileError(
            _(
                "The file's characters are not UTF-8, Windows-1252 or GB18030. In Excel, save "
                "it as “CSV UTF-8”, or upload the .xlsx workbook instead."
            )
        )
    try:
        text = decode(content, used)
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _("The file cannot be read as %(encoding)s: choose another encoding.")
            % {"encoding": ENCODING_NAMES[used]}
        ) from error
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    return text, used


def _read_csv_grid(text: str, delimiter: str) -> pd.DataFrame:
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
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
    return read_sheet(
        content, file_format_of(job.file.name or "") or "csv", read_options_of(job.column_mapping)
    )


def upload_check(upload: UploadedFile) -> str:
    """The upload's format ("csv" or "xlsx"), or ImportFileError before anything is read."""
    file_format = file_format_of(upload.name or "")
    if file_format is None:
        raise ImportFileError(_("Upload a .csv or .xlsx file."))
    if upload.size is not None and upload.size > IMPORT_MAX_UPLOAD_BYTES:
        raise ImportFileError(_too_large_message())
    return file_format
