"""CSV files that are safe to open in a spreadsheet (every export of the site writes through here).

Text that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return)
gets a leading apostrophe, as OWASP's CSV-injection guidance recommends; numbers and dates stay
numbers and dates. The buyer import drops that apostrophe again (`buyers.imports`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(formula_safe(value))


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, which is how Excel recognises UTF-8 in a CSV file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_text(name) for name in columns])
    writer.writerows([_csv_text(value) for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
