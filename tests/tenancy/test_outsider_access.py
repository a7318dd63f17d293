"""Every page and API endpoint, seen from another tenant.

The tables below list every named URL of the project. A new page or endpoint makes
`test_every_url_is_listed_in_a_tenancy_table` fail until it gets a row here, and with that row
its outsider test:

- TENANT_LIST_PAGES, TENANT_API_ENDPOINTS: tenant B's admin (B's key and B's session for the
  API) sees tenant B's data there and none of tenant A's markers;
- TENANT_OBJECT_PAGES: tenant B's user (and key) gets 404 for tenant A's object, exactly what a
  missing object gets, and nothing of tenant A changes; tenant A's own admin does find it;
- TENANT_REFERENCE_WRITES: a request that names tenant A's objects in its body (ERP references,
  form choices) is answered as if they did not exist, and changes nothing of tenant A;
- TENANT_COLLECTION_WRITES: tenant B writing to its own pages changes nothing of tenant A;
- NOT_TENANT_SCOPED: public pages and global reference data, each with its reason.

`tenant_a_objects` and `tenant_b_objects` hold one object of every kind a tenant owns, made by
the same `credit_file`, each carrying its tenant's markers (`A`, `B`) in visible text.
"""

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import openpyxl
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape

from buyers import imports, services
from buyers.models import BuyerNote, Payment
from claims import services as claim_services
from claims.models import Claim
from creditguard.accounts.models import Membership
from creditguard.api.models import IdempotencyRecord
from creditguard.dates import today as local_today
from creditguard.tenancy.models import TenantOwnedModel
from monitoring import rules
from monitoring.models import BackfillRun, ModelScore, PdCalibration, ScoringModel
from policies.models import (
    Declaration,
    DeclarationAdjustment,
    ExtensionRequest,
    InvoiceCoverage,
    Notification,
    OverdueNotification,
    OverdueNotificationItem,
    PolicyBuyer,
)
from portfolio.models import Report
from tests.conftest import active, bearer
from tests.factories import (
    AlertFactory,
    ApiKeyFactory,
    AuditEventFactory,
    BuyerFactory,
    BuyerScoreFactory,
    CoverDecisionFactory,
    CreditLimitFactory,
    CreditPolicyBandFactory,
    CreditPolicyFactory,
    DisputeFactory,
    FinancialStatementFactory,
    InstalmentFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    LegalEventFactory,
    LimitRequestFactory,
    PaymentPlanFactory,
    PolicyVersionFactory,
    RescoreRunFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

TODAY = date.today().isoformat()
IN_A_MONTH = (date.today() + timedelta(days=30)).isoformat()
MISSING_PK = 2_000_000_000
MISSING_REFERENCE = "NO-SUCH-REFERENCE"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The insurance policy year of `credit_file`'s policies: it began on the first of a month some
# five months ago (so that its first monthly declaration period has ended) and lasts a year.
POLICY_YEAR_START = (date.today().replace(day=1) - timedelta(days=150)).replace(day=1)
POLICY_YEAR_END = POLICY_YEAR_START.replace(year=POLICY_YEAR_START.year + 1) - timedelta(days=1)
FIRST_PERIOD_END = (POLICY_YEAR_START + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class Markers:
    """Text that only one tenant's data contains, shown on the pages that list that data."""

    buyer: str
    buyer_ref: str
    subsidiary: str
    subsidiary_ref: str
    invoice_ref: str
    payment_ref: str
    dispute_ref: str
    plan_ref: str
    statement_source: str
    note: str
    document: str
    import_file: str
    legal_event: str
    model_version: str
    alert: str
    rule_min_amount: str
    webhook_url: str
    webhook: str
    webhook_event: str
    rescore_error: str
    policy_notes: str
    four_eyes_threshold: str
    justification: str
    insurer: str
    notification: str
    policy_number: str
    policy_name: str
    cover_reference: str
    overdue_notes: str
    extension_notes: str
    declared_amount: str
    declaration_correction: str
    insured: str
    claim_buyer: str
    claim_buyer_ref: str
    claim_invoice_ref: str
    claim_notes: str
    claim_reference: str
    claim_comment: str
    claim_document: str
    recovery_note: str
    write_off_reason: str
    recovered: str
    recovered_shown: str
    scorecard: str
    shadow_scorecard: str
    promotion_note: str
    backfill_error: str

    @classmethod
    def of(
        cls,
        letter: str,
        *,
        four_eyes_threshold: str,
        rule_min_amount: str,
        declared_amount: str,
        insured: str,
        recovered: str,
        recovered_shown: str,
    ) -> "Markers":
        low = letter.lower()
        return cls(
            buyer=f"Tenant {letter} Buyer GmbH",
            buyer_ref=f"C-TENANT-{letter}",
            subsidiary=f"Tenant {letter} Subsidiary GmbH",
            subsidiary_ref=f"C-TENANT-{letter}-SUB",
            invoice_ref=f"INV-TENANT-{letter}",
            payment_ref=f"PAY-TENANT-{letter}",
            dispute_ref=f"DSP-TENANT-{letter}",
            plan_ref=f"PP-TENANT-{letter}",
            statement_source=f"tenant-{low}-annual-report",
            note=f"tenant-{low}-note",
            document=f"Tenant {letter} credit report",
            import_file=f"tenant-{low}-import.csv",
            legal_event=f"tenant-{low}-legal-event",
            model_version=f"tenant-{low}-model",
            alert=f"Tenant {letter} alert",
            rule_min_amount=rule_min_amount,
            webhook_url=f"https://hooks.tenant-{low}.example/creditguard",
            webhook=f"Tenant {letter} webhook",
            webhook_event=f"evt_tenant_{low}",
            rescore_error=f"tenant-{low}-rescore-error",
            policy_notes=f"tenant-{low}-policy-notes",
            four_eyes_threshold=four_eyes_threshold,
            justification=f"tenant-{low}-justification",
            insurer=f"Tenant {letter} Insurer",
            notification=f"tenant-{low}-notification",
            policy_number=f"TCI-TENANT-{letter}",
            policy_name=f"Tenant {letter} whole turnover",
            cover_reference=f"CL-TENANT-{letter}",
            overdue_notes=f"tenant-{low}-overdue-notes",
            extension_notes=f"tenant-{low}-extension-notes",
            declared_amount=declared_amount,
            declaration_correction=f"tenant-{low}-declaration-correction",
            insured=insured,
            claim_buyer=f"Tenant {letter} Insolvent Buyer GmbH",
            claim_buyer_ref=f"C-TENANT-{letter}-INSOLVENT",
            claim_invoice_ref=f"INV-TENANT-{letter}-CLAIM",
            claim_notes=f"tenant-{low}-claim-notes",
            claim_reference=f"CLM-TENANT-{letter}",
            claim_comment=f"tenant-{low}-claim-comment",
            claim_document=f"Tenant {letter} proof of loss",
            recovery_note=f"tenant-{low}-recovery-note",
            write_off_reason=f"tenant-{low}-write-off-reason",
            recovered=recovered,
            recovered_shown=recovered_shown,
            scorecard=f"tenant-{low}-scorecard",
            shadow_scorecard=f"tenant-{low}-shadow",
            promotion_note=f"tenant-{low}-promotion-note",
            backfill_error=f"tenant-{low}-backfill-error",
        )

    def texts(self) -> list[str]:
        return [getattr(self, field.name) for field in fields(self)]


A = Markers.of(
    "A",
    four_eyes_threshold="161803",
    rule_min_amount="31415.92",
    declared_amount="3162277.66",
    insured="707.11",
    recovered="3316.62",
    recovered_shown="3,317",
)
B = Markers.of(
    "B",
    four_eyes_threshold="141421",
    rule_min_amount="27182.81",
    declared_amount="2236067.98",
    insured="577.35",
    recovered="2645.75",
    recovered_shown="2,646",
)


class Url(NamedTuple):
    """A named URL with arguments, for the list rows whose URL takes some."""

    name: str
    kwargs: dict[str, str]


def url_name_of(spec: "str | Url") -> str:
    return spec if isinstance(spec, str) else spec.name


def url_of(spec: "str | Url") -> str:
    return reverse(spec) if isinstance(spec, str) else reverse(spec.name, kwargs=spec.kwargs)


# Pages and endpoints that list the active tenant's data: (url name, text of tenant B's data
# that the page shows to tenant B's admin).
TENANT_LIST_PAGES = [
    pytest.param("dashboard", "tenant-b-audit-marker", id="dashboard"),
    pytest.param("members", "outsider@b.example", id="members"),
    pytest.param("api-keys", "Tenant B ERP link", id="api-keys"),
    pytest.param("audit-log", "tenant-b-audit-marker", id="audit-log"),
    pytest.param("audit-export", "tenant-b-audit-marker", id="audit-export"),
    # buyers
    pytest.param("buyers:list", B.buyer, id="buyers-list"),
    # The list's CSV export (the same filters as the list).
    pytest.param("buyers:export", B.buyer, id="buyers-export"),
    # A form with no tenant data but the tenant's name (tenant A's parent references:
    # TENANT_REFERENCE_WRITES).
    pytest.param("buyers:create", "Tenant B Ltd", id="buyers-create"),
    # imports and exports
    pytest.param("imports:list", B.import_file, id="imports-list"),
    *(
        pytest.param(
            Url("imports:export", {"kind": kind, "file_format": file_format}),
            marker,
            id=f"imports-export-{kind}-{file_format}",
        )
        for kind, marker in (("buyers", B.buyer_ref), ("invoices", B.invoice_ref))
        for file_format in ("csv", "xlsx")
    ),
    # limits
    pytest.param("limits:overview", B.buyer, id="limits-overview"),
    pytest.param("limits:queue", B.justification, id="limits-queue"),
    # The buyer choice lists the tenant's buyers.
    pytest.param("limits:request-create", B.buyer, id="limits-request-create"),
    pytest.param("limits:policy", B.policy_notes, id="limits-policy"),
    # The form starts from the policy in force.
    pytest.param("limits:policy-edit", B.four_eyes_threshold, id="limits-policy-edit"),
    pytest.param("limits:notifications", B.notification, id="limits-notifications"),
    # monitoring
    pytest.param("monitoring:alerts", B.alert, id="monitoring-alerts"),
    pytest.param("monitoring:rules", B.rule_min_amount, id="monitoring-rules"),
    pytest.param("monitoring:rescore", B.rescore_error, id="monitoring-rescore"),
    pytest.param("monitoring:webhooks", B.webhook_url, id="monitoring-webhooks"),
    pytest.param("monitoring:backtest", B.model_version, id="monitoring-backtest"),
    # The back-fills of the score history, under the back-test.
    pytest.param("monitoring:backtest", B.backfill_error, id="monitoring-backtest-backfills"),
    # model lab: the tenant's scorecards, and the PD calibrations of its model versions
    pytest.param("monitoring:models", B.scorecard, id="monitoring-models"),
    pytest.param("monitoring:calibration", B.model_version, id="monitoring-calibration"),
    # insurance
    pytest.param("insurance:list", B.policy_number, id="insurance-list"),
    # A form with no tenant data but the tenant's name (tenant B's new policy:
    # TENANT_COLLECTION_WRITES).
    pytest.param("insurance:create", "Tenant B Ltd", id="insurance-create"),
    pytest.param("insurance:notifications-all", B.buyer, id="insurance-notifications-all"),
    pytest.param("insurance:calendar", B.buyer, id="insurance-calendar"),
    # claims: the list with the tenant's claims key figures
    pytest.param("claims:list", B.claim_buyer, id="claims-list"),
    pytest.param("claims:list", B.recovered_shown, id="claims-list-kpis"),
    # reports: the archive names the buyer of a credit report
    pytest.param("reports:list", B.buyer, id="reports-list"),
    # A form with no tenant data but the tenant's name (tenant A's buyer reference:
    # TENANT_REFERENCE_WRITES).
    pytest.param("reports:create", "Tenant B Ltd", id="reports-create"),
]
TENANT_API_ENDPOINTS = [
    pytest.param("api:root", "Tenant B Ltd", id="api-root"),
    pytest.param("api:audit-event-list", "tenant-b-audit-marker", id="api-audit-events"),
    # buyers and receivables
    pytest.param("api:buyer-list", B.buyer, id="api-buyers"),
    pytest.param("api:statement-list", B.statement_source, id="api-statements"),
    pytest.param("api:invoice-list", B.invoice_ref, id="api-invoices"),
    pytest.param("api:payment-list", B.payment_ref, id="api-payments"),
    pytest.param("api:dispute-list", B.dispute_ref, id="api-disputes"),
    pytest.param("api:payment-plan-list", B.plan_ref, id="api-payment-plans"),
    # monitoring
    pytest.param("api:legal-event-list", B.legal_event, id="api-legal-events"),
    pytest.param("api:alert-list", B.alert, id="api-alerts"),
    pytest.param("api:alert-rule-list", B.rule_min_amount, id="api-alert-rules"),
    # A rule is named by its kind, the same in every tenant: each tenant sees its own setting.
    pytest.param(
        Url("api:alert-rule-detail", {"kind": "overdue"}),
        B.rule_min_amount,
        id="api-alert-rule-overdue",
    ),
    pytest.param("api:webhook-endpoint-list", B.webhook_url, id="api-webhook-endpoints"),
    pytest.param("api:score-list", B.model_version, id="api-scores"),
    pytest.param("api:backtest-list", B.model_version, id="api-backtests"),
    pytest.param("api:rescore-run-list", B.rescore_error, id="api-rescore-runs"),
    pytest.param("api:backfill-list", B.backfill_error, id="api-backfills"),
    pytest.param("api:calibration-list", B.model_version, id="api-calibrations"),
    pytest.param("api:model-list", B.scorecard, id="api-models"),
    pytest.param("api:model-list", B.promotion_note, id="api-models-promotion"),
    # limits
    pytest.param("api:credit-policy-list", B.policy_notes, id="api-credit-policies"),
    pytest.param("api:credit-policy-current", B.policy_notes, id="api-credit-policy-current"),
    pytest.param("api:limit-request-list", B.justification, id="api-limit-requests"),
    pytest.param("api:credit-limit-list", B.buyer_ref, id="api-credit-limits"),
    pytest.param("api:insurer-cover-list", B.insurer, id="api-insurer-covers"),
    # insurance
    pytest.param("api:insurance-policy-list", B.policy_number, id="api-insurance-policies"),
    pytest.param("api:overdue-notification-list", B.overdue_notes, id="api-overdue-notifications"),
    pytest.param("api:declaration-list", B.declared_amount, id="api-declarations"),
    pytest.param("api:insurance-deadlines", B.invoice_ref, id="api-insurance-deadlines"),
    pytest.param("api:invoice-coverage-list", B.insured, id="api-invoice-coverage"),
    pytest.param("api:insurance-kpis", B.insured, id="api-insurance-kpis"),
    # claims
    pytest.param("api:claim-list", B.claim_reference, id="api-claims"),
    pytest.param("api:claim-export", B.claim_buyer_ref, id="api-claims-export"),
    pytest.param("api:claims-kpis", B.recovered, id="api-claims-kpis"),
    # reports
    pytest.param("api:report-list", B.buyer_ref, id="api-reports"),
]
# Pages and endpoints that act on one object of the active tenant: (method, url name, key of
# the object in `tenant_a_objects`). API rows are tried with tenant B's key and B's session.
# The URL's arguments are the object's primary key unless URL_ARGS says otherwise.
TENANT_OBJECT_PAGES = [
    pytest.param("get", "member-edit", "membership", id="member-edit-get"),
    pytest.param("post", "member-edit", "membership", id="member-edit-post"),
    pytest.param("post", "member-unlock", "membership", id="member-unlock"),
    pytest.param("post", "api-key-revoke", "api_key", id="api-key-revoke"),
    # buyers: pages
    pytest.param("get", "buyers:detail", "buyer", id="buyers-detail"),
    pytest.param("get", "buyers:edit", "buyer", id="buyers-edit-get"),
    pytest.param("post", "buyers:edit", "buyer", id="buyers-edit-post"),
    pytest.param("get", "buyers:statement-create", "buyer", id="buyers-statement-create-get"),
    pytest.param("post", "buyers:statement-create", "buyer", id="buyers-statement-create-post"),
    pytest.param("get", "buyers:dispute-open", "buyer", id="buyers-dispute-open-get"),
    pytest.param("post", "buyers:dispute-open", "buyer", id="buyers-dispute-open-post"),
    pytest.param("get", "buyers:dispute-resolve", "dispute", id="buyers-dispute-resolve-get"),
    pytest.param("post", "buyers:dispute-resolve", "dispute", id="buyers-dispute-resolve-post"),
    pytest.param("get", "buyers:payment-plan-create", "buyer", id="buyers-plan-create-get"),
    pytest.param("post", "buyers:payment-plan-create", "buyer", id="buyers-plan-create-post"),
    pytest.param("post", "buyers:instalment-pay", "instalment", id="buyers-instalment-pay"),
    pytest.param("post", "buyers:note-add", "buyer", id="buyers-note-add"),
    pytest.param("post", "buyers:document-upload", "buyer", id="buyers-document-upload"),
    pytest.param("get", "buyers:document-download", "document", id="buyers-document-download"),
    # buyers: API
    pytest.param("get", "api:buyer-detail", "buyer", id="api-buyer-get"),
    pytest.param("patch", "api:buyer-detail", "buyer", id="api-buyer-patch"),
    pytest.param("delete", "api:buyer-detail", "buyer", id="api-buyer-delete"),
    pytest.param("get", "api:buyer-credit-file", "buyer", id="api-buyer-credit-file"),
    # (A PUT with tenant A's reference upserts tenant B's own buyer: TENANT_REFERENCE_WRITES.)
    pytest.param("get", "api:buyer-by-reference", "buyer", id="api-buyer-by-reference"),
    pytest.param("get", "api:statement-detail", "statement", id="api-statement-get"),
    pytest.param("patch", "api:statement-detail", "statement", id="api-statement-patch"),
    pytest.param("get", "api:invoice-detail", "invoice", id="api-invoice-get"),
    pytest.param("patch", "api:invoice-detail", "invoice", id="api-invoice-patch"),
    pytest.param("get", "api:payment-detail", "payment", id="api-payment-get"),
    pytest.param("get", "api:dispute-detail", "dispute", id="api-dispute-get"),
    pytest.param("post", "api:dispute-resolve", "dispute", id="api-dispute-resolve"),
    pytest.param("get", "api:payment-plan-detail", "payment_plan", id="api-payment-plan-get"),
    pytest.param("post", "api:instalment-payment", "instalment", id="api-instalment-payment"),
    # imports
    pytest.param("get", "imports:detail", "import_job", id="imports-detail"),
    pytest.param("get", "imports:map", "import_job", id="imports-map-get"),
    pytest.param("post", "imports:map", "import_job", id="imports-map-post"),
    pytest.param("get", "imports:preview", "import_job", id="imports-preview"),
    pytest.param("post", "imports:preview", "import_job", id="imports-preview-read-options"),
    pytest.param("post", "imports:delete", "import_job", id="imports-delete"),
    pytest.param("post", "imports:run", "import_job", id="imports-run"),
    pytest.param("get", "imports:progress", "import_job", id="imports-progress"),
    pytest.param("get", "imports:errors", "import_job", id="imports-errors"),
    # limits: pages
    pytest.param("get", "limits:request-detail", "limit_request", id="limits-request-detail"),
    pytest.param("post", "limits:request-decide", "limit_request", id="limits-request-decide"),
    pytest.param("post", "limits:request-resubmit", "limit_request", id="limits-resubmit"),
    pytest.param("post", "limits:request-withdraw", "limit_request", id="limits-withdraw"),
    pytest.param("get", "limits:buyer", "buyer", id="limits-buyer"),
    pytest.param("post", "limits:limit-block", "buyer", id="limits-block"),
    pytest.param("post", "limits:limit-unblock", "buyer", id="limits-unblock"),
    pytest.param("get", "limits:cover-create", "buyer", id="limits-cover-create-get"),
    pytest.param("post", "limits:cover-create", "buyer", id="limits-cover-create-post"),
    pytest.param("get", "limits:cover-edit", "insurer_cover", id="limits-cover-edit-get"),
    pytest.param("post", "limits:cover-edit", "insurer_cover", id="limits-cover-edit-post"),
    pytest.param("post", "limits:notification-open", "notification", id="limits-notification"),
    # Tenant A's notification to the outsider himself: only the active tenant hides it.
    pytest.param(
        "post",
        "limits:notification-open",
        "notification_to_outsider",
        id="limits-notification-to-outsider",
    ),
    # limits: API
    pytest.param("get", "api:credit-policy-detail", "credit_policy", id="api-credit-policy"),
    pytest.param("get", "api:limit-request-detail", "limit_request", id="api-limit-request"),
    pytest.param(
        "post", "api:limit-request-decision", "limit_request", id="api-limit-request-decision"
    ),
    pytest.param(
        "post", "api:limit-request-information", "limit_request", id="api-limit-request-info"
    ),
    pytest.param("get", "api:credit-limit-detail", "credit_limit", id="api-credit-limit"),
    pytest.param("get", "api:credit-limit-by-buyer", "credit_limit", id="api-credit-limit-by-ref"),
    pytest.param("get", "api:insurer-cover-detail", "insurer_cover", id="api-cover-get"),
    pytest.param("patch", "api:insurer-cover-detail", "insurer_cover", id="api-cover-patch"),
    # monitoring: pages
    pytest.param("post", "monitoring:alert-acknowledge", "alert", id="monitoring-alert-ack"),
    pytest.param("get", "monitoring:alert-resolve", "alert", id="monitoring-alert-resolve-get"),
    pytest.param("post", "monitoring:alert-resolve", "alert", id="monitoring-alert-resolve-post"),
    pytest.param("get", "monitoring:rescore-progress", "rescore_run", id="monitoring-rescore-run"),
    pytest.param("get", "monitoring:webhook-detail", "webhook_endpoint", id="monitoring-webhook"),
    pytest.param(
        "post",
        "monitoring:webhook-rotate-secret",
        "webhook_endpoint",
        id="monitoring-webhook-rotate",
    ),
    pytest.param(
        "post", "monitoring:webhook-set-active", "webhook_endpoint", id="monitoring-webhook-active"
    ),
    # monitoring: API
    pytest.param("get", "api:alert-detail", "alert", id="api-alert-get"),
    pytest.param("post", "api:alert-acknowledge", "alert", id="api-alert-acknowledge"),
    pytest.param("post", "api:alert-resolve", "alert", id="api-alert-resolve"),
    pytest.param("get", "api:buyer-score-history", "buyer", id="api-buyer-score-history"),
    pytest.param("get", "api:rescore-run-detail", "rescore_run", id="api-rescore-run-get"),
    pytest.param("get", "api:webhook-endpoint-detail", "webhook_endpoint", id="api-webhook-get"),
    pytest.param(
        "patch", "api:webhook-endpoint-detail", "webhook_endpoint", id="api-webhook-patch"
    ),
    pytest.param(
        "delete", "api:webhook-endpoint-detail", "webhook_endpoint", id="api-webhook-delete"
    ),
    pytest.param(
        "post",
        "api:webhook-endpoint-rotate-secret",
        "webhook_endpoint",
        id="api-webhook-rotate-secret",
    ),
    pytest.param(
        "get", "api:webhook-endpoint-deliveries", "webhook_endpoint", id="api-webhook-deliveries"
    ),
    # monitoring: back-fills of the score history
    pytest.param(
        "get", "monitoring:backfill-progress", "backfill_run", id="monitoring-backfill-progress"
    ),
    pytest.param("get", "api:backfill-detail", "backfill_run", id="api-backfill-get"),
    # monitoring: PD calibrations (tenant A's is an inactive version: activating would change it)
    pytest.param(
        "post", "monitoring:calibration-activate", "pd_calibration", id="monitoring-calibration-on"
    ),
    pytest.param("get", "api:calibration-detail", "pd_calibration", id="api-calibration-get"),
    pytest.param("post", "api:calibration-activate", "pd_calibration", id="api-calibration-on"),
    # model lab: pages. Each step on a model in the status that allows it (a trained model; one
    # in shadow mode whose promotion waits for a second person), so that it would change
    # tenant A's model if the outsider's request reached it.
    pytest.param("get", "monitoring:model-detail", "scoring_model", id="monitoring-model"),
    pytest.param("get", "monitoring:model-detail", "shadow_model", id="monitoring-model-in-shadow"),
    pytest.param(
        "get", "monitoring:model-progress", "scoring_model", id="monitoring-model-progress"
    ),
    pytest.param("post", "monitoring:model-shadow", "scoring_model", id="monitoring-model-shadow"),
    pytest.param(
        "post", "monitoring:model-request", "scoring_model", id="monitoring-model-request"
    ),
    pytest.param("post", "monitoring:model-approve", "shadow_model", id="monitoring-model-approve"),
    pytest.param("post", "monitoring:model-reject", "shadow_model", id="monitoring-model-reject"),
    pytest.param("post", "monitoring:model-retire", "scoring_model", id="monitoring-model-retire"),
    # model lab: API
    pytest.param("get", "api:model-detail", "scoring_model", id="api-model-get"),
    pytest.param("post", "api:model-shadow", "scoring_model", id="api-model-shadow-start"),
    pytest.param("delete", "api:model-shadow", "shadow_model", id="api-model-shadow-stop"),
    pytest.param(
        "post", "api:model-request-promotion", "scoring_model", id="api-model-request-promotion"
    ),
    pytest.param(
        "post", "api:model-request-retirement", "scoring_model", id="api-model-request-retirement"
    ),
    pytest.param("post", "api:model-approve", "shadow_model", id="api-model-approve"),
    pytest.param("post", "api:model-reject", "shadow_model", id="api-model-reject"),
    # insurance: policy pages
    pytest.param("get", "insurance:detail", "insurance_policy", id="insurance-detail"),
    pytest.param("get", "insurance:endorse", "insurance_policy", id="insurance-endorse-get"),
    pytest.param("post", "insurance:endorse", "insurance_policy", id="insurance-endorse-post"),
    pytest.param("get", "insurance:buyers", "insurance_policy", id="insurance-buyers-get"),
    pytest.param("post", "insurance:buyers", "insurance_policy", id="insurance-buyers-post"),
    pytest.param("get", "insurance:cover-decide", "insurer_cover", id="insurance-decide-get"),
    pytest.param("post", "insurance:cover-decide", "insurer_cover", id="insurance-decide-post"),
    pytest.param("get", "insurance:cover-history", "insurer_cover", id="insurance-cover-history"),
    pytest.param("get", "insurance:deadlines", "insurance_policy", id="insurance-deadlines"),
    pytest.param(
        "get", "insurance:notifications", "insurance_policy", id="insurance-notifications"
    ),
    pytest.param("get", "insurance:declarations", "insurance_policy", id="insurance-declarations"),
    pytest.param("post", "insurance:year-close", "insurance_policy", id="insurance-year-close"),
    # insurance: overdue notification pages
    pytest.param(
        "get",
        "insurance:notification-detail",
        "overdue_notification",
        id="insurance-notification-detail",
    ),
    *(
        pytest.param(
            "post",
            f"insurance:notification-{action}",
            "overdue_notification",
            id=f"insurance-{action}",
        )
        for action in ("review", "send", "withdraw", "extension")
    ),
    pytest.param(
        "post", "insurance:extension-decide", "extension_request", id="insurance-extension-decide"
    ),
    pytest.param(
        "get", "insurance:notification-pdf", "overdue_notification", id="insurance-notification-pdf"
    ),
    pytest.param(
        "get", "insurance:notification-csv", "overdue_notification", id="insurance-notification-csv"
    ),
    # insurance: declaration pages
    pytest.param(
        "get", "insurance:declaration-detail", "declaration", id="insurance-declaration-detail"
    ),
    *(
        pytest.param(
            "post",
            f"insurance:declaration-{action}",
            "declaration",
            id=f"insurance-declaration-{action}",
        )
        for action in ("review", "submit", "adjust")
    ),
    # insurance: API
    pytest.param(
        "get", "api:insurance-policy-detail", "insurance_policy", id="api-insurance-policy-get"
    ),
    pytest.param(
        "post", "api:insurance-policy-versions", "insurance_policy", id="api-insurance-endorse"
    ),
    *(
        pytest.param(
            method,
            "api:insurance-policy-buyers",
            "insurance_policy",
            id=f"api-policy-buyers-{method}",
        )
        for method in ("get", "post", "delete")
    ),
    *(
        pytest.param(
            method,
            "api:insurance-policy-covers",
            "insurance_policy",
            id=f"api-policy-covers-{method}",
        )
        for method in ("get", "post")
    ),
    pytest.param("get", "api:cover-decisions", "insurer_cover", id="api-cover-decisions"),
    pytest.param("post", "api:policy-year-close", "insurance_policy", id="api-policy-year-close"),
    pytest.param(
        "get",
        "api:overdue-notification-detail",
        "overdue_notification",
        id="api-overdue-notification-get",
    ),
    *(
        pytest.param(
            method,
            f"api:overdue-notification-{action}",
            "overdue_notification",
            id=f"api-overdue-notification-{action}",
        )
        for method, action in (
            ("post", "review"),
            ("post", "send"),
            ("post", "withdraw"),
            ("post", "extension"),
            ("get", "pdf"),
            ("get", "csv"),
        )
    ),
    pytest.param(
        "post",
        "api:extension-request-decision",
        "extension_request",
        id="api-extension-request-decision",
    ),
    pytest.param("get", "api:declaration-detail", "declaration", id="api-declaration-get"),
    *(
        pytest.param(
            "post", f"api:declaration-{action}", "declaration", id=f"api-declaration-{action}"
        )
        for action in ("review", "submit", "adjust")
    ),
    # claims: pages
    pytest.param("get", "claims:detail", "claim", id="claims-detail"),
    *(
        pytest.param("post", f"claims:{action}", "claim", id=f"claims-{action}")
        for action in (
            "submit",
            "review",
            "decide",
            "paid",
            "withdraw",
            "assign",
            "comment",
            "document-add",
            "recovery-add",
            "write-off-add",
        )
    ),
    pytest.param("get", "claims:pdf", "claim", id="claims-pdf"),
    # reports: pages and API
    pytest.param("get", "reports:progress", "report", id="reports-progress"),
    pytest.param("get", "reports:download", "report", id="reports-download"),
    pytest.param("post", "reports:buyer", "buyer", id="reports-buyer-credit-report"),
    pytest.param("get", "api:report-detail", "report", id="api-report-get"),
    pytest.param("get", "api:report-download", "report", id="api-report-download"),
    pytest.param("get", "claims:document", "claim_document", id="claims-document-download"),
    # claims: API
    pytest.param("get", "api:claim-detail", "claim", id="api-claim-get"),
    *(
        pytest.param("post", f"api:claim-{action}", "claim", id=f"api-claim-{action}")
        for action in (
            "submit",
            "start-review",
            "decision",
            "payment",
            "withdraw",
            "comments",
            "recoveries",
            "write-offs",
        )
    ),
]

# URLs that name their object by more than its primary key: object → URL arguments.
URL_ARGS: dict[str, Callable[[Any], list]] = {
    "buyers:dispute-resolve": lambda dispute: [dispute.buyer_id, dispute.pk],
    "buyers:instalment-pay": lambda instalment: [instalment.plan.buyer_id, instalment.pk],
    "buyers:document-download": lambda document: [document.buyer_id, document.pk],
    "api:buyer-by-reference": lambda buyer: [buyer.erp_reference],
    "api:instalment-payment": lambda instalment: [instalment.plan_id, instalment.pk],
    "api:credit-limit-by-buyer": lambda limit: [limit.buyer.erp_reference],
    # A buyer's cover under a policy is named by the policy and the buyer.
    "insurance:cover-decide": lambda cover: [cover.policy_id, cover.buyer_id],
    "insurance:cover-history": lambda cover: [cover.policy_id, cover.buyer_id],
}
# Credentials refused before the object is looked up, whatever object (A's or a missing one):
# (url name, credential) → status. Limit decisions need a person, never an API key.
# Promotion steps of the model lab too (four eyes).
REFUSED_BEFORE_LOOKUP = {
    ("api:limit-request-decision", "api_key"): 403,
    ("api:model-request-promotion", "api_key"): 403,
    ("api:model-request-retirement", "api_key"): 403,
    ("api:model-approve", "api_key"): 403,
    ("api:model-reject", "api_key"): 403,
}


@dataclass(frozen=True)
class Refs:
    """How a request names objects: the target tenant's ERP references and primary keys, and
    the sender's own objects where a request needs one of its own (e.g. a payment of B's buyer
    allocated to A's invoice, A's buyer named on B's insurance policy)."""

    buyer: str
    buyer_pk: int
    invoice: str
    invoice_pk: int
    payment_plan: str
    payment_plan_pk: int
    policy_pk: int
    # The invoice of the target's claim, and the sent overdue notification on it.
    claim_invoice_pk: int
    claim_notification_pk: int
    # A member of the target tenant (a user: users are not tenant-owned, memberships are).
    member_pk: int
    # A model version the target's scores name (model versions are names, chosen per tenant).
    model_version: str
    own_buyer: str
    own_buyer_pk: int
    own_policy_pk: int
    own_notification_pk: int
    own_claim_pk: int

    @classmethod
    def to(cls, target: dict | None, *, sender: dict) -> "Refs":
        """References to `target`'s objects (None: to objects that exist nowhere)."""
        own = {
            "own_buyer": sender["buyer"].erp_reference,
            "own_buyer_pk": sender["buyer"].pk,
            "own_policy_pk": sender["insurance_policy"].pk,
            "own_notification_pk": sender["overdue_notification"].pk,
            "own_claim_pk": sender["claim"].pk,
        }
        if target is None:
            return cls(
                buyer=MISSING_REFERENCE,
                buyer_pk=MISSING_PK,
                invoice=MISSING_REFERENCE,
                invoice_pk=MISSING_PK,
                payment_plan=MISSING_REFERENCE,
                payment_plan_pk=MISSING_PK,
                policy_pk=MISSING_PK,
                claim_invoice_pk=MISSING_PK,
                claim_notification_pk=MISSING_PK,
                member_pk=MISSING_PK,
                model_version=MISSING_REFERENCE,
                **own,
            )
        return cls(
            buyer=target["buyer"].erp_reference,
            buyer_pk=target["buyer"].pk,
            invoice=target["invoice"].erp_reference,
            invoice_pk=target["invoice"].pk,
            payment_plan=target["payment_plan"].erp_reference,
            payment_plan_pk=target["payment_plan"].pk,
            policy_pk=target["insurance_policy"].pk,
            claim_invoice_pk=target["claim_invoice"].pk,
            claim_notification_pk=target["claim_notification"].pk,
            member_pk=target["membership"].user_id if "membership" in target else MISSING_PK,
            model_version=target["score"].model_version,
            **own,
        )


def reference_write(
    method: str,
    url_name: str,
    body: Callable[[Refs], dict],
    *,
    args: Callable[[Refs], list] = lambda refs: [],
    same_answer: bool = False,
    id: str,
):
    """A TENANT_REFERENCE_WRITES row. `same_answer`: compare the bodies of successful answers
    too (those without new ids or timestamps). The body of a GET is its query."""
    return pytest.param(method, url_name, args, body, same_answer, id=id)


NEW_BUYER = {
    "legal_name": "New Buyer of the sender",
    "country": "DE",
    "nace_code": "46.69",
    "currency": "EUR",
    "payment_terms_days": 30,
}
STATEMENT = {
    "period_end": "2024-12-31",
    "period_months": 12,
    "currency": "EUR",
    "revenue": "10000000.00",
    "ebit": "800000.00",
    "net_income": "550000.00",
    "total_assets": "6000000.00",
    "current_assets": "2500000.00",
    "current_liabilities": "1500000.00",
    "total_liabilities": "3600000.00",
    "retained_earnings": "1200000.00",
    "equity": "2400000.00",
    "source": "Annual report",
}
NEW_INVOICE = {
    "number": "2026-1",
    "issue_date": TODAY,
    "due_date": IN_A_MONTH,
    "amount": "1000.00",
    "currency": "EUR",
}

COVER_DECISION = {"kind": "increase", "amount": "150000.00", "decision_date": TODAY}
# Query filters of the insurance lists that name an object: filter → query for the references.
FILTERS: dict[str, Callable[[Refs], dict]] = {
    "policy": lambda ref: {"policy": ref.policy_pk},
    "buyer": lambda ref: {"buyer": ref.buyer_pk},
    "buyer_erp_reference": lambda ref: {"buyer_erp_reference": ref.buyer},
}
# The terms of an insurance policy, as the pages' form and as the API take them.
POLICY_TERMS_FORM = {
    "period_start": POLICY_YEAR_START.isoformat(),
    "period_end": POLICY_YEAR_END.isoformat(),
    "indemnity_commercial_pct": "90",
    "indemnity_political_pct": "95",
    "max_liability": "5000000",
    "covered_risks": ["insolvency", "protracted_default"],
    "covered_countries": "DE, FR",
    "waiting_period_days": "180",
    "max_extension_days": "60",
    "notification_days": "30",
    "claim_filing_days": "90",
    "cover_notice_days": "30",
    "non_qualifying_loss": "0",
    "deductible_per_buyer": "0",
    "aggregate_first_loss": "0",
    "dcl_max_amount": "25000",
    "dcl_report_max_age_days": "365",
    "dcl_payment_lookback_days": "365",
    "premium_basis": "turnover",
    "premium_rate_pct": "0.18",
    "minimum_premium": "12000",
    "declaration_frequency": "monthly",
    "declaration_due_days": "15",
}
POLICY_TERMS_API = {
    **POLICY_TERMS_FORM,
    "covered_countries": ["DE", "FR"],
    "premium_tiers": [
        {"up_to": "5000000", "rate_pct": "0.25"},
        {"up_to": None, "rate_pct": "0.15"},
    ],
}
NEW_POLICY = {"insurer": "Another Insurer", "number": "TCI-NEW", "currency": "EUR"}
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
# A new claim: its cause and date of loss (with the policy, buyer and invoices it is for).
NEW_CLAIM = {"cause": "insolvency", "loss_date": YESTERDAY}
# Months of a back-fill: past months, whatever today is (any day of a month names it).
BACKFILL_WINDOW = {"first_period": "2025-01-01", "last_period": "2025-06-01"}

# Requests that name objects by reference in their body or query: with tenant A's references,
# tenant B must get exactly what references to nothing get, and tenant A's data must not change.
# (method, url name, URL arguments for the references, body (a GET's query) for the references,
# same answer).
TENANT_REFERENCE_WRITES = [
    # buyers: pages
    reference_write(
        "post",
        "buyers:create",
        lambda ref: {
            **NEW_BUYER,
            "erp_reference": "C-NEW",
            "parent_erp_reference": ref.buyer,
            "status": "active",
        },
        id="buyers-create-with-parent",
    ),
    reference_write(
        "post",
        "buyers:dispute-open",
        lambda ref: {
            "erp_reference": "DSP-NEW",
            "invoice": ref.invoice_pk,
            "reason": "quality",
            "amount": "10.00",
            "currency": "EUR",
            "opened_date": TODAY,
        },
        args=lambda ref: [ref.own_buyer_pk],
        id="buyers-dispute-open-on-invoice",
    ),
    # buyers: API
    reference_write(
        "post",
        "api:buyer-list",
        lambda ref: {**NEW_BUYER, "erp_reference": "C-NEW", "parent_erp_reference": ref.buyer},
        id="api-buyer-create-with-parent",
    ),
    # ERP references are per tenant: tenant B's upsert of "C-TENANT-A" creates B's own buyer.
    reference_write(
        "put",
        "api:buyer-by-reference",
        lambda ref: {**NEW_BUYER, "erp_reference": ref.buyer},
        args=lambda ref: [ref.buyer],
        id="api-buyer-upsert-by-reference",
    ),
    reference_write(
        "post",
        "api:statement-list",
        lambda ref: {**STATEMENT, "buyer_erp_reference": ref.buyer},
        id="api-statement-create",
    ),
    reference_write(
        "post",
        "api:invoice-list",
        lambda ref: {**NEW_INVOICE, "erp_reference": "INV-NEW", "buyer_erp_reference": ref.buyer},
        id="api-invoice-create",
    ),
    reference_write(
        "post",
        "api:payment-list",
        lambda ref: {
            "erp_reference": "PAY-NEW",
            "buyer_erp_reference": ref.own_buyer,
            "received_date": TODAY,
            "amount": "10.00",
            "currency": "EUR",
            "allocations": [{"invoice_erp_reference": ref.invoice, "amount": "10.00"}],
        },
        id="api-payment-create-allocated",
    ),
    reference_write(
        "post",
        "api:dispute-list",
        lambda ref: {
            "erp_reference": "DSP-NEW",
            "buyer_erp_reference": ref.own_buyer,
            "invoice_erp_reference": ref.invoice,
            "reason": "quality",
            "amount": "10.00",
            "currency": "EUR",
            "opened_date": TODAY,
        },
        id="api-dispute-create-on-invoice",
    ),
    reference_write(
        "post",
        "api:payment-plan-list",
        lambda ref: {
            "erp_reference": "PP-NEW",
            "buyer_erp_reference": ref.buyer,
            "agreed_date": TODAY,
            "currency": "EUR",
            "instalments": [{"due_date": IN_A_MONTH, "amount": "500.00"}],
        },
        id="api-payment-plan-create",
    ),
    # buyers: bulk upserts (all or nothing; the answer counts created and updated records)
    reference_write(
        "post",
        "api:buyer-bulk",
        lambda ref: {"records": [{**NEW_BUYER, "erp_reference": ref.buyer}]},
        same_answer=True,
        id="api-buyer-bulk-same-reference",
    ),
    reference_write(
        "post",
        "api:buyer-bulk",
        lambda ref: {
            "records": [{**NEW_BUYER, "erp_reference": "C-NEW", "parent_erp_reference": ref.buyer}]
        },
        same_answer=True,
        id="api-buyer-bulk-parent",
    ),
    reference_write(
        "post",
        "api:invoice-bulk",
        lambda ref: {
            "records": [
                {**NEW_INVOICE, "erp_reference": "INV-NEW", "buyer_erp_reference": ref.buyer}
            ]
        },
        same_answer=True,
        id="api-invoice-bulk-buyer",
    ),
    reference_write(
        "post",
        "api:invoice-bulk",
        lambda ref: {
            "records": [
                {**NEW_INVOICE, "erp_reference": ref.invoice, "buyer_erp_reference": ref.own_buyer}
            ]
        },
        same_answer=True,
        id="api-invoice-bulk-same-reference",
    ),
    reference_write(
        "post",
        "api:payment-bulk",
        lambda ref: {
            "records": [
                {
                    "erp_reference": "PAY-NEW",
                    "buyer_erp_reference": ref.own_buyer,
                    "received_date": TODAY,
                    "amount": "10.00",
                    "currency": "EUR",
                    "allocations": [{"invoice_erp_reference": ref.invoice, "amount": "10.00"}],
                }
            ]
        },
        same_answer=True,
        id="api-payment-bulk-allocated",
    ),
    reference_write(
        "post",
        "api:financial-statement-bulk",
        lambda ref: {"records": [{**STATEMENT, "buyer_erp_reference": ref.buyer}]},
        same_answer=True,
        id="api-statement-bulk",
    ),
    # monitoring
    reference_write(
        "post",
        "api:legal-event-list",
        lambda ref: {
            "buyer_erp_reference": ref.buyer,
            "kind": "court_judgment",
            "event_date": TODAY,
            "source": "Amtsgericht",
        },
        id="api-legal-event-create",
    ),
    # Calibrating another tenant's model version: tenant B has no scores of it.
    reference_write(
        "post",
        "monitoring:calibration",
        lambda ref: {"model_version": ref.model_version, "prior_strength": "50"},
        id="monitoring-calibrate-model-version",
    ),
    reference_write(
        "post",
        "api:calibration-list",
        lambda ref: {"model_version": ref.model_version},
        same_answer=True,
        id="api-calibrate-model-version",
    ),
    # The calibrations and back-tests of another tenant's model version: none.
    reference_write(
        "get",
        "api:calibration-list",
        lambda ref: {"model_version": ref.model_version},
        same_answer=True,
        id="api-calibrations-by-model-version",
    ),
    reference_write(
        "get",
        "api:backtest-list",
        lambda ref: {"model_version": ref.model_version},
        same_answer=True,
        id="api-backtests-by-model-version",
    ),
    # limits
    reference_write(
        "post",
        "limits:request-create",
        lambda ref: {
            "buyer": ref.buyer_pk,
            "amount": "50000",
            "payment_terms_days": "30",
            "justification": "Sent with the references",
        },
        id="limits-request-create",
    ),
    reference_write(
        "post",
        "api:limit-request-list",
        lambda ref: {
            "buyer_erp_reference": ref.buyer,
            "amount": "50000.00",
            "payment_terms_days": 30,
            "justification": "Sent with the references",
        },
        id="api-limit-request-create",
    ),
    reference_write(
        "post",
        "api:insurer-cover-list",
        lambda ref: {
            "buyer_erp_reference": ref.buyer,
            "insurer": "Another Insurer",
            "amount": "1000.00",
            "currency": "EUR",
            "decision_date": TODAY,
            "status": "granted",
        },
        id="api-insurer-cover-create",
    ),
    # The ERP's question before shipping: another tenant's buyer is unknown, not "hold".
    reference_write(
        "post",
        "api:credit-check",
        lambda ref: {"buyer_erp_reference": ref.buyer, "order_amount": "100.00", "currency": "EUR"},
        same_answer=True,
        id="api-credit-check",
    ),
    # insurance: another tenant's buyer named on, or decided under, tenant B's own policy
    reference_write(
        "post",
        "insurance:buyers",
        lambda ref: {"buyer": ref.buyer_pk, "kind": "included"},
        args=lambda ref: [ref.own_policy_pk],
        id="insurance-buyers-name",
    ),
    reference_write(
        "post",
        "insurance:buyers",
        lambda ref: {"remove": ref.buyer_pk},
        args=lambda ref: [ref.own_policy_pk],
        id="insurance-buyers-remove",
    ),
    reference_write(
        "post",
        "api:insurance-policy-buyers",
        lambda ref: {"buyer_erp_reference": ref.buyer, "kind": "included"},
        args=lambda ref: [ref.own_policy_pk],
        id="api-policy-buyers-name-by-reference",
    ),
    reference_write(
        "post",
        "api:insurance-policy-buyers",
        lambda ref: {"buyer_id": ref.buyer_pk, "kind": "included"},
        args=lambda ref: [ref.own_policy_pk],
        id="api-policy-buyers-name-by-id",
    ),
    reference_write(
        "delete",
        "api:insurance-policy-buyers",
        lambda ref: {"buyer_id": ref.buyer_pk},
        args=lambda ref: [ref.own_policy_pk],
        id="api-policy-buyers-remove",
    ),
    reference_write(
        "post",
        "api:insurance-policy-covers",
        lambda ref: {**COVER_DECISION, "buyer_erp_reference": ref.buyer},
        args=lambda ref: [ref.own_policy_pk],
        id="api-policy-cover-decision-by-reference",
    ),
    reference_write(
        "post",
        "api:insurance-policy-covers",
        lambda ref: {**COVER_DECISION, "buyer_id": ref.buyer_pk},
        args=lambda ref: [ref.own_policy_pk],
        id="api-policy-cover-decision-by-id",
    ),
    # A payment plan asked of the insurer on tenant B's own notification.
    reference_write(
        "post",
        "insurance:notification-extension",
        lambda ref: {
            "kind": "payment_plan",
            "requested_until": IN_A_MONTH,
            "payment_plan": ref.payment_plan_pk,
        },
        args=lambda ref: [ref.own_notification_pk],
        id="insurance-extension-payment-plan",
    ),
    reference_write(
        "post",
        "api:overdue-notification-extension",
        lambda ref: {
            "kind": "payment_plan",
            "requested_until": IN_A_MONTH,
            "payment_plan_erp_reference": ref.payment_plan,
        },
        args=lambda ref: [ref.own_notification_pk],
        id="api-extension-payment-plan",
    ),
    # Filters naming another tenant's policy or buyer find nothing, like a missing one.
    *(
        reference_write(
            "get",
            url_name,
            FILTERS[name],
            same_answer=True,
            id=f"api-{url_name.removeprefix('api:')}-by-{name}",
        )
        for url_name, filters in (
            ("api:overdue-notification-list", ("policy", "buyer", "buyer_erp_reference")),
            ("api:declaration-list", ("policy",)),
            ("api:insurance-deadlines", ("policy", "buyer")),
            ("api:invoice-coverage-list", ("policy", "buyer")),
        )
        for name in filters
    ),
    # One policy's KPIs: another tenant's policy is not found.
    reference_write(
        "get",
        "api:insurance-kpis",
        lambda ref: {"policy": ref.policy_pk},
        same_answer=True,
        id="api-insurance-kpis-of-policy",
    ),
    # claims: a claim for another tenant's policy, buyer and invoice, or from its notification
    reference_write(
        "post",
        "claims:create",
        lambda ref: {
            **NEW_CLAIM,
            "policy": ref.policy_pk,
            "buyer": ref.buyer_pk,
            "invoices": [ref.invoice_pk],
        },
        id="claims-create-for-policy-and-buyer",
    ),
    reference_write(
        "post",
        "claims:create",
        lambda ref: {
            **NEW_CLAIM,
            "policy": ref.own_policy_pk,
            "buyer": ref.buyer_pk,
            "invoices": [ref.invoice_pk],
        },
        id="claims-create-for-buyer-under-own-policy",
    ),
    reference_write(
        "post",
        "claims:create",
        lambda ref: {
            **NEW_CLAIM,
            "notification": ref.claim_notification_pk,
            "invoices": [ref.claim_invoice_pk],
        },
        id="claims-create-from-notification",
    ),
    reference_write(
        "post",
        "api:claim-list",
        lambda ref: {
            **NEW_CLAIM,
            "policy": ref.policy_pk,
            "buyer": ref.buyer_pk,
            "invoice_ids": [ref.invoice_pk],
        },
        id="api-claim-create-for-policy-and-buyer",
    ),
    reference_write(
        "post",
        "api:claim-list",
        lambda ref: {
            **NEW_CLAIM,
            "policy": ref.own_policy_pk,
            "buyer": ref.buyer_pk,
            "invoice_ids": [ref.invoice_pk],
        },
        id="api-claim-create-for-buyer-under-own-policy",
    ),
    reference_write(
        "post",
        "api:claim-list",
        lambda ref: {**NEW_CLAIM, "notification": ref.claim_notification_pk},
        id="api-claim-create-from-notification",
    ),
    # Another tenant's member assigned to tenant B's own claim.
    reference_write(
        "post",
        "claims:assign",
        lambda ref: {"assignee": ref.member_pk},
        args=lambda ref: [ref.own_claim_pk],
        id="claims-assign-member",
    ),
    # Filters naming another tenant's policy or buyer find nothing, like a missing one.
    *(
        reference_write(
            "get",
            url_name,
            FILTERS[name],
            same_answer=True,
            id=f"api-{url_name.removeprefix('api:')}-by-{name}",
        )
        for url_name in ("api:claim-list", "api:claim-export")
        for name in ("policy", "buyer", "buyer_erp_reference")
    ),
    # reports: a credit report on another tenant's buyer
    reference_write(
        "post",
        "reports:create",
        lambda ref: {"kind": "credit_report", "buyer": ref.buyer, "language": "en"},
        id="reports-create-credit-report",
    ),
    reference_write(
        "post",
        "api:report-list",
        lambda ref: {"kind": "credit_report", "buyer": ref.buyer_pk, "language": "en"},
        id="api-report-create-credit-report",
    ),
]

# The test settings allow plain http to 127.0.0.1 (no DNS needed).
NEW_WEBHOOK = {"url": "http://127.0.0.1:9/hooks", "description": "new"}

# Tenant B writing to its own tenant-wide settings and lists: nothing of tenant A may change.
# (method, url, data)
TENANT_COLLECTION_WRITES = [
    pytest.param("post", "tenant-two-factor", {"required": "on"}, id="tenant-two-factor-require"),
    # Tenant A's unread notification is addressed to the outsider himself.
    pytest.param("post", "limits:notifications", {}, id="limits-notifications-mark-read"),
    pytest.param("post", "monitoring:rescore", {}, id="monitoring-rescore-now"),
    pytest.param("post", "api:rescore-run-list", {}, id="api-rescore-run-start"),
    pytest.param(
        "post",
        "monitoring:rules",
        {
            "kind": "overdue",
            "overdue-enabled": "on",
            "overdue-days": "31, 61, 91",
            "overdue-min_amount": "5000",
        },
        id="monitoring-rule-save",
    ),
    pytest.param(
        "patch",
        Url("api:alert-rule-detail", {"kind": "overdue"}),
        {"enabled": False, "thresholds": {"min_amount": "5000"}},
        id="api-alert-rule-patch",
    ),
    pytest.param(
        "post",
        "monitoring:webhooks",
        NEW_WEBHOOK,
        id="monitoring-webhook-create",
    ),
    pytest.param(
        "post",
        "api:webhook-endpoint-list",
        NEW_WEBHOOK,
        id="api-webhook-create",
    ),
    pytest.param(
        "post", "insurance:create", {**POLICY_TERMS_FORM, **NEW_POLICY}, id="insurance-create"
    ),
    pytest.param(
        "post",
        "api:insurance-policy-list",
        {**POLICY_TERMS_API, **NEW_POLICY},
        id="api-insurance-policy-create",
    ),
    # Tenant B's own claims (the data of these rows is made from tenant B's own references).
    pytest.param(
        "post",
        "claims:create",
        lambda own: {
            **NEW_CLAIM,
            "policy": own.policy_pk,
            "buyer": own.buyer_pk,
            "invoices": [own.invoice_pk],
        },
        id="claims-create",
    ),
    pytest.param(
        "post",
        "claims:create",
        lambda own: {
            **NEW_CLAIM,
            "notification": own.claim_notification_pk,
            "invoices": [own.claim_invoice_pk],
        },
        id="claims-create-from-notification",
    ),
    pytest.param(
        "post",
        "api:claim-list",
        lambda own: {
            **NEW_CLAIM,
            "policy": own.policy_pk,
            "buyer": own.buyer_pk,
            "invoice_ids": [own.invoice_pk],
        },
        id="api-claim-create",
    ),
    pytest.param(
        "post",
        "api:claim-list",
        lambda own: {**NEW_CLAIM, "notification": own.claim_notification_pk},
        id="api-claim-create-from-notification",
    ),
    # Model lab: tenant B scores its history, trains a scorecard (on `credit_file`'s old
    # statement) and calibrates its model version's PDs.
    pytest.param("post", "monitoring:backtest", BACKFILL_WINDOW, id="monitoring-backfill-start"),
    pytest.param("post", "api:backfill-list", BACKFILL_WINDOW, id="api-backfill-start"),
    pytest.param("post", "monitoring:models", {}, id="monitoring-model-train"),
    pytest.param("post", "api:model-list", {}, id="api-model-train"),
    pytest.param(
        "post",
        "monitoring:calibration",
        {"model_version": B.model_version, "prior_strength": "50"},
        id="monitoring-calibrate",
    ),
    pytest.param(
        "post", "api:calibration-list", {"model_version": B.model_version}, id="api-calibrate"
    ),
]

# No tenant data: public pages, global reference data, or covered elsewhere (tenant switching:
# tests/web).
NOT_TENANT_SCOPED = {
    "healthz",
    "set_language",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "tenant-switch",
    # Two-factor sign-in belongs to the user (its device is in no tenant); the tenant's own
    # requirement is "tenant-two-factor" below.
    "two-factor-verify",
    "two-factor",
    "api:schema",
    "api:docs",
    # Country risk is global reference data (monitoring.CountryRisk has no tenant): the same
    # for every tenant, see test_global_reference_data_is_the_same_for_every_tenant.
    "monitoring:countries",
    "api:country-risk-list",
    "api:country-risk-history",
    # Import templates: the same header and example row for every tenant, no tenant data.
    "imports:template",
}

TENANT_A_MARKERS = [
    "Tenant A Ltd",
    "owner@a.example",
    "teammate@a.example",
    "Tenant A ERP link",
    "tenant-a-audit-marker",
    *A.texts(),
]

# A valid form for the POST rows, so that only the tenant check can refuse it (default: empty).
# A callable gives a fresh form each time (uploaded files are read once).
POST_DATA: dict[str, Any] = {
    "member-edit": {
        "role": "viewer",
        "approval_authority": "1",
        "approval_currency": "EUR",
        "is_active": "on",
    },
    # buyers
    "buyers:edit": {**NEW_BUYER, "erp_reference": "C-RENAMED", "status": "active"},
    "buyers:statement-create": STATEMENT,
    "buyers:dispute-open": {
        "erp_reference": "DSP-NEW",
        "reason": "other",
        "amount": "1.00",
        "currency": "EUR",
        "opened_date": TODAY,
    },
    "buyers:dispute-resolve": {"resolved_date": TODAY, "resolution": "Credit note issued"},
    "buyers:payment-plan-create": {
        "erp_reference": "PP-NEW",
        "agreed_date": TODAY,
        "currency": "EUR",
        "instalments": f"{IN_A_MONTH} 5",
    },
    "buyers:instalment-pay": {"amount": "5.00", "paid_date": TODAY},
    "buyers:note-add": {"body": "Written by the outsider"},
    "buyers:document-upload": lambda: {
        "title": "Uploaded by the outsider",
        "file": SimpleUploadedFile("report.txt", b"outsider", "text/plain"),
    },
    "api:buyer-detail": {"legal_name": "Renamed by the outsider"},
    "api:statement-detail": {"source": "Changed by the outsider"},
    "api:invoice-detail": {"status": "written_off"},
    "api:dispute-resolve": {"resolved_date": TODAY, "resolution": "Credit note issued"},
    "api:instalment-payment": {"amount": "5.00", "paid_date": TODAY},
    # imports: the columns of `credit_file`'s upload
    "imports:map": {
        name: name for name in ("erp_reference", "legal_name", "country", "nace_code", "currency")
    },
    "imports:preview": {"read_options": "1", "delimiter": ";"},
    # limits
    "limits:request-decide": {"decision": "approve", "comment": "Fine"},
    "limits:request-resubmit": {"justification": "The accounts"},
    "limits:limit-block": {"reason": "Blocked by the outsider"},
    "limits:cover-create": {
        "insurer": "Another Insurer",
        "amount": "1000",
        "currency": "EUR",
        "decision_date": TODAY,
        "status": "granted",
    },
    "limits:cover-edit": {
        "insurer": "Another Insurer",
        "amount": "1000",
        "currency": "EUR",
        "decision_date": TODAY,
        "status": "reduced",
    },
    "api:limit-request-decision": {"decision": "approve", "comment": "Fine"},
    "api:limit-request-information": {"justification": "The accounts"},
    "api:insurer-cover-detail": {"amount": "1000.00", "status": "reduced", "decision_date": TODAY},
    # monitoring
    "monitoring:alert-resolve": {"note": "Paid"},
    "monitoring:webhook-set-active": {"is_active": "false"},
    "api:alert-resolve": {"note": "Paid"},
    "api:webhook-endpoint-detail": {"is_active": False},
    "monitoring:model-request": {"note": "Asked by the outsider"},
    "monitoring:model-reject": {"reason": "Turned down by the outsider"},
    "api:model-request-promotion": {"note": "Asked by the outsider"},
    "api:model-request-retirement": {"note": "Asked by the outsider"},
    "api:model-reject": {"reason": "Turned down by the outsider"},
    # insurance: pages
    "insurance:endorse": {
        **POLICY_TERMS_FORM,
        "effective_from": TODAY,
        "endorsement_reference": "END-NEW",
        "change_note": "Endorsed by the outsider",
    },
    # (The buyer is a choice of the active tenant's buyers: TENANT_REFERENCE_WRITES.)
    "insurance:buyers": {"kind": "excluded"},
    "insurance:cover-decide": {**COVER_DECISION, "amount": "150000", "currency": "EUR"},
    "insurance:year-close": {"year_start": POLICY_YEAR_START.isoformat()},
    "insurance:notification-review": {"notes": "Reviewed by the outsider"},
    "insurance:notification-send": {"sent_on": TODAY, "insurer_reference": "REF-NEW"},
    "insurance:notification-withdraw": {"reason": "Withdrawn by the outsider"},
    "insurance:notification-extension": {"kind": "extension", "requested_until": IN_A_MONTH},
    "insurance:extension-decide": {"decision": "granted", "decided_on": TODAY},
    "insurance:declaration-adjust": {"amount_change": "1000.00", "reason": "Outsider"},
    # insurance: API
    "api:insurance-policy-versions": {
        "effective_from": TODAY,
        "endorsement_reference": "END-NEW",
        "change_note": "Endorsed by the outsider",
        "minimum_premium": "13000.00",
    },
    # Tenant A's own buyer: valid for tenant A (the positive control), refused to B before.
    "api:insurance-policy-buyers": {"buyer_erp_reference": A.buyer_ref, "kind": "included"},
    "api:insurance-policy-covers": {**COVER_DECISION, "buyer_erp_reference": A.buyer_ref},
    "api:policy-year-close": {"year_start": POLICY_YEAR_START.isoformat()},
    "api:overdue-notification-review": {"notes": "Reviewed by the outsider"},
    "api:overdue-notification-send": {"sent_on": TODAY, "insurer_reference": "REF-NEW"},
    "api:overdue-notification-withdraw": {"reason": "Withdrawn by the outsider"},
    "api:overdue-notification-extension": {"kind": "extension", "requested_until": IN_A_MONTH},
    "api:extension-request-decision": {"decision": "granted", "decided_on": TODAY},
    "api:declaration-adjust": {"amount_change": "1000.00", "reason": "Outsider"},
    # claims: pages
    "claims:submit": {"comment": "Submitted by the outsider"},
    "claims:review": {"comment": "Reviewed by the outsider"},
    "claims:decide": {"decision": "approved", "comment": "Decided by the outsider"},
    "claims:paid": {"paid_amount": "1.00", "paid_on": TODAY},
    "claims:withdraw": {"comment": "Withdrawn by the outsider"},
    "claims:assign": {"assignee": ""},
    "claims:comment": {"comment": "Written by the outsider"},
    "claims:document-add": lambda: {
        "title": "Uploaded by the outsider",
        "file": SimpleUploadedFile("proof.txt", b"outsider", "text/plain"),
    },
    "claims:recovery-add": {"received_on": TODAY, "amount": "1.00", "source": "buyer"},
    "claims:write-off-add": {"written_off_on": TODAY, "amount": "1.00"},
    # claims: API
    "api:claim-submit": {"comment": "Submitted by the outsider"},
    "api:claim-start-review": {"comment": "Reviewed by the outsider"},
    "api:claim-decision": {"decision": "approved"},
    "api:claim-payment": {"paid_amount": "1.00", "paid_on": TODAY},
    "api:claim-withdraw": {"comment": "Withdrawn by the outsider"},
    "api:claim-comments": {"comment": "Written by the outsider"},
    "api:claim-recoveries": {"received_on": TODAY, "amount": "1.00", "source": "buyer"},
    "api:claim-write-offs": {"written_off_on": TODAY, "amount": "1.00"},
}


# --- Fixtures --------------------------------------------------------------------------------


def credit_file(tenant, m: Markers, *, user) -> dict:
    """One object of every kind a tenant owns, each with the tenant's markers in visible text.

    Create with the tenant active; `user` is a member of the tenant.
    """
    buyer = BuyerFactory(tenant=tenant, erp_reference=m.buyer_ref, legal_name=m.buyer)
    # The limit request is on the subsidiary, so that the buyer may get a new one.
    subsidiary = BuyerFactory(
        tenant=tenant, erp_reference=m.subsidiary_ref, legal_name=m.subsidiary, parent=buyer
    )
    invoice = InvoiceFactory(buyer=buyer, erp_reference=m.invoice_ref)
    payment_plan = PaymentPlanFactory(buyer=buyer, erp_reference=m.plan_ref)
    webhook_endpoint = WebhookEndpointFactory(
        tenant=tenant, url=m.webhook_url, description=m.webhook
    )
    WebhookDeliveryFactory(endpoint=webhook_endpoint, event_id=m.webhook_event)
    credit_policy = CreditPolicyFactory(
        tenant=tenant, notes=m.policy_notes, four_eyes_threshold=Decimal(m.four_eyes_threshold)
    )
    CreditPolicyBandFactory(policy=credit_policy)
    rules.rule_update(
        tenant=tenant, actor=None, kind="overdue", thresholds={"min_amount": m.rule_min_amount}
    )
    upload = (
        "erp_reference,legal_name,country,nace_code,currency\n"
        f"{m.buyer_ref}-NEW,{m.buyer} (new),DE,46.69,EUR\n"
    )
    objects = {
        "buyer": buyer,
        "invoice": invoice,
        "statement": FinancialStatementFactory(buyer=buyer, source=m.statement_source),
        "payment": Payment.objects.create(
            tenant=tenant,
            buyer=buyer,
            erp_reference=m.payment_ref,
            received_date=date.today(),
            amount=Decimal("100.00"),
            currency="EUR",
        ),
        "dispute": DisputeFactory(buyer=buyer, invoice=invoice, erp_reference=m.dispute_ref),
        "payment_plan": payment_plan,
        "instalment": InstalmentFactory(plan=payment_plan),
        "note": BuyerNote.objects.create(tenant=tenant, buyer=buyer, author=user, body=m.note),
        "document": services.document_upload(
            tenant=tenant,
            actor=user,
            buyer=buyer,
            title=m.document,
            upload=SimpleUploadedFile("report.txt", m.document.encode(), "text/plain"),
        ),
        "import_job": imports.import_job_create(
            tenant=tenant,
            actor=user,
            kind="buyers",
            upload=SimpleUploadedFile(m.import_file, upload.encode()),
        ),
        "legal_event": LegalEventFactory(
            buyer=buyer, description=m.legal_event, source=m.legal_event
        ),
        "score": BuyerScoreFactory(buyer=buyer, model_version=m.model_version),
        "alert": AlertFactory(buyer=buyer, title=m.alert),
        "webhook_endpoint": webhook_endpoint,
        "rescore_run": RescoreRunFactory(tenant=tenant, status="failed", error=m.rescore_error),
        "credit_policy": credit_policy,
        "credit_limit": CreditLimitFactory(buyer=buyer),
        "limit_request": LimitRequestFactory(buyer=subsidiary, justification=m.justification),
        "notification": Notification.objects.create(
            tenant=tenant, user=user, message=m.notification, link="/limits/queue/"
        ),
        "report": archived_report(tenant, buyer=buyer),
        **model_lab_file(tenant, m, user=user, buyer=buyer),
        **insurance_file(
            tenant, m, user=user, buyer=buyer, invoice=invoice, payment_plan=payment_plan
        ),
    }
    return {**objects, **claims_file(tenant, m, user=user, policy=objects["insurance_policy"])}


def model_lab_file(tenant, m: Markers, *, user, buyer) -> dict:
    """The tenant's model lab: a failed back-fill of its score history, a trained scorecard,
    one in shadow mode (with a shadow score of `buyer`) whose promotion `user` asked for, an
    inactive PD calibration of the scores' model version, a statement published years ago
    (history enough to train on) and a back-filled score of 2024 (a known 12-month outcome to
    calibrate on)."""
    FinancialStatementFactory(
        buyer=buyer, period_end=date(2019, 12, 31), published_on=date(2020, 4, 30)
    )
    BuyerScoreFactory(
        buyer=buyer,
        model_version=m.model_version,
        period=date(2024, 1, 1),
        as_of=date(2024, 1, 1),
        trigger="backfill",
    )
    windows = {
        "train_from": date(2021, 1, 1),
        "train_to": date(2024, 12, 1),
        "test_from": date(2025, 1, 1),
        "test_to": date(2025, 12, 1),
    }
    spec = {"format": 1, "base_score": 50.0, "features": [], "pd_by_grade": {}}
    shadow_model = ScoringModel.objects.create(
        tenant=tenant,
        version=m.shadow_scorecard,
        status=ScoringModel.Status.SHADOW,
        spec=spec,
        trained_by=user,
        trained_at=timezone.now(),
        promotion_requested_by=user,
        promotion_requested_at=timezone.now(),
        promotion_note=m.promotion_note,
        **windows,
    )
    return {
        "backfill_run": BackfillRun.objects.create(
            tenant=tenant,
            first_period=date(2025, 1, 1),
            last_period=date(2025, 6, 1),
            model_version=m.model_version,
            status=BackfillRun.Status.FAILED,
            total_periods=6,
            done_periods=2,
            error=m.backfill_error,
            requested_by=user,
        ),
        "scoring_model": ScoringModel.objects.create(
            tenant=tenant,
            version=m.scorecard,
            status=ScoringModel.Status.TRAINED,
            spec=spec,
            trained_by=user,
            trained_at=timezone.now(),
            **windows,
        ),
        "shadow_model": shadow_model,
        "model_score": ModelScore.objects.create(
            tenant=tenant,
            model=shadow_model,
            buyer=buyer,
            period=date(2026, 10, 1),
            as_of=date(2026, 10, 1),
            score=Decimal("55.00"),
            grade=5,
            probability_of_default=Decimal("0.01000"),
        ),
        "pd_calibration": PdCalibration.objects.create(
            tenant=tenant,
            model_version=m.model_version,
            version=1,
            active=False,
            pd_by_grade={str(grade): "0.01000" for grade in range(1, 11)},
            prior_strength=Decimal("50"),
            window_from=date(2025, 1, 1),
            window_to=date(2025, 1, 1),
            created_by=user,
        ),
    }


def archived_report(tenant, *, buyer) -> Report:
    """A credit report on `buyer`, done, with its (stand-in) PDF stored."""
    report = Report.objects.create(
        tenant=tenant,
        kind=Report.Kind.CREDIT_REPORT,
        buyer=buyer,
        language="en",
        status=Report.Status.DONE,
        progress=100,
        size=15,
    )
    report.file.save(f"credit-report-{report.pk}.pdf", ContentFile(b"%PDF-1.4 report"))
    return report


def insurance_file(tenant, m: Markers, *, user, buyer, invoice, payment_plan) -> dict:
    """The tenant's trade credit insurance: a policy with its terms (version 1) that names
    `buyer`, the buyer's cover under it with two decisions, an overdue notification of `invoice`
    with an extension request (a payment plan), a submitted declaration with a correction and
    the coverage row the daily sweep wrote for `invoice`."""
    policy = InsurancePolicyFactory(
        tenant=tenant,
        insurer=m.insurer,
        number=m.policy_number,
        name=m.policy_name,
        currency="EUR",
        created_by=user,
    )
    version = PolicyVersionFactory(
        policy=policy,
        tenant=tenant,
        version=1,
        period_start=POLICY_YEAR_START,
        period_end=POLICY_YEAR_END,
        effective_from=POLICY_YEAR_START,
        created_by=user,
    )
    granted_on = date.today() - timedelta(days=60)
    increased_on = date.today() - timedelta(days=30)
    cover = InsurerCoverFactory(
        buyer=buyer,
        insurer=m.insurer,
        policy=policy,
        policy_number=m.policy_number,
        decision_reference=m.cover_reference,
        amount=Decimal("100000.00"),
        decision_date=increased_on,
        history=False,
    )
    CoverDecisionFactory(
        cover=cover, kind="grant", amount=Decimal("80000.00"), decision_date=granted_on
    )
    CoverDecisionFactory(
        cover=cover,
        kind="increase",
        amount=Decimal("100000.00"),
        decision_date=increased_on,
        reference=m.cover_reference,
    )
    # The factory's terms: 60 days' maximum extension, then 30 days to notify; 180 days'
    # waiting period, then 90 days to file the claim.
    due = invoice.due_date
    notification = OverdueNotification.objects.create(
        tenant=tenant,
        policy=policy,
        buyer=buyer,
        deadline=due + timedelta(days=90),
        overdue_amount=invoice.amount,
        currency=invoice.currency,
        notes=m.overdue_notes,
    )
    declaration = Declaration.objects.create(
        tenant=tenant,
        policy=policy,
        period_start=POLICY_YEAR_START,
        period_end=FIRST_PERIOD_END,
        due_date=FIRST_PERIOD_END + timedelta(days=15),
        basis="turnover",
        declared_amount=Decimal(m.declared_amount),
        premium=(Decimal(m.declared_amount) * Decimal("0.0018")).quantize(Decimal("0.01")),
        currency="EUR",
        breakdown={"basis": "turnover", "version": 1, "base_rate_pct": "0.18000", "lines": []},
        status="submitted",
        reviewed_at=timezone.now(),
        reviewed_by=user,
        submitted_at=timezone.now(),
        submitted_by=user,
    )
    insured = Decimal(m.insured)
    return {
        "insurance_policy": policy,
        "policy_version": version,
        "policy_buyer": PolicyBuyer.objects.create(
            tenant=tenant, policy=policy, buyer=buyer, kind="included"
        ),
        "insurer_cover": cover,
        "overdue_notification": notification,
        "overdue_notification_item": OverdueNotificationItem.objects.create(
            tenant=tenant,
            notification=notification,
            invoice=invoice,
            due_date=due,
            outstanding=invoice.amount,
            currency=invoice.currency,
            notify_by=due + timedelta(days=90),
        ),
        "extension_request": ExtensionRequest.objects.create(
            tenant=tenant,
            notification=notification,
            kind="payment_plan",
            requested_until=due + timedelta(days=30),
            payment_plan=payment_plan,
            notes=m.extension_notes,
        ),
        "declaration": declaration,
        "declaration_adjustment": DeclarationAdjustment.objects.create(
            tenant=tenant,
            declaration=declaration,
            kind="correction",
            amount_change=Decimal("1000.00"),
            premium_change=Decimal("1.80"),
            reason=m.declaration_correction,
        ),
        "invoice_coverage": InvoiceCoverage.objects.create(
            tenant=tenant,
            invoice=invoice,
            policy=policy,
            buyer=buyer,
            as_of=date.today(),
            due_date=due,
            outstanding=invoice.amount,
            insured=insured,
            uninsured=invoice.amount - insured,
            over_cover=Decimal("0"),
            disputed=True,
            extension_end=due + timedelta(days=60),
            notify_by=due + timedelta(days=90),
            earliest_claim=due + timedelta(days=180),
            claim_by=due + timedelta(days=270),
            notified=True,
            cover_lost=False,
        ),
    }


def claims_file(tenant, m: Markers, *, user, policy) -> dict:
    """The tenant's claims: an insolvent buyer covered under `policy`, an overdue
    notification of its invoice sent to the insurer, and a claim on that invoice taken through
    the whole workflow (submitted, reviewed, approved and paid) with a comment, a document, a
    recovery and a write-off."""
    claim_buyer = BuyerFactory(
        tenant=tenant, erp_reference=m.claim_buyer_ref, legal_name=m.claim_buyer
    )
    InsurerCoverFactory(
        buyer=claim_buyer,
        insurer=m.insurer,
        policy=policy,
        policy_number=m.policy_number,
        amount=Decimal("100000.00"),
        decision_date=date.today() - timedelta(days=90),
    )
    # Delivered 45 days ago, due 15 days ago: 50,000 claimed, 45,000 indemnity (90 %).
    claim_invoice = InvoiceFactory(
        buyer=claim_buyer, erp_reference=m.claim_invoice_ref, amount=Decimal("50000.00")
    )
    due = claim_invoice.due_date
    notification = OverdueNotification.objects.create(
        tenant=tenant,
        policy=policy,
        buyer=claim_buyer,
        deadline=due + timedelta(days=90),
        overdue_amount=claim_invoice.amount,
        currency=claim_invoice.currency,
        status="sent",
        sent_on=date.today(),
        insurer_reference=f"{m.claim_reference}-NOTIFIED",
    )
    OverdueNotificationItem.objects.create(
        tenant=tenant,
        notification=notification,
        invoice=claim_invoice,
        due_date=due,
        outstanding=claim_invoice.amount,
        currency=claim_invoice.currency,
        notify_by=due + timedelta(days=90),
    )
    steps: dict[str, Any] = {"tenant": tenant, "actor": user}
    claim = claim_services.claim_create(
        **steps,
        policy=policy,
        buyer=claim_buyer,
        cause=Claim.Cause.INSOLVENCY,
        loss_date=date.today() - timedelta(days=1),
        invoice_ids=[claim_invoice.pk],
        notes=m.claim_notes,
    )
    claim = claim_services.claim_submit(**steps, claim=claim)
    claim = claim_services.claim_start_review(**steps, claim=claim)
    claim = claim_services.claim_decide(
        **steps, claim=claim, decision="approved", insurer_reference=m.claim_reference
    )
    assert claim.approved_amount == Decimal("45000.00"), claim.breakdown
    claim = claim_services.claim_mark_paid(
        **steps, claim=claim, paid_amount=claim.approved_amount, paid_on=date.today()
    )
    claim_services.claim_comment(**steps, claim=claim, comment=m.claim_comment)
    return {
        "claim_buyer": claim_buyer,
        "claim_invoice": claim_invoice,
        "claim_notification": notification,
        "claim": claim,
        "claim_document": claim_services.claim_document_add(
            **steps,
            claim=claim,
            title=m.claim_document,
            uploaded_file=SimpleUploadedFile(
                "proof-of-loss.txt", m.claim_document.encode(), "text/plain"
            ),
        ),
        "recovery": claim_services.recovery_record(
            **steps,
            claim=claim,
            received_on=date.today(),
            amount=Decimal(m.recovered),
            source="estate",
            note=m.recovery_note,
        ),
        "write_off": claim_services.write_off_record(
            **steps,
            claim=claim,
            amount=Decimal("1000.00"),
            written_off_on=date.today(),
            reason=m.write_off_reason,
        ),
    }


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def tenant_a_objects(tenant_a, owner, teammate, outsider, media_root):
    with active(tenant_a):
        api_key = ApiKeyFactory(tenant=tenant_a, name="Tenant A ERP link")
        membership = Membership.objects.get(user=teammate)
        objects = credit_file(tenant_a, A, user=owner)
        # The latest event: the dashboard shows the ten latest.
        AuditEventFactory(tenant=tenant_a, object_label="tenant-a-audit-marker")
        # Tenant A's data addressed to the outsider himself (say he once worked for tenant A):
        # only the active tenant hides it from him.
        notification_to_outsider = Notification.objects.create(
            tenant=tenant_a, user=outsider, message=A.notification, link="/limits/queue/"
        )
    return {
        "membership": membership,
        "api_key": api_key,
        "notification_to_outsider": notification_to_outsider,
        **objects,
    }


@pytest.fixture
def tenant_b_objects(tenant_b, outsider, media_root):
    with active(tenant_b):
        ApiKeyFactory(tenant=tenant_b, name="Tenant B ERP link")
        objects = credit_file(tenant_b, B, user=outsider)
        # The latest event: the dashboard shows the ten latest.
        AuditEventFactory(tenant=tenant_b, object_label="tenant-b-audit-marker")
        return objects


@pytest.fixture
def tenant_b_data(tenant_b_objects, api_key_b):
    """Tenant B's data; the value is B's write key: (ApiKey, raw key)."""
    return api_key_b


# --- Helpers ---------------------------------------------------------------------------------


def url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def response_text(response) -> str:
    """The body as text; the cells of a spreadsheet."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith(XLSX):
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            str(cell)
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    return content.decode()


def page_text_without_its_url_and_csrf_token(response) -> str:
    url = response.request["PATH_INFO"]
    if response.request.get("QUERY_STRING"):
        url = f"{url}?{response.request['QUERY_STRING']}"
    text = (
        response_text(response)
        .replace(url, "")
        .replace(escape(url), "")  # in an attribute: "?a=1&amp;b=2"
        .replace(response.request["PATH_INFO"], "")
    )
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    # The references that new-record forms suggest are random (buyers.forms.new_reference).
    return re.sub(r"\b([A-Z]+)-\d{8}-[0-9A-F]{6}\b", r"\1-<new reference>", text)


def was_accepted(response) -> bool:
    """A success, not a form shown again with its errors."""
    text = response_text(response)
    return response.status_code in (200, 201, 202, 204, 302) and 'role="alert"' not in text


def param_values(params: list) -> list[tuple]:
    return [param.values for param in params]


def tenant_state(tenant) -> dict[str, list[dict]]:
    """Every row the tenant owns, in every tenant-owned table."""
    with active(tenant):
        return {
            model._meta.label: list(model.objects.order_by("pk").values())
            for model in apps.get_models()
            if issubclass(model, TenantOwnedModel)
        }


def is_api(url_name: str) -> bool:
    return url_name.startswith("api:")


def credentials(url_name: str) -> list[str]:
    return ["session", "api_key"] if is_api(url_name) else ["session"]


def with_outsider_credentials(rows: list) -> list:
    return [
        pytest.param(*row.values, credential, id=f"{row.id}-{credential}")
        for row in rows
        for credential in credentials(url_name_of(row.values[1]))
    ]


def send(client, user, api_key, credential, method, url_name, url, data=None):
    """`method` `url` as `user` (session) or with `api_key` (raw key); JSON for the API. The
    data of a GET is its query."""
    kwargs: dict[str, Any] = {}
    if credential == "api_key":
        kwargs["headers"] = bearer(api_key)
    else:
        client.force_login(user)
    if method == "get":
        if data:
            kwargs["data"] = data
    else:
        kwargs["data"] = data() if callable(data) else (data or {})
        if is_api(url_name):
            kwargs["content_type"] = "application/json"
    return getattr(client, method)(url, **kwargs)


def form_of(method: str, url_name: str) -> Any:
    """The data of an object row's request: POST_DATA for its writes, nothing for a GET."""
    return None if method == "get" else POST_DATA.get(url_name)


def object_args(url_name: str, target: Any) -> list:
    return URL_ARGS[url_name](target) if url_name in URL_ARGS else [target.pk]


def object_url(url_name: str, target: Any) -> str:
    return reverse(url_name, args=object_args(url_name, target))


def missing_object_url(url_name: str, target: Any) -> str:
    """The same URL for objects that exist nowhere."""
    args = object_args(url_name, target)
    missing = [MISSING_PK if isinstance(arg, int) else MISSING_REFERENCE for arg in args]
    return reverse(url_name, args=missing)


def send_as_outsider(client, outsider, api_key_b, credential, method, url_name, url):
    return send(
        client, outsider, api_key_b[1], credential, method, url_name, url, form_of(method, url_name)
    )


# --- Coverage --------------------------------------------------------------------------------


def test_every_url_is_listed_in_a_tenancy_table():
    listed = (
        {url_name_of(spec) for spec, _marker in param_values(TENANT_LIST_PAGES)}
        | {url_name_of(spec) for spec, _marker in param_values(TENANT_API_ENDPOINTS)}
        | {name for _method, name, _key in param_values(TENANT_OBJECT_PAGES)}
        | {name for _method, name, *_rest in param_values(TENANT_REFERENCE_WRITES)}
        | {url_name_of(spec) for _method, spec, _data in param_values(TENANT_COLLECTION_WRITES)}
        | NOT_TENANT_SCOPED
    )

    names = url_names(get_resolver())

    assert sorted(names - listed) == [], "new URLs: give each a row, and so an outsider test"
    assert sorted(listed - names) == [], "rows for URLs that no longer exist"


def test_tenant_a_and_tenant_b_markers_are_distinct():
    for marker in TENANT_A_MARKERS:
        assert not any(marker in text for text in ["Tenant B Ltd", *B.texts()]), marker


# --- Lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("url_spec", "tenant_b_marker"), TENANT_LIST_PAGES)
def test_a_list_page_shows_the_outsider_only_its_own_tenants_data(
    client, outsider, tenant_a_objects, tenant_b_data, url_spec, tenant_b_marker
):
    client.force_login(outsider)

    response = client.get(url_of(url_spec))

    assert response.status_code == 200
    page = response_text(response)
    assert tenant_b_marker in page
    assert [marker for marker in TENANT_A_MARKERS if marker in page] == []


@pytest.mark.parametrize(("url_spec", "tenant_b_marker"), TENANT_API_ENDPOINTS)
@pytest.mark.parametrize("credential", ["api_key", "session"])
def test_an_api_endpoint_shows_tenant_b_only_its_own_data(
    client, outsider, tenant_a_objects, tenant_b_data, url_spec, tenant_b_marker, credential
):
    headers = {}
    if credential == "api_key":
        headers = bearer(tenant_b_data[1])
    else:
        client.force_login(outsider)

    response = client.get(url_of(url_spec), headers=headers)

    assert response.status_code == 200
    body = response.content.decode()
    assert tenant_b_marker in body
    assert [marker for marker in TENANT_A_MARKERS if marker in body] == []


def test_filtering_the_api_audit_trail_by_another_tenants_object_finds_nothing(
    client, tenant_a_objects, tenant_b_data
):
    api_key = tenant_a_objects["api_key"]

    response = client.get(
        reverse("api:audit-event-list"),
        {"object_type": "api.apikey", "object_id": api_key.pk},
        headers=bearer(tenant_b_data[1]),
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


# --- Objects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url_name", "object_key", "credential"),
    with_outsider_credentials(TENANT_OBJECT_PAGES),
)
def test_outsider_gets_404_for_tenant_a_objects_and_nothing_changes(
    client,
    tenant_a,
    outsider,
    tenant_a_objects,
    tenant_b_data,
    method,
    url_name,
    object_key,
    credential,
):
    before = tenant_state(tenant_a)
    url = object_url(url_name, tenant_a_objects[object_key])

    response = send_as_outsider(client, outsider, tenant_b_data, credential, method, url_name, url)

    assert response.status_code == REFUSED_BEFORE_LOOKUP.get((url_name, credential), 404)
    assert tenant_state(tenant_a) == before


@pytest.mark.parametrize(
    ("method", "url_name", "object_key", "credential"),
    with_outsider_credentials(TENANT_OBJECT_PAGES),
)
def test_another_tenants_object_looks_exactly_like_a_missing_one(
    client, outsider, tenant_a_objects, tenant_b_data, method, url_name, object_key, credential
):
    target = tenant_a_objects[object_key]

    def send_to(url: str):
        return send_as_outsider(client, outsider, tenant_b_data, credential, method, url_name, url)

    other_tenants = send_to(object_url(url_name, target))
    missing = send_to(missing_object_url(url_name, target))

    expected = REFUSED_BEFORE_LOOKUP.get((url_name, credential), 404)
    assert other_tenants.status_code == missing.status_code == expected
    assert page_text_without_its_url_and_csrf_token(
        other_tenants
    ) == page_text_without_its_url_and_csrf_token(missing)


# Objects that tenant A's members cannot reach either (no positive control).
ADDRESSED_TO_THE_OUTSIDER = {"notification_to_outsider"}


@pytest.mark.parametrize(
    ("method", "url_name", "object_key"),
    [row for row in TENANT_OBJECT_PAGES if row.values[2] not in ADDRESSED_TO_THE_OUTSIDER],
)
def test_tenant_a_finds_its_own_object_at_every_object_row(
    client, owner, api_key_a, tenant_a_objects, method, url_name, object_key
):
    """The positive control: the rows' URLs do name tenant A's objects."""
    credential = "api_key" if is_api(url_name) else "session"
    if (url_name, credential) in REFUSED_BEFORE_LOOKUP:
        credential = "session"
    url = object_url(url_name, tenant_a_objects[object_key])

    response = send(
        client, owner, api_key_a[1], credential, method, url_name, url, form_of(method, url_name)
    )

    assert response.status_code != 404
    assert response.status_code < 500
    if method == "get":
        assert response.status_code == 200


# A child of tenant A under a parent of tenant B's: (method, url name, key of the child,
# URL arguments for B's objects and the child's primary key).
CHILD_UNDER_OWN_PARENT = [
    pytest.param(
        "post",
        "buyers:dispute-resolve",
        "dispute",
        lambda own, pk: [own["buyer"].pk, pk],
        id="buyers-dispute-resolve",
    ),
    pytest.param(
        "post",
        "buyers:instalment-pay",
        "instalment",
        lambda own, pk: [own["buyer"].pk, pk],
        id="buyers-instalment-pay",
    ),
    pytest.param(
        "get",
        "buyers:document-download",
        "document",
        lambda own, pk: [own["buyer"].pk, pk],
        id="buyers-document-download",
    ),
    pytest.param(
        "post",
        "api:instalment-payment",
        "instalment",
        lambda own, pk: [own["payment_plan"].pk, pk],
        id="api-instalment-payment",
    ),
    # Tenant A's buyer under tenant B's insurance policy.
    *(
        pytest.param(
            method,
            url_name,
            "buyer",
            lambda own, pk: [own["insurance_policy"].pk, pk],
            id=f"{url_name.replace(':', '-')}-{method}",
        )
        for method, url_name in (
            ("get", "insurance:cover-decide"),
            ("post", "insurance:cover-decide"),
            ("get", "insurance:cover-history"),
        )
    ),
]


@pytest.mark.parametrize(
    ("method", "url_name", "object_key", "args", "credential"),
    with_outsider_credentials(CHILD_UNDER_OWN_PARENT),
)
def test_tenant_a_child_under_tenant_b_parent_is_not_found(
    client,
    tenant_a,
    outsider,
    tenant_a_objects,
    tenant_b_objects,
    tenant_b_data,
    method,
    url_name,
    object_key,
    args,
    credential,
):
    before = tenant_state(tenant_a)

    def send_to(pk: int):
        url = reverse(url_name, args=args(tenant_b_objects, pk))
        return send_as_outsider(client, outsider, tenant_b_data, credential, method, url_name, url)

    other_tenants = send_to(tenant_a_objects[object_key].pk)
    missing = send_to(MISSING_PK)

    assert other_tenants.status_code == missing.status_code == 404
    assert page_text_without_its_url_and_csrf_token(
        other_tenants
    ) == page_text_without_its_url_and_csrf_token(missing)
    assert tenant_state(tenant_a) == before


# Forms started from an object named in the query string: (url name, URL arguments for B's
# objects, query for the references).
PREFILLED_FORMS = [
    pytest.param(
        "limits:request-create",
        lambda own: [],
        lambda ref: {"buyer": ref.buyer_pk},
        id="limits-request-create-for-buyer",
    ),
    pytest.param(
        "buyers:dispute-open",
        lambda own: [own["buyer"].pk],
        lambda ref: {"invoice": ref.invoice_pk},
        id="buyers-dispute-open-for-invoice",
    ),
    # claims: a new claim for another tenant's policy and buyer, or from its notification
    pytest.param(
        "claims:create",
        lambda own: [],
        lambda ref: {"policy": ref.policy_pk, "buyer": ref.buyer_pk},
        id="claims-create-for-policy-and-buyer",
    ),
    pytest.param(
        "claims:create",
        lambda own: [],
        lambda ref: {"policy": ref.own_policy_pk, "buyer": ref.buyer_pk},
        id="claims-create-for-buyer-under-own-policy",
    ),
    pytest.param(
        "claims:create",
        lambda own: [],
        lambda ref: {"notification": ref.claim_notification_pk},
        id="claims-create-from-notification",
    ),
    # The claim list filtered by another tenant's policy.
    pytest.param(
        "claims:list",
        lambda own: [],
        lambda ref: {"policy": ref.policy_pk},
        id="claims-list-by-policy",
    ),
    # The back-test and the calibration page of another tenant's model version.
    pytest.param(
        "monitoring:backtest",
        lambda own: [],
        lambda ref: {"model_version": ref.model_version},
        id="monitoring-backtest-by-model-version",
    ),
    pytest.param(
        "monitoring:calibration",
        lambda own: [],
        lambda ref: {"model_version": ref.model_version},
        id="monitoring-calibration-by-model-version",
    ),
]


@pytest.mark.parametrize(("url_name", "args", "query"), PREFILLED_FORMS)
def test_a_form_prefilled_with_another_tenants_object_looks_like_a_missing_one(
    client, outsider, tenant_a_objects, tenant_b_objects, tenant_b_data, url_name, args, query
):
    client.force_login(outsider)
    url = reverse(url_name, args=args(tenant_b_objects))

    other_tenants = client.get(url, query(Refs.to(tenant_a_objects, sender=tenant_b_objects)))
    missing = client.get(url, query(Refs.to(None, sender=tenant_b_objects)))

    assert other_tenants.status_code == missing.status_code
    other_tenants_text = page_text_without_its_url_and_csrf_token(other_tenants)
    assert other_tenants_text == page_text_without_its_url_and_csrf_token(missing)
    # (Without the URL: pages repeat it, with the query the outsider sent, e.g. in the language
    # switch's "next"; a model version is a name.)
    assert [marker for marker in TENANT_A_MARKERS if marker in other_tenants_text] == []


# --- Writes that name objects by reference ---------------------------------------------------


def normalised(response, refs: Refs, missing: Refs) -> str:
    """The answer's text with the references sent replaced by those of the missing objects."""
    text = page_text_without_its_url_and_csrf_token(response)
    for name in ("buyer", "invoice", "payment_plan", "model_version"):
        text = text.replace(getattr(refs, name), getattr(missing, name))
    return text


@pytest.mark.parametrize(
    ("method", "url_name", "args", "body", "same_answer", "credential"),
    with_outsider_credentials(TENANT_REFERENCE_WRITES),
)
def test_tenant_a_references_in_a_request_are_unknown_to_tenant_b(
    client,
    tenant_a,
    outsider,
    tenant_a_objects,
    tenant_b_objects,
    tenant_b_data,
    method,
    url_name,
    args,
    body,
    same_answer,
    credential,
):
    theirs = Refs.to(tenant_a_objects, sender=tenant_b_objects)
    nowhere = Refs.to(None, sender=tenant_b_objects)
    before = tenant_state(tenant_a)

    def send_with(refs: Refs):
        url = reverse(url_name, args=args(refs))
        return send(
            client, outsider, tenant_b_data[1], credential, method, url_name, url, body(refs)
        )

    missing = send_with(nowhere)
    other_tenants = send_with(theirs)

    assert other_tenants.status_code == missing.status_code
    if same_answer or missing.status_code >= 400:
        assert normalised(other_tenants, theirs, nowhere) == normalised(missing, nowhere, nowhere)
    assert tenant_state(tenant_a) == before


@pytest.mark.parametrize(
    ("method", "url_name", "args", "body", "same_answer"), TENANT_REFERENCE_WRITES
)
def test_tenant_a_may_send_its_own_references(
    client, owner, api_key_a, tenant_a_objects, method, url_name, args, body, same_answer
):
    """The positive control: the rows' requests succeed for the tenant whose references they
    name, so only the tenant check can refuse them to tenant B."""
    credential = "api_key" if is_api(url_name) else "session"
    refs = Refs.to(tenant_a_objects, sender=tenant_a_objects)

    response = send(
        client,
        owner,
        api_key_a[1],
        credential,
        method,
        url_name,
        reverse(url_name, args=args(refs)),
        body(refs),
    )

    assert response.status_code in (200, 201, 202, 204, 302), response_text(response)
    if not is_api(url_name):
        assert response.status_code == 302, "the form was not accepted"


@pytest.mark.parametrize(
    ("method", "url_spec", "data", "credential"),
    with_outsider_credentials(TENANT_COLLECTION_WRITES),
)
def test_tenant_b_writing_its_own_settings_changes_nothing_of_tenant_a(
    client,
    tenant_a,
    outsider,
    tenant_a_objects,
    tenant_b_objects,
    tenant_b_data,
    method,
    url_spec,
    data,
    credential,
):
    """A row's data may be made from tenant B's own references (a callable taking them)."""
    if callable(data):
        data = data(Refs.to(tenant_b_objects, sender=tenant_b_objects))
    before = tenant_state(tenant_a)

    response = send(
        client,
        outsider,
        tenant_b_data[1],
        credential,
        method,
        url_name_of(url_spec),
        url_of(url_spec),
        data,
    )

    assert was_accepted(response), response_text(response)
    assert [marker for marker in TENANT_A_MARKERS if marker in response_text(response)] == []
    assert tenant_state(tenant_a) == before


# The model lab's starts: (url name, data, the model of the row each creates).
MODEL_LAB_STARTS = [
    pytest.param("monitoring:backtest", BACKFILL_WINDOW, BackfillRun, id="monitoring-backfill"),
    pytest.param("api:backfill-list", BACKFILL_WINDOW, BackfillRun, id="api-backfill"),
    pytest.param("monitoring:models", {}, ScoringModel, id="monitoring-model-train"),
    pytest.param("api:model-list", {}, ScoringModel, id="api-model-train"),
    pytest.param(
        "monitoring:calibration",
        {"model_version": B.model_version, "prior_strength": "50"},
        PdCalibration,
        id="monitoring-calibrate",
    ),
    pytest.param(
        "api:calibration-list",
        {"model_version": B.model_version},
        PdCalibration,
        id="api-calibrate",
    ),
]


@pytest.mark.parametrize(("url_name", "data", "model"), MODEL_LAB_STARTS)
def test_a_model_lab_start_of_tenant_b_is_its_own_whatever_tenant_a_has_going(
    client,
    tenant_a,
    tenant_b,
    outsider,
    tenant_a_objects,
    tenant_b_data,
    url_name,
    data,
    model,
):
    """Tenant A has a back-fill queued (one at a time per tenant) and this month's first
    scorecard training: tenant B's start is a new row of B's own, numbered in B alone, and its
    answer names nothing of tenant A's."""
    version = f"sc-{local_today():%Y.%m}-1"
    with active(tenant_a):
        BackfillRun.objects.filter(pk=tenant_a_objects["backfill_run"].pk).update(
            status=BackfillRun.Status.QUEUED, error=""
        )
        ScoringModel.objects.create(
            tenant=tenant_a,
            version=version,
            status=ScoringModel.Status.TRAINING,
            train_from=date(2021, 1, 1),
            train_to=date(2024, 12, 1),
            test_from=date(2025, 1, 1),
            test_to=date(2025, 12, 1),
        )
    before = tenant_state(tenant_a)
    with active(tenant_b):
        existing = set(model.objects.values_list("pk", flat=True))
    credential = "api_key" if is_api(url_name) else "session"

    response = send(
        client, outsider, tenant_b_data[1], credential, "post", url_name, reverse(url_name), data
    )

    assert response.status_code in (201, 202, 302), response_text(response)
    with active(tenant_b):
        created = list(model.objects.exclude(pk__in=existing))
    assert [row.tenant_id for row in created] == [tenant_b.pk]
    if model is ScoringModel:
        assert created[0].version == version
    assert [marker for marker in TENANT_A_MARKERS if marker in response_text(response)] == []
    assert tenant_state(tenant_a) == before


# Requests that take an Idempotency-Key, with a body that is valid in both tenants.
IDEMPOTENT_REQUESTS = [
    pytest.param(
        "api:buyer-bulk",
        {"records": [{**NEW_BUYER, "erp_reference": "C-NEW"}]},
        id="api-buyer-bulk",
    ),
    pytest.param(
        "api:limit-request-list",
        {
            "buyer_erp_reference": "C-NEW",
            "amount": "50000.00",
            "payment_terms_days": 30,
            "justification": "Same key, same body",
        },
        id="api-limit-request-create",
    ),
]


@pytest.mark.parametrize(("url_name", "body"), IDEMPOTENT_REQUESTS)
def test_an_idempotency_key_tenant_a_used_is_not_replayed_to_tenant_b(
    client, tenant_a, tenant_b, api_key_a, tenant_a_objects, tenant_b_data, url_name, body
):
    """The same request with the same Idempotency-Key from two tenants: each is processed for
    its own tenant; tenant B never gets tenant A's stored answer."""
    for tenant in (tenant_a, tenant_b):
        with active(tenant):
            BuyerFactory(tenant=tenant, erp_reference="C-NEW")

    def post(raw_key: str):
        return client.post(
            reverse(url_name),
            body,
            content_type="application/json",
            headers={**bearer(raw_key), "Idempotency-Key": "the-same-key"},
        )

    first = post(api_key_a[1])
    tenant_a_after_its_request = tenant_state(tenant_a)
    second = post(tenant_b_data[1])

    assert first.status_code in (200, 201), response_text(first)
    assert second.status_code == first.status_code, response_text(second)
    assert "Idempotent-Replayed" not in second.headers
    assert [marker for marker in TENANT_A_MARKERS if marker in response_text(second)] == []
    assert tenant_state(tenant_a) == tenant_a_after_its_request
    with active(tenant_b):  # tenant B's request was processed, and its answer stored, in B
        assert IdempotencyRecord.objects.filter(key="the-same-key").exists()


# --- Global reference data -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_spec",
    [
        "api:country-risk-list",
        Url("api:country-risk-history", {"code": "DE"}),
    ],
)
def test_global_reference_data_is_the_same_for_every_tenant(
    client, api_key_a, tenant_a_objects, tenant_b_data, url_spec
):
    seen_by_a = client.get(url_of(url_spec), headers=bearer(api_key_a[1]))
    seen_by_b = client.get(url_of(url_spec), headers=bearer(tenant_b_data[1]))

    assert seen_by_a.status_code == seen_by_b.status_code == 200
    assert seen_by_a.content == seen_by_b.content


def test_the_country_risk_page_shows_no_tenant_data(client, outsider, tenant_a_objects):
    client.force_login(outsider)

    page = client.get(reverse("monitoring:countries")).content.decode()

    assert [marker for marker in TENANT_A_MARKERS if marker in page] == []


# --- Anonymous visitors ----------------------------------------------------------------------


@pytest.mark.parametrize(("url_spec", "_marker"), TENANT_LIST_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, url_spec, _marker):
    url = url_of(url_spec)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(("url_spec", "_marker"), TENANT_API_ENDPOINTS)
def test_an_anonymous_api_call_is_refused_with_401(client, url_spec, _marker):
    response = client.get(url_of(url_spec))

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
