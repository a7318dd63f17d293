"""API shapes for insurance policies, their named buyers and the cover under them.

Input serializers are the API's one input contract: they parse the shapes (types, ranges of a
single field, choices); `policies.services.insurance` validates the terms as a whole
(`policies.insurance.terms`) and answers with errors keyed like `premium_tiers[1].up_to`.
"""

from __future__ import annotations

from typing import Any, TypedDict

from rest_framework import serializers

from buyers.api.serializers import DecimalFieldOptions
from creditguard.api.filters import check_year

from ..api.serializers import MONEY, MONEY_IN, BuyerRef, CurrencyField, IntegerFieldOptions
from ..insurance import terms as policy_terms
from ..models import (
    CoverDecision,
    CoveredRisk,
    DeclarationFrequency,
    InsurancePolicy,
    InsurerCover,
    PolicyBuyer,
    PolicyVersion,
    PremiumBasis,
)


class BoundedDecimalOptions(TypedDict):
    max_digits: int
    decimal_places: int
    min_value: int
    max_value: int


PERCENT_IN: BoundedDecimalOptions = {
    "max_digits": 6,
    "decimal_places": 2,
    "min_value": 0,
    "max_value": 100,
}
RATE_IN: BoundedDecimalOptions = {
    "max_digits": 9,
    "decimal_places": 5,
    "min_value": 0,
    "max_value": 100,
}
PERCENT_OUT: DecimalFieldOptions = {"max_digits": 6, "decimal_places": 2, "coerce_to_string": True}
RATE_OUT: DecimalFieldOptions = {"max_digits": 9, "decimal_places": 5, "coerce_to_string": True}
DAYS: IntegerFieldOptions = {"min_value": 0, "max_value": policy_terms.MAX_DAYS}


def date_field(**kwargs: Any) -> serializers.DateField:
    """A date PostgreSQL can store and the product can mean (1900–2100)."""
    return serializers.DateField(validators=[check_year], **kwargs)


class CountryGroupRateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    countries = serializers.ListField(
        child=serializers.CharField(max_length=2, min_length=2), allow_empty=False
    )
    rate_pct = serializers.DecimalField(**RATE_IN)


class PremiumTierSerializer(serializers.Serializer):
    up_to = serializers.DecimalField(
        allow_null=True, help_text="Empty (null) for the last, open-ended tier.", **MONEY_IN
    )
    rate_pct = serializers.DecimalField(**RATE_IN)


class PolicyTermsInput(serializers.Serializer):
    """Every term of a policy version. No field has a default here, so an endorsement can tell
    a term left out (unchanged) from one given."""

    period_start = date_field()
    period_end = date_field()
    indemnity_commercial_pct = serializers.DecimalField(
        help_text="1–100; typically 75–95.", **PERCENT_IN
    )
    indemnity_political_pct = serializers.DecimalField(**PERCENT_IN)
    max_liability = serializers.DecimalField(**MONEY_IN)
    covered_risks = serializers.ListField(
        child=serializers.ChoiceField(choices=CoveredRisk.choices), allow_empty=False
    )
    covered_countries = serializers.ListField(
        child=serializers.CharField(max_length=2, min_length=2),
        required=False,
        help_text="ISO 3166 alpha-2 codes; buyers there are covered unless excluded.",
    )
    waiting_period_days = serializers.IntegerField(**DAYS)
    max_extension_days = serializers.IntegerField(**DAYS)
    notification_days = serializers.IntegerField(**DAYS)
    claim_filing_days = serializers.IntegerField(**DAYS)
    cover_notice_days = serializers.IntegerField(**DAYS)
    non_qualifying_loss = serializers.DecimalField(required=False, **MONEY_IN)
    deductible_per_buyer = serializers.DecimalField(required=False, **MONEY_IN)
    aggregate_first_loss = serializers.DecimalField(required=False, **MONEY_IN)
    dcl_max_amount = serializers.DecimalField(required=False, **MONEY_IN)
    dcl_report_max_age_days = serializers.IntegerField(required=False, allow_null=True, **DAYS)
    dcl_min_on_time_payments = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=1000
    )
    dcl_payment_lookback_days = serializers.IntegerField(required=False, **DAYS)
    premium_basis = serializers.ChoiceField(choices=PremiumBasis.choices)
    premium_rate_pct = serializers.DecimalField(**RATE_IN)
    country_group_rates = CountryGroupRateSerializer(many=True, required=False)
    premium_tiers = PremiumTierSerializer(many=True, required=False)
    minimum_premium = serializers.DecimalField(required=False, **MONEY_IN)
    declaration_frequency = serializers.ChoiceField(
        choices=DeclarationFrequency.choices, required=False
    )
    declaration_due_days = serializers.IntegerField(required=False, **DAYS)


def typed_terms(values: dict[str, Any]) -> dict[str, Any]:
    """Validated term values as `PolicyTerms` takes them (tuples, typed rows, upper-case
    country codes); only the terms present in `values`."""
    typed = {key: value for key, value in values.items() if key in policy_terms.TERM_FIELDS}
    if "covered_risks" in typed:
        typed["covered_risks"] = tuple(typed["covered_risks"])
    if "covered_countries" in typed:
        typed["covered_countries"] = tuple(code.upper() for code in typed["covered_countries"])
    if "country_group_rates" in typed:
        typed["country_group_rates"] = tuple(
            policy_terms.CountryGroupRate(
                name=group["name"].strip(),
                countries=tuple(code.upper() for code in group["countries"]),
                rate_pct=group["rate_pct"],
            )
            for group in typed["country_group_rates"]
        )
    if "premium_tiers" in typed:
        typed["premium_tiers"] = tuple(
            policy_terms.PremiumTier(up_to=tier["up_to"], rate_pct=tier["rate_pct"])
            for tier in typed["premium_tiers"]
        )
    return typed


class PolicyCreateInput(PolicyTermsInput):
    insurer = serializers.CharField(max_length=120)
    number = serializers.CharField(max_length=60, help_text="The insurer's policy number.")
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    currency = CurrencyField(help_text="ISO 4217, e.g. EUR.")
    effective_from = date_field(
        required=False, help_text="When these terms apply; the period start if omitted."
    )


class EndorsementInput(PolicyTermsInput):
    """An endorsement: the terms that change (any subset), from `effective_from`."""

    effective_from = date_field()
    endorsement_reference = serializers.CharField(max_length=60, required=False, allow_blank=True)
    change_note = serializers.CharField(required=False, allow_blank=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in policy_terms.TERM_FIELDS:
            self.fields[name].required = False


class VersionOutput(serializers.ModelSerializer):
    indemnity_commercial_pct = serializers.DecimalField(**PERCENT_OUT)
    indemnity_political_pct = serializers.DecimalField(**PERCENT_OUT)
    max_liability = serializers.DecimalField(**MONEY)
    non_qualifying_loss = serializers.DecimalField(**MONEY)
    deductible_per_buyer = serializers.DecimalField(**MONEY)
    aggregate_first_loss = serializers.DecimalField(**MONEY)
    dcl_max_amount = serializers.DecimalField(**MONEY)
    premium_rate_pct = serializers.DecimalField(**RATE_OUT)
    minimum_premium = serializers.DecimalField(**MONEY)
    country_group_rates = CountryGroupRateSerializer(many=True)
    premium_tiers = PremiumTierSerializer(many=True)
    created_by = serializers.EmailField(source="created_by.email", default=None, allow_null=True)

    class Meta:
        model = PolicyVersion
        fields = [
            "id",
            "version",
            "effective_from",
            "endorsement_reference",
            "change_note",
            *policy_terms.TERM_FIELDS,
            "created_by",
            "created_at",
        ]


class PolicyOutput(serializers.ModelSerializer):
    terms = VersionOutput(
        source="terms_in_force", allow_null=True, help_text="The terms in force today."
    )

    class Meta:
        model = InsurancePolicy
        fields = ["id", "insurer", "number", "name", "currency", "terms", "created_at"]


class PolicyDetailOutput(PolicyOutput):
    versions = VersionOutput(
        source="version_history", many=True, help_text="Every version, newest effective first."
    )

    class Meta(PolicyOutput.Meta):
        fields = [*PolicyOutput.Meta.fields, "versions"]


# --- Named buyers ----------------------------------------------------------------------------


class PolicyBuyerInput(serializers.Serializer):
    buyer_id = serializers.IntegerField(required=False, min_value=1)
    buyer_erp_reference = serializers.CharField(max_length=64, required=False)
    kind = serializers.ChoiceField(choices=PolicyBuyer.Kind.choices)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "buyer_id" not in attrs and "buyer_erp_reference" not in attrs:
            raise serializers.ValidationError(
                {"buyer_id": ["Give the buyer's id or its ERP reference (buyer_erp_reference)."]}
            )
        return attrs


class PolicyBuyerOutput(serializers.ModelSerializer):
    buyer = BuyerRef()

    class Meta:
        model = PolicyBuyer
        fields = ["id", "buyer", "kind", "created_at"]


# --- Cover -----------------------------------------------------------------------------------


class CoverDecisionInput(serializers.Serializer):
    buyer_id = serializers.IntegerField(required=False, min_value=1)
    buyer_erp_reference = serializers.CharField(max_length=64, required=False)
    kind = serializers.ChoiceField(choices=CoverDecision.Kind.choices)
    amount = serializers.DecimalField(
        required=False, help_text="0 or omitted for a withdrawal, refusal or expiry.", **MONEY_IN
    )
    currency = CurrencyField(required=False, help_text="The policy currency if omitted.")
    decision_date = date_field()
    expiry_date = date_field(required=False, allow_null=True)
    conditions = serializers.CharField(required=False, allow_blank=True)
    reference = serializers.CharField(max_length=60, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "buyer_id" not in attrs and "buyer_erp_reference" not in attrs:
            raise serializers.ValidationError(
                {"buyer_id": ["Give the buyer's id or its ERP reference (buyer_erp_reference)."]}
            )
        return attrs


class CoverDecisionOutput(serializers.ModelSerializer):
    amount = serializers.DecimalField(**MONEY)

    class Meta:
        model = CoverDecision
        fields = [
            "id",
            "cover",
            "kind",
            "amount",
            "currency",
            "decision_date",
            "effective_date",
            "expiry_date",
            "conditions",
            "reference",
            "recorded_by_label",
            "created_at",
        ]


class PendingChange(serializers.Serializer):
    kind = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    effective_date = serializers.DateField()


class PolicyCoverOutput(serializers.ModelSerializer):
    buyer = BuyerRef()
    amount = serializers.DecimalField(help_text="The amount decided last.", **MONEY)
    amount_in_force = serializers.DecimalField(
        help_text="In force today (a reduction counts from its effective date).", **MONEY
    )
    pending = PendingChange(
        allow_null=True, help_text="The next decision taking effect after today."
    )

    class Meta:
        model = InsurerCover
        fields = [
            "id",
            "buyer",
            "insurer",
            "kind",
            "status",
            "amount",
            "amount_in_force",
            "currency",
            "decision_date",
            "expiry_date",
            "conditions",
            "decision_reference",
            "evidence",
            "pending",
            "updated_at",
        ]


class RecordedDecisionOutput(serializers.Serializer):
    decision = CoverDecisionOutput()
    cover = PolicyCoverOutput()
