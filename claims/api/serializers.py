"""Input and output shapes of the claims API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from policies.insurance_api.notification_serializers import BoundedDate

from ..eligibility import CHECK_LABELS
from ..indemnity import STEP_LABELS
from ..models import Claim, ClaimEvent, ClaimInvoice, Recovery, WriteOff

MONEY: dict[str, Any] = {"max_digits": 18, "decimal_places": 2}


class ClaimInvoiceOutput(serializers.ModelSerializer[ClaimInvoice]):
    invoice = serializers.IntegerField(source="invoice_id")
    invoice_number = serializers.CharField(source="invoice.number")
    erp_reference = serializers.CharField(source="invoice.erp_reference")
    issue_date = serializers.DateField(source="invoice.issue_date")
    due_date = serializers.DateField(source="invoice.due_date")
    checks = serializers.SerializerMethodField()

    class Meta:
        model = ClaimInvoice
        fields = [
            "invoice",
            "invoice_number",
            "erp_reference",
            "issue_date",
            "due_date",
            "outstanding",
            "currency",
            "fx_rate",
            "outstanding_in_policy_currency",
            "cover_at_delivery",
            "eligible",
            "checks",
        ]

    def get_checks(self, line: ClaimInvoice) -> list[dict[str, Any]]:
        return [
            {**check, "label": str(CHECK_LABELS.get(check.get("check", ""), ""))}
            for check in line.checks
        ]


class ClaimEventOutput(serializers.ModelSerializer[ClaimEvent]):
    class Meta:
        model = ClaimEvent
        fields = ["id", "kind", "from_status", "to_status", "comment", "actor_label", "created_at"]


class ClaimRecoveryOutput(serializers.ModelSerializer[Recovery]):
    class Meta:
        model = Recovery
        fields = [
            "id",
            "received_on",
            "source",
            "amount",
            "insurer_share",
            "insured_share",
            "note",
            "recorded_by_label",
            "created_at",
        ]


class ClaimWriteOffOutput(serializers.ModelSerializer[WriteOff]):
    class Meta:
        model = WriteOff
        fields = ["id", "written_off_on", "amount", "reason", "recorded_by_label", "created_at"]


CLAIM_FIELDS = [
    "id",
    "number",
    "policy",
    "buyer",
    "buyer_erp_reference",
    "buyer_name",
    "cause",
    "status",
    "loss_date",
    "currency",
    "claimed_amount",
    "eligible_amount",
    "indemnity_amount",
    "approved_amount",
    "paid_amount",
    "paid_on",
    "insurer_reference",
    "assignee",
    "sla_due_on",
    "created_at",
    "submitted_at",
    "review_started_at",
    "decided_at",
    "paid_at",
    "closed_at",
]


class ClaimOutput(serializers.ModelSerializer[Claim]):
    policy = serializers.IntegerField(source="policy_id")
    buyer = serializers.IntegerField(source="buyer_id")
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")
    buyer_name = serializers.CharField(source="buyer.legal_name")
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)

    class Meta:
        model = Claim
        fields = CLAIM_FIELDS


class ClaimDetailOutput(ClaimOutput):
    invoices = ClaimInvoiceOutput(many=True, read_only=True)
    breakdown = serializers.SerializerMethodField()
    timeline = ClaimEventOutput(many=True, read_only=True, source="events")
    recoveries = ClaimRecoveryOutput(many=True, read_only=True)
    write_offs = ClaimWriteOffOutput(many=True, read_only=True)

    class Meta:
        model = Claim
        fields = [
            *CLAIM_FIELDS,
            "notes",
            "fx_date",
            "invoices",
            "breakdown",
            "timeline",
            "recoveries",
            "write_offs",
        ]

    def get_breakdown(self, claim: Claim) -> dict[str, Any]:
        breakdown: dict[str, Any] = dict(claim.breakdown or {})
        breakdown["steps"] = [
            {**step, "label": str(STEP_LABELS.get(step.get("code", ""), ""))}
            for step in breakdown.get("steps", [])
        ]
        return breakdown


class ClaimCreateInput(serializers.Serializer[Any]):
    policy = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    buyer = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    invoice_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=500,
    )
    notification = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    cause = serializers.ChoiceField(choices=Claim.Cause.choices)
    loss_date = BoundedDate()
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("notification") is None:
            missing = {
                name: ["This field is required unless a notification is given."]
                for name in ("policy", "buyer", "invoice_ids")
                if not attrs.get(name)
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class ClaimCommentInput(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ClaimRequiredCommentInput(serializers.Serializer[Any]):
    comment = serializers.CharField(max_length=5000)


class ClaimDecisionInput(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=["approved", "partially_approved", "rejected"])
    approved_amount = serializers.DecimalField(
        required=False, allow_null=True, default=None, min_value=0, **MONEY
    )
    insurer_reference = serializers.CharField(
        required=False, allow_blank=True, max_length=60, default=""
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ClaimPaymentInput(serializers.Serializer[Any]):
    paid_amount = serializers.DecimalField(min_value=0, **MONEY)
    paid_on = BoundedDate()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ClaimRecoveryInput(serializers.Serializer[Any]):
    received_on = BoundedDate()
    amount = serializers.DecimalField(min_value=0, **MONEY)
    source = serializers.ChoiceField(choices=Recovery.Source.choices)  # type: ignore[assignment]
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ClaimWriteOffInput(serializers.Serializer[Any]):
    written_off_on = BoundedDate()
    amount = serializers.DecimalField(min_value=0, **MONEY)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ClaimsKpisOutput(serializers.Serializer[Any]):
    as_of = serializers.DateField()
    currency = serializers.CharField(help_text="The tenant's base currency.")
    handling_days_median = serializers.DecimalField(
        max_digits=12, decimal_places=1, allow_null=True,
        help_text="Days from submission to payment, median over paid claims.",
    )  # fmt: skip
    handling_days_p90 = serializers.DecimalField(
        max_digits=12, decimal_places=1, allow_null=True,
        help_text="Days from submission to payment, 90th percentile over paid claims.",
    )  # fmt: skip
    loss_recovery_rate = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True,
        help_text="(Paid indemnity + recoveries) ÷ loss of the paid claims.",
    )  # fmt: skip
    bad_debt_ratio = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True,
        help_text="Write-offs ÷ credit sales of the last 12 months.",
    )  # fmt: skip
    open_count = serializers.IntegerField()
    paid_indemnity = serializers.DecimalField(max_digits=24, decimal_places=2)
    recoveries = serializers.DecimalField(max_digits=24, decimal_places=2)
    write_offs = serializers.DecimalField(max_digits=24, decimal_places=2)
