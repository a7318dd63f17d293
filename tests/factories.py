import base64
import secrets
from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from creditguard.accounts.models import Membership
from creditguard.api.models import ApiKey, generate_raw_key, hash_secret
from creditguard.audit.models import AuditEvent
from creditguard.tenancy.models import Tenant

DEFAULT_PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Seller {n} GmbH")
    slug = factory.Sequence(lambda n: f"seller-{n}")
    base_currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda user: user.email)
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password(DEFAULT_PASSWORD)


class MembershipFactory(factory.django.DjangoModelFactory):
    """Create inside an active tenant (row-level security checks the insert)."""

    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = "analyst"
    approval_authority = 0
    approval_currency = "EUR"


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey

    class Params:
        raw_key_and_prefix = factory.LazyFunction(generate_raw_key)

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"ERP connector {n}")
    prefix = factory.LazyAttribute(lambda key: key.raw_key_and_prefix[1])
    hashed_key = factory.LazyAttribute(lambda key: hash_secret(key.raw_key_and_prefix[0]))
    scope = "read"

    @classmethod
    def create_with_raw_key(cls, **kwargs) -> tuple[ApiKey, str]:
        raw_key, prefix = generate_raw_key()
        return cls.create(raw_key_and_prefix=(raw_key, prefix), **kwargs), raw_key


class AuditEventFactory(factory.django.DjangoModelFactory):
    """Rows for list and pagination tests; application code records events with `audit_record`."""

    class Meta:
        model = AuditEvent

    tenant = factory.SubFactory(TenantFactory)
    actor_label = "system"
    action = factory.Sequence(lambda n: f"test.event_{n}")
    object_label = factory.Sequence(lambda n: f"Test object {n}")


class BuyerFactory(factory.django.DjangoModelFactory):
    """Create with the buyer's tenant active (`with active(tenant):`)."""

    class Meta:
        model = "buyers.Buyer"

    tenant = factory.SubFactory(TenantFactory)
    erp_reference = factory.Sequence(lambda n: f"C-{n:05d}")
    legal_name = factory.Sequence(lambda n: f"Buyer {n} GmbH")
    country_id = "DE"
    nace_code = "46.69"
    nace_section = "G"
    currency = "EUR"
    payment_terms_days = 30


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "buyers.Invoice"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    erp_reference = factory.Sequence(lambda n: f"INV-{n:06d}")
    number = factory.LazyAttribute(lambda invoice: invoice.erp_reference)
    issue_date = factory.LazyFunction(lambda: date.today() - timedelta(days=45))
    due_date = factory.LazyAttribute(lambda invoice: invoice.issue_date + timedelta(days=30))
    amount = Decimal("1000.00")
    currency = "EUR"
    paid_amount = Decimal("0")
    status = "open"


class FinancialStatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "buyers.FinancialStatement"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    period_end = date(2025, 12, 31)
    currency = "EUR"
    revenue = Decimal("10000000")
    ebit = Decimal("800000")
    net_income = Decimal("550000")
    total_assets = Decimal("6000000")
    current_assets = Decimal("2500000")
    current_liabilities = Decimal("1500000")
    total_liabilities = Decimal("3600000")
    retained_earnings = Decimal("1200000")
    equity = Decimal("2400000")


# --- Buyer receivables and monitoring (create with the tenant active) ------------------------


class DisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "buyers.Dispute"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    erp_reference = factory.Sequence(lambda n: f"DSP-{n:05d}")
    reason = "quality"
    amount = Decimal("100.00")
    currency = "EUR"
    opened_date = factory.LazyFunction(date.today)
    status = "open"


class PaymentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "buyers.PaymentPlan"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    erp_reference = factory.Sequence(lambda n: f"PP-{n:05d}")
    agreed_date = factory.LazyFunction(lambda: date.today() - timedelta(days=60))
    total_amount = Decimal("3000.00")
    currency = "EUR"
    status = "kept"


class InstalmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "buyers.Instalment"

    plan = factory.SubFactory(PaymentPlanFactory)
    tenant = factory.SelfAttribute("plan.tenant")
    due_date = factory.LazyFunction(lambda: date.today() + timedelta(days=30))
    amount = Decimal("1000.00")
    paid_amount = Decimal("0")


class BuyerScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.BuyerScore"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    period = date(2026, 10, 1)
    model_version = "test-1"
    score = Decimal("70.00")
    grade = 4
    probability_of_default = Decimal("0.01000")
    factors = factory.LazyFunction(list)


class CountryRiskFactory(factory.django.DjangoModelFactory):
    """Global reference data: no tenant needed."""

    class Meta:
        model = "monitoring.CountryRisk"

    country_id = "DE"
    rating = 3
    effective_date = date(2026, 7, 1)
    source = "test"
    data_version = "test"


class LegalEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.LegalEvent"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    kind = "insolvency_filing"
    event_date = factory.LazyFunction(date.today)
    source = "test registry"


class AlertFactory(factory.django.DjangoModelFactory):
    """Rows for list, KPI and API tests; application code raises alerts with evaluate_alerts."""

    class Meta:
        model = "monitoring.Alert"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    rule = "overdue"
    condition_key = factory.Sequence(lambda n: f"test:{n}")
    severity = "medium"
    title = factory.Sequence(lambda n: f"Test alert {n}")
    evidence = factory.LazyFunction(dict)
    status = "open"
    risk_event_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.WebhookEndpoint"

    tenant = factory.SubFactory(TenantFactory)
    url = "https://hooks.example.com/creditguard"
    secret = factory.LazyFunction(
        lambda: "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    )
    event_types = factory.LazyFunction(list)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery log row; application code records them with `webhook_events_publish`."""

    class Meta:
        model = "monitoring.WebhookDelivery"

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    tenant = factory.SelfAttribute("endpoint.tenant")
    event_id = factory.Sequence(lambda n: f"evt_test_{n}")
    event_type = "alert.created"
    payload = factory.LazyFunction(lambda: {"type": "alert.created", "data": {}})
    status = "pending"


class RescoreRunFactory(factory.django.DjangoModelFactory):
    """A run row; application code starts them with `rescore_now` or the monthly beat."""

    class Meta:
        model = "monitoring.RescoreRun"

    tenant = factory.SubFactory(TenantFactory)
    period = date(2026, 11, 1)
    trigger = "manual"
    status = "queued"


# --- Limits (policies) ------------------------------------------------------------------------


class CreditPolicyFactory(factory.django.DjangoModelFactory):
    """A policy version without bands; add them with CreditPolicyBandFactory (or use
    `tests.policies.conftest.policy_with_bands`)."""

    class Meta:
        model = "policies.CreditPolicy"

    tenant = factory.SubFactory(TenantFactory)
    version = factory.Sequence(lambda n: n + 1)
    effective_from = date(2020, 1, 1)
    currency = "EUR"
    four_eyes_threshold = Decimal("250000.00")
    lowest_acceptable_grade = 8
    overdue_hold_days = 60
    overdue_hold_amount = Decimal("5000.00")
    limit_without_financials = Decimal("50000.00")


class CreditPolicyBandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "policies.CreditPolicyBand"

    policy = factory.SubFactory(CreditPolicyFactory)
    tenant = factory.SelfAttribute("policy.tenant")
    grade_from = 1
    grade_to = 10
    max_payment_terms_days = 60
    max_limit = Decimal("500000.00")
    approval_level = "standard"


class CreditLimitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "policies.CreditLimit"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    amount = Decimal("100000.00")
    currency = "EUR"
    payment_terms_days = 60
    status = "active"
    risk_class = "medium"
    granted_on = factory.LazyFunction(date.today)
    review_date = factory.LazyFunction(lambda: date.today() + timedelta(days=90))
    expiry_date = factory.LazyFunction(lambda: date.today() + timedelta(days=180))


class LimitRequestFactory(factory.django.DjangoModelFactory):
    """A pending request; application code creates them with `limit_request_create`."""

    class Meta:
        model = "policies.LimitRequest"

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    amount = Decimal("100000.00")
    currency = "EUR"
    payment_terms_days = 60
    justification = "Framework agreement for next year."
    source = "web"
    requested_by = None
    requested_by_label = factory.LazyAttribute(
        lambda request: request.requested_by.email if request.requested_by else "test"
    )


class InsurerCoverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "policies.InsurerCover"
        skip_postgeneration_save = True

    buyer = factory.SubFactory(BuyerFactory)
    tenant = factory.SelfAttribute("buyer.tenant")
    insurer = factory.Sequence(lambda n: f"Insurer {n}")
    amount = Decimal("100000.00")
    currency = "EUR"
    decision_date = factory.LazyFunction(lambda: date.today() - timedelta(days=30))
    status = "granted"

    @factory.post_generation
    def history(cover, create, extracted, **kwargs):
        """The decision the cover stands for (the cover in force is read from its decisions)."""
        if not create or extracted is False:
            return
        in_force = cover.status in ("granted", "reduced")
        CoverDecisionFactory(
            cover=cover,
            kind={"granted": "grant", "reduced": "reduction"}.get(cover.status, "refusal"),
            amount=cover.amount if in_force else Decimal("0"),
            currency=cover.currency,
            decision_date=cover.decision_date,
            effective_date=cover.decision_date,
            expiry_date=cover.expiry_date,
        )


class CoverDecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "policies.CoverDecision"

    cover = factory.SubFactory(InsurerCoverFactory, history=False)
    tenant = factory.SelfAttribute("cover.tenant")
    kind = "grant"
    amount = Decimal("100000.00")
    currency = "EUR"
    decision_date = factory.LazyFunction(lambda: date.today() - timedelta(days=30))
    effective_date = factory.SelfAttribute("decision_date")


class InsurancePolicyFactory(factory.django.DjangoModelFactory):
    """A policy without terms; `PolicyVersionFactory(policy=...)` adds a version (or use it
    alone: it creates its policy)."""

    class Meta:
        model = "policies.InsurancePolicy"

    tenant = factory.SubFactory(TenantFactory)
    insurer = "Allianz Trade"
    number = factory.Sequence(lambda n: f"POL-{n:05d}")
    currency = "EUR"


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    """Typical whole-turnover terms: 90 % indemnity, 6 months' waiting, 60 days' maximum
    extension, 30 days to notify, 90 days to file, premium on turnover."""

    class Meta:
        model = "policies.PolicyVersion"

    policy = factory.SubFactory(InsurancePolicyFactory)
    tenant = factory.SelfAttribute("policy.tenant")
    version = factory.Sequence(lambda n: n + 1)
    effective_from = factory.SelfAttribute("period_start")
    period_start = factory.LazyFunction(lambda: date(date.today().year, 1, 1))
    period_end = factory.LazyFunction(lambda: date(date.today().year, 12, 31))
    indemnity_commercial_pct = Decimal("90.00")
    indemnity_political_pct = Decimal("95.00")
    max_liability = Decimal("5000000.00")
    covered_risks = factory.LazyFunction(lambda: ["insolvency", "protracted_default", "political"])
    covered_countries = factory.LazyFunction(lambda: ["DE", "FR", "NL", "AT", "IT", "ES"])
    waiting_period_days = 180
    max_extension_days = 60
    notification_days = 30
    claim_filing_days = 90
    cover_notice_days = 0
    non_qualifying_loss = Decimal("0")
    deductible_per_buyer = Decimal("0")
    aggregate_first_loss = Decimal("0")
    dcl_max_amount = Decimal("25000.00")
    dcl_report_max_age_days = 365
    dcl_min_on_time_payments = 2
    dcl_payment_lookback_days = 365
    premium_basis = "turnover"
    premium_rate_pct = Decimal("0.18000")
    minimum_premium = Decimal("12000.00")
    declaration_frequency = "monthly"
    declaration_due_days = 15
