"""Forms of the limit pages: the pages' one input contract. They parse and validate what the
user typed; the views hand the typed values to the services, which hold the rules that need
several fields together or the database."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from buyers.forms import DecimalFieldOptions, currency_field
from buyers.models import Buyer

from .models import CreditPolicyBand, InsurerCover, LimitDecision

AMOUNT: DecimalFieldOptions = {"max_digits": 18, "decimal_places": 2, "min_value": 0}


class LimitFilterForm(forms.Form):
    STATES = [
        ("", _("All buyers")),
        ("over_limit", _("Over limit")),
        ("blocked", _("Blocked")),
        ("no_limit", _("No limit")),
        ("review_due", _("Review due")),
        ("expired", _("Expired")),
        ("uninsured", _("Limit above insurer cover")),
    ]
    RISK_CLASSES = [
        ("", _("All risk classes")),
        ("low", _("Low risk")),
        ("medium", _("Medium risk")),
        ("high", _("High risk")),
    ]
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Name or ERP reference")}),
    )
    state = forms.ChoiceField(label=_("State"), choices=STATES, required=False)
    risk_class = forms.ChoiceField(label=_("Risk class"), choices=RISK_CLASSES, required=False)


class LimitRequestForm(forms.Form):
    buyer = forms.ModelChoiceField(
        label=_("Buyer"),
        queryset=Buyer.objects.all().order_by("legal_name"),
        empty_label=_("Choose a buyer"),
    )
    amount = forms.DecimalField(label=_("Requested limit"), **AMOUNT)
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"), min_value=0, max_value=365
    )
    justification = forms.CharField(
        label=_("Justification"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Expected sales, relationship, securities, anything the approver should know."),
    )


class DecisionForm(forms.Form):
    """A decision on a limit request (rendered by `_decision_form.html`, one per request card).
    Every label names the input in error messages; the policy rules are in the service."""

    decision = forms.ChoiceField(label=_("Decision"), choices=LimitDecision.Kind.choices)
    amount = forms.DecimalField(label=_("Partial amount"), required=False, **AMOUNT)
    payment_terms_days = forms.IntegerField(
        label=_("Terms (days)"), required=False, min_value=0, max_value=365
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea)
    override_reason = forms.CharField(
        label=_("Reason for overriding the policy"), required=False, widget=forms.Textarea
    )
    next = forms.CharField(label=_("Return to"), required=False)


class ResubmitForm(forms.Form):
    amount = forms.DecimalField(label=_("Requested limit"), required=False, **AMOUNT)
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"), required=False, min_value=0, max_value=365
    )
    justification = forms.CharField(
        label=_("Information"), widget=forms.Textarea(attrs={"rows": 3})
    )


class BlockForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class InsurerCoverForm(forms.Form):
    insurer = forms.CharField(label=_("Insurer"), max_length=120)
    policy_number = forms.CharField(
        label=_("Insurance policy number"), max_length=60, required=False
    )
    decision_reference = forms.CharField(
        label=_("Insurer's decision reference"), max_length=60, required=False
    )
    amount = forms.DecimalField(label=_("Cover amount"), **AMOUNT)
    currency = currency_field()
    decision_date = forms.DateField(
        label=_("Decision date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    expiry_date = forms.DateField(
        label=_("Expires"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    status = forms.ChoiceField(label=_("Status"), choices=InsurerCover.Status.choices)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class CreditPolicyForm(forms.Form):
    effective_from = forms.DateField(
        label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    four_eyes_threshold = forms.DecimalField(
        label=_("Four-eyes threshold"),
        help_text=_("Limits above this amount need two distinct approvers."),
        **AMOUNT,
    )
    lowest_acceptable_grade = forms.IntegerField(
        label=_("Lowest grade for new orders"),
        min_value=1,
        max_value=10,
        help_text=_("Credit checks hold orders of buyers with a worse (higher) grade."),
    )
    overdue_hold_days = forms.IntegerField(
        label=_("Overdue days before holding orders"), min_value=0, max_value=365
    )
    overdue_hold_amount = forms.DecimalField(label=_("Tolerated overdue amount"), **AMOUNT)
    limit_without_financials = forms.DecimalField(
        label=_("Limit without financial statements"),
        # xgettext:no-python-format
        help_text=_("Replaces the % of equity and revenue caps when no statement is on file."),
        **AMOUNT,
    )
    notes = forms.CharField(
        label=_("What changed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class BandForm(forms.Form):
    grade_from = forms.IntegerField(
        label=_("From grade"), min_value=1, max_value=10, required=False
    )
    grade_to = forms.IntegerField(label=_("To grade"), min_value=1, max_value=10, required=False)
    max_payment_terms_days = forms.IntegerField(
        label=_("Max. terms (days)"), min_value=0, max_value=365, required=False
    )
    max_limit = forms.DecimalField(label=_("Max. limit"), required=False, **AMOUNT)
    max_limit_equity_pct = forms.DecimalField(
        # xgettext:no-python-format
        label=_("Max. % of equity"),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=0,
        max_value=100,
    )
    max_limit_revenue_pct = forms.DecimalField(
        # xgettext:no-python-format
        label=_("Max. % of revenue"),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=0,
        max_value=100,
    )
    insurance_required_above = forms.DecimalField(
        label=_("Insurance required above"), required=False, **AMOUNT
    )
    approval_level = forms.ChoiceField(
        label=_("Approval level"), choices=CreditPolicyBand.ApprovalLevel.choices
    )
    # A row without a first grade is an unused row; a used row needs these as well.
    REQUIRED_IN_A_USED_ROW = ("grade_to", "max_payment_terms_days", "max_limit")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("grade_from") is not None:
            for name in self.REQUIRED_IN_A_USED_ROW:
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, self.fields[name].error_messages["required"])
        return cleaned
