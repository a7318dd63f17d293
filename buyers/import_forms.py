"""Forms of the import pages: they parse what the user chose; `buyers.imports` holds the rules."""

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from .imports import IMPORT_MAX_ROWS, IMPORT_MAX_UPLOAD_BYTES, FileReading, ReadOptions, TargetField
from .imports.formats import Guess
from .models import ImportJob


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (comma, semicolon or tab; UTF-8, Windows-1252 or GB18030) or Excel .xlsx, "
            "up to %(megabytes)d MB and %(rows)s rows."
        ) % {"megabytes": IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024), "rows": f"{IMPORT_MAX_ROWS:,}"}


def _column_label(name: str, example: str) -> str:
    if not example:
        return name
    shown = example if len(example) <= 30 else example[:29] + "…"
    return _("%(column)s (e.g. %(example)s)") % {"column": name, "example": shown}


class ColumnMappingForm(forms.Form):
    """One select per target field, offering the file's columns with their first value."""

    def __init__(
        self,
        *args,
        fields: Sequence[TargetField],
        columns: Sequence[tuple[str, str]],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            ("", _("— not in the file —")),
            *((name, _column_label(name, example)) for name, example in columns),
        ]
        for field in fields:
            self.fields[field.name] = forms.ChoiceField(
                label=field.label,
                choices=choices,
                required=field.required,
                error_messages={"required": _("Choose the column that holds this field.")},
            )


ENCODING_LABELS = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "gb18030": "GB18030"}
DELIMITER_LABELS = {",": _("Comma"), ";": _("Semicolon"), "\t": _("Tab")}
NUMBER_FORMAT_LABELS = {"point": "1,234.56", "comma": "1.234,56"}
DATE_ORDER_LABELS = {
    "dmy": _("Day first: 31.01.2025"),
    "mdy": _("Month first: 01/31/2025"),
}
# In the "(detected)" choice, where the note under the field shows the file's own date.
DATE_ORDER_SHORT_LABELS = {"dmy": _("Day first"), "mdy": _("Month first")}


def _evidence(guess: Guess) -> str:
    """Why a number format or date order is read as it is, in words."""
    if guess.chosen or guess.conflict:
        return ""
    if guess.decided:
        row, value = guess.examples[0]
        return _("Detected from “%(value)s” in row %(row)d.") % {"value": value, "row": row}
    return _("No value decides it: they all read the same either way.")


class ReadOptionsForm(forms.Form):
    """How to read a CSV upload; "automatic" keeps the detected value, named in its label."""

    encoding = forms.ChoiceField(label=_("Encoding"), required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), required=False)
    number_format = forms.ChoiceField(label=_("Numbers"), required=False)
    date_order = forms.ChoiceField(label=_("Dates"), required=False)

    def __init__(self, *args, reading: FileReading, **kwargs) -> None:
        kwargs.setdefault("initial", reading.options.as_json())
        super().__init__(*args, **kwargs)
        number, day = reading.formats.number, reading.formats.date
        detected = {
            "encoding": ENCODING_LABELS.get(reading.encoding, ""),
            "delimiter": DELIMITER_LABELS.get(reading.delimiter, ""),
            "number_format": "" if number.conflict else NUMBER_FORMAT_LABELS[number.value],
            "date_order": "" if day.conflict else DATE_ORDER_SHORT_LABELS[day.value],
        }
        for name, labels in (
            ("encoding", ENCODING_LABELS),
            ("delimiter", DELIMITER_LABELS),
            ("number_format", NUMBER_FORMAT_LABELS),
            ("date_order", DATE_ORDER_LABELS),
        ):
            automatic = (
                _("%(detected)s (detected)") % {"detected": detected[name]}
                if detected[name]
                else _("Cannot tell: choose one")
            )
            self.fields[name].choices = [("", automatic), *labels.items()]
        self.notes = {"number_format": _evidence(number), "date_order": _evidence(day)}
        self.conflicts = {"number_format": number.conflict, "date_order": day.conflict}

    def rows(self) -> list[tuple[forms.BoundField, str, bool]]:
        """Each field with the note on how it was detected and whether the user must choose."""
        return [
            (self[name], self.notes.get(name, ""), self.conflicts.get(name, False))
            for name in self.fields
        ]

    def read_options(self) -> ReadOptions:
        return ReadOptions(**{name: self.cleaned_data[name] for name in self.fields})
