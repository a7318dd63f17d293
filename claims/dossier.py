"""A claim as a person reads it: the sheet behind the claim page and the dossier PDF
(WeasyPrint) — buyer, policy, the claimed invoices with each eligibility check and its reason,
the indemnity calculation step by step in the policy's currency (with the exchange rates and
their date), the timeline and the documents — in the language asked for (English or Simplified
Chinese).

Fonts: `creditguard.pdf` (like every PDF of the product): the
stack ends in "Noto Sans CJK SC" so Chinese names and labels render as glyphs, not boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from buyers.models import Buyer
from creditguard.pdf import render_pdf
from policies.models import InsurancePolicy

from . import selectors, workflow
from .eligibility import CHECK_LABELS
from .indemnity import (
    AGGREGATE_FIRST_LOSS,
    DEDUCTIBLE,
    INDEMNITY_PERCENTAGE,
    INSURED_OUTSTANDING,
    MAXIMUM_LIABILITY,
    NON_QUALIFYING_LOSS,
    STEP_LABELS,
)
from .models import Claim, ClaimDocument, ClaimEvent, ClaimInvoice

PDF_TEMPLATE: Final = "claims/dossier_pdf.html"


@dataclass(frozen=True)
class CheckRow:
    code: str
    label: str
    passed: bool
    reason: str


def _reasons() -> dict[str, str]:
    """Each reason code of `claims.eligibility`, in words (translated when called)."""
    return {
        "cover_positive": _("Cover of %(cover)s in force at delivery on %(delivered_on)s."),
        "no_cover_at_delivery": _("No cover in force at delivery on %(delivered_on)s."),
        "not_due_at_insolvency": _(
            "Not yet due on the insolvency date: no overdue notification was needed."
        ),
        "notified": _("Notified on %(sent_on)s; deadline %(notify_by)s."),
        "deadline_not_passed": _("The notification deadline %(notify_by)s has not passed."),
        "notified_late": _("Notified on %(sent_on)s, after the deadline %(notify_by)s."),
        "not_notified": _("Not notified by the deadline %(notify_by)s."),
        "not_applicable": _("Applies to protracted default only."),
        "elapsed": _("The waiting period ended on %(earliest_claim)s."),
        "too_early": _(
            "Filed on %(filed_on)s, before the waiting period ends on %(earliest_claim)s."
        ),
        "disputed": _("The invoice is disputed."),
        "undisputed": _("No open dispute."),
        "within_period": _("Not extended beyond %(max_extension_end)s."),
        "insurer_consented": _("Extended until %(extended_until)s with the insurer's consent."),
        "extended_without_consent": _(
            "Extended until %(extended_until)s, beyond %(max_extension_end)s, without the "
            "insurer's consent."
        ),
        "in_time": _("Filed on %(filed_on)s, by the deadline %(claim_by)s."),
        "filed_late": _("Filed on %(filed_on)s, after the deadline %(claim_by)s."),
        "covered": _("The policy covers this risk."),
        "risk_not_covered": _("The policy does not cover this risk."),
    }


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def reason_text(reason: str, params: Any) -> str:
    """A check's reason in words; an unknown code is shown as it is."""
    template = _reasons().get(reason)
    if template is None:
        return reason
    values = _Params(
        {str(key): str(value) or "—" for key, value in (params or {}).items()}
        if isinstance(params, dict)
        else {}
    )
    return template % values


@dataclass(frozen=True)
class InvoiceRow:
    line: ClaimInvoice
    number: str
    issue_date: date
    due_date: date
    checks: list[CheckRow]


@dataclass(frozen=True)
class EventRow:
    event: ClaimEvent
    from_status: str
    to_status: str


def _status_label(status: str) -> str:
    return str(Claim.Status(status).label) if status in Claim.Status.values else status


@dataclass(frozen=True)
class StepRow:
    code: str
    label: str
    detail: str
    before: Decimal | None
    after: Decimal | None


@dataclass(frozen=True)
class ClaimSheet:
    claim: Claim
    policy: InsurancePolicy
    buyer: Buyer
    policyholder: str
    invoices: list[InvoiceRow]
    steps: list[StepRow]
    fx_rates: list[tuple[str, Decimal]]
    events: list[EventRow]
    documents: list[ClaimDocument]
    sla_overdue: bool
    as_of: date
    extra: dict[str, Any] = field(default_factory=dict)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _step_detail(code: str, params: dict[str, Any]) -> str:
    """The figures a step used, in words."""
    get = params.get
    if code == INSURED_OUTSTANDING:
        invoices = get("invoices", "—")
        return ngettext(
            "%(eligible)s of %(invoices)s invoice eligible",
            "%(eligible)s of %(invoices)s invoices eligible",
            invoices if isinstance(invoices, int) else 2,
        ) % {"eligible": get("eligible_invoices", "—"), "invoices": invoices}
    if code == NON_QUALIFYING_LOSS:
        return _("Non-qualifying loss: %(amount)s") % {"amount": get("non_qualifying_loss", "—")}
    if code == DEDUCTIBLE:
        return _("Deductible: %(amount)s") % {"amount": get("deductible", "—")}
    if code == AGGREGATE_FIRST_LOSS:
        return _(
            "Aggregate first loss %(total)s, already absorbed %(already)s, "
            "absorbed by this claim %(now)s"
        ) % {
            "total": get("aggregate_first_loss", "—"),
            "already": get("already_absorbed", "—"),
            "now": get("absorbed_by_this_claim", "—"),
        }
    if code == INDEMNITY_PERCENTAGE:
        return _("%(percentage)s %% of the rest") % {"percentage": get("percentage", "—")}
    if code == MAXIMUM_LIABILITY:
        return _("Maximum liability %(total)s, already used %(used)s, remaining %(remaining)s") % {
            "total": get("maximum_liability", "—"),
            "used": get("already_used", "—"),
            "remaining": get("remaining", "—"),
        }
    return ", ".join(f"{key}: {value}" for key, value in sorted(params.items()))


def breakdown_steps(breakdown: Any) -> list[StepRow]:
    """The steps stored in `Claim.breakdown` (`IndemnityResult.as_json()`), labelled."""
    if not isinstance(breakdown, dict):
        return []
    rows: list[StepRow] = []
    for step in breakdown.get("steps") or []:
        if not isinstance(step, dict):
            continue
        code = str(step.get("code", ""))
        label = STEP_LABELS.get(code)
        params = step.get("params") if isinstance(step.get("params"), dict) else {}
        rows.append(
            StepRow(
                code=code,
                label=str(label) if label is not None else code,
                detail=_step_detail(code, params or {}),
                before=_decimal(step.get("before")),
                after=_decimal(step.get("after")),
            )
        )
    return rows


def _check_rows(checks: Any) -> list[CheckRow]:
    if not isinstance(checks, list):
        return []
    return [
        CheckRow(
            code=str(check.get("check", "")),
            label=str(CHECK_LABELS.get(str(check.get("check", "")), check.get("check", ""))),
            passed=bool(check.get("passed")),
            reason=reason_text(str(check.get("reason", "")), check.get("params")),
        )
        for check in checks
        if isinstance(check, dict)
    ]


def claim_sheet(claim: Claim, *, as_of: date) -> ClaimSheet:
    """Everything the claim page and the dossier show (the tenant active)."""
    lines = list(claim.invoices.select_related("invoice").order_by("invoice__issue_date", "id"))
    rates = sorted(
        {(line.currency, line.fx_rate) for line in lines if line.currency != claim.currency}
    )
    return ClaimSheet(
        claim=claim,
        policy=claim.policy,
        buyer=claim.buyer,
        policyholder=claim.tenant.name,
        invoices=[
            InvoiceRow(
                line=line,
                number=line.invoice.number,
                issue_date=line.invoice.issue_date,
                due_date=line.invoice.due_date,
                checks=_check_rows(line.checks),
            )
            for line in lines
        ],
        steps=breakdown_steps(claim.breakdown),
        fx_rates=rates,
        events=[
            EventRow(
                event=event,
                from_status=_status_label(event.from_status),
                to_status=_status_label(event.to_status),
            )
            for event in selectors.claim_timeline(claim)
        ],
        documents=list(claim.documents.all()),
        sla_overdue=bool(
            claim.sla_due_on and claim.sla_due_on < as_of and claim.status in workflow.OPEN
        ),
        as_of=as_of,
    )


def dossier_pdf(sheet: ClaimSheet, *, language: str) -> bytes:
    return render_pdf(PDF_TEMPLATE, {"sheet": sheet}, language=language)


def document_name(claim: Claim) -> str:
    return f"claim-dossier-{claim.number or claim.pk}.pdf"
