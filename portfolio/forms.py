"""The dashboard's filters (GET): an insurance policy, a country, a sector and a grade band."""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from policies.models import InsurancePolicy

from .selectors import DashboardFilters

GRADES = [("", "—"), *[(str(grade), str(grade)) for grade in range(1, 11)]]


class DashboardFilterForm(forms.Form):
    policy = forms.ModelChoiceField(
        label=_("Insurance policy"), required=False, queryset=InsurancePolicy.objects.none()
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    sector = forms.ChoiceField(label=_("Sector"), required=False)
    grade_min = forms.TypedChoiceField(
        label=_("Grade from"), required=False, choices=GRADES, coerce=int, empty_value=None
    )
    grade_max = forms.TypedChoiceField(
        label=_("Grade to"), required=False, choices=GRADES, coerce=int, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        countries: Iterable[tuple[str, str]],
        sectors: Iterable[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        policy = self.fields["policy"]
        assert isinstance(policy, forms.ModelChoiceField)
        policy.queryset = InsurancePolicy.objects.order_by("insurer", "number")
        policy.empty_label = str(_("All policies"))
        country = self.fields["country"]
        sector = self.fields["sector"]
        assert isinstance(country, forms.ChoiceField) and isinstance(sector, forms.ChoiceField)
        country.choices = [("", _("All countries")), *countries]
        sector.choices = [("", _("All sectors")), *sectors]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("grade_min"), cleaned.get("grade_max")
        if low is not None and high is not None and low > high:
            self.add_error("grade_max", _("Cannot be below “Grade from”."))
        return cleaned

    def filters(self) -> DashboardFilters:
        """The valid filters; a field with an error filters nothing (the form names it)."""
        if not self.is_bound:
            return DashboardFilters()
        self.is_valid()
        data = self.cleaned_data
        policy = data.get("policy")
        return DashboardFilters(
            policy_id=policy.pk if policy is not None else None,
            country=data.get("country") or "",
            sector=data.get("sector") or "",
            grade_min=data.get("grade_min"),
            grade_max=data.get("grade_max") if "grade_max" not in self.errors else None,
        )
