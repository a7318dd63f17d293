"""Reading claims: the facts the eligibility checks and the indemnity need (a few queries per
claim), the claim list with its filters, the timeline, and the claims KPIs.

KPIs (`claims_kpis`), amounts in the tenant's base currency (converted with the rates of
``as_of``):

- **handling time**: days from ``submitted_at`` to ``paid_at`` of each paid claim; median and
  90th percentile (nearest-rank) over the paid claims.
- **loss recovery rate**: (paid indemnity + recoveries) ÷ loss, where the loss is the claimed
  outstanding of the paid claims (closed with a payment).
- **bad-debt ratio**: write-offs of the last 12 months ÷ credit sales of the last 12 months
  (invoices issued in the 365 days up to ``as_of``, `buyers.ledger.amount_in_base`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db.models import Min, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from buyers import ledger, receivables
from buyers.models import Invoice
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.models import Tenant
from policies.insurance import cover as cover_rules
from policies.insurance.deadlines import DeadlineTerms, invoice_deadlines
from policies.insurance.policy_selectors import figures_of
from policies.models import (
    CoverDecision,
    ExtensionRequest,
    InsurancePolicy,
    OverdueNotification,
    OverdueNotificationItem,
    PolicyVersion,
)

from . import eligibility, indemnity, workflow
from .models import Claim, ClaimEvent, Recovery, WriteOff

ZERO: Final = Decimal("0.00")
RATE_PLACES: Final = Decimal("0.0000000001")
CREDIT_SALES_DAYS: Final = 365


# --- Facts for one claim ---------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceEvaluation:
    """One claimed invoice: its figures in the policy currency, facts and checks."""

    invoice: Invoice
    outstanding: Decimal
    currency: str
    fx_rate: Decimal
    outstanding_in_policy_currency: Decimal
    cover_at_delivery: Decimal
    facts: eligibility.InvoiceFacts
    checks: list[eligibility.Check]

    @property
    def eligible(self) -> bool:
        return eligibility.is_eligible(self.checks)

    def line(self) -> indemnity.InvoiceLine:
        return indemnity.InvoiceLine(
            invoice_id=self.invoice.pk,
            delivered_on=self.invoice.issue_date,
            outstanding=self.outstanding_in_policy_currency,
            cover_at_delivery=self.cover_at_delivery,
            eligible=self.eligible,
        )


def rate_between(rates: Mapping[str, Decimal], *, source: str, target: str) -> Decimal:
    """The factor turning an amount in `source` into `target` (`rates` are units per EUR)."""
    if source == target:
        return Decimal(1)
    if source not in rates or target not in rates:
        missing = source if source not in rates else target
        raise ValidationError(
            {"invoice_ids": _("No exchange rate for %(currency)s.") % {"currency": missing}}
        )
    return (rates[target] / rates[source]).quantize(RATE_PLACES)


def terms_in_force(*, policy: InsurancePolicy, on: date) -> PolicyVersion:
    version = (
        PolicyVersion.objects.filter(policy=policy, effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .first()
    )
    if version is None:
        version = PolicyVersion.objects.filter(policy=policy).order_by("effective_from").first()
    if version is None:
        raise ValidationError({"policy": _("The policy has no terms yet.")})
    return version


def _covers_at(
    decisions: Sequence[CoverDecision],
    *,
    days: Iterable[date],
    rates: Mapping[str, Decimal],
    currency: str,
) -> dict[date, Decimal]:
    """The cover in force on each day (policy currency), the largest of the buyer's covers."""
    by_cover: dict[int, list[CoverDecision]] = {}
    for decision in decisions:
        by_cover.setdefault(decision.cover_id, []).append(decision)
    result: dict[date, Decimal] = {}
    for day in days:
        best = ZERO
        for cover_decisions in by_cover.values():
            amount = cover_rules.amount_in_force(figures_of(cover_decisions), day)
            if amount <= 0:
                continue
            in_force = [d for d in cover_decisions if d.effective_date <= day]
            source = max(in_force, key=lambda d: (d.effective_date, d.pk)).currency
            converted = indemnity.cents(
                amount * rate_between(rates, source=source, target=currency)
            )
            best = max(best, converted)
        result[day] = best
    return result


def evaluate_invoices(
    *,
    policy: InsurancePolicy,
    version: PolicyVersion,
    invoices: Sequence[Invoice],
    cause: str,
    loss_date: date,
    filed_on: date,
    fx_date: date,
) -> list[InvoiceEvaluation]:
    """Eligibility facts and checks of `invoices` (a handful of queries in all)."""
    rates = fx_rates_on(fx_date)
    invoice_ids = [invoice.pk for invoice in invoices]
    buyer_ids = {invoice.buyer_id for invoice in invoices}
    decisions = list(
        CoverDecision.objects.filter(cover__policy=policy, cover__buyer_id__in=buyer_ids).order_by(
            "effective_date", "id"
        )
    )
    covers = _covers_at(
        decisions,
        days={invoice.issue_date for invoice in invoices},
        rates=rates,
        currency=policy.currency,
    )
    sent: dict[int, date] = {}
    notification_of: dict[int, list[int]] = {}
    for invoice_id, notification_id, sent_on in OverdueNotificationItem.objects.filter(
        invoice_id__in=invoice_ids,
        notification__status=OverdueNotification.Status.SENT,
        notification__policy=policy,
    ).values_list("invoice_id", "notification_id", "notification__sent_on"):
        notification_of.setdefault(invoice_id, []).append(notification_id)
        if sent_on is not None and (invoice_id not in sent or sent_on < sent[invoice_id]):
            sent[invoice_id] = sent_on
    requested: dict[int, date] = {}
    granted: dict[int, date] = {}
    all_notifications = {pk for pks in notification_of.values() for pk in pks}
    for notification_id, status, until in ExtensionRequest.objects.filter(
        notification_id__in=all_notifications
    ).values_list("notification_id", "status", "requested_until"):
        if status != ExtensionRequest.Status.REFUSED:
            requested[notification_id] = max(until, requested.get(notification_id, until))
        if status == ExtensionRequest.Status.GRANTED:
            granted[notification_id] = max(until, granted.get(notification_id, until))
    terms = DeadlineTerms(
        max_extension_days=version.max_extension_days,
        notification_days=version.notification_days,
        waiting_period_days=version.waiting_period_days,
        claim_filing_days=version.claim_filing_days,
    )
    claim_facts = eligibility.ClaimFacts(
        cause=cause,
        loss_date=loss_date,
        filed_on=filed_on,
        covered_risks=tuple(version.covered_risks),
    )
    evaluations = []
    for invoice in invoices:
        pks = notification_of.get(invoice.pk, [])
        granted_until = max((granted[pk] for pk in pks if pk in granted), default=None)
        extended_until = max((requested[pk] for pk in pks if pk in requested), default=None)
        deadlines = invoice_deadlines(
            due_date=invoice.due_date, terms=terms, granted_until=granted_until
        )
        outstanding = max(ZERO, invoice.amount - invoice.paid_amount)
        rate = rate_between(rates, source=invoice.currency, target=policy.currency)
        facts = eligibility.InvoiceFacts(
            invoice_id=invoice.pk,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            cover_at_delivery=covers.get(invoice.issue_date, ZERO),
            disputed=invoice.status == receivables.DISPUTED_INVOICE_STATUS,
            notify_by=deadlines.notify_by,
            sent_on=sent.get(invoice.pk),
            earliest_claim=deadlines.earliest_claim,
            claim_by=deadlines.claim_by,
            max_extension_end=eligibility.max_extension_end(
                due_date=invoice.due_date, max_extension_days=version.max_extension_days
            ),
            extended_until=extended_until,
            consented_until=granted_until,
        )
        evaluations.append(
            InvoiceEvaluation(
                invoice=invoice,
                outstanding=outstanding,
                currency=invoice.currency,
                fx_rate=rate,
                outstanding_in_policy_currency=indemnity.cents(outstanding * rate),
                cover_at_delivery=facts.cover_at_delivery,
                facts=facts,
                checks=eligibility.invoice_checks(facts, claim_facts),
            )
        )
    return evaluations


def policy_year_usage(
    *, policy: InsurancePolicy, version: PolicyVersion, exclude_claim_id: int | None
) -> tuple[Decimal, Decimal]:
    """(aggregate first loss absorbed, indemnity paid or approved) by the other committed claims
    of the policy year of `version` (claims whose date of loss falls in its period)."""
    claims = Claim.objects.filter(
        policy=policy,
        status__in=workflow.COMMITTED,
        loss_date__gte=version.period_start,
        loss_date__lte=version.period_end,
    )
    if exclude_claim_id is not None:
        claims = claims.exclude(pk=exclude_claim_id)
    absorbed = ZERO
    used = ZERO
    for status, breakdown, approved, paid in claims.values_list(
        "status", "breakdown", "approved_amount", "paid_amount"
    ):
        absorbed += Decimal(str((breakdown or {}).get("afl_absorbed", "0")))
        amount = paid if status == workflow.PAID else approved
        used += amount or ZERO
    return absorbed, used


# --- Lists and timeline ----------------------------------------------------------------------


def claims() -> QuerySet[Claim]:
    return Claim.objects.select_related("policy", "buyer", "assignee")


def claim_list(*, filters: Mapping[str, str | int]) -> QuerySet[Claim]:
    """Claims of the current tenant, filtered by status, cause, policy, buyer,
    buyer_erp_reference (values already validated by the caller)."""
    queryset = claims()
    lookups = {
        "status": "status",
        "cause": "cause",
        "policy": "policy_id",
        "buyer": "buyer_id",
        "buyer_erp_reference": "buyer__erp_reference",
    }
    for key, lookup in lookups.items():
        value = filters.get(key)
        if value not in (None, ""):
            queryset = queryset.filter(**{lookup: value})
    return queryset


def claim_timeline(claim: Claim) -> QuerySet[ClaimEvent]:
    return ClaimEvent.objects.filter(claim=claim).order_by("created_at", "id")


def recovered_totals(claim: Claim) -> tuple[Decimal, Decimal]:
    """(all recoveries, the insurer's share of them) of `claim`."""
    totals = Recovery.objects.filter(claim=claim).aggregate(
        amount=Sum("amount"), insurer=Sum("insurer_share")
    )
    return totals["amount"] or ZERO, totals["insurer"] or ZERO


def written_off_total(claim: Claim) -> Decimal:
    return WriteOff.objects.filter(claim=claim).aggregate(total=Sum("amount"))["total"] or ZERO


# --- KPIs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimsKpis:
    handling_days_median: Decimal | None
    handling_days_p90: Decimal | None
    loss_recovery_rate: Decimal | None
    bad_debt_ratio: Decimal | None
    open_count: int
    paid_indemnity: Decimal
    recoveries: Decimal
    write_offs: Decimal
    currency: str


def median(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[Decimal], pct: int) -> Decimal | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(Decimal("0.0001"))


def claims_kpis(
    *,
    tenant: Tenant,
    as_of: date,
    buyers: QuerySet[Any] | None = None,
    credit_sales: Decimal | None = None,
) -> ClaimsKpis:
    """The claims KPIs of the current tenant (see the module docstring).

    ``buyers`` (a query of buyer ids) limits them to those buyers' claims; ``credit_sales`` is the
    credit sales of the window when the caller has it already (the dashboard's BuyerFigures),
    which spares reading the invoices.
    """
    claims = Claim.objects.all() if buyers is None else Claim.objects.filter(buyer_id__in=buyers)
    base = tenant.base_currency
    rates = fx_rates_on(as_of)
    factors = ledger.base_factors(rates, base=base)

    def to_base(amount: Decimal, currency: str) -> Decimal:
        factor = factors.get(currency)
        return ZERO if factor is None else indemnity.cents(amount * factor)

    handling: list[Decimal] = []
    paid_total = ZERO
    loss_total = ZERO
    paid_rows = claims.filter(status=workflow.PAID).values_list(
        "pk", "currency", "submitted_at", "paid_at", "paid_amount", "claimed_amount"
    )
    paid_currency: dict[int, str] = {}
    for pk, currency, submitted_at, paid_at, paid_amount, claimed in paid_rows:
        paid_currency[pk] = currency
        if submitted_at is not None and paid_at is not None:
            seconds = Decimal((paid_at - submitted_at).total_seconds())
            handling.append((seconds / Decimal(86400)).quantize(Decimal("0.1")))
        paid_total += to_base(paid_amount or ZERO, currency)
        loss_total += to_base(claimed, currency)
    recoveries_total = ZERO
    recoveries_paid = ZERO
    for claim_id, currency, amount in Recovery.objects.filter(claim__in=claims).values_list(
        "claim_id", "claim__currency", "amount"
    ):
        converted = to_base(amount, currency)
        recoveries_total += converted
        if claim_id in paid_currency:
            recoveries_paid += converted
    since = as_of - timedelta(days=CREDIT_SALES_DAYS)
    write_offs = ZERO
    for currency, amount in WriteOff.objects.filter(
        claim__in=claims, written_off_on__gt=since, written_off_on__lte=as_of
    ).values_list("claim__currency", "amount"):
        write_offs += to_base(amount, currency)
    invoices = Invoice.objects.filter(issue_date__gt=since, issue_date__lte=as_of)
    if buyers is not None:
        invoices = invoices.filter(buyer_id__in=buyers)
    sales = (
        credit_sales
        if credit_sales is not None
        else invoices.annotate(amount_base=ledger.amount_in_base(factors)).aggregate(
            total=Sum("amount_base")
        )["total"]
        or ZERO
    )
    return ClaimsKpis(
        handling_days_median=median(handling),
        handling_days_p90=percentile(handling, 90),
        loss_recovery_rate=_ratio(paid_total + recoveries_paid, loss_total),
        bad_debt_ratio=_ratio(write_offs, sales),
        open_count=claims.filter(status__in=workflow.OPEN).count(),
        paid_indemnity=paid_total,
        recoveries=recoveries_total,
        write_offs=write_offs,
        currency=base,
    )


def open_invoices_of(*, buyer_id: int, invoice_ids: Sequence[int]) -> list[Invoice]:
    """The open invoices of `buyer_id` among `invoice_ids`."""
    return list(
        Invoice.objects.filter(
            Q(pk__in=list(invoice_ids)) & ledger.open_q(), buyer_id=buyer_id
        ).order_by("issue_date", "id")
    )


def default_dates_for_monitoring() -> list[tuple[int, date]]:
    """The defaults claims record, for `monitoring.selectors.default_dates` (registered in
    `ClaimsConfig.ready`): per buyer, the earliest date of loss of an insolvency claim that was
    submitted (not a draft, not withdrawn) or of a paid protracted-default claim."""
    counted = Q(cause=Claim.Cause.INSOLVENCY) & ~Q(
        status__in=[Claim.Status.DRAFT, Claim.Status.WITHDRAWN]
    ) | Q(cause=Claim.Cause.PROTRACTED_DEFAULT, status=Claim.Status.PAID)
    rows = (
        Claim.objects.filter(counted)
        .values("buyer_id")
        .annotate(first=Min("loss_date"))
        .values_list("buyer_id", "first")
    )
    return [(buyer_id, first) for buyer_id, first in rows]
