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
        BACKFILL = "backfill", _("History back-fill")

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
    # The day whose knowledge the score reflects (statements known, invoices, events up to it).
    # The monthly run and events score as of the day they run; a back-fill as of the period's
    # first day. Empty on scores from before as-of scoring: their computed day stands in.
    as_of = models.DateField(_("as of"), null=True, blank=True)

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
    # Buyers whose grade got better (a lower number) / worse than their previous score's.
    upgraded = models.PositiveIntegerField(default=0)
    downgraded = models.PositiveIntegerField(default=0)
    model_version = models.CharField(_("model version"), max_length=20, blank=True)
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


class BackfillRun(TenantOwnedModel):
    """Scoring a tenant's history month by month, as of each month's first day (see
    `monitoring.backfill`). Periods that already have a score keep it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    first_period = models.DateField(_("first period"))
    last_period = models.DateField(_("last period"))
    model_version = models.CharField(_("model version"), max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_periods = models.PositiveIntegerField(default=0)
    done_periods = models.PositiveIntegerField(default=0)
    scores_written = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.first_period:%Y-%m}..{self.last_period:%Y-%m} {self.status}"


class ScoringModel(TenantOwnedModel):
    """A scorecard a tenant trained on its own history (`monitoring.modellab`).

    The built-in model (`monitoring.scoring.MODEL_VERSION`) has no row: a tenant without an
    active row scores with it. At most one model per tenant is active and at most one in shadow.
    """

    class Status(models.TextChoices):
        TRAINING = "training", _("Training")
        TRAINED = "trained", _("Trained")
        FAILED = "failed", _("Failed")
        SHADOW = "shadow", _("In shadow mode")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    version = models.CharField(_("model version"), max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.TRAINING
    )
    # Training and out-of-time test windows: the first and last scoring periods of each.
    train_from = models.DateField(_("training from"))
    train_to = models.DateField(_("training to"))
    test_from = models.DateField(_("test from"))
    test_to = models.DateField(_("test to"))
    # The fitted scorecard (`monitoring.modellab.scorecard`): bins, points, grade bands.
    spec = models.JSONField(_("scorecard"), default=dict, blank=True)
    # Training and out-of-time back-test figures beside the built-in model on the same buyers.
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    trained_at = models.DateTimeField(_("trained"), null=True, blank=True)
    promotion_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promotion_requested_at = models.DateTimeField(null=True, blank=True)
    promotion_note = models.TextField(_("reason for promotion"), blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_at = models.DateTimeField(_("promoted"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version"], name="scoringmodel_unique_version"
            ),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(status="active"), name="scoringmodel_one_active"
            ),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(status="shadow"), name="scoringmodel_one_shadow"
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} {self.status}"


class ModelScore(TenantOwnedModel):
    """A score by a model that is not the tenant's official one: its shadow runs."""

    model = models.ForeignKey(
        ScoringModel,
        on_delete=models.CASCADE,
        related_name="scores",
        db_constraint=False,
        db_index=False,
    )
    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    period = models.DateField(_("period"))
    as_of = models.DateField(_("as of"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    grade = models.PositiveSmallIntegerField(_("grade"))
    probability_of_default = models.DecimalField(_("12-month PD"), max_digits=7, decimal_places=5)
    factors = models.JSONField(_("factor contributions"), default=list)
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "model", "buyer", "period"], name="modelscore_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(grade__gte=1, grade__lte=10), name="modelscore_grade_range"
            ),
        ]
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"{self.model_id} {self.buyer_id} {self.period:%Y-%m} grade {self.grade}"


class PdCalibration(TenantOwnedModel):
    """One version of a model's 12-month PD per grade, calibrated on the tenant's own defaults
    (`monitoring.calibration`). The active version of a model version gives its scores' PDs."""

    model_version = models.CharField(_("model version"), max_length=20)
    version = models.PositiveIntegerField(_("version"))
    active = models.BooleanField(_("active"), default=True)
    # Grade ("1".."10") → PD as a decimal string.
    pd_by_grade = models.JSONField(_("PD by grade"), default=dict)
    # Per grade: observations, defaults, observed rate, prior PD, calibrated PD and its interval.
    evidence = models.JSONField(_("evidence"), default=list)
    prior_strength = models.DecimalField(_("prior strength"), max_digits=9, decimal_places=2)
    window_from = models.DateField(_("observations from"))
    window_to = models.DateField(_("observations to"))
    observations = models.PositiveIntegerField(_("observations"), default=0)
    defaults = models.PositiveIntegerField(_("defaults"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "model_version", "version"], name="pdcalibration_unique_version"
            ),
            models.UniqueConstraint(
                fields=["tenant", "model_version"],
                condition=Q(active=True),
                name="pdcalibration_one_active",
            ),
        ]
        ordering = ["model_version", "-version"]

    def __str__(self) -> str:
        return f"{self.model_version} v{self.version}"


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
