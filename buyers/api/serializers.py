"""API shapes. Input serializers document the request bodies; the services validate them
(the same rules as bulk imports, in `buyers.records`)."""

from rest_framework import serializers

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


class BuyerInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64, help_text="Your ERP's customer id.")
    legal_name = serializers.CharField(max_length=200)
    registration_number = serializers.CharField(required=False, allow_blank=True)
    vat_number = serializers.CharField(required=False, allow_blank=True)
    lei = serializers.CharField(required=False, allow_blank=True, help_text="20-character LEI.")
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 code, e.g. DE.")
    city = serializers.CharField(required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    nace_code = serializers.CharField(help_text='NACE Rev. 2 code, e.g. "46.69".')
    parent_erp_reference = serializers.CharField(
        required=False, allow_blank=True, help_text="The parent company's ERP reference."
    )
    currency = serializers.CharField(help_text="ISO 4217, e.g. EUR.")
    payment_terms_days = serializers.IntegerField(required=False, min_value=0, max_value=365)
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


class StatementInput(serializers.Serializer):
    buyer_erp_reference = serializers.CharField()
    period_end = serializers.DateField()
    period_months = serializers.IntegerField(required=False, min_value=1, max_value=24)
    currency = serializers.CharField()
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    ebit = serializers.DecimalField(max_digits=18, decimal_places=2)
    net_income = serializers.DecimalField(max_digits=18, decimal_places=2)
    total_assets = serializers.DecimalField(max_digits=18, decimal_places=2)
    current_assets = serializers.DecimalField(max_digits=18, decimal_places=2)
    current_liabilities = serializers.DecimalField(max_digits=18, decimal_places=2)
    total_liabilities = serializers.DecimalField(max_digits=18, decimal_places=2)
    retained_earnings = serializers.DecimalField(max_digits=18, decimal_places=2)
    equity = serializers.DecimalField(max_digits=18, decimal_places=2)
    audited = serializers.BooleanField(required=False)
    source = serializers.CharField(required=False, allow_blank=True)


class StatementOutput(serializers.ModelSerializer):
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")

    class Meta:
        model = FinancialStatement
        fields = [
            "id",
            "buyer_erp_reference",
            "period_end",
            "period_months",
            "currency",
            "revenue",
            "ebit",
            "net_income",
            "total_assets",
            "current_assets",
            "current_liabilities",
            "total_liabilities",
            "retained_earnings",
            "equity",
            "audited",
            "source",
        ]


class InvoiceInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64)
    buyer_erp_reference = serializers.CharField()
    number = serializers.CharField(required=False, allow_blank=True)
    issue_date = serializers.DateField()
    due_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    paid_amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    paid_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(
        choices=[Invoice.Status.DISPUTED, Invoice.Status.WRITTEN_OFF],
        required=False,
        help_text="Only to mark disputed or written off; otherwise derived from the payments.",
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
    invoice_erp_reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class PaymentInput(serializers.Serializer):
    erp_reference = serializers.CharField(max_length=64)
    buyer_erp_reference = serializers.CharField()
    received_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    allocations = AllocationInput(many=True, required=False)


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
