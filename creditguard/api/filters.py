"""Filters shared by every API list: dates and date-times PostgreSQL can store and we can mean.

Python accepts years 1–9999 and UTC offsets up to ±23:59; PostgreSQL stores offsets up to
±15:59 and the product has no business before 1900 or after 2100. Out-of-range values are a 400
naming the filter, not a database error.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from creditguard.dates import EARLIEST_YEAR, LATEST_YEAR, is_supported

MAX_UTC_OFFSET_HOURS = 14  # the widest offset in use anywhere (UTC+14, Kiribati)


def check_year(value: date) -> None:
    if not is_supported(value):
        raise ValidationError(
            _("Enter a date between %(first)d and %(last)d."),
            code="out_of_range",
            params={"first": EARLIEST_YEAR, "last": LATEST_YEAR},
        )


class BoundedDateField(forms.DateField):
    def to_python(self, value: Any) -> date | None:
        result = super().to_python(value)
        if result is not None:
            check_year(result)
        return result


class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):  # type: ignore[misc]
    def to_python(self, value: Any) -> datetime | None:
        result: datetime | None = super().to_python(value)
        if result is None:
            return None
        check_year(result)
        offset = result.utcoffset()
        if offset is not None and abs(offset.total_seconds()) > MAX_UTC_OFFSET_HOURS * 3600:
            raise ValidationError(
                _("The UTC offset must be between -14:00 and +14:00."), code="out_of_range"
            )
        return result


class DateFilter(django_filters.DateFilter):  # type: ignore[misc]
    field_class = BoundedDateField


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):  # type: ignore[misc]
    field_class = BoundedIsoDateTimeField
