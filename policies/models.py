"""Credit policy, credit limits and their approval, insurer cover, and in-app notifications.

Every table is tenant-owned (row-level security in the migrations); money is stored in the
tenant's base currency unless the row has its own `currency` (insurer cover). The insurance
capability adds insurance policies to this app and attaches covers to them.
"""

from datetime import date

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
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
    # An approval outside the credit policy is an override: how it left the policy
    # (`approval.PolicyBreach.as_json` rows) and why the approver took it anyway.
    policy_breaches = models.JSONField(_("policy breaches"), default=list, blank=True)
    override_reason = models.TextField(_("reason for overriding the policy"), blank=True)
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

    @property
    def is_override(self) -> bool:
        return bool(self.override_reason)


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
    # Granted outside the credit policy by an explicit override (reasons of the approvals).
    policy_override = models.BooleanField(_("policy override"), default=False)
    override_reason = models.TextField(_("reason for overriding the policy"), blank=True)
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


class CoverKind(models.TextChoices):
    NAMED = "named", _("Insurer's decision")
    DISCRETIONARY = "discretionary", _("Discretionary credit limit")


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
    # The insurance policy the cover belongs to; covers recorded before policies were kept have
    # none and count as cover without the policy's mechanics (deadlines, DCL, premium).
    policy = models.ForeignKey(
        "InsurancePolicy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="covers",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(
        _("kind"), max_length=13, choices=CoverKind.choices, default=CoverKind.NAMED
    )
    conditions = models.TextField(_("conditions"), blank=True)
    # For a discretionary credit limit: the evidence the policy's DCL rules were checked on.
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
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


# --- Trade credit insurance ----------------------------------------------------------------------
#
# A policy is an identity (insurer, number, currency); its terms are versioned: an endorsement is
# a new `PolicyVersion` effective from a date, and the version in force on a day is the latest one
# effective on or before it. The rules that read the terms are pure functions in
# `policies.insurance` (deadlines, DCL, premium, insured split); the daily sweep materialises
# them per open invoice in `InvoiceCoverage`.

RATE: DecimalOptions = {"max_digits": 9, "decimal_places": 5}


class CoveredRisk(models.TextChoices):
    INSOLVENCY = "insolvency", _("Insolvency")
    PROTRACTED_DEFAULT = "protracted_default", _("Protracted default")
    POLITICAL = "political", _("Political risk")


class PremiumBasis(models.TextChoices):
    TURNOVER = "turnover", _("Insured turnover")
    BALANCES = "balances", _("Month-end balances")


class DeclarationFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


class InsurancePolicy(TenantOwnedModel):
    """A trade credit insurance policy held by the tenant. The terms are in its versions."""

    insurer = models.CharField(_("insurer"), max_length=120)
    number = models.CharField(_("policy number"), max_length=60)
    name = models.CharField(_("name"), max_length=120, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "insurer", "number"], name="insurancepolicy_unique_number"
            ),
        ]
        ordering = ["insurer", "number"]
        verbose_name = _("insurance policy")
        verbose_name_plural = _("insurance policies")

    def __str__(self) -> str:
        return f"{self.insurer} {self.number}"


class PolicyVersion(AppendOnly, TenantOwnedModel):
    """One version of a policy's terms: the original wording (version 1) or an endorsement."""

    policy = models.ForeignKey(
        InsurancePolicy,
        on_delete=models.CASCADE,
        related_name="versions",
        db_constraint=False,
        db_index=False,
    )
    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    endorsement_reference = models.CharField(_("endorsement"), max_length=60, blank=True)
    change_note = models.TextField(_("reason for the change"), blank=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    indemnity_commercial_pct = models.DecimalField(
        # xgettext:no-python-format
        _("indemnity % (commercial risks)"),
        **PERCENT,
    )
    indemnity_political_pct = models.DecimalField(
        # xgettext:no-python-format
        _("indemnity % (political risks)"),
        **PERCENT,
    )
    max_liability = models.DecimalField(_("maximum liability"), **MONEY)
    covered_risks = ArrayField(
        models.CharField(max_length=20, choices=CoveredRisk.choices),
        verbose_name=_("covered risks"),
    )
    covered_countries = ArrayField(
        models.CharField(max_length=2),
        blank=True,
        default=list,
        verbose_name=_("covered countries"),
        help_text=_("Buyers in these countries are covered unless excluded."),
    )
    waiting_period_days = models.PositiveSmallIntegerField(
        _("waiting period (days)"),
        help_text=_("Protracted default: a claim may be filed this long after the due date."),
    )
    max_extension_days = models.PositiveSmallIntegerField(
        _("maximum extension period (days)"),
        help_text=_("How long after the original due date the terms may be extended."),
    )
    notification_days = models.PositiveSmallIntegerField(
        _("overdue notification deadline (days)"),
        help_text=_(
            "An overdue must be notified within this many days after the extension period."
        ),
    )
    claim_filing_days = models.PositiveSmallIntegerField(
        _("claim filing deadline (days)"),
        help_text=_("A claim must be filed within this many days after the waiting period."),
    )
    cover_notice_days = models.PositiveSmallIntegerField(
        _("notice period for cover reductions (days)"),
        help_text=_("Reductions and withdrawals of cover apply to deliveries after this notice."),
    )
    non_qualifying_loss = models.DecimalField(_("non-qualifying loss"), default=0, **MONEY)
    deductible_per_buyer = models.DecimalField(_("deductible per buyer"), default=0, **MONEY)
    aggregate_first_loss = models.DecimalField(_("aggregate first loss"), default=0, **MONEY)
    dcl_max_amount = models.DecimalField(_("discretionary credit limit up to"), default=0, **MONEY)
    dcl_report_max_age_days = models.PositiveSmallIntegerField(
        _("DCL: credit report not older than (days)"), null=True, blank=True
    )
    dcl_min_on_time_payments = models.PositiveSmallIntegerField(
        _("DCL: on-time payments needed"), null=True, blank=True
    )
    dcl_payment_lookback_days = models.PositiveSmallIntegerField(
        _("DCL: payments looked at (days)"), default=365
    )
    premium_basis = models.CharField(
        _("premium basis"), max_length=10, choices=PremiumBasis.choices
    )
    premium_rate_pct = models.DecimalField(
        # xgettext:no-python-format
        _("premium rate %"),
        **RATE,
    )
    # [{"name": "EU", "countries": ["DE", ...], "rate_pct": "0.18"}]: a country's group rate
    # replaces the base rate.
    country_group_rates = models.JSONField(_("rates by country group"), default=list, blank=True)
    # [{"up_to": "5000000.00" | null, "rate_pct": "0.25"}]: marginal rates by insured turnover
    # of the policy year, for small companies; empty means the flat rate.
    premium_tiers = models.JSONField(_("tiered rates"), default=list, blank=True)
    minimum_premium = models.DecimalField(_("minimum premium"), default=0, **MONEY)
    declaration_frequency = models.CharField(
        _("declarations"),
        max_length=10,
        choices=DeclarationFrequency.choices,
        default=DeclarationFrequency.MONTHLY,
    )
    declaration_due_days = models.PositiveSmallIntegerField(
        _("declaration due (days after period end)"), default=15
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "version"], name="policyversion_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="policyversion_period_order",
            ),
            models.CheckConstraint(
                condition=Q(
                    indemnity_commercial_pct__gt=0,
                    indemnity_commercial_pct__lte=100,
                    indemnity_political_pct__gte=0,
                    indemnity_political_pct__lte=100,
                ),
                name="policyversion_indemnity_range",
            ),
            models.CheckConstraint(
                condition=Q(max_liability__gt=0, premium_rate_pct__gte=0, minimum_premium__gte=0),
                name="policyversion_amounts_positive",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "policy", "-effective_from", "-version"],
                name="policyversion_in_force_idx",
            )
        ]
        ordering = ["-effective_from", "-version"]

    def __str__(self) -> str:
        return f"{self.policy_id} v{self.version}"


class PolicyBuyer(TenantOwnedModel):
    """A buyer named on a policy: covered although its country is not, or excluded although it
    is."""

    class Kind(models.TextChoices):
        INCLUDED = "included", _("Included")
        EXCLUDED = "excluded", _("Excluded")

    policy = models.ForeignKey(
        InsurancePolicy,
        on_delete=models.CASCADE,
        related_name="named_buyers",
        db_constraint=False,
        db_index=False,
    )
    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "buyer"], name="policybuyer_unique_buyer"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "buyer"], name="policybuyer_buyer_idx")]

    def __str__(self) -> str:
        return f"{self.policy_id}/{self.buyer_id} {self.kind}"


class CoverDecision(AppendOnly, TenantOwnedModel):
    """One insurer decision on a cover, kept for its history. The cover in force on a day is
    the amount of the latest decision effective on or before it: a grant or an increase is
    effective on its decision date, a reduction or withdrawal only after the policy's notice
    period."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Granted")
        INCREASE = "increase", _("Increased")
        REDUCTION = "reduction", _("Reduced")
        WITHDRAWAL = "withdrawal", _("Withdrawn")
        REFUSAL = "refusal", _("Refused")
        EXPIRY = "expiry", _("Expired")

    cover = models.ForeignKey(
        InsurerCover,
        on_delete=models.CASCADE,
        related_name="decisions",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(_("decision"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("cover amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    decision_date = models.DateField(_("decision date"))
    effective_date = models.DateField(_("effective"))
    expiry_date = models.DateField(_("expires"), null=True, blank=True)
    conditions = models.TextField(_("conditions"), blank=True)
    reference = models.CharField(_("insurer's decision reference"), max_length=60, blank=True)
    recorded_by_label = models.CharField(_("recorded by"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="coverdecision_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(effective_date__gte=models.F("decision_date")),
                name="coverdecision_effective_after_decision",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "cover", "-effective_date", "-id"], name="coverdecision_cover_idx"
            )
        ]
        ordering = ["-effective_date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class OverdueNotification(TenantOwnedModel):
    """A threat-of-loss notification to the insurer for one buyer's overdue invoices:
    proposed by the daily sweep, reviewed by a person, marked sent."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        REVIEWED = "reviewed", _("Reviewed")
        SENT = "sent", _("Sent")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN_STATUSES = (Status.PROPOSED, Status.REVIEWED)

    policy = models.ForeignKey(
        InsurancePolicy,
        on_delete=models.PROTECT,
        related_name="overdue_notifications",
        db_constraint=False,
        db_index=False,
    )
    buyer = models.ForeignKey(
        Buyer, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    deadline = models.DateField(_("notify by"))
    overdue_amount = models.DecimalField(_("overdue amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    insurer_reference = models.CharField(_("insurer's reference"), max_length=60, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_on = models.DateField(_("sent on"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("proposed"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "buyer"],
                condition=Q(status__in=["proposed", "reviewed"]),
                name="overduenotification_one_open_per_buyer",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "deadline"], name="overduenotif_queue_idx"),
            models.Index(fields=["tenant", "buyer"], name="overduenotif_buyer_idx"),
        ]
        ordering = ["deadline", "id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.buyer_id} {self.overdue_amount} {self.currency}"


class OverdueNotificationItem(TenantOwnedModel):
    """An overdue invoice on a notification, with its figures when it was notified."""

    notification = models.ForeignKey(
        OverdueNotification,
        on_delete=models.CASCADE,
        related_name="items",
        db_constraint=False,
        db_index=False,
    )
    invoice = models.ForeignKey(
        "buyers.Invoice",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    due_date = models.DateField(_("due date"))
    outstanding = models.DecimalField(_("outstanding"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    notify_by = models.DateField(_("notify by"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "notification", "invoice"], name="overdueitem_unique_invoice"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "invoice"], name="overdueitem_invoice_idx")]
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.invoice_id}"


class ExtensionRequest(TenantOwnedModel):
    """An extension of the terms or a payment plan asked of the insurer on a notification."""

    class Kind(models.TextChoices):
        EXTENSION = "extension", _("Extension of the due date")
        PAYMENT_PLAN = "payment_plan", _("Payment plan")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")

    notification = models.ForeignKey(
        OverdueNotification,
        on_delete=models.CASCADE,
        related_name="extensions",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    requested_until = models.DateField(_("extended until"))
    payment_plan = models.ForeignKey(
        "buyers.PaymentPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "notification"], name="extension_notif_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.requested_until}"


class Declaration(TenantOwnedModel):
    """The insured turnover or month-end balances of one period under a policy, and its premium.
    Locked when submitted: the database refuses any change or deletion of a submitted row;
    corrections after that are `DeclarationAdjustment`s."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEWED = "reviewed", _("Reviewed")
        SUBMITTED = "submitted", _("Submitted")

    policy = models.ForeignKey(
        InsurancePolicy,
        on_delete=models.PROTECT,
        related_name="declarations",
        db_constraint=False,
        db_index=False,
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    due_date = models.DateField(_("due"))
    basis = models.CharField(_("basis"), max_length=10, choices=PremiumBasis.choices)
    declared_amount = models.DecimalField(_("declared amount"), **MONEY)
    premium = models.DecimalField(_("premium"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    # Lines by country group and the rate applied: the calculation a person can follow.
    breakdown = models.JSONField(_("breakdown"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminder_sent_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(_("computed"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "period_start"], name="declaration_unique_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="declaration_period_order",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "due_date"], name="declaration_due_idx")
        ]
        ordering = ["-period_start", "-id"]

    def __str__(self) -> str:
        return f"{self.policy_id} {self.period_start:%Y-%m}"


class DeclarationAdjustment(AppendOnly, TenantOwnedModel):
    """A correction of a submitted declaration, or the premium adjustment at the end of the
    policy year (minimum premium, tiered rates)."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", _("Correction")
        YEAR_END = "year_end", _("Year-end premium adjustment")

    declaration = models.ForeignKey(
        Declaration,
        on_delete=models.PROTECT,
        related_name="adjustments",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount_change = models.DecimalField(_("change in declared amount"), default=0, **MONEY)
    premium_change = models.DecimalField(_("change in premium"), **MONEY)
    reason = models.TextField(_("reason"))
    created_by_label = models.CharField(_("recorded by"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "declaration"], name="declarationadj_decl_idx")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.declaration_id} {self.premium_change}"


class InvoiceCoverage(TenantOwnedModel):
    """What the daily sweep computed for one open invoice under a policy: its deadlines and the
    insured, uninsured and over-cover parts of what is outstanding (tenant base currency).
    Rewritten by every sweep; rows of invoices no longer open are deleted."""

    invoice = models.ForeignKey(
        "buyers.Invoice",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    policy = models.ForeignKey(
        InsurancePolicy,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    as_of = models.DateField(_("computed for"))
    due_date = models.DateField(_("due date"))
    outstanding = models.DecimalField(_("outstanding"), **MONEY)
    insured = models.DecimalField(_("insured"), **MONEY)
    uninsured = models.DecimalField(_("uninsured"), **MONEY)
    over_cover = models.DecimalField(_("over cover"), **MONEY)
    disputed = models.BooleanField(_("disputed"))
    extension_end = models.DateField(_("end of maximum extension"))
    notify_by = models.DateField(_("notify overdue by"))
    earliest_claim = models.DateField(_("claim possible from"))
    claim_by = models.DateField(_("file claim by"))
    notified = models.BooleanField(_("notified"))
    cover_lost = models.BooleanField(_("cover lost"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "invoice"], name="invoicecoverage_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "policy", "buyer"], name="invoicecoverage_policy_idx"),
            models.Index(fields=["tenant", "notify_by"], name="invoicecoverage_notify_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} insured {self.insured}"
