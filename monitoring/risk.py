"""Country and sector risk: quarterly rating files in, the ratings in force on a date out.

Ratings run from 1 (very low risk) to 10 (extreme risk); see ``monitoring/risk_data/README.md``
for the scale and how the shipped ratings were derived. Both tables are global reference data
with history: one row per country (or NACE section) and effective date. An import adds the
rows of new effective dates, corrects rows whose effective date already exists, and leaves
identical rows alone, so importing the same file twice changes nothing.

Files are CSV or XLSX, read into pandas by the buyer imports' reader (XLSX through openpyxl,
which parses with defusedxml).
An import is all-or-nothing: every row is checked first, and any problem (unknown country,
rating outside 1–10, bad date, ...) is reported by row and column with nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
from django.db import transaction

from buyers.imports import ImportFileError, file_format_of, read_sheet
from creditguard.reference.models import Country
from creditguard.reference.nace import SECTIONS
from creditguard.reference.services import RowError

from .models import CountryRisk, SectorRisk

SOURCE_MAX_LENGTH = 120
DATA_VERSION_MAX_LENGTH = 20
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?)?$")
_RiskModel = TypeVar("_RiskModel", CountryRisk, SectorRisk)


class RiskImportError(Exception):
    """The file was rejected; `errors` lists every problem by row (header = row 1) and column."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problems; nothing imported")
        self.errors = errors


@dataclass(frozen=True)
class RatingChange:
    code: str  # ISO 3166 alpha-2 country code or NACE section letter
    old_rating: int | None  # the rating in force before `effective_date`; None if there was none
    new_rating: int
    effective_date: date


@dataclass
class RiskImportSummary:
    rows: int = 0
    created: int = 0  # rows of an effective date not seen before
    corrected: int = 0  # existing (code, effective date) rows whose values changed
    unchanged: int = 0  # identical to what is stored: not written again
    upgrades: list[RatingChange] = field(default_factory=list)  # lower (better) rating
    downgrades: list[RatingChange] = field(default_factory=list)  # higher (worse) rating
    first_ratings: list[RatingChange] = field(default_factory=list)  # nothing was in force before

    @property
    def written(self) -> int:
        return self.created + self.corrected


@dataclass(frozen=True)
class _Kind(Generic[_RiskModel]):
    model: type[_RiskModel]
    code_column: str  # the file's column
    code_field: str  # the model's field
    columns: tuple[str, ...]

    def write_fields(self) -> list[str]:
        return [name for name in self.columns if name not in (self.code_column, "effective_date")]


_COUNTRY = _Kind(
    CountryRisk,
    "country",
    "country_id",
    ("country", "rating", "effective_date", "source", "data_version"),
)
_SECTOR = _Kind(
    SectorRisk,
    "nace_section",
    "nace_section",
    ("nace_section", "rating", "effective_date", "source"),
)


# --- Imports -----------------------------------------------------------------------------------


def country_risk_import(*, path: Path, dry_run: bool = False) -> RiskImportSummary:
    """Import a country risk file (columns: country, rating, effective_date, source,
    data_version). Raises `RiskImportError` and writes nothing when any row is invalid;
    ``dry_run`` checks and summarises without writing."""
    valid_codes = set(Country.objects.values_list("code", flat=True))
    return _import(_COUNTRY, path=path, valid_codes=valid_codes, dry_run=dry_run)


def sector_risk_import(*, path: Path, dry_run: bool = False) -> RiskImportSummary:
    """Import a sector risk file (columns: nace_section (A–U), rating, effective_date, source)."""
    return _import(_SECTOR, path=path, valid_codes=set(SECTIONS), dry_run=dry_run)


def read_risk_table(path: Path) -> pd.DataFrame:
    """The file's cells as text, header names lower-cased, indexed by spreadsheet row number.

    CSV or XLSX by file extension, read by the buyer imports' reader (delimiter detection,
    size limits, zip-bomb and XML-entity checks for workbooks).
    """
    file_format = file_format_of(path.name)
    if file_format is None:
        raise RiskImportError([RowError(0, "", "the file must be .csv or .xlsx")])
    try:
        sheet = read_sheet(path.read_bytes(), file_format)
    except ImportFileError as error:
        raise RiskImportError([RowError(0, "", str(error.message))]) from error
    frame = sheet.frame.copy()
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    return frame


def _import(
    kind: _Kind[_RiskModel], *, path: Path, valid_codes: set[str], dry_run: bool
) -> RiskImportSummary:
    frame = read_risk_table(path)
    rows = _validated_rows(kind, frame, valid_codes)
    with transaction.atomic():
        existing = {
            (code, effective): values
            for code, effective, *values in kind.model.objects.select_for_update().values_list(
                kind.code_field, "effective_date", *kind.write_fields()
            )
        }
        summary = RiskImportSummary(rows=len(rows))
        to_write = []
        history: dict[str, dict[date, int]] = {}
        for (code, effective), values in existing.items():
            history.setdefault(code, {})[effective] = values[0]
        written_keys = []
        for row in rows:
            key = (row[kind.code_column], row["effective_date"])
            values = [row[name] for name in kind.write_fields()]
            if key in existing and list(existing[key]) == values:
                summary.unchanged += 1
                continue
            if key in existing:
                summary.corrected += 1
            else:
                summary.created += 1
            to_write.append(row)
            written_keys.append(key)
            history.setdefault(key[0], {})[key[1]] = row["rating"]
        for code, effective in written_keys:
            _classify(summary, code, effective, history[code])
        if to_write and not dry_run:
            kind.model.objects.bulk_create(
                [
                    kind.model(
                        **{kind.code_field: row[kind.code_column]},
                        **{name: row[name] for name in kind.write_fields()},
                        effective_date=row["effective_date"],
                    )
                    for row in to_write
                ],
                update_conflicts=True,
                unique_fields=[kind.code_field.removesuffix("_id"), "effective_date"],
                update_fields=kind.write_fields(),
            )
    return summary


def _classify(
    summary: RiskImportSummary, code: str, effective: date, ratings: dict[date, int]
) -> None:
    earlier = [day for day in ratings if day < effective]
    new_rating = ratings[effective]
    if not earlier:
        summary.first_ratings.append(RatingChange(code, None, new_rating, effective))
        return
    old_rating = ratings[max(earlier)]
    if new_rating > old_rating:
        summary.downgrades.append(RatingChange(code, old_rating, new_rating, effective))
    elif new_rating < old_rating:
        summary.upgrades.append(RatingChange(code, old_rating, new_rating, effective))


def _validated_rows(
    kind: _Kind[_RiskModel], frame: pd.DataFrame, valid_codes: set[str]
) -> list[dict[str, Any]]:
    missing = [column for column in kind.columns if column not in frame.columns]
    if missing:
        raise RiskImportError([RowError(1, column, "missing column") for column in missing])
    errors: list[RowError] = []
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, date], int] = {}
    records = frame[list(kind.columns)].to_dict("records")
    for row_number, record in zip(frame.index.tolist(), records, strict=True):
        row, row_errors = _validated_row(kind, record, row_number, valid_codes)
        errors.extend(row_errors)
        if row_errors:
            continue
        key = (row[kind.code_column], row["effective_date"])
        if key in seen:
            errors.append(
                RowError(
                    row_number,
                    kind.code_column,
                    f"repeats row {seen[key]} (same {kind.code_column} and effective_date)",
                )
            )
            continue
        seen[key] = row_number
        rows.append(row)
    if errors:
        raise RiskImportError(errors)
    return rows


def _validated_row(
    kind: _Kind[_RiskModel], record: dict[str, Any], row_number: int, valid_codes: set[str]
) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []
    row: dict[str, Any] = {}

    def error(column: str, message: str) -> None:
        errors.append(RowError(row_number, column, message))

    code = str(record[kind.code_column]).strip().upper()
    if code not in valid_codes:
        label = "ISO 3166 country code" if kind is _COUNTRY else "NACE section (A–U)"
        error(kind.code_column, f"unknown {label}: {code!r}" if code else f"missing {label}")
    row[kind.code_column] = code

    rating = _integer(str(record["rating"]).strip())
    if rating is None or not 1 <= rating <= 10:
        error("rating", "must be a whole number from 1 to 10")
    row["rating"] = rating

    match = _DATE.match(str(record["effective_date"]).strip())
    effective = None
    if match:
        try:
            effective = date.fromisoformat(match[1])
        except ValueError:
            effective = None
    if effective is None:
        error("effective_date", "not a YYYY-MM-DD date")
    row["effective_date"] = effective

    for column, limit in (("source", SOURCE_MAX_LENGTH), ("data_version", DATA_VERSION_MAX_LENGTH)):
        if column not in kind.columns:
            continue
        text = str(record[column]).strip()
        if not text:
            error(column, "required")
        elif len(text) > limit:
            error(column, f"at most {limit} characters")
        row[column] = text
    return row, errors


def _integer(text: str) -> int | None:
    """ "3" or "3.0" (spreadsheets) → 3; anything else → None."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not number.is_integer():
        return None
    return int(number)


# --- Selectors ---------------------------------------------------------------------------------


def current_country_ratings(on: date) -> dict[str, int]:
    """Country code → the rating in force on ``on`` (the latest effective on or before it)."""
    return dict(
        CountryRisk.objects.filter(effective_date__lte=on)
        .order_by("country_id", "-effective_date")
        .distinct("country_id")
        .values_list("country_id", "rating")
    )


def current_sector_ratings(on: date) -> dict[str, int]:
    """NACE section → the rating in force on ``on``."""
    return dict(
        SectorRisk.objects.filter(effective_date__lte=on)
        .order_by("nace_section", "-effective_date")
        .distinct("nace_section")
        .values_list("nace_section", "rating")
    )


def country_downgrades(
    *, since: date, until: date | None = None
) -> list[tuple[str, int, int, date]]:
    """``(country_code, old_rating, new_rating, effective_date)`` for every country whose rating
    got worse (higher) with an effective date on or after ``since`` (and on or before
    ``until``, when given; ratings imported ahead of their effective date are included
    otherwise). ``old_rating`` is the rating in force just before. Oldest first."""
    rows = CountryRisk.objects.order_by("country_id", "effective_date").values_list(
        "country_id", "effective_date", "rating"
    )
    return _downgrades(rows, since=since, until=until)


def sector_downgrades(
    *, since: date, until: date | None = None
) -> list[tuple[str, int, int, date]]:
    """Like `country_downgrades`, per NACE section."""
    rows = SectorRisk.objects.order_by("nace_section", "effective_date").values_list(
        "nace_section", "effective_date", "rating"
    )
    return _downgrades(rows, since=since, until=until)


def _downgrades(
    rows: Iterable[tuple[str, date, int]], *, since: date, until: date | None
) -> list[tuple[str, int, int, date]]:
    downgrades = []
    previous: tuple[str, int] | None = None
    for code, effective, rating in rows:
        if previous is not None and previous[0] == code:
            old_rating = previous[1]
            in_window = effective >= since and (until is None or effective <= until)
            if in_window and rating > old_rating:
                downgrades.append((code, old_rating, rating, effective))
        previous = (code, rating)
    return sorted(downgrades, key=lambda downgrade: (downgrade[3], downgrade[0]))
