"""Forms of the insurance policy pages: the pages' one input contract. They parse what the user
typed into typed values (`PolicyTerms` rows, dates, decimals); the services validate the terms
as a whole (`policies.insurance.terms`) and their errors are shown at the field they name.

Rates by country group and tiered rates are typed one per line:

- country groups: `name: DE, FR, IT = 0.18` (the rate in %);
- tiers: `5000000 = 0.25` and, on the last line, `* = 0.15` (no upper bound).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from buyers.forms import DecimalFieldOptions, currency_field
from buyers.models import Buyer
from creditguard.api.filters import BoundedDateField

from ..insurance import terms as policy_terms
from ..insurance.terms import CountryGroupRate, PolicyTerms, PremiumTier
from ..models import (
    CoverDecision,
    CoveredRisk,
    DeclarationFrequency,
    PolicyBuyer,
    PolicyVersion,
    PremiumBasis,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class BoundedDecimalOptions(TypedDict):
    max_digits: int
    decimal_places: int
    min_value: int
    max_value: int


AMOUNT: DecimalFieldOptions = {"max_digits": 18, "decimal_places": 2, "min_value": 0}
PERCENT: BoundedDecimalOptions = {
    "max_digits": 6,
    "decimal_places": 2,
    "min_value": 0,
    "max_value": 100,
}
RATE: BoundedDecimalOptions = {
    "max_digits": 9,
    "decimal_places": 5,
    "min_value": 0,
    "max_value": 100,
}
OPEN_ENDED = "*"
_GROUP_LINE = re.compile(r"^(?P<name>[^:=]+):(?P<countries>[^=]*)=(?P<rate>.+)$")
_TIER_LINE = re.compile(r"^(?P<up_to>[^=]+)=(?P<rate>.+)$")


def _date(label: StrOrPromise, **kwargs: Any) -> BoundedDateField:
    return BoundedDateField(
        label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **kwargs
    )


def _days(label: StrOrPromise, **kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=policy_terms.MAX_DAYS, **kwargs)


def _number(text: str) -> Decimal:
    try:
        number = Decimal(text.strip().replace(",", "").replace(" ", "").removesuffix("%"))
    except InvalidOperation:
        raise ValueError(text) from None
    if not number.is_finite():
        raise ValueError(text)
    return number


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def group_lines(groups: list[dict[str, Any]] | tuple[CountryGroupRate, ...]) -> str:
    rows = []
    for group in groups:
        if isinstance(group, CountryGroupRate):
            name, countries, rate = group.name, group.countries, group.rate_pct
        else:
            name, countries, rate = group["name"], group["countries"], group["rate_pct"]
        rows.append(f"{name}: {', '.join(countries)} = {Decimal(rate).normalize():f}")
    return "\n".join(rows)


def tier_lines(tiers: list[dict[str, Any]] | tuple[PremiumTier, ...]) -> str:
    rows = []
    for tier in tiers:
        if isinstance(tier, PremiumTier):
            up_to, rate = tier.up_to, tier.rate_pct
        else:
            up_to, rate = tier["up_to"], tier["rate_pct"]
        bound = OPEN_ENDED if up_to in (None, "") else f"{Decimal(up_to).normalize():f}"
        rows.append(f"{bound} = {Decimal(rate).normalize():f}")
    return "\n".join(rows)


class PolicyTermsForm(forms.Form):
    """Every term of a policy version."""

    period_start = _date(_("Period start"))
    period_end = _date(_("Period end"))
    indemnity_commercial_pct = forms.DecimalField(
        # xgettext:no-python-format
        label=_("Indemnity % (commercial risks)"),
        help_text=_("Typically 75–95."),
        **PERCENT,
    )
    indemnity_political_pct = forms.DecimalField(
        # xgettext:no-python-format
        label=_("Indemnity % (political risks)"),
        **PERCENT,
    )
    max_liability = forms.DecimalField(label=_("Maximum liability"), **AMOUNT)
    covered_risks = forms.MultipleChoiceField(
        label=_("Covered risks"),
        choices=CoveredRisk.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    covered_countries = forms.CharField(
        label=_("Covered countries"),
        required=False,
        help_text=_("ISO codes separated by commas, e.g. DE, FR, NL."),
    )
    waiting_period_days = _days(_("Waiting period (days)"))
    max_extension_days = _days(_("Maximum extension period (days)"))
    notification_days = _days(_("Overdue notification deadline (days)"))
    claim_filing_days = _days(_("Claim filing deadline (days)"))
    cover_notice_days = _days(
        _("Notice period for cover reductions (days)"),
        help_text=_("Reductions and withdrawals take effect this long after the decision."),
    )
    non_qualifying_loss = forms.DecimalField(label=_("Non-qualifying loss"), initial=0, **AMOUNT)
    deductible_per_buyer = forms.DecimalField(label=_("Deductible per buyer"), initial=0, **AMOUNT)
    aggregate_first_loss = forms.DecimalField(label=_("Aggregate first loss"), initial=0, **AMOUNT)
    dcl_max_amount = forms.DecimalField(
        label=_("Discretionary credit limit up to"),
        initial=0,
        help_text=_("0 when the policy allows no discretionary limits."),
        **AMOUNT,
    )
    dcl_report_max_age_days = forms.IntegerField(
        label=_("DCL: credit report not older than (days)"),
        required=False,
        min_value=1,
        max_value=policy_terms.MAX_DAYS,
    )
    dcl_min_on_time_payments = forms.IntegerField(
        label=_("DCL: on-time payments needed"), required=False, min_value=1, max_value=1000
    )
    dcl_payment_lookback_days = forms.IntegerField(
        label=_("DCL: payments looked at (days)"),
        initial=365,
        min_value=1,
        max_value=policy_terms.MAX_DAYS,
    )
    premium_basis = forms.ChoiceField(label=_("Premium basis"), choices=PremiumBasis.choices)
    premium_rate_pct = forms.DecimalField(
        # xgettext:no-python-format
        label=_("Premium rate %"),
        **RATE,
    )
    country_group_rates = forms.CharField(
        label=_("Rates by country group"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One group per line: “name: DE, FR = 0.18” (the rate in %)."),
    )
    premium_tiers = forms.CharField(
        label=_("Tiered rates"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One tier per line, by insured turnover: “5000000 = 0.25”; the last line "
            "“* = 0.15” has no upper bound. Empty for the flat rate."
        ),
    )
    minimum_premium = forms.DecimalField(label=_("Minimum premium"), initial=0, **AMOUNT)
    declaration_frequency = forms.ChoiceField(
        label=_("Declarations"),
        choices=DeclarationFrequency.choices,
        initial=DeclarationFrequency.MONTHLY,
    )
    declaration_due_days = _days(_("Declaration due (days after period end)"), initial=15)

    TERM_FIELDS = policy_terms.TERM_FIELDS

    def clean_covered_countries(self) -> tuple[str, ...]:
        text: str = self.cleaned_data["covered_countries"]
        return tuple(code.strip().upper() for code in re.split(r"[,;\s]+", text) if code.strip())

    def clean_covered_risks(self) -> tuple[str, ...]:
        return tuple(self.cleaned_data["covered_risks"])

    def clean_country_group_rates(self) -> tuple[CountryGroupRate, ...]:
        groups = []
        for number, line in enumerate(_lines(self.cleaned_data["country_group_rates"]), 1):
            match = _GROUP_LINE.match(line)
            try:
                if match is None:
                    raise ValueError(line)
                rate = _number(match["rate"])
            except ValueError:
                raise ValidationError(
                    gettext("Line %(line)s: write “name: DE, FR = 0.18”.") % {"line": number}
                ) from None
            countries = tuple(
                code.strip().upper()
                for code in re.split(r"[,;\s]+", match["countries"])
                if code.strip()
            )
            groups.append(
                CountryGroupRate(name=match["name"].strip(), countries=countries, rate_pct=rate)
            )
        return tuple(groups)

    def clean_premium_tiers(self) -> tuple[PremiumTier, ...]:
        tiers = []
        for number, line in enumerate(_lines(self.cleaned_data["premium_tiers"]), 1):
            match = _TIER_LINE.match(line)
            try:
                if match is None:
                    raise ValueError(line)
                bound = match["up_to"].strip()
                up_to = None if bound in (OPEN_ENDED, "") else _number(bound)
                rate = _number(match["rate"])
            except ValueError:
                raise ValidationError(
                    gettext("Line %(line)s: write “5000000 = 0.25”, or “* = 0.15” last.")
                    % {"line": number}
                ) from None
            tiers.append(PremiumTier(up_to=up_to, rate_pct=rate))
        return tuple(tiers)

    def terms(self) -> PolicyTerms:
        """The cleaned terms (call after `is_valid()`)."""
        return PolicyTerms(**{name: self.cleaned_data[name] for name in self.TERM_FIELDS})

    def add_service_errors(self, error: ValidationError) -> None:
        """Service errors at their field: `premium_tiers[1].up_to` shows at the tiers as
        “Line 2: …”, `covered_countries[0]` at the countries."""
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for key, messages in error.message_dict.items():
            name = re.split(r"[\[.]", key, maxsplit=1)[0]
            line = re.match(r"^\w+\[(\d+)\]", key)
            for message in messages:
                if name in self.fields:
                    if line and name in ("country_group_rates", "premium_tiers"):
                        message = gettext("Line %(line)s: %(message)s") % {
                            "line": int(line[1]) + 1,
                            "message": message,
                        }
                    self.add_error(name, message)
                else:
                    self.add_error(None, message)

    @staticmethod
    def initial_of(version: PolicyVersion) -> dict[str, Any]:
        """The form's initial values from a stored version."""
        initial: dict[str, Any] = {
            name: getattr(version, name) for name in policy_terms.TERM_FIELDS
        }
        initial["covered_countries"] = ", ".join(version.covered_countries)
        initial["covered_risks"] = list(version.covered_risks)
        initial["country_group_rates"] = group_lines(version.country_group_rates)
        initial["premium_tiers"] = tier_lines(version.premium_tiers)
        return initial


class PolicyCreateForm(PolicyTermsForm):
    insurer = forms.CharField(label=_("Insurer"), max_length=120)
    number = forms.CharField(label=_("Policy number"), max_length=60)
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    currency = currency_field(cast(str, _("Policy currency")))  # lazy: translated when shown
    effective_from = _date(
        _("Terms effective from"),
        required=False,
        help_text=_("The period start if empty."),
    )

    field_order = ["insurer", "number", "name", "currency", "effective_from"]

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()


class EndorsementForm(PolicyTermsForm):
    effective_from = _date(_("Effective from"))
    endorsement_reference = forms.CharField(label=_("Endorsement"), max_length=60, required=False)
    change_note = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    field_order = ["effective_from", "endorsement_reference", "change_note"]


class PolicyBuyerForm(forms.Form):
    buyer = forms.ModelChoiceField(
        label=_("Buyer"),
        queryset=Buyer.objects.all().order_by("legal_name"),
        empty_label=_("Choose a buyer"),
    )
    kind = forms.ChoiceField(label=_("Named as"), choices=PolicyBuyer.Kind.choices)


class CoverDecisionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Decision"), choices=CoverDecision.Kind.choices)
    amount = forms.DecimalField(
        label=_("Cover amount"),
        required=False,
        help_text=_("Empty for a withdrawal, refusal or expiry."),
        **AMOUNT,
    )
    currency = currency_field()
    decision_date = _date(_("Decision date"))
    expiry_date = _date(_("Expires"), required=False)
    reference = forms.CharField(
        label=_("Insurer's decision reference"), max_length=60, required=False
    )
    conditions = forms.CharField(
        label=_("Conditions"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()
