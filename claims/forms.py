"""Forms of the claim pages: one input contract per action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from buyers.ledger import open_q
from buyers.models import Buyer, Invoice
from creditguard.api.filters import BoundedDateField
from policies.models import InsurancePolicy, InvoiceCoverage

from .models import Claim, Recovery

MONEY_FIELD: dict[str, Any] = {"max_digits": 18, "decimal_places": 2}
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class PolicyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.insurer} {obj.number}"


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.email)


class ClaimFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Claim.Status.choices]
    )
    cause = forms.ChoiceField(
        label=_("Cause"), required=False, choices=[("", _("All")), *Claim.Cause.choices]
    )
    policy = PolicyChoiceField(
        label=_("Policy"), required=False, queryset=InsurancePolicy.objects.none()
    )
    q = forms.CharField(label=_("Buyer"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["policy"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = InsurancePolicy.objects.order_by("insurer", "number")
        field.empty_label = str(_("All"))


class InvoiceChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        outstanding = obj.amount - obj.paid_amount
        return f"{obj.number} — {obj.due_date:%Y-%m-%d}, {outstanding:.2f} {obj.currency}"


def claimable_invoices(*, policy: InsurancePolicy, buyer: Buyer) -> QuerySet[Invoice]:
    """The buyer's open invoices under the policy: those the coverage sweep put under it, and
    those it has not placed yet (not under another policy). Eligibility checks the rest."""
    elsewhere = InvoiceCoverage.objects.filter(buyer_id=buyer.pk).exclude(policy_id=policy.pk)
    return (
        Invoice.objects.filter(open_q(), buyer_id=buyer.pk)
        .exclude(pk__in=elsewhere.values("invoice_id"))
        .order_by("due_date", "number", "id")
    )


class ClaimCreateForm(forms.Form):
    cause = forms.ChoiceField(label=_("Cause"), choices=Claim.Cause.choices)
    loss_date = BoundedDateField(
        label=_("Date of loss"),
        widget=DATE_INPUT,
        help_text=_(
            "The insolvency's date, or the day the protracted default or political event is "
            "claimed for."
        ),
    )
    invoices = InvoiceChoiceField(
        label=_("Invoices to claim"),
        queryset=Invoice.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, policy: InsurancePolicy, buyer: Buyer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoices"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = claimable_invoices(policy=policy, buyer=buyer)


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RequiredCommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (Claim.Status.APPROVED, Claim.Status.APPROVED.label),
            (Claim.Status.PARTIALLY_APPROVED, Claim.Status.PARTIALLY_APPROVED.label),
            (Claim.Status.REJECTED, Claim.Status.REJECTED.label),
        ],
    )
    approved_amount = forms.DecimalField(
        label=_("Approved amount"),
        required=False,
        min_value=0,
        help_text=_("Leave empty to approve the computed indemnity in full."),
        **MONEY_FIELD,
    )
    insurer_reference = forms.CharField(
        label=_("Insurer's claim reference"), max_length=60, required=False
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=4000)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("decision") == Claim.Status.PARTIALLY_APPROVED
            and data.get("approved_amount") is None
        ):
            self.add_error("approved_amount", _("Give the amount the insurer approved."))
        return data


class PaidForm(forms.Form):
    paid_amount = forms.DecimalField(label=_("Amount paid"), min_value=0, **MONEY_FIELD)
    paid_on = BoundedDateField(label=_("Paid on"), widget=DATE_INPUT)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=4000)


class AssignForm(forms.Form):
    assignee = MemberChoiceField(label=_("Assignee"), required=False, queryset=User.objects.none())

    def __init__(self, *args: Any, tenant_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(
            memberships__tenant_id=tenant_id, is_active=True
        ).order_by("email")
        field.empty_label = str(_("Nobody"))


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(label=_("File"))


class RecoveryForm(forms.Form):
    received_on = BoundedDateField(label=_("Received on"), widget=DATE_INPUT)
    amount = forms.DecimalField(label=_("Amount"), min_value=0.01, **MONEY_FIELD)
    source = forms.ChoiceField(label=_("Source"), choices=Recovery.Source.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=4000)


class WriteOffForm(forms.Form):
    written_off_on = BoundedDateField(label=_("Written off on"), widget=DATE_INPUT)
    amount = forms.DecimalField(label=_("Amount"), min_value=0.01, **MONEY_FIELD)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=4000)
