"""The "new report" form: what kind, for which period or buyer, in which language."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from buyers.models import Buyer

from ..models import Report
from .services import previous_month


class BuyerReferenceField(forms.ModelChoiceField):
    """A buyer named by its ERP reference (a text input: a tenant may have many buyers)."""

    default_error_messages = {
        "invalid_choice": _("No buyer has this ERP reference."),
    }


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Report"), choices=Report.Kind.choices)
    month = forms.CharField(
        label=_("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text=_("Monthly portfolio risk report: the month it covers."),
    )
    year = forms.IntegerField(
        label=_("Year"),
        required=False,
        min_value=1900,
        max_value=2100,
        help_text=_("Health check: the policy year it reviews."),
    )
    buyer = BuyerReferenceField(
        label=_("Buyer (ERP reference)"),
        required=False,
        queryset=Buyer.objects.none(),
        to_field_name="erp_reference",
        widget=forms.TextInput(),
        help_text=_("Credit report: the buyer it is about."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["buyer"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Buyer.objects.all()
        self.initial.setdefault("month", previous_month(today))
        self.initial.setdefault("year", today.year)

    def period(self) -> str:
        kind = self.cleaned_data.get("kind")
        if kind == Report.Kind.PORTFOLIO_RISK:
            return str(self.cleaned_data.get("month") or "").strip()
        if kind == Report.Kind.HEALTH_CHECK:
            year = self.cleaned_data.get("year")
            return str(year) if year is not None else ""
        return ""

    def field_of(self, service_field: str) -> str | None:
        """The form field a service error about `service_field` belongs to."""
        if service_field == "period":
            return "year" if self.cleaned_data.get("kind") == Report.Kind.HEALTH_CHECK else "month"
        return service_field if service_field in self.fields else None
