"""Forms of the monitoring pages. They parse types; the services (`monitoring.rules`,
`monitoring.alerts`, `monitoring.webhooks`) hold the rules and report what is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from buyers.forms import GRADE_BEST, GRADE_WORST, grade_bound_field

from .models import Alert, AlertRule, LegalEvent
from .rules import RuleSetting, Threshold
from .selectors import RATING_MEANINGS
from .webhooks import EVENT_TYPES

COUNTRY_SORTS = {
    "name": _("Name"),
    "rating": _("Rating, lowest risk first"),
    "-rating": _("Rating, highest risk first"),
    "change": _("Rating changes first"),
}
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AlertFilterForm(forms.Form):
    """The alert feed's filters (GET); an unknown value simply filters nothing."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Alert.Status.choices]
    )
    severity = forms.ChoiceField(
        label=_("Severity"),
        required=False,
        choices=[("", _("All severities")), *Alert.Severity.choices],
    )
    rule = forms.ChoiceField(
        label=_("Rule"), required=False, choices=[("", _("All rules")), *AlertRule.Kind.choices]
    )
    q = forms.CharField(
        label=_("Buyer"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or ERP reference")}),
    )
    created_from = forms.DateField(label=_("Raised from"), required=False, widget=DATE_INPUT)
    created_to = forms.DateField(label=_("Raised until"), required=False, widget=DATE_INPUT)
    # The buyers in scope, as on the dashboard (whose figures link here with them).
    policy = forms.TypedChoiceField(
        label=_("Insurance policy"), required=False, coerce=int, empty_value=None
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    sector = forms.ChoiceField(label=_("Sector"), required=False)
    grade_min = grade_bound_field(_("Grade from"), placeholder=GRADE_BEST)
    grade_max = grade_bound_field(_("Grade to"), placeholder=GRADE_WORST)

    def __init__(
        self,
        *args: Any,
        countries: Iterable[tuple[str, str]] = (),
        sectors: Iterable[tuple[str, str]] = (),
        policies: Iterable[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, empty, choices in (
            ("country", _("All countries"), countries),
            ("sector", _("All sectors"), sectors),
            ("policy", _("All policies"), policies),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", empty), *choices]
        for name in ("status", "severity", "rule", "policy", "country", "sector"):
            self.fields[name].widget.attrs["data-autosubmit"] = ""


class AlertResolveForm(forms.Form):
    note = forms.CharField(
        label=_("Resolution note"),
        required=False,
        max_length=300,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("What was done, e.g. the buyer paid after a call.")}
        ),
    )


def _threshold_field(threshold: Threshold) -> forms.Field:
    bounds = {"min_value": threshold.min_value, "max_value": threshold.max_value}
    if threshold.type == "int":
        return forms.IntegerField(label=threshold.label, **bounds)
    if threshold.type == "decimal":
        return forms.DecimalField(label=threshold.label, decimal_places=2, **bounds)
    if threshold.type == "int_list":
        return IntegerListField(
            label=threshold.label,
            widget=forms.TextInput(
                attrs={"inputmode": "numeric", "title": _("Whole numbers separated by commas.")}
            ),
        )
    return forms.MultipleChoiceField(
        label=threshold.label,
        choices=[(choice, _choice_label(choice)) for choice in threshold.choices],
        widget=forms.CheckboxSelectMultiple,
    )


def _choice_label(choice: str) -> str:
    if choice in LegalEvent.Kind.values:
        return str(LegalEvent.Kind(choice).label)
    return choice


class IntegerListField(forms.CharField):
    """ "31, 61, 91" ⇄ [31, 61, 91]."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[int]:
        text = super().to_python(value)
        parts = [part for part in re.split(r"[\s,;]+", text) if part]
        if not all(re.fullmatch(r"-?\d+", part) for part in parts):
            raise forms.ValidationError(_("Enter whole numbers separated by commas."))
        return [int(part) for part in parts]


class RuleForm(forms.Form):
    """One rule's switch and thresholds, prefixed with the rule's kind (several on a page)."""

    enabled = forms.BooleanField(label=_("On"), required=False)

    def __init__(self, *args: Any, setting: RuleSetting, **kwargs: Any) -> None:
        initial = {"enabled": setting.enabled, **setting.thresholds}
        super().__init__(*args, prefix=setting.kind, initial=initial, **kwargs)
        self.setting = setting
        for threshold in setting.definition.thresholds:
            self.fields[threshold.name] = _threshold_field(threshold)

    def thresholds(self) -> dict[str, Any]:
        """The cleaned thresholds in the types `rules.rule_update` accepts."""
        values = {}
        for threshold in self.setting.definition.thresholds:
            value = self.cleaned_data[threshold.name]
            values[threshold.name] = str(value) if threshold.type == "decimal" else value
        return values

    def threshold_fields(self) -> list[forms.BoundField]:
        return [field for field in self if field.name != "enabled"]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://erp.example.com/hooks/creditguard"}),
        help_text=_("An https:// address on the public internet."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        choices=[(event_type, event_type) for event_type in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: all events."),
    )


class CountryFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Country name or ISO code")}
        ),
    )
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            ("", _("All ratings")),
            *((rating, f"{rating} · {meaning}") for rating, meaning in RATING_MEANINGS.items()),
        ],
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False, choices=list(COUNTRY_SORTS.items())
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("rating", "sort"):
            self.fields[name].widget.attrs["data-autosubmit"] = ""
