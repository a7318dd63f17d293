"""Risk monitoring: country and sector risk, buyer scores, legal events, early-warning rules,
alerts and their delivery (webhooks, email)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from buyers.models import Buyer
from creditguard.reference.models import Country
from creditguard.tenancy.models import TenantOwnedModel

RATING_HELP = _("1 = very low risk … 10 = extreme risk")


class CountryRisk(models.Model):
    """Global reference data with history: one row per country per effective date."""

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="risks")
    rating = models.PositiveSmallIntegerField(_("rating"), help_text=RATING_HELP)
    effective_date = models.DateField(_("effective"))
    source = models.CharField(_("source"), max_length=120)
    data_version = models.CharField(_("data version"), max_length=20)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["country", "effective_date"], name="countryrisk_unique_date"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=10), name="countryrisk_rating_range"
            ),
        ]
        ordering = ["country_id", "-effective_date"]

    def __str__(self) -> str:
        return f"{self.country_id} {self.rating} ({self.effective_date})"


class SectorRisk(models.Model):
    """Risk per NACE section (A–U), global, with history."""

    nace_section = models.CharField(_("sector"), max_length=1)
    rating = models.PositiveSmallIntegerField(_("rating"), help_text=RATING_HELP)
    effective_date = models.DateField(_("effective"))
    source = models.CharField(_("source"), max_length=120)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["nace_section", "effective_date"], name="sectorrisk_unique_date"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=10), name="sectorrisk_rating_range"
            ),
        ]
        ordering = ["nace_section", "-effective_date"]

    def __str__(self) -> str:
        return f"{self.nace_section} {self.rating}"


class LegalEvent(TenantOwnedModel):
    """Something a court, registry or information provider reported about a buyer."""

    class Kind(models.TextChoices):
        INSOLVENCY_FILING = "insolvency_filing", _("Insolvency filing")
        INSOLVENCY_PROCEEDINGS = "insolvency_proceedings", _("Insolvency proceedings opened")
        COURT_JUDGMENT = "court_judgment", _("Court judgment for payment")
        TAX_LIEN = "tax_lien", _("Tax lien")
        PAYMENT_DEFAULT = "payment_default", _("Reported payment default")
        MANAGEMENT_CHANGE = "management_change", _("Management change")
        OTHER = "other", _("Other")

    # Keys between tenant tables are checked by composite same-tenant keys (migrations).
    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.CASCADE,
        related_name="legal_events",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    event_date = models.DateField(_("event date"))
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(_("source"), max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-event_date", "-id"]
        indexes = [
            models.Index(fields=["tenant", "buyer", "-event_date"], name="legalevent_buyer_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.event_date}"


class BuyerScore(TenantOwnedModel):
    """A buyer's score for one period (the first day of a month). One per buyer and period."""

    class Trigger(models.TextChoices):
        MONTHLY = "monthly", _("Monthly re-scoring")
        EVENT = "event", _("New information")
        MANUAL = "manual", _("Rescore now")

    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, related_name="scores", db_constraint=False, db_index=False
    )
    period = models.DateField(_("period"))
    model_version = models.CharField(_("model version"), max_length=20)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    grade = models.PositiveSmallIntegerField(_("grade"))
    probability_of_default = models.DecimalField(_("12-month PD"), max_digits=7, decimal_places=5)
    factors = models.JSONField(_("factor contributions"), default=list)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MONTHLY)
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "buyer", "period"], name="buyerscore_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(grade__gte=1, grade__lte=10), name="buyerscore_grade_range"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "period", "grade"], name="buyerscore_period_idx")]
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"{self.buyer_id} {self.period:%Y-%m} grade {self.grade}"


class RescoreRun(TenantOwnedModel):
    """One re-scoring of a tenant's portfolio for a period, with progress; rerun resumes."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    period = models.DateField(_("period"))
    trigger = models.CharField(max_length=10, choices=BuyerScore.Trigger.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_buyers = models.PositiveIntegerField(default=0)
    scored_buyers = models.PositiveIntegerField(default=0)
    alerts_raised = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} {self.status}"


class AlertRule(TenantOwnedModel):
    """A tenant's setting for one early-warning rule."""

    class Kind(models.TextChoices):
        GRADE_DOWNGRADE = "grade_downgrade", _("Grade downgrade")
        SCORE_DROP = "score_drop", _("Score drop")
        OVERDUE = "overdue", _("Overdue beyond aging threshold")
        OVER_LIMIT = "over_limit", _("Exposure over credit limit")
        COUNTRY_DOWNGRADE = "country_downgrade", _("Country downgrade")
        LEGAL_EVENT = "legal_event", _("Insolvency or legal event")
        DISPUTE_SPIKE = "dispute_spike", _("Dispute spike")
        BROKEN_PAYMENT_PLAN = "broken_payment_plan", _("Broken payment plan")
        COVER_REDUCED = "cover_reduced", _("Insurer cover reduced or withdrawn")
        POLICY_DEADLINE = "policy_deadline", _("Policy deadline approaching")

    kind = models.CharField(_("rule"), max_length=30, choices=Kind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    thresholds = models.JSONField(_("thresholds"), default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind"], name="alertrule_unique_kind"),
        ]
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Alert(TenantOwnedModel):
    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, related_name="alerts", db_constraint=False, db_index=False
    )
    rule = models.CharField(_("rule"), max_length=30, choices=AlertRule.Kind.choices)
    condition_key = models.CharField(
        max_length=120, help_text="Identifies the condition, so an open one is never raised twice."
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    title = models.CharField(_("title"), max_length=200)
    evidence = models.JSONField(_("evidence"), default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    risk_event_at = models.DateTimeField(_("risk event"), help_text="When the risk showed up.")
    created_at = models.DateTimeField(_("warning"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.CharField(max_length=300, blank=True)

    # Not columns: set on the alerts a page shows, from `alerts.alert_title` and
    # `alerts.lead_time_days`, for the templates to read.
    display_title: str
    lead_time_days: Decimal

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "buyer", "rule", "condition_key"],
                condition=~Q(status="resolved"),
                name="alert_one_open_per_condition",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="alert_feed_idx"),
            models.Index(fields=["tenant", "buyer", "-created_at"], name="alert_buyer_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class WebhookEndpoint(TenantOwnedModel):
    """A tenant's HTTPS receiver for signed events (Standard Webhooks)."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantOwnedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "endpoint", "event_id"], name="webhookdelivery_unique_event"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"
