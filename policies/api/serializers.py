"""API shapes for limits. Input serializers are the API's one input contract: they parse and
validate the request bodies, and the views hand the typed values to the services."""

from typing import Any, TypedDict

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from buyers.api.serializers import DecimalFieldOptions

from ..credit_check import Decision, ReasonCode
from ..models import (
    CreditLimit,
    CreditPolicy,
    CreditPolicyBand,
    InsurerCover,
    LimitDecision,
    LimitRequest,
    RiskClass,
)
from ..services import BAND_FIELDS, COVER_FIELDS, LIMIT_FIELDS, POLICY_FIELDS

MONEY: DecimalFieldOptions = {"max_digits": 18, "decimal_places": 2, "coerce_to_string": True}
MONEY_IN: DecimalFieldOptions = {"max_digits": 18, "decimal_places": 2, "min_value": 0}


class IntegerFieldOptions(TypedDict):
    min_value: int
    max_value: int


TERMS: IntegerFieldOptions = {"min_value": 0, "max_value": 365}


class CurrencyField(serializers.RegexField):
    """A three-letter currency code in any case, upper-cased (as the cover page's field)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            r"^[A-Za-z]{3}$",
            max_length=3,
            error_messages={"invalid": _("Use a three-letter ISO 4217 code, e.g. EUR.")},
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).upper()


class BuyerRef(serializers.Serializer):
    id = serializers.IntegerField()
    erp_reference = serializers.CharField()
    legal_name = serializers.CharField()


# --- Credit policy ---------------------------------------------------------------------------


class BandSerializer(serializers.Serializer):
    grade_from = serializers.IntegerField(min_value=1, max_value=10)
    grade_to = serializers.IntegerField(min_value=1, max_value=10)
    max_payment_terms_days = serializers.IntegerField(**TERMS)
    max_limit = serializers.DecimalField(**MONEY_IN)
    max_limit_equity_pct = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True
    )
    max_limit_revenue_pct = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True
    )
    insurance_required_above = serializers.DecimalField(required=False, allow_null=True, **MONEY_IN)
    approval_level = serializers.ChoiceField(
        choices=CreditPolicyBand.ApprovalLevel.choices, required=False
    )


class CreditPolicyInput(serializers.Serializer):
    effective_from = serializers.DateField(help_text="Today or later; versions never change.")
    four_eyes_threshold = serializers.DecimalField(
        help_text="Limits above this amount (base currency) need two distinct approvers.",
        **MONEY_IN,
    )
    lowest_acceptable_grade = serializers.IntegerField(
        min_value=1, max_value=10, help_text="Credit checks hold buyers graded worse (higher)."
    )
    overdue_hold_days = serializers.IntegerField(**TERMS)
    overdue_hold_amount = serializers.DecimalField(**MONEY_IN)
    limit_without_financials = serializers.DecimalField(**MONEY_IN)
    notes = serializers.CharField(required=False, allow_blank=True)
    bands = BandSerializer(many=True, help_text="Must cover grades 1 to 10 exactly once.")


class BandOutput(serializers.ModelSerializer):
    max_limit = serializers.DecimalField(**MONEY)
    max_limit_equity_pct = serializers.DecimalField(
        max_digits=6, decimal_places=2, coerce_to_string=True, allow_null=True
    )
    max_limit_revenue_pct = serializers.DecimalField(
        max_digits=6, decimal_places=2, coerce_to_string=True, allow_null=True
    )
    insurance_required_above = serializers.DecimalField(allow_null=True, **MONEY)

    class Meta:
        model = CreditPolicyBand
        fields = BAND_FIELDS


class CreditPolicyOutput(serializers.ModelSerializer):
    four_eyes_threshold = serializers.DecimalField(**MONEY)
    overdue_hold_amount = serializers.DecimalField(**MONEY)
    limit_without_financials = serializers.DecimalField(**MONEY)
    bands = BandOutput(many=True)
    created_by = serializers.EmailField(source="created_by.email", default=None, allow_null=True)

    class Meta:
        model = CreditPolicy
        fields = ["id", *POLICY_FIELDS, "bands", "created_by", "created_at"]


# --- Limit requests --------------------------------------------------------------------------


class LimitRequestInput(serializers.Serializer):
    buyer_erp_reference = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(
        help_text="The requested limit (ceiling on total exposure), in base currency.", **MONEY_IN
    )
    payment_terms_days = serializers.IntegerField(**TERMS)
    justification = serializers.CharField()


class InformationInput(serializers.Serializer):
    justification = serializers.CharField(help_text="The information the approvers asked for.")
    amount = serializers.DecimalField(required=False, **MONEY_IN)
    payment_terms_days = serializers.IntegerField(required=False, **TERMS)


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=LimitDecision.Kind.choices)
    amount = serializers.DecimalField(
        required=False, allow_null=True, help_text="For approve_partially.", **MONEY_IN
    )
    payment_terms_days = serializers.IntegerField(required=False, allow_null=True, **TERMS)
    comment = serializers.CharField(
        required=False, allow_blank=True, help_text="Required to refuse or ask for information."
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Required to approve outside the credit policy (terms above the band's "
        "maximum, an amount above the recommendation or a cap, a grade below the minimum): "
        "the approval is then recorded as an override. Only members who may change the "
        "credit policy override it.",
    )


class DecisionOutput(serializers.ModelSerializer):
    amount = serializers.DecimalField(allow_null=True, **MONEY)
    decided_by = serializers.CharField(source="decided_by_label")
    decision = serializers.ChoiceField(source="kind", choices=LimitDecision.Kind.choices)
    is_override = serializers.BooleanField(
        read_only=True, help_text="Approved outside the credit policy, with a reason."
    )
    policy_breaches = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="How an override left the policy: `code`, `value` granted, policy `limit`.",
    )

    class Meta:
        model = LimitDecision
        fields = [
            "round",
            "decision",
            "amount",
            "payment_terms_days",
            "comment",
            "is_override",
            "override_reason",
            "policy_breaches",
            "decided_by",
            "created_at",
        ]


class StepOutput(serializers.Serializer):
    code = serializers.CharField()
    amount = serializers.DecimalField(allow_null=True, **MONEY)
    message = serializers.CharField()


class RecommendationOutput(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY)
    payment_terms_days = serializers.IntegerField(allow_null=True)
    binding = serializers.CharField(help_text="The rule that set the amount.")
    steps = StepOutput(many=True)
    warnings = StepOutput(many=True)


class LimitRequestOutput(serializers.ModelSerializer):
    buyer = BuyerRef()
    amount = serializers.DecimalField(**MONEY)
    granted_amount = serializers.DecimalField(allow_null=True, **MONEY)
    recommended_amount = serializers.DecimalField(
        allow_null=True, help_text="As computed when the request was (re)submitted.", **MONEY
    )
    requested_by = serializers.CharField(source="requested_by_label")
    decisions = DecisionOutput(many=True, read_only=True)

    class Meta:
        model = LimitRequest
        fields = [
            "id",
            "buyer",
            "amount",
            "currency",
            "payment_terms_days",
            "justification",
            "status",
            "round",
            "source",
            "requested_by",
            "recommended_amount",
            "recommended_terms_days",
            "granted_amount",
            "granted_terms_days",
            "decisions",
            "created_at",
            "decided_at",
        ]


class LimitRequestDetailOutput(LimitRequestOutput):
    recommendation = RecommendationOutput(
        allow_null=True, help_text="Computed now from the policy in force and current figures."
    )
    approvals_needed = serializers.IntegerField()

    class Meta(LimitRequestOutput.Meta):
        fields = [*LimitRequestOutput.Meta.fields, "recommendation", "approvals_needed"]


# --- Limits ----------------------------------------------------------------------------------


class CreditLimitOutput(serializers.ModelSerializer):
    buyer = BuyerRef()
    amount = serializers.DecimalField(**MONEY)
    risk_class = serializers.ChoiceField(choices=RiskClass.choices)
    exposure = serializers.DecimalField(**MONEY)
    available = serializers.DecimalField(**MONEY)
    utilisation = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        coerce_to_string=True,
        allow_null=True,
        help_text="Exposure / limit (1.0 = fully used).",
    )
    insurer_cover = serializers.DecimalField(help_text="Cover in force, base currency.", **MONEY)
    over_limit = serializers.BooleanField()
    blocked = serializers.BooleanField(
        help_text="Limit blocked, or buyer on hold/insolvent/closed."
    )

    class Meta:
        model = CreditLimit
        fields = [
            "id",
            "buyer",
            *LIMIT_FIELDS,
            "exposure",
            "available",
            "utilisation",
            "insurer_cover",
            "over_limit",
            "blocked",
        ]


# --- Insurer cover ---------------------------------------------------------------------------


class InsurerCoverInput(serializers.Serializer):
    buyer_erp_reference = serializers.CharField(max_length=64)
    insurer = serializers.CharField(max_length=120)
    policy_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    decision_reference = serializers.CharField(max_length=60, required=False, allow_blank=True)
    amount = serializers.DecimalField(**MONEY_IN)
    currency = CurrencyField(help_text="ISO 4217, e.g. EUR.")
    decision_date = serializers.DateField()
    expiry_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=InsurerCover.Status.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class InsurerCoverPatch(InsurerCoverInput):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, partial=True, **kwargs)
        self.fields.pop("buyer_erp_reference")


class InsurerCoverOutput(serializers.ModelSerializer):
    buyer = BuyerRef()
    amount = serializers.DecimalField(**MONEY)

    class Meta:
        model = InsurerCover
        fields = ["id", "buyer", *COVER_FIELDS, "created_at", "updated_at"]


# --- Credit check ----------------------------------------------------------------------------


class CreditCheckInput(serializers.Serializer):
    buyer_erp_reference = serializers.CharField(max_length=64)
    order_amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0)
    currency = serializers.CharField(
        max_length=3, required=False, help_text="Currency of the order; base currency if omitted."
    )
    payment_terms_days = serializers.IntegerField(required=False, **TERMS)


class CreditCheckReason(serializers.Serializer):
    code = serializers.ChoiceField(choices=[(code.value, code.value) for code in ReasonCode])
    message = serializers.CharField()
    values = serializers.DictField(help_text="The figures behind the reason.")


class CreditCheckOutput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[(d.value, d.value) for d in Decision])
    reasons = CreditCheckReason(many=True)
    buyer = BuyerRef()
    grade = serializers.IntegerField(allow_null=True)
    limit = serializers.DecimalField(allow_null=True, **MONEY)
    exposure = serializers.DecimalField(**MONEY)
    available = serializers.DecimalField(**MONEY)
    order_amount = serializers.DecimalField(help_text="In base currency.", **MONEY)
    currency = serializers.CharField()
