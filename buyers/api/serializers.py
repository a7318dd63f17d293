"""API shapes. Input serializers document the request bodies; the views validate them once
with `buyers.records` (the rules of bulk imports) and hand the cleaned records to the
services. Statement figures come from the one list in `buyers.records`."""

from typing import TypedDict

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from creditguard.dates import today

from .. import ledger
from ..models import (
    Buyer,
    Dispute,
    FinancialStatement,
    Instalment,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentPlan,
)
from ..records import STATEMENT_COLUMNS, STATEMENT_FIGURES, STATEMENT_OPTIONAL_FIGURES


class DecimalFieldOptions(TypedDict, total=False):
    """`serializers.DecimalField` options, typed so that `**MONEY` type-checks."""

    max_digits: int
    decimal_places: int
    coerce_to_string: bool
    min_value: int


MONEY: DecimalFieldOptions = {"max_digits": 18, "decimal_places": 2, "coerce_to_string": True}


# --- Records: one documented shape per kind, for the single-object and the bulk endpoints ---------


class BuyerInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64, help_text="Your ERP's customer id.")
    legal_name = serializers.CharField(max_length=200)
    registration_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    vat_number = serializers.CharField(max_length=32, required=False, allow_blank=True)
    lei = serializers.CharField(
        max_length=20, required=False, allow_blank=True, help_text="20-character LEI."
    )
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. DE.")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    nace_code = serializers.CharField(max_length=5, help_text='NACE Rev. 2 code, e.g. "46.69".')
    parent_erp_reference = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The parent company's ERP reference (in a bulk upsert: a buyer of the batch "
        "or an existing one).",
    )
    currency = serializers.CharField(max_length=3, help_text="ISO 4217, e.g. EUR.")
    payment_terms_days = serializers.IntegerField(
        required=False, min_value=0, max_value=365, default=30
    )
    status = serializers.ChoiceField(choices=Buyer.Status.choices, required=False)


class BuyerOutput(serializers.ModelSerializer):
    country = serializers.CharField(source="country_id")
    parent_erp_reference = serializers.CharField(
        source="parent.erp_reference", default=None, allow_null=True
    )

    class Meta:
        model = Buyer
        fields = [
            "id",
            "erp_reference",
            "legal_name",
            "registration_number",
            "vat_number",
            "lei",
            "country",
            "city",
            "address",
            "nace_code",
            "nace_section",
            "parent_erp_reference",
            "currency",
            "payment_terms_days",
            "status",
            "created_at",
            "updated_at",
        ]


StatementInput = type(
    "StatementInput",
    (serializers.Serializer,),
    {
        "buyer_erp_reference": serializers.CharField(max_length=64),
        "period_end": serializers.DateField(),
        "period_months": serializers.IntegerField(
            required=False, min_value=1, max_value=24, default=12
        ),
        "currency": serializers.CharField(max_length=3, help_text="ISO 4217, e.g. EUR."),
        **{name: serializers.DecimalField(**MONEY) for name in STATEMENT_FIGURES},
        **{
            name: serializers.DecimalField(
                **MONEY, required=False, allow_null=True, help_text="Optional."
            )
            for name in STATEMENT_OPTIONAL_FIGURES
        },
        "audited": serializers.BooleanField(required=False, default=False),
        "source": serializers.CharField(max_length=60, required=False, allow_blank=True),
        "published_on": serializers.DateField(
            required=False,
            allow_null=True,
            help_text=(
                "The day the statement became known (published or received), on or after "
                "period_end; as-of scoring uses it from that day. Empty: six months after "
                "period_end, or the day it is recorded if earlier."
            ),
        ),
        "__module__": __name__,
        "__doc__": "A financial statement (its figures as `buyers.records` lists them).",
    },
)


class StatementOutput(serializers.ModelSerializer):
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")

    class Meta:
        model = FinancialStatement
        fields = ["id", "buyer_erp_reference", *STATEMENT_COLUMNS, "warnings"]
        read_only_fields = ["warnings"]


class InvoiceInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64)
    buyer_erp_reference = serializers.CharField(max_length=64)
    number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    issue_date = serializers.DateField()
    due_date = serializers.DateField(help_text="On or after issue_date.")
    amount = serializers.DecimalField(**MONEY, help_text="Greater than 0.")
    currency = serializers.CharField(max_length=3, help_text="ISO 4217, e.g. EUR.")
    paid_amount = serializers.DecimalField(**MONEY, required=False, default="0.00")
    paid_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(
        choices=Invoice.Status.choices,
        required=False,
        help_text="Disputed and written off are kept; any other status is derived from the "
        "amounts.",
    )


class InvoiceOutput(serializers.ModelSerializer):
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")
    outstanding = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "erp_reference",
            "buyer_erp_reference",
            "number",
            "issue_date",
            "due_date",
            "amount",
            "currency",
            "paid_amount",
            "outstanding",
            "paid_date",
            "status",
            "updated_at",
        ]


class AllocationInput(serializers.Serializer):
    invoice_erp_reference = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(**MONEY)


class PaymentInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64)
    buyer_erp_reference = serializers.CharField(max_length=64)
    received_date = serializers.DateField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField(max_length=3, help_text="ISO 4217, e.g. EUR.")
    allocations = AllocationInput(
        many=True,
        required=False,
        help_text="One per invoice; the total may not exceed the amount (a bulk upsert replaces "
        "the payment's allocations).",
    )


class AllocationOutput(serializers.ModelSerializer):
    invoice_erp_reference = serializers.CharField(source="invoice.erp_reference")

    class Meta:
        model = PaymentAllocation
        fields = ["invoice_erp_reference", "amount"]


class PaymentOutput(serializers.ModelSerializer):
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")
    allocations = AllocationOutput(many=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "erp_reference",
            "buyer_erp_reference",
            "received_date",
            "amount",
            "currency",
            "allocations",
        ]


class DisputeInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64)
    buyer_erp_reference = serializers.CharField()
    invoice_erp_reference = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
    description = serializers.CharField(required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    opened_date = serializers.DateField()


class DisputeResolveInput(serializers.Serializer):
    resolved_date = serializers.DateField()
    resolution = serializers.CharField(max_length=200)


class DisputeOutput(serializers.ModelSerializer):
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")
    invoice_erp_reference = serializers.CharField(
        source="invoice.erp_reference", default=None, allow_null=True
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "erp_reference",
            "buyer_erp_reference",
            "invoice_erp_reference",
            "reason",
            "description",
            "amount",
            "currency",
            "opened_date",
            "resolved_date",
            "resolution",
            "status",
        ]


class InstalmentInput(serializers.Serializer):
    due_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class PaymentPlanInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64)
    buyer_erp_reference = serializers.CharField()
    agreed_date = serializers.DateField()
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    note = serializers.CharField(required=False, allow_blank=True)
    instalments = InstalmentInput(many=True)


class InstalmentPaymentInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    paid_date = serializers.DateField()


class InstalmentOutput(serializers.ModelSerializer):
    class Meta:
        model = Instalment
        fields = ["id", "due_date", "amount", "paid_amount", "paid_date"]


class PaymentPlanOutput(serializers.ModelSerializer):
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")
    instalments = InstalmentOutput(many=True)
    status = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=PaymentPlan.Status.choices))
    def get_status(self, plan: PaymentPlan) -> str:
        # Today's status from the instalments, by the one rule (`buyers.ledger`).
        return ledger.plan_status_of(plan, as_of=today())

    class Meta:
        model = PaymentPlan
        fields = [
            "id",
            "erp_reference",
            "buyer_erp_reference",
            "agreed_date",
            "total_amount",
            "currency",
            "status",
            "note",
            "instalments",
        ]


class CreditFileOutput(serializers.Serializer):
    buyer = BuyerOutput()
    as_of = serializers.DateField()
    currency = serializers.CharField(help_text="The tenant's base currency.")
    exposure = serializers.DecimalField(max_digits=20, decimal_places=2)
    overdue = serializers.DecimalField(max_digits=20, decimal_places=2)
    disputed = serializers.DecimalField(max_digits=20, decimal_places=2)
    aging = serializers.DictField(child=serializers.DecimalField(max_digits=20, decimal_places=2))
    dso = serializers.DecimalField(
        max_digits=8,
        decimal_places=1,
        allow_null=True,
        help_text="Days sales outstanding: receivables ÷ invoiced sales of the last 90 days × 90.",
    )
    days_beyond_terms = serializers.DecimalField(
        max_digits=8,
        decimal_places=1,
        allow_null=True,
        help_text="Amount-weighted days beyond terms over the last 12 months and open items.",
    )
    group_exposure = serializers.DecimalField(max_digits=20, decimal_places=2)
