"""Serializers of the overdue-notification API: one input contract per action, and the output
of the list and of one notification (its sheet)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from buyers.models import PaymentPlan
from creditguard.api.filters import check_year

from ..insurance.notification_sheets import NotificationSheet
from ..models import ExtensionRequest, OverdueNotification


class BoundedDate(serializers.DateField):
    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        try:
            check_year(parsed)
        except Exception as error:  # Django's ValidationError → DRF's, with the message
            raise serializers.ValidationError(getattr(error, "messages", [str(error)])) from error
        return parsed


class OverdueNotificationOutput(serializers.ModelSerializer[OverdueNotification]):
    policy = serializers.IntegerField(source="policy_id")
    buyer = serializers.SerializerMethodField()
    overdue_amount = serializers.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        model = OverdueNotification
        fields = [
            "id",
            "policy",
            "buyer",
            "status",
            "deadline",
            "overdue_amount",
            "currency",
            "insurer_reference",
            "notes",
            "reviewed_at",
            "sent_on",
            "created_at",
            "updated_at",
        ]

    def get_buyer(self, notification: OverdueNotification) -> dict[str, Any]:
        buyer = notification.buyer
        return {
            "id": buyer.pk,
            "erp_reference": buyer.erp_reference,
            "legal_name": buyer.legal_name,
        }


class ExtensionRequestOutput(serializers.ModelSerializer[ExtensionRequest]):
    kind = serializers.CharField(help_text="extension or payment_plan")
    status = serializers.CharField(help_text="requested, granted or refused")
    payment_plan = serializers.SerializerMethodField()

    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "kind",
            "requested_until",
            "payment_plan",
            "status",
            "decided_on",
            "notes",
            "created_at",
        ]

    def get_payment_plan(self, extension: ExtensionRequest) -> str | None:
        plan = extension.payment_plan
        return plan.erp_reference if plan is not None else None


def sheet_data(sheet: NotificationSheet) -> dict[str, Any]:
    """One notification as the API shows it: its fields, the invoices with days overdue and
    whether their cover is lost, totals, FX rates and extension requests."""
    buyer = sheet.buyer
    return {
        **OverdueNotificationOutput(sheet.notification).data,
        "policy": {
            "id": sheet.policy.pk,
            "insurer": sheet.policy.insurer,
            "number": sheet.policy.number,
        },
        "policyholder": sheet.policyholder,
        "buyer": {
            "id": buyer.pk,
            "erp_reference": buyer.erp_reference,
            "legal_name": buyer.legal_name,
            "registration_number": buyer.registration_number,
            "vat_number": buyer.vat_number,
            "country": buyer.country_id,
            "address": buyer.address,
            "city": buyer.city,
        },
        "items": [
            {
                "invoice_id": row.invoice_id,
                "number": row.number,
                "issue_date": row.issue_date.isoformat() if row.issue_date else None,
                "due_date": row.due_date.isoformat(),
                "outstanding": f"{row.outstanding:.2f}",
                "currency": row.currency,
                "days_overdue": row.days_overdue,
                "notify_by": row.notify_by.isoformat(),
                "cover_lost": row.cover_lost,
            }
            for row in sheet.rows
        ],
        "totals": [{"currency": c, "outstanding": f"{total:.2f}"} for c, total in sheet.totals],
        "days_overdue_counted_to": sheet.counted_to.isoformat(),
        "deadline_missed": sheet.deadline_missed,
        "fx": {
            "date": sheet.fx_date.isoformat() if sheet.fx_date else None,
            "rates": [{"currency": c, "rate": rate} for c, rate in sheet.fx_rates],
            "missing": sheet.fx_missing,
        },
        "maximum_extension_until": (
            sheet.maximum_extension_until.isoformat() if sheet.maximum_extension_until else None
        ),
        "extension_requests": ExtensionRequestOutput(sheet.extensions, many=True).data,
    }


class NotificationReviewInput(serializers.Serializer[Any]):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class NotificationSendInput(serializers.Serializer[Any]):
    sent_on = BoundedDate()
    insurer_reference = serializers.CharField(
        required=False, allow_blank=True, max_length=60, default=""
    )


class NotificationWithdrawInput(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ExtensionRequestInput(serializers.Serializer[Any]):
    # Plain text checked against the kinds (an enum named "kind" would clash in the schema).
    kind = serializers.CharField(help_text="extension or payment_plan")
    requested_until = BoundedDate()
    payment_plan_erp_reference = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default=""
    )
    beyond_maximum = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")

    def validate_kind(self, value: str) -> str:
        if value not in ExtensionRequest.Kind.values:
            raise serializers.ValidationError(_("Choose extension or payment_plan."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        reference = attrs.pop("payment_plan_erp_reference", "")
        plan = None
        if reference:
            plan = PaymentPlan.objects.filter(erp_reference=reference).first()
            if plan is None:
                raise serializers.ValidationError(
                    {"payment_plan_erp_reference": [_("No payment plan with this ERP reference.")]}
                )
        attrs["payment_plan"] = plan
        return attrs


class ExtensionDecisionInput(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(
        choices=[ExtensionRequest.Status.GRANTED.value, ExtensionRequest.Status.REFUSED.value]
    )
    decided_on = BoundedDate()
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
