"""Forms of the import pages: they parse what the user chose; `buyers.imports` holds the rules."""

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from .imports import IMPORT_MAX_ROWS, IMPORT_MAX_UPLOAD_BYTES, TargetField
from .models import ImportJob


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (UTF-8) or Excel .xlsx, up to %(megabytes)d MB and %(rows)s rows."
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
