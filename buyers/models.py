"""The buyer credit file: identity, financial statements, receivables and what happens to them.

Every table is tenant-owned (row-level security in the migrations). Natural keys from the ERP
(`erp_reference`) are unique per tenant, which is what bulk upserts key on.
"""

from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from creditguard.reference.models import Country
from creditguard.tenancy.models import TenantOwnedModel


class DecimalOptions(TypedDict):
    """`models.DecimalField` options, typed so that `**MONEY` type-checks."""

    max_digits: int
    decimal_places: int


MONEY: DecimalOptions = {"max_digits": 18, "decimal_places": 2}


class Buyer(TenantOwnedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ON_HOLD = "on_hold", _("On hold")
        INSOLVENT = "insolvent", _("Insolvent")
        CLOSED = "closed", _("Closed")

    erp_reference = models.CharField(_("ERP reference"), max_length=64)
    legal_name = models.CharField(_("legal name"), max_length=200)
    registration_number = models.CharField(_("registration number"), max_length=64, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True)
    lei = models.CharField(_("LEI"), max_length=20, blank=True)
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("country")
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    nace_code = models.CharField(_("NACE code"), max_length=5)
    nace_section = models.CharField(_("sector"), max_length=1, editable=False)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
        verbose_name=_("parent company"),
        # Checked by the composite key buyers_buyer_parent_id_same_tenant (as every key between
        # tenant tables: same_tenant_foreign_key); indexed by buyer_parent_idx.
        db_constraint=False,
        db_index=False,
    )
    currency = models.CharField(_("currency"), max_length=3)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "erp_reference"], name="buyer_unique_erp_ref"
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="buyer_not_own_parent"),
        ]
        indexes = [
            models.Index(fields=["tenant", "legal_name"], name="buyer_name_idx"),
            models.Index(fields=["tenant", "country"], name="buyer_country_idx"),
            models.Index(fields=["tenant", "nace_section"], name="buyer_sector_idx"),
            models.Index(fields=["tenant", "parent"], name="buyer_parent_idx"),
        ]
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return self.legal_name


class FinancialStatement(TenantOwnedModel):
    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.CASCADE,
        related_name="financials",
        db_constraint=False,
        db_index=False,
    )
    period_end = models.DateField(_("period end"))
    period_months = models.PositiveSmallIntegerField(_("months covered"), default=12)
    currency = models.CharField(_("currency"), max_length=3)
    revenue = models.DecimalField(_("revenue"), **MONEY)
    ebit = models.DecimalField(_("EBIT"), **MONEY)
    net_income = models.DecimalField(_("net income"), **MONEY)
    total_assets = models.DecimalField(_("total assets"), **MONEY)
    current_assets = models.DecimalField(_("current assets"), **MONEY)
    current_liabilities = models.DecimalField(_("current liabilities"), **MONEY)
    total_liabilities = models.DecimalField(_("total liabilities"), **MONEY)
    retained_earnings = models.DecimalField(_("retained earnings"), **MONEY)
    equity = models.DecimalField(_("equity"), **MONEY)
    # Optional figures (NULL = not given) for the finer ratios; see records.STATEMENT_OPTIONAL_FIGURES.
    interest_expense = models.DecimalField(_("interest expense"), null=True, blank=True, **MONEY)
    gross_profit = models.DecimalField(_("gross profit"), null=True, blank=True, **MONEY)
    depreciation_amortisation = models.DecimalField(
        _("depreciation and amortisation"), null=True, blank=True, **MONEY
    )
    cost_of_sales = models.DecimalField(_("cost of sales"), null=True, blank=True, **MONEY)
    inventory = models.DecimalField(_("inventory"), null=True, blank=True, **MONEY)
    trade_receivables = models.DecimalField(_("trade receivables"), null=True, blank=True, **MONEY)
    cash = models.DecimalField(_("cash"), null=True, blank=True, **MONEY)
    short_term_debt = models.DecimalField(_("short-term debt"), null=True, blank=True, **MONEY)
    provisions = models.DecimalField(_("provisions"), null=True, blank=True, **MONEY)
    prior_period_revenue = models.DecimalField(
        _("prior-period revenue"), null=True, blank=True, **MONEY
    )
    # The day the statement became known (filed, published or received). Empty: known from
    # `buyers.ledger.statement_known_on_sql` (the earlier of period end + the publication lag
    # and the day it was recorded), which is what as-of scoring reads.
    published_on = models.DateField(_("published on"), null=True, blank=True)
    audited = models.BooleanField(_("audited"), default=False)
    source = models.CharField(_("source"), max_length=60, blank=True)
    # What the checks flagged but did not refuse (receivables.financial_statement_checks):
    # a list of {"code", "message" (English), "values"}.
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "buyer", "period_end"], name="statement_unique_period"
            ),
        ]
        ordering = ["-period_end"]

    def __str__(self) -> str:
        return f"{self.buyer_id} {self.period_end}"


class Invoice(TenantOwnedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        DISPUTED = "disputed", _("Disputed")
        WRITTEN_OFF = "written_off", _("Written off")

    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.PROTECT,
        related_name="invoices",
        db_constraint=False,
        db_index=False,
    )
    erp_reference = models.CharField(_("ERP reference"), max_length=64)
    number = models.CharField(_("invoice number"), max_length=64, blank=True)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    paid_amount = models.DecimalField(_("paid amount"), default=Decimal("0"), **MONEY)
    paid_date = models.DateField(_("paid date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "erp_reference"], name="invoice_unique_erp_ref"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                name="invoice_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")), name="invoice_due_after_issue"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "buyer", "status"], name="invoice_buyer_status_idx"),
            models.Index(fields=["tenant", "due_date"], name="invoice_due_idx"),
        ]
        ordering = ["-issue_date", "-id"]

    def __str__(self) -> str:
        return self.number or self.erp_reference

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount


class Payment(TenantOwnedModel):
    buyer = models.ForeignKey(
        Buyer, on_delete=models.PROTECT, related_name="payments", db_constraint=False
    )
    erp_reference = models.CharField(_("ERP reference"), max_length=64)
    received_date = models.DateField(_("received"))
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "erp_reference"], name="payment_unique_erp_ref"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        ordering = ["-received_date", "-id"]

    def __str__(self) -> str:
        return self.erp_reference


class PaymentAllocation(TenantOwnedModel):
    payment = models.ForeignKey(
        Payment,
        on_delete=models.CASCADE,
        related_name="allocations",
        db_constraint=False,
        db_index=False,
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="allocations", db_constraint=False
    )
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "payment", "invoice"], name="allocation_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


class Dispute(TenantOwnedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    class Reason(models.TextChoices):
        QUALITY = "quality", _("Quality of goods or services")
        QUANTITY = "quantity", _("Quantity or delivery")
        PRICE = "price", _("Price or invoicing error")
        OTHER = "other", _("Other")

    buyer = models.ForeignKey(
        Buyer, on_delete=models.PROTECT, related_name="disputes", db_constraint=False
    )
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
        db_constraint=False,
    )
    erp_reference = models.CharField(_("ERP reference"), max_length=64)
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    description = models.TextField(_("description"), blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    opened_date = models.DateField(_("opened"))
    resolved_date = models.DateField(_("resolved"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "erp_reference"], name="dispute_unique_erp_ref"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=Q(resolved_date__isnull=True) | Q(resolved_date__gte=F("opened_date")),
                name="dispute_resolved_after_opened",
            ),
        ]
        ordering = ["-opened_date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.amount} {self.currency}"


class PaymentPlan(TenantOwnedModel):
    class Status(models.TextChoices):
        KEPT = "kept", _("Kept")
        BROKEN = "broken", _("Broken")
        COMPLETED = "completed", _("Completed")

    buyer = models.ForeignKey(
        Buyer, on_delete=models.PROTECT, related_name="payment_plans", db_constraint=False
    )
    erp_reference = models.CharField(_("ERP reference"), max_length=64)
    agreed_date = models.DateField(_("agreed"))
    total_amount = models.DecimalField(_("total"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="kept")
    note = models.TextField(_("note"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "erp_reference"], name="paymentplan_unique_erp_ref"
            ),
        ]
        ordering = ["-agreed_date", "-id"]

    def __str__(self) -> str:
        return self.erp_reference


class Instalment(TenantOwnedModel):
    plan = models.ForeignKey(
        PaymentPlan,
        on_delete=models.CASCADE,
        related_name="instalments",
        db_constraint=False,
        db_index=False,
    )
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_amount = models.DecimalField(_("paid amount"), default=Decimal("0"), **MONEY)
    paid_date = models.DateField(_("paid date"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "due_date"], name="instalment_unique_due"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
        ]
        ordering = ["due_date"]

    def __str__(self) -> str:
        return f"{self.due_date} {self.amount}"


class BuyerNote(TenantOwnedModel):
    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, related_name="notes", db_constraint=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.body[:60]


def buyer_document_path(instance: "BuyerDocument", filename: str) -> str:
    return f"tenants/{instance.tenant_id}/buyers/{instance.buyer_id}/{filename}"


class BuyerDocument(TenantOwnedModel):
    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, related_name="documents", db_constraint=False
    )
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=buyer_document_path)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.title


def import_upload_path(instance: "ImportJob", filename: str) -> str:
    return f"tenants/{instance.tenant_id}/imports/{filename}"


class ImportJob(TenantOwnedModel):
    """A CSV/XLSX upload mapped onto one record kind and imported all-or-nothing by Celery."""

    class Kind(models.TextChoices):
        BUYERS = "buyers", _("Buyers")
        INVOICES = "invoices", _("Invoices")
        PAYMENTS = "payments", _("Payments")
        FINANCIAL_STATEMENTS = "financial_statements", _("Financial statements")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Imported")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=import_upload_path)
    original_filename = models.CharField(_("file name"), max_length=255)
    column_mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_filename}"


class BuyerFigures(TenantOwnedModel):
    """The buyer's current figures in the tenant's base currency, maintained by
    `buyers.figures` (never computed on read): the lists, the dashboard and the limits overview
    read these instead of aggregating invoices. Call `buyers.figures.figures_fresh` first."""

    buyer = models.OneToOneField(
        Buyer, on_delete=models.CASCADE, related_name="figures", db_constraint=False
    )
    as_of = models.DateField(_("figures as of"))
    exposure = models.DecimalField(_("exposure"), default=Decimal("0"), **MONEY)
    overdue = models.DecimalField(_("overdue"), default=Decimal("0"), **MONEY)
    disputed = models.DecimalField(_("disputed"), default=Decimal("0"), **MONEY)
    aging_current = models.DecimalField(default=Decimal("0"), **MONEY)
    aging_1_30 = models.DecimalField(default=Decimal("0"), **MONEY)
    aging_31_60 = models.DecimalField(default=Decimal("0"), **MONEY)
    aging_61_90 = models.DecimalField(default=Decimal("0"), **MONEY)
    aging_91_180 = models.DecimalField(default=Decimal("0"), **MONEY)
    aging_over_180 = models.DecimalField(default=Decimal("0"), **MONEY)
    open_invoices = models.IntegerField(default=0)
    overdue_invoices = models.IntegerField(default=0)
    days_overdue_max = models.IntegerField(default=0)
    credit_sales_365 = models.DecimalField(default=Decimal("0"), **MONEY)
    score = models.IntegerField(_("score"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    pd = models.DecimalField(_("12-month PD"), max_digits=7, decimal_places=5, null=True)
    model_version = models.CharField(max_length=20, blank=True, default="")
    credit_limit = models.DecimalField(_("credit limit"), null=True, blank=True, **MONEY)
    limit_blocked = models.BooleanField(default=False)
    cover = models.DecimalField(_("insurer cover"), null=True, blank=True, **MONEY)
    insured = models.DecimalField(_("insured"), default=Decimal("0"), **MONEY)
    # The covering insurance policy's id: buyers sits below policies and cannot reference it.
    policy_id = models.BigIntegerField(null=True, blank=True)
    utilisation = models.GeneratedField(
        expression=models.Case(
            models.When(
                credit_limit__gt=0,
                then=models.ExpressionWrapper(
                    F("exposure") / F("credit_limit"),
                    output_field=models.DecimalField(max_digits=30, decimal_places=6),
                ),
            ),
            default=None,
        ),
        output_field=models.DecimalField(max_digits=30, decimal_places=6),
        db_persist=True,
    )
    open_alerts = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "buyer"], name="buyerfigures_unique_buyer"),
        ]
        indexes = [
            models.Index("tenant", F("exposure").desc(), "buyer", name="buyerfigures_exposure_idx"),
            models.Index(fields=["tenant", "grade"], name="buyerfigures_grade_idx"),
            # The buyer list by exposure, largest first (buyers without figures last), also
            # when filtered by grade or policy: the first page reads the top of this index.
            models.Index(
                "tenant",
                F("exposure").desc(nulls_last=True),
                name="buyerfigures_exposure_list_idx",
            ),
            # The Limits overview's default order: utilisation, then exposure, then the buyer.
            models.Index(
                "tenant",
                F("utilisation").desc(nulls_last=True),
                F("exposure").desc(),
                "buyer",
                name="buyerfigures_util_idx",
            ),
            models.Index(
                fields=["tenant", "overdue"],
                name="buyerfigures_overdue_idx",
                condition=Q(overdue__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_id} {self.as_of}"


class FiguresDirty(TenantOwnedModel):
    """A buyer whose figures must be recomputed: written by the database triggers on every
    table a figure depends on (migration buyers 0005), claimed by `buyers.figures`."""

    buyer_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "buyer_id"], name="figuresdirty_unique"),
        ]


class PortfolioSnapshot(TenantOwnedModel):
    """The tenant's portfolio totals at the end of a day (base currency), for trends (DSO)."""

    as_of = models.DateField(_("as of"))
    exposure = models.DecimalField(_("exposure"), **MONEY)
    overdue = models.DecimalField(_("overdue"), **MONEY)
    insured = models.DecimalField(_("insured"), **MONEY)
    credit_sales_365 = models.DecimalField(**MONEY)
    buyer_count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "as_of"], name="snapshot_unique_day"),
        ]
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.as_of}"
