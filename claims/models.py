"""Claims: a policyholder's claim on its insurer for a buyer's unpaid invoices.

Every table is tenant-owned (row-level security in the migrations). Amounts of a claim are in
its policy's currency; each claimed invoice keeps its own currency and the rate used. The rules
are pure functions (`claims.eligibility`, `claims.indemnity`); `claims.services` writes.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from buyers.models import Buyer, DecimalOptions, Invoice
from creditguard.tenancy.models import AppendOnly, TenantOwnedModel
from policies.models import InsurancePolicy

MONEY: DecimalOptions = {"max_digits": 18, "decimal_places": 2}
RATE: DecimalOptions = {"max_digits": 20, "decimal_places": 10}


class Claim(TenantOwnedModel):
    """A claim for one buyer under one policy, and where it stands."""

    class Cause(models.TextChoices):
        INSOLVENCY = "insolvency", _("Insolvency")
        PROTRACTED_DEFAULT = "protracted_default", _("Protracted default")
        POLITICAL = "political", _("Political risk")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        UNDER_REVIEW = "under_review", _("Under review")
        APPROVED = "approved", _("Approved")
        PARTIALLY_APPROVED = "partially_approved", _("Partially approved")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    number = models.CharField(_("claim number"), max_length=30)
    policy = models.ForeignKey(
        InsurancePolicy,
        on_delete=models.PROTECT,
        related_name="claims",
        db_constraint=False,
        db_index=False,
    )
    buyer = models.ForeignKey(
        Buyer, on_delete=models.PROTECT, related_name="claims", db_constraint=False, db_index=False
    )
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    # The insolvency's date, or the day the protracted default / political event is claimed for.
    loss_date = models.DateField(_("date of loss"))
    currency = models.CharField(_("currency"), max_length=3)
    claimed_amount = models.DecimalField(_("claimed"), default=0, **MONEY)
    eligible_amount = models.DecimalField(_("eligible"), default=0, **MONEY)
    indemnity_amount = models.DecimalField(_("indemnity"), default=0, **MONEY)
    # Every step of the indemnity calculation (`claims.indemnity`), for a person to follow.
    breakdown = models.JSONField(_("calculation"), default=dict, blank=True)
    fx_date = models.DateField(_("exchange rates of"), null=True, blank=True)
    approved_amount = models.DecimalField(_("approved"), null=True, blank=True, **MONEY)
    paid_amount = models.DecimalField(_("paid"), null=True, blank=True, **MONEY)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    insurer_reference = models.CharField(_("insurer's claim reference"), max_length=60, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assignee"),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    review_started_at = models.DateTimeField(_("review started"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The date by which the next step is due (service level), set by each transition.
    sla_due_on = models.DateField(_("next step due"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="claim_unique_number"),
            models.CheckConstraint(
                condition=Q(claimed_amount__gte=0, eligible_amount__gte=0, indemnity_amount__gte=0),
                name="claim_amounts_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="claim_queue_idx"),
            models.Index(fields=["tenant", "buyer"], name="claim_buyer_idx"),
            models.Index(fields=["tenant", "policy"], name="claim_policy_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ClaimInvoice(TenantOwnedModel):
    """An invoice on a claim: what was outstanding, in its currency and the policy's, and the
    eligibility checks with their reasons."""

    claim = models.ForeignKey(
        Claim,
        on_delete=models.CASCADE,
        related_name="invoices",
        db_constraint=False,
        db_index=False,
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    outstanding = models.DecimalField(_("outstanding"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    fx_rate = models.DecimalField(_("rate to the policy currency"), **RATE)
    outstanding_in_policy_currency = models.DecimalField(
        _("outstanding (policy currency)"), **MONEY
    )
    cover_at_delivery = models.DecimalField(_("cover in force at delivery"), default=0, **MONEY)
    eligible = models.BooleanField(_("eligible"), default=False)
    # [{"check": "<code>", "passed": true, "reason": "<text>", "params": {...}}]
    checks = models.JSONField(_("eligibility checks"), default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "claim", "invoice"], name="claiminvoice_unique_invoice"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "invoice"], name="claiminvoice_invoice_idx")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.claim_id}/{self.invoice_id}"


class ClaimEvent(AppendOnly, TenantOwnedModel):
    """The claim's timeline: every transition, comment and document, append-only."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("Status change")
        COMMENT = "comment", _("Comment")
        DOCUMENT = "document", _("Document")
        ASSIGNMENT = "assignment", _("Assignment")
        RECOVERY = "recovery", _("Recovery")

    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="events", db_constraint=False, db_index=False
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "claim", "created_at"], name="claimevent_idx")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind}"


def claim_document_path(instance: "ClaimDocument", filename: str) -> str:
    return f"tenants/{instance.tenant_id}/claims/{instance.claim_id}/{filename}"


class ClaimDocument(TenantOwnedModel):
    claim = models.ForeignKey(
        Claim,
        on_delete=models.CASCADE,
        related_name="documents",
        db_constraint=False,
        db_index=False,
    )
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=claim_document_path)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "claim"], name="claimdocument_claim_idx")]
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Recovery(AppendOnly, TenantOwnedModel):
    """Money recovered after the indemnity (from the buyer or its estate), split between the
    insurer and the insured pro rata; what exceeds the loss goes back to the insured."""

    class Source(models.TextChoices):
        BUYER = "buyer", _("Buyer")
        ESTATE = "estate", _("Insolvency estate")
        OTHER = "other", _("Other")

    claim = models.ForeignKey(
        Claim,
        on_delete=models.PROTECT,
        related_name="recoveries",
        db_constraint=False,
        db_index=False,
    )
    received_on = models.DateField(_("received on"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    insurer_share = models.DecimalField(_("insurer's share"), **MONEY)
    insured_share = models.DecimalField(_("insured's share"), **MONEY)
    note = models.TextField(_("note"), blank=True)
    recorded_by_label = models.CharField(_("recorded by"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_amount_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "claim"], name="recovery_claim_idx")]
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.amount}"


class WriteOff(AppendOnly, TenantOwnedModel):
    """The uninsured rest of a claim's loss written off."""

    claim = models.ForeignKey(
        Claim,
        on_delete=models.PROTECT,
        related_name="write_offs",
        db_constraint=False,
        db_index=False,
    )
    written_off_on = models.DateField(_("written off on"))
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.TextField(_("reason"), blank=True)
    recorded_by_label = models.CharField(_("recorded by"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="writeoff_amount_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "claim"], name="writeoff_claim_idx")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.amount}"
