"""How a CSV file writes its text, numbers and dates, and the readings that turn them into the
plain forms `buyers.records` accepts ("1234.56", "2025-01-31").

Decisions:
- Encoding: a byte-order mark means UTF-8; so does text that decodes as UTF-8 (plain ASCII
  included). Otherwise charset-normalizer chooses between Windows-1252 and GB18030, the two
  other encodings Excel writes for our users ("CSV" on a German or Chinese Windows); each of them
  decodes many of the other's files without error, so a byte-level check alone cannot tell.
- Numbers: an amount has at most two decimals, so a value read with both conventions is read as
  money by at most one of them ("1.234" is 1234 in "1.234,56"; "1,50" is 1.5 only there). Values
  that only one convention reads decide; values both read alike ("1500") decide nothing. A file
  with deciding values for both conventions is not guessed: the user is asked to choose.
- Dates: ISO dates (2025-01-31) are always read. Day-first and month-first dates are told apart
  by a part above 12; dots are day-first in every locale that writes them. A file whose dates
  could be either (01/02/2025 and nothing deciding) is not guessed: the user is asked.
- Without deciding values the choice changes nothing; the locale the file hints at (a semicolon
  delimiter is what Excel writes where the decimal separator is a comma) is shown as the reading.

Plain Python: nothing here touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from charset_normalizer import from_bytes

# Stored on the job ("" means: detect). Labels live with the forms.
ENCODINGS = ("utf-8", "cp1252", "gb18030")
DELIMITERS = (",", ";", "\t")
NUMBER_FORMATS = ("point", "comma")  # 1,234.56 / 1.234,56
DATE_ORDERS = ("dmy", "mdy")  # 31.01.2025 or 31/01/2025 / 01/31/2025; ISO dates always read

POINT, COMMA = NUMBER_FORMATS
DAY_FIRST, MONTH_FIRST = DATE_ORDERS
EXAMPLE_AMOUNT = {POINT: "1,234.56", COMMA: "1.234,56"}
EXAMPLE_DATE = {DAY_FIRST: "31.01.2025", MONTH_FIRST: "01/31/2025"}


def detect_encoding(content: bytes) -> str | None:
    """ "utf-8", "cp1252" or "gb18030"; None if the bytes are none of them."""
    try:
        content.decode("utf-8")  # a byte-order mark decodes too
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    # charset-normalizer samples a large file itself.
    best = from_bytes(content, cp_isolation=["cp1252", "gb18030"]).best()
    if best is None:
        return None
    return "gb18030" if best.encoding == "gb18030" else "cp1252"


def decode(content: bytes, encoding: str) -> str:
    """The text of the file; a UTF-8 byte-order mark is dropped. UnicodeDecodeError if it is
    not written in `encoding`."""
    return content.decode("utf-8-sig" if encoding == "utf-8" else encoding)


# --- Numbers ------------------------------------------------------------------------------------

# Thousands may be grouped with spaces, also (narrow) non-breaking ones; the Swiss write 1'234.56.
_AMOUNT = {
    POINT: re.compile(r"(-?)([0-9]{1,3}(?:[,' \u00a0\u202f][0-9]{3})+|[0-9]+)(?:\.([0-9]+))?"),
    COMMA: re.compile(r"(-?)([0-9]{1,3}(?:[. \u00a0\u202f][0-9]{3})+|[0-9]+)(?:,([0-9]+))?"),
}


def amount_reading(text: str, number_format: str) -> str | None:
    """The amount as "-1234.56" in the `number_format` convention, or None if it is not one."""
    found = _AMOUNT[number_format].fullmatch(text.strip())
    if found is None:
        return None
    sign, whole, decimals = found.groups()
    digits = re.sub(r"[^0-9]", "", whole)
    return f"{sign}{digits}.{decimals}" if decimals is not None else f"{sign}{digits}"


def _money_reading(text: str, number_format: str) -> str | None:
    reading = amount_reading(text, number_format)
    if reading is None or len(reading.partition(".")[2]) > 2:
        return None
    return reading


# --- Dates --------------------------------------------------------------------------------------

_ISO_LIKE = re.compile(r"([0-9]{4})([-./])([0-9]{1,2})\2([0-9]{1,2})")
_DAY_OR_MONTH_FIRST = re.compile(r"([0-9]{1,2})([-./])([0-9]{1,2})\2([0-9]{4})")


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def date_reading(text: str, date_order: str) -> str | None:
    """The date as "YYYY-MM-DD", or None if it is not a date in `date_order` (or ISO)."""
    text = text.strip()
    iso = _ISO_LIKE.fullmatch(text)
    if iso:
        parsed = _valid(int(iso[1]), int(iso[3]), int(iso[4]))
        return parsed.isoformat() if parsed else None
    found = _DAY_OR_MONTH_FIRST.fullmatch(text)
    if found is None:
        return None
    first, second, year = int(found[1]), int(found[3]), int(found[4])
    day, month = (first, second) if date_order == DAY_FIRST else (second, first)
    parsed = _valid(year, month, day)
    return parsed.isoformat() if parsed else None


# --- Guessing from the values ---------------------------------------------------------------------


@dataclass(frozen=True)
class Guess:
    """The reading of one setting: `value` is used; `decided` says the values showed it;
    `conflict` says they showed both readings (or could be either): the user must choose.
    `examples` are values that decided, or that conflict, as (row, value)."""

    value: str
    decided: bool = False
    conflict: bool = False
    examples: tuple[tuple[int, str], ...] = ()
    chosen: bool = False  # by the user, not guessed
    # The conflict is values that read both ways (01/02/2025), not values of both readings.
    ambiguous: bool = False


def chosen(value: str) -> Guess:
    return Guess(value, decided=True, chosen=True)


def guess_number_format(values: Iterable[tuple[int, str]], *, hint: str = POINT) -> Guess:
    """From (row, text) pairs of amount cells; `hint` is the reading without deciding values."""
    votes: dict[str, list[tuple[int, str]]] = {POINT: [], COMMA: []}
    for row, text in values:
        if not text:
            continue
        readings = {option: _money_reading(text, option) for option in NUMBER_FORMATS}
        readable = [option for option, reading in readings.items() if reading is not None]
        if len(readable) == 1:
            votes[readable[0]].append((row, text))
            if all(votes.values()):
                break  # already a conflict; the rest of a large file changes nothing
    return _decide(votes, hint)


def guess_date_order(values: Iterable[tuple[int, str]], *, hint: str = DAY_FIRST) -> Guess:
    """From (row, text) pairs of date cells; dates that could be read both ways ask the user
    unless another date decides."""
    votes: dict[str, list[tuple[int, str]]] = {DAY_FIRST: [], MONTH_FIRST: []}
    either: list[tuple[int, str]] = []
    for row, text in values:
        found = _DAY_OR_MONTH_FIRST.fullmatch(text.strip())
        if found is None:
            continue
        if found[2] == ".":
            votes[DAY_FIRST].append((row, text))
            continue
        readings = {option: date_reading(text, option) for option in DATE_ORDERS}
        readable = [option for option, reading in readings.items() if reading is not None]
        if len(readable) == 1:
            votes[readable[0]].append((row, text))
            if all(votes.values()):
                break
        elif len(readable) == 2 and readings[DAY_FIRST] != readings[MONTH_FIRST]:
            either.append((row, text))
    guess = _decide(votes, hint)
    if not guess.decided and either:
        return Guess(hint, conflict=True, ambiguous=True, examples=tuple(either[:1]))
    return guess


def _decide(votes: Mapping[str, list[tuple[int, str]]], hint: str) -> Guess:
    voted = [option for option, found in votes.items() if found]
    if len(voted) == 1:
        return Guess(voted[0], decided=True, examples=tuple(votes[voted[0]][:1]))
    if len(voted) == 2:
        first, second = votes.values()
        majority = max(votes, key=lambda option: (len(votes[option]), option == hint))
        return Guess(majority, conflict=True, examples=(first[0], second[0]))
    return Guess(hint)


# --- The settings of one upload -------------------------------------------------------------------


@dataclass(frozen=True)
class ReadOptions:
    """How to read an upload; "" means: detect (the encoding and delimiter from the bytes,
    the number format and date order from the mapped values)."""

    encoding: str = ""
    delimiter: str = ""
    number_format: str = ""
    date_order: str = ""

    @classmethod
    def from_json(cls, data: Any) -> ReadOptions:
        if not isinstance(data, Mapping):
            return cls()
        allowed = {
            "encoding": ENCODINGS,
            "delimiter": DELIMITERS,
            "number_format": NUMBER_FORMATS,
            "date_order": DATE_ORDERS,
        }
        return cls(
            **{
                name: value if (value := data.get(name)) in options else ""
                for name, options in allowed.items()
            }
        )

    def as_json(self) -> dict[str, str]:
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "number_format": self.number_format,
            "date_order": self.date_order,
        }


@dataclass(frozen=True)
class ValueFormats:
    """The number format and date order of one reading of a file."""

    number: Guess
    date: Guess

    @property
    def conflicts(self) -> bool:
        return self.number.conflict or self.date.conflict


# The job's column mapping (field → column) also keeps its read options, under a key that no
# field name can take.
READ_OPTIONS_KEY = "@read"


def read_options_of(column_mapping: Mapping[str, Any]) -> ReadOptions:
    return ReadOptions.from_json(column_mapping.get(READ_OPTIONS_KEY))


def field_columns_of(column_mapping: Mapping[str, Any]) -> dict[str, str]:
    """Field name → column ("" if not in the file), without the read options."""
    return {
        name: column
        for name, column in column_mapping.items()
        if name != READ_OPTIONS_KEY and isinstance(column, str)
    }


def stored_mapping(fields: Mapping[str, str], options: ReadOptions) -> dict[str, Any]:
    return {**fields, READ_OPTIONS_KEY: options.as_json()}
