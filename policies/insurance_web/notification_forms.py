"""Forms of the overdue-notification pages: one input contract per action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from buyers.models import PaymentPlan
from creditguard.api.filters import BoundedDateField

from ..models import ExtensionRequest, OverdueNotification


class NotificationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *OverdueNotification.Status.choices],
    )


class ReviewForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SendForm(forms.Form):
    sent_on = BoundedDateField(label=_("Sent on"), widget=forms.DateInput(attrs={"type": "date"}))
    insurer_reference = forms.CharField(
        label=_("Insurer's reference"), max_length=60, required=False
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class PaymentPlanField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{obj.erp_reference} — {obj.agreed_date:%Y-%m-%d}, {obj.total_amount} {obj.currency}"
        )


class ExtensionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ExtensionRequest.Kind.choices)
    requested_until = BoundedDateField(
        label=_("Extended until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    payment_plan = PaymentPlanField(
        label=_("Payment plan"), queryset=PaymentPlan.objects.none(), required=False
    )
    beyond_maximum = forms.BooleanField(
        label=_("I ask the insurer for more than the policy's maximum extension period"),
        required=False,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, buyer_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plans = PaymentPlan.objects.filter(buyer_id=buyer_id).order_by("-agreed_date", "-id")
        field = self.fields["payment_plan"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = plans


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Insurer's answer"),
        choices=[
            (ExtensionRequest.Status.GRANTED, ExtensionRequest.Status.GRANTED.label),
            (ExtensionRequest.Status.REFUSED, ExtensionRequest.Status.REFUSED.label),
        ],
    )
    decided_on = BoundedDateField(
        label=_("Decided on"), widget=forms.DateInput(attrs={"type": "date"})
    )
