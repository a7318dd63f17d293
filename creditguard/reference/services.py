from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from .models import FxRate

CURRENCY = re.compile(r"^[A-Z]{3}$")
REQUIRED_COLUMNS = ("date", "currency", "units_per_eur")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


class FxImportError(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} invalid rows")
        self.errors = errors


def fx_rates_import(*, path: Path, source: str = "ECB") -> int:
    """Load `date,currency,units_per_eur` rows; all or nothing; returns the rows upserted."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise FxImportError([RowError(1, column, "missing column") for column in missing])
        rates: dict[tuple[str, date], Decimal] = {}
        errors: list[RowError] = []
        for row_number, row in enumerate(reader, start=2):
            try:
                rate_date = date.fromisoformat(row["date"].strip())
            except ValueError:
                errors.append(RowError(row_number, "date", "not a YYYY-MM-DD date"))
                continue
            currency = row["currency"].strip().upper()
            if not CURRENCY.match(currency):
                errors.append(RowError(row_number, "currency", "not an ISO 4217 code"))
                continue
            try:
                rate = Decimal(row["units_per_eur"].strip())
            except InvalidOperation:
                rate = Decimal(0)
            if not rate.is_finite() or rate <= 0:
                errors.append(RowError(row_number, "units_per_eur", "not a positive number"))
                continue
            rates[(currency, rate_date)] = rate
    if errors:
        raise FxImportError(errors)
    with transaction.atomic():
        FxRate.objects.bulk_create(
            [
                FxRate(currency=currency, rate_date=rate_date, units_per_eur=rate, source=source)
                for (currency, rate_date), rate in rates.items()
            ],
            update_conflicts=True,
            unique_fields=["currency", "rate_date"],
            update_fields=["units_per_eur", "source"],
        )
    return len(rates)
