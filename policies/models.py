"""Credit policy, credit limits and their approval, insurer cover, and in-app notifications.

Every table is tenant-owned (row-level security in the migrations); money is stored in the
tenant's base currency unless the row has its own `currency` (insurer cover). The insurance
capability adds insurance policies to this app and attaches covers to them.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from buyers.models import Buyer, DecimalOptions
from creditguard.tenancy.models import AppendOnly, TenantOwnedModel

MONEY: DecimalOptions = {"max_digits": 18, "decimal_places": 2}
PERCENT: DecimalOptions = {"max_digits": 6, "decimal_places": 2}
GRADE_HELP = _("1 = lowest risk … 10 = highest risk")


class RiskClass(models.TextChoices):
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class CreditPolicy(AppendOnly, TenantOwnedModel):
    """One version of a tenant's credit policy. Versions are never edited: a change is a new
    version with its effective date; the one in force on a day is the latest version effective
    on or before it."""

    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    currency = models.CharField(_("currency"), max_length=3)
    four_eyes_threshold = models.DecimalField(
        _("four-eyes threshold"),
        help_text=_("Limits above this amount need two distinct approvers."),
        **MONEY,
    )
    lowest_acceptable_grade = models.PositiveSmallIntegerField(
        _("lowest grade for new orders"),
        help_text=_("Credit checks hold orders of buyers with a worse (higher) grade."),
    )
    overdue_hold_days = models.PositiveSmallIntegerField(
        _("overdue days before holding orders"),
        help_text=_("Invoices overdue by more than this many days count for the overdue rule."),
    )
    overdue_hold_amount = models.DecimalField(
        _("tolerated overdue amount"),
        help_text=_("Credit checks hold orders when more than this is overdue beyond the days."),
        **MONEY,
    )
    limit_without_financials = models.DecimalField(
        _("limit without financial statements"),
        # xgettext:no-python-format
        help_text=_("Replaces the % of equity and revenue caps when no statement is on file."),
        **MONEY,
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version"], name="creditpolicy_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(lowest_acceptable_grade__gte=1, lowest_acceptable_grade__lte=10),
                name="creditpolicy_grade_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "-effective_from", "-version"], name="creditpolicy_in_force_idx"
            )
        ]
        ordering = ["-effective_from", "-version"]
        verbose_name = _("credit policy")
        verbose_name_plural = _("credit policies")

    def __str__(self) -> str:
        return f"v{self.version} ({self.effective_from:%Y-%m-%d})"


class CreditPolicyBand(AppendOnly, TenantOwnedModel):
    """The rules of one credit policy version for a range of grades."""

    class ApprovalLevel(models.TextChoices):
        STANDARD = "standard", _("One approver (two above the four-eyes threshold)")
        FOUR_EYES = "four_eyes", _("Always two approvers")

    # Keys between tenant tables are checked by composite same-tenant keys (migrations).
    policy = models.ForeignKey(
        CreditPolicy,
        on_delete=models.CASCADE,
        related_name="bands",
        db_constraint=False,
        db_index=False,
    )
    grade_from = models.PositiveSmallIntegerField(_("from grade"), help_text=GRADE_HELP)
    grade_to = models.PositiveSmallIntegerField(_("to grade"), help_text=GRADE_HELP)
    max_payment_terms_days = models.PositiveSmallIntegerField(_("maximum payment terms (days)"))
    max_limit = models.DecimalField(_("maximum limit"), **MONEY)
    max_limit_equity_pct = models.DecimalField(
        # xgettext:no-python-format
        _("maximum % of equity"),
        null=True,
        blank=True,
        **PERCENT,
    )
    max_limit_revenue_pct = models.DecimalField(
        # xgettext:no-python-format
        _("maximum % of revenue"),
        null=True,
        blank=True,
        **PERCENT,
    )
    insurance_required_above = models.DecimalField(
        _("insurance cover required above"), null=True, blank=True, **MONEY
    )
    approval_level = models.CharField(
        _("approval level"),
        max_length=10,
        choices=ApprovalLevel.choices,
        default=ApprovalLevel.STANDARD,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "grade_from"], name="creditpolicyband_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(
                    grade_from__gte=1, grade_to__lte=10, grade_from__lte=models.F("grade_to")
                ),
                name="creditpolicyband_grade_range",
            ),
            models.CheckConstraint(
                condition=Q(max_limit__gte=0), name="creditpolicyband_limit_positive"
            ),
        ]
        ordering = ["grade_from"]

    def __str__(self) -> str:
        return f"{self.grade_from}–{self.grade_to}"


class LimitRequest(TenantOwnedModel):
    """A request for a (new or changed) credit limit and its way through approval."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        INFORMATION_REQUESTED = "information_requested", _("Information requested")
        APPROVED = "approved", _("Approved")
        PARTIALLY_APPROVED = "partially_approved", _("Partially approved")
        REFUSED = "refused", _("Refused")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")

    OPEN_STATUSES = (Status.PENDING, Status.INFORMATION_REQUESTED)

    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.CASCADE,
        related_name="limit_requests",
        db_constraint=False,
        db_index=False,
    )
    amount = models.DecimalField(_("requested limit"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"))
    justification = models.TextField(_("justification"))
    source = models.CharField(_("source"), max_length=3, choices=Source.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_api_key = models.ForeignKey(
        "api.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(_("requested by"), max_length=200)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.PENDING
    )
    round = models.PositiveSmallIntegerField(default=1)
    policy = models.ForeignKey(
        CreditPolicy,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    recommended_amount = models.DecimalField(_("recommended limit"), null=True, blank=True, **MONEY)
    recommended_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    recommendation = models.JSONField(_("recommendation"), default=dict, blank=True)
    granted_amount = models.DecimalField(_("granted limit"), null=True, blank=True, **MONEY)
    granted_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "buyer"],
                condition=Q(status__in=["pending", "information_requested"]),
                name="limitrequest_one_open_per_buyer",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="limitrequest_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"], name="limitrequest_queue_idx"),
            models.Index(fields=["tenant", "buyer", "-created_at"], name="limitrequest_buyer_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.buyer.legal_name}: {self.amount} {self.currency}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class LimitDecision(AppendOnly, TenantOwnedModel):
    """One approver's decision on a request in one round. Append-only."""

    class Kind(models.TextChoices):
        APPROVE = "approve", _("Approve")
        APPROVE_PARTIALLY = "approve_partially", _("Approve partially")
        REFUSE = "refuse", _("Refuse")
        REQUEST_INFORMATION = "request_information", _("Ask for information")

    APPROVALS = (Kind.APPROVE, Kind.APPROVE_PARTIALLY)

    request = models.ForeignKey(
        LimitRequest, on_delete=models.CASCADE, related_name="decisions", db_constraint=False
    )
    round = models.PositiveSmallIntegerField()
    kind = models.CharField(_("decision"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("approved amount"), null=True, blank=True, **MONEY)
    payment_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(_("decided by"), max_length=200)
    authority = models.DecimalField(
        _("approval authority"), null=True, blank=True, help_text=_("In base currency."), **MONEY
    )
    created_at = models.DateTimeField(_("decided"), auto_now_add=True)

    class Meta:
        constraints = [
            # Four-eyes in the database: one approval per person and round.
            models.UniqueConstraint(
                fields=["tenant", "request", "round", "decided_by"],
                condition=Q(kind__in=["approve", "approve_partially"]),
                name="limitdecision_one_approval_per_person",
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.request_id}"


class CreditLimit(TenantOwnedModel):
    """A buyer's own credit limit: the ceiling on its exposure. One per buyer; its history is
    in the audit trail."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.CASCADE,
        related_name="credit_limits",
        db_constraint=False,
        db_index=False,
    )
    amount = models.DecimalField(_("limit"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    grade = models.PositiveSmallIntegerField(_("grade at decision"), null=True, blank=True)
    risk_class = models.CharField(_("risk class"), max_length=6, choices=RiskClass.choices)
    granted_on = models.DateField(_("granted on"))
    review_date = models.DateField(_("review date"))
    expiry_date = models.DateField(_("expires"))
    request = models.ForeignKey(
        LimitRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("responsible credit manager"),
    )
    blocked_reason = models.CharField(_("reason for blocking"), max_length=300, blank=True)
    # Which review reminder was last sent, and for which review date (compare-and-set).
    reminder_stage = models.CharField(max_length=10, blank=True)
    reminder_for = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "buyer"], name="creditlimit_one_per_buyer"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="creditlimit_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "review_date"], name="creditlimit_review_idx"),
        ]
        ordering = ["buyer__legal_name"]

    def __str__(self) -> str:
        return f"{self.buyer.legal_name}: {self.amount} {self.currency}"


class InsurerCover(TenantOwnedModel):
    """The credit limit an insurer granted on a buyer (the insurer's decision)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        GRANTED = "granted", _("Granted")
        REDUCED = "reduced", _("Reduced")
        REFUSED = "refused", _("Refused")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    IN_FORCE = (Status.GRANTED, Status.REDUCED)

    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.CASCADE,
        related_name="insurer_covers",
        db_constraint=False,
        db_index=False,
    )
    insurer = models.CharField(_("insurer"), max_length=120)
    policy_number = models.CharField(_("insurance policy number"), max_length=60, blank=True)
    decision_reference = models.CharField(
        _("insurer's decision reference"), max_length=60, blank=True
    )
    amount = models.DecimalField(_("cover amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    decision_date = models.DateField(_("decision date"))
    expiry_date = models.DateField(_("expires"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.GRANTED
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "buyer", "insurer"], name="insurercover_one_per_insurer"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="insurercover_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "buyer", "status"], name="insurercover_buyer_idx")
        ]
        ordering = ["insurer"]

    def __str__(self) -> str:
        return f"{self.insurer}: {self.amount} {self.currency}"

    def in_force_on(self, day: date) -> bool:
        return self.status in self.IN_FORCE and (
            self.expiry_date is None or self.expiry_date >= day
        )


class Notification(TenantOwnedModel):
    """An in-app message to one member (also sent by email)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField(_("message"), max_length=300)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "user", "read_at"], name="notification_unread_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message
