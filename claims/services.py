"""Writing claims: create (from invoices or an overdue notification), recompute, the workflow
steps (`claims.workflow`), comments, documents, assignment, recoveries and write-offs.

Every step takes `tenant` and `actor`, runs in one transaction, writes a `ClaimEvent` (the
timeline) and an audit record, publishes its webhook event (delivered after the commit) and
notifies the assignee and the creator in the app (not the actor).

Numbers are ``CL-<year>-<0001>`` per tenant and year, taken under a transaction-level advisory
lock per tenant so concurrent creations never collide.

Recoveries (on paid claims only) are split by `claims.indemnity.recovery_split`; write-offs of
the uninsured rest are allowed once the claim is paid or rejected, up to
`claims.indemnity.write_off_room`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.audit.services import actor_label, audit_record, snapshot
from creditguard.dates import today
from creditguard.tenancy.models import Tenant
from monitoring import webhooks
from monitoring.models import LegalEvent
from monitoring.services import INSOLVENCY_KINDS, legal_event_record
from policies.models import InsurancePolicy, OverdueNotification
from policies.services.notifications import notify
from policies.services.transitions import TransitionNotAllowed

from . import indemnity, selectors, workflow
from .models import Claim, ClaimDocument, ClaimEvent, ClaimInvoice, Recovery, WriteOff

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

ZERO: Final = Decimal("0.00")
CLAIM_LOCK_NAMESPACE: Final = 5_011  # pg_advisory_xact_lock(namespace, tenant id)
MAX_DOCUMENT_BYTES: Final = 20 * 1024 * 1024

EVENT_SUBMITTED: Final = "claim.submitted"
EVENT_DECIDED: Final = "claim.decided"
EVENT_PAID: Final = "claim.paid"
EVENT_TYPES: Final = (EVENT_SUBMITTED, EVENT_DECIDED, EVENT_PAID)
CLAIM_FIELDS: Final = [
    "number",
    "status",
    "cause",
    "loss_date",
    "claimed_amount",
    "eligible_amount",
    "indemnity_amount",
    "approved_amount",
    "paid_amount",
    "paid_on",
    "insurer_reference",
    "assignee_id",
    "sla_due_on",
]


# --- Helpers ---------------------------------------------------------------------------------


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _link(claim: Claim) -> str:
    try:
        return reverse("claims:detail", args=[claim.pk])
    except NoReverseMatch:
        return ""


def _event(
    *,
    tenant: Tenant,
    actor: Actor,
    claim: Claim,
    kind: str,
    comment: str = "",
    from_status: str = "",
    to_status: str = "",
) -> ClaimEvent:
    return ClaimEvent.objects.create(
        tenant=tenant,
        claim=claim,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        comment=comment.strip(),
        actor=_user(actor),
        actor_label=actor_label(actor),
    )


def _notify(*, tenant: Tenant, actor: Actor, claim: Claim, message: str) -> None:
    actor_user = _user(actor)
    users = [
        user
        for user in (claim.assignee, claim.created_by)
        if user is not None and (actor_user is None or user.pk != actor_user.pk)
    ]
    if users:
        notify(tenant=tenant, users=users, message=message, link=_link(claim))


def claim_event_payload(claim: Claim) -> dict[str, Any]:
    return {
        "claim": {
            "id": claim.pk,
            "number": claim.number,
            "status": claim.status,
            "cause": claim.cause,
            "policy_id": claim.policy_id,
            "buyer_id": claim.buyer_id,
            "currency": claim.currency,
            "claimed_amount": f"{claim.claimed_amount:.2f}",
            "indemnity_amount": f"{claim.indemnity_amount:.2f}",
            "approved_amount": (
                None if claim.approved_amount is None else f"{claim.approved_amount:.2f}"
            ),
            "paid_amount": None if claim.paid_amount is None else f"{claim.paid_amount:.2f}",
            "paid_on": claim.paid_on.isoformat() if claim.paid_on else None,
            "loss_date": claim.loss_date.isoformat(),
        }
    }


def _publish(*, tenant: Tenant, claim: Claim, event_type: str, event: ClaimEvent) -> None:
    # Deliveries are rows of this transaction, sent once it commits.
    if not webhooks.has_subscribers(event_type=event_type):
        return
    webhooks.webhook_events_publish(
        tenant=tenant,
        events=[
            webhooks.WebhookEvent(
                event_id=f"evt_claim_event_{event.pk}",
                event_type=event_type,
                data=claim_event_payload(claim),
            )
        ],
    )


def _next_number(tenant: Tenant, year: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CLAIM_LOCK_NAMESPACE, tenant.pk])
    prefix = f"CL-{year}-"
    latest = (
        Claim.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(latest.removeprefix(prefix)) + 1 if latest else 1
    return f"{prefix}{sequence:04d}"


def _lock(claim: Claim) -> Claim:
    return Claim.objects.select_for_update().get(pk=claim.pk)


def _filed_on(claim: Claim) -> date:
    if claim.submitted_at is not None:
        return timezone.localdate(claim.submitted_at)
    return today()


# --- Computing -------------------------------------------------------------------------------


def _compute(*, tenant: Tenant, claim: Claim, invoice_ids: Sequence[int]) -> None:
    """Evaluate the claim's invoices and its indemnity; rewrite its ClaimInvoice rows."""
    invoices = selectors.open_invoices_of(buyer_id=claim.buyer_id, invoice_ids=invoice_ids)
    found = {invoice.pk for invoice in invoices}
    missing = [pk for pk in invoice_ids if pk not in found]
    if missing:
        raise ValidationError(
            {
                "invoice_ids": _("Invoice %(id)s is not an open invoice of this buyer.")
                % {"id": missing[0]}
            }
        )
    version = selectors.terms_in_force(policy=claim.policy, on=claim.loss_date)
    fx_date = claim.loss_date
    evaluations = selectors.evaluate_invoices(
        policy=claim.policy,
        version=version,
        invoices=invoices,
        cause=claim.cause,
        loss_date=claim.loss_date,
        filed_on=_filed_on(claim),
        fx_date=fx_date,
    )
    afl_absorbed, used = selectors.policy_year_usage(
        policy=claim.policy, version=version, exclude_claim_id=claim.pk
    )
    result = indemnity.indemnity(
        lines=[evaluation.line() for evaluation in evaluations],
        terms=indemnity.Terms(
            indemnity_commercial_pct=version.indemnity_commercial_pct,
            indemnity_political_pct=version.indemnity_political_pct,
            max_liability=version.max_liability,
            non_qualifying_loss=version.non_qualifying_loss,
            deductible_per_buyer=version.deductible_per_buyer,
            aggregate_first_loss=version.aggregate_first_loss,
        ),
        cause=claim.cause,
        afl_absorbed=afl_absorbed,
        liability_used=used,
    )
    ClaimInvoice.objects.filter(claim=claim).delete()
    ClaimInvoice.objects.bulk_create(
        [
            ClaimInvoice(
                tenant=tenant,
                claim=claim,
                invoice=evaluation.invoice,
                outstanding=evaluation.outstanding,
                currency=evaluation.currency,
                fx_rate=evaluation.fx_rate,
                outstanding_in_policy_currency=evaluation.outstanding_in_policy_currency,
                cover_at_delivery=evaluation.cover_at_delivery,
                eligible=evaluation.eligible,
                checks=[check.as_json() for check in evaluation.checks],
            )
            for evaluation in evaluations
        ]
    )
    claim.currency = claim.policy.currency
    claim.fx_date = fx_date
    claim.claimed_amount = result.claimed
    claim.eligible_amount = indemnity.cents(
        sum(
            (e.outstanding_in_policy_currency for e in evaluations if e.eligible),
            ZERO,
        )
    )
    claim.indemnity_amount = result.amount
    claim.breakdown = {
        **result.as_json(),
        "policy_version": version.version,
        "filed_on": _filed_on(claim).isoformat(),
        "fx_date": fx_date.isoformat(),
    }


def _check_cause(cause: str) -> None:
    if cause not in Claim.Cause.values:
        raise ValidationError({"cause": _("Unknown cause.")})


@transaction.atomic
def claim_create(
    *,
    tenant: Tenant,
    actor: Actor,
    policy: InsurancePolicy,
    buyer: Buyer,
    cause: str,
    loss_date: date,
    invoice_ids: Sequence[int],
    notes: str = "",
) -> Claim:
    """A draft claim on `invoice_ids` of `buyer` under `policy`, with its calculation."""
    _check_cause(cause)
    invoice_ids = list(dict.fromkeys(int(pk) for pk in invoice_ids))
    if not invoice_ids:
        raise ValidationError({"invoice_ids": _("Choose at least one invoice.")})
    if loss_date > today():
        raise ValidationError({"loss_date": _("The date of loss cannot be in the future.")})
    claim = Claim(
        tenant=tenant,
        number=_next_number(tenant, today().year),
        policy=policy,
        buyer=buyer,
        cause=cause,
        loss_date=loss_date,
        currency=policy.currency,
        notes=notes.strip(),
        created_by=_user(actor),
    )
    claim.save()
    _compute(tenant=tenant, claim=claim, invoice_ids=invoice_ids)
    claim.save()
    _event(
        tenant=tenant,
        actor=actor,
        claim=claim,
        kind=ClaimEvent.Kind.TRANSITION,
        to_status=workflow.DRAFT,
        comment=_("Claim created."),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="claim.create",
        obj=claim,
        after=snapshot(claim, CLAIM_FIELDS),
    )
    return claim


@transaction.atomic
def claim_from_notification(
    *,
    tenant: Tenant,
    actor: Actor,
    notification: OverdueNotification,
    cause: str,
    loss_date: date,
) -> Claim:
    """A draft claim on the invoices of a sent overdue notification that are still open."""
    if notification.status != OverdueNotification.Status.SENT:
        raise ValidationError({"notification": _("Only a sent notification can become a claim.")})
    invoice_ids = list(notification.items.values_list("invoice_id", flat=True))
    open_ids = [
        invoice.pk
        for invoice in selectors.open_invoices_of(
            buyer_id=notification.buyer_id, invoice_ids=invoice_ids
        )
    ]
    if not open_ids:
        raise ValidationError({"notification": _("None of the notified invoices is still open.")})
    return claim_create(
        tenant=tenant,
        actor=actor,
        policy=notification.policy,
        buyer=notification.buyer,
        cause=cause,
        loss_date=loss_date,
        invoice_ids=open_ids,
        notes=_("From overdue notification #%(id)s.") % {"id": notification.pk},
    )


@transaction.atomic
def claim_recompute(*, tenant: Tenant, actor: Actor, claim: Claim) -> Claim:
    """Re-evaluate the claim's invoices and indemnity (only before a decision)."""
    claim = _lock(claim)
    workflow.check_recomputable(claim.status)
    before = snapshot(claim, CLAIM_FIELDS)
    invoice_ids = list(
        ClaimInvoice.objects.filter(claim=claim).values_list("invoice_id", flat=True)
    )
    _compute(tenant=tenant, claim=claim, invoice_ids=invoice_ids)
    claim.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="claim.recompute",
        obj=claim,
        before=before,
        after=snapshot(claim, CLAIM_FIELDS),
    )
    return claim


def _record_default(*, tenant: Tenant, actor: Actor, claim: Claim) -> LegalEvent | None:
    """Record the buyer's default event of a claim through monitoring, so back-tests and PD
    calibration count it: an insolvency claim (on submission) records an insolvency filing on
    the date of loss, unless the buyer already has an insolvency event on or before it; a paid
    protracted-default claim records a payment default on the date of loss, once."""
    known: QuerySet[LegalEvent]
    if claim.cause == Claim.Cause.INSOLVENCY:
        kind = LegalEvent.Kind.INSOLVENCY_FILING
        known = LegalEvent.objects.filter(
            buyer_id=claim.buyer_id, kind__in=INSOLVENCY_KINDS, event_date__lte=claim.loss_date
        )
    elif claim.cause == Claim.Cause.PROTRACTED_DEFAULT and claim.status == workflow.PAID:
        kind = LegalEvent.Kind.PAYMENT_DEFAULT
        known = LegalEvent.objects.filter(
            buyer_id=claim.buyer_id, kind=kind, event_date=claim.loss_date
        )
    else:
        return None
    if known.exists():
        return None
    return legal_event_record(
        tenant=tenant,
        actor=actor,
        buyer=claim.buyer,
        kind=kind,
        event_date=claim.loss_date,
        description=_("Recorded from claim %(number)s.") % {"number": claim.number},
        source=f"claim {claim.number}"[:120],
    )


# --- Workflow --------------------------------------------------------------------------------


def _transition(
    *,
    tenant: Tenant,
    actor: Actor,
    claim: Claim,
    target: str,
    comment: str,
    event_type: str | None,
    message: str,
    before: dict[str, Any],
) -> Claim:
    source = before["status"]
    now = timezone.now()
    claim.status = target
    claim.sla_due_on = workflow.sla_due_on(target, on=timezone.localdate(now))
    if target in workflow.CLOSED:
        claim.closed_at = now
    claim.save()
    event = _event(
        tenant=tenant,
        actor=actor,
        claim=claim,
        kind=ClaimEvent.Kind.TRANSITION,
        from_status=source,
        to_status=target,
        comment=comment,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"claim.{target}",
        obj=claim,
        before=before,
        after=snapshot(claim, CLAIM_FIELDS),
    )
    if event_type is not None:
        _publish(tenant=tenant, claim=claim, event_type=event_type, event=event)
    _notify(tenant=tenant, actor=actor, claim=claim, message=message)
    return claim


@transaction.atomic
def claim_submit(*, tenant: Tenant, actor: Actor, claim: Claim, comment: str = "") -> Claim:
    """Submit the claim to the insurer; the filing date is today (checks are re-run)."""
    claim = _lock(claim)
    workflow.check_transition(claim.status, workflow.SUBMITTED)
    before = snapshot(claim, CLAIM_FIELDS)
    claim.submitted_at = timezone.now()
    invoice_ids = list(
        ClaimInvoice.objects.filter(claim=claim).values_list("invoice_id", flat=True)
    )
    _compute(tenant=tenant, claim=claim, invoice_ids=invoice_ids)
    claim = _transition(
        tenant=tenant,
        actor=actor,
        claim=claim,
        target=workflow.SUBMITTED,
        comment=comment,
        event_type=EVENT_SUBMITTED,
        before=before,
        message=_("Claim %(number)s was submitted.") % {"number": claim.number},
    )
    _record_default(tenant=tenant, actor=actor, claim=claim)
    return claim


@transaction.atomic
def claim_start_review(*, tenant: Tenant, actor: Actor, claim: Claim, comment: str = "") -> Claim:
    claim = _lock(claim)
    workflow.check_transition(claim.status, workflow.UNDER_REVIEW)
    before = snapshot(claim, CLAIM_FIELDS)
    claim.review_started_at = timezone.now()
    return _transition(
        tenant=tenant,
        actor=actor,
        claim=claim,
        target=workflow.UNDER_REVIEW,
        comment=comment,
        event_type=None,
        before=before,
        message=_("The insurer started reviewing claim %(number)s.") % {"number": claim.number},
    )


@transaction.atomic
def claim_decide(
    *,
    tenant: Tenant,
    actor: Actor,
    claim: Claim,
    decision: str,
    approved_amount: Decimal | None = None,
    insurer_reference: str = "",
    comment: str = "",
) -> Claim:
    """The insurer's decision. Approval without an amount approves the computed indemnity; a
    partial approval needs an amount below it; a rejection approves nothing."""
    if decision not in workflow.DECISIONS:
        raise ValidationError({"decision": _("Choose approved, partially approved or rejected.")})
    claim = _lock(claim)
    workflow.check_transition(claim.status, decision)
    before = snapshot(claim, CLAIM_FIELDS)
    if decision == workflow.APPROVED:
        amount = claim.indemnity_amount if approved_amount is None else approved_amount
        if amount < 0 or amount > claim.indemnity_amount:
            raise ValidationError(
                {"approved_amount": _("An approval cannot exceed the computed indemnity.")}
            )
    elif decision == workflow.PARTIALLY_APPROVED:
        if approved_amount is None:
            raise ValidationError(
                {"approved_amount": _("A partial approval needs the approved amount.")}
            )
        amount = approved_amount
        if amount <= 0 or amount >= claim.indemnity_amount:
            raise ValidationError(
                {
                    "approved_amount": _(
                        "A partial approval must be above zero and below the computed "
                        "indemnity (%(indemnity)s)."
                    )
                    % {"indemnity": claim.indemnity_amount}
                }
            )
    else:
        if approved_amount not in (None, ZERO):
            raise ValidationError({"approved_amount": _("A rejection approves no amount.")})
        amount = ZERO
    claim.approved_amount = indemnity.cents(amount)
    claim.insurer_reference = insurer_reference.strip()[:60] or claim.insurer_reference
    claim.decided_at = timezone.now()
    return _transition(
        tenant=tenant,
        actor=actor,
        claim=claim,
        target=decision,
        comment=comment,
        event_type=EVENT_DECIDED,
        before=before,
        message=_("The insurer decided claim %(number)s.") % {"number": claim.number},
    )


@transaction.atomic
def claim_mark_paid(
    *,
    tenant: Tenant,
    actor: Actor,
    claim: Claim,
    paid_amount: Decimal,
    paid_on: date,
    comment: str = "",
) -> Claim:
    claim = _lock(claim)
    workflow.check_transition(claim.status, workflow.PAID)
    if paid_amount <= 0 or paid_amount > (claim.approved_amount or ZERO):
        raise ValidationError(
            {
                "paid_amount": _(
                    "The amount paid must be above zero and at most the approved amount."
                )
            }
        )
    if paid_on > today():
        raise ValidationError({"paid_on": _("The payment date cannot be in the future.")})
    before = snapshot(claim, CLAIM_FIELDS)
    claim.paid_amount = indemnity.cents(paid_amount)
    claim.paid_on = paid_on
    claim.paid_at = timezone.now()
    claim = _transition(
        tenant=tenant,
        actor=actor,
        claim=claim,
        target=workflow.PAID,
        comment=comment,
        event_type=EVENT_PAID,
        before=before,
        message=_("Claim %(number)s was paid.") % {"number": claim.number},
    )
    _record_default(tenant=tenant, actor=actor, claim=claim)
    return claim


@transaction.atomic
def claim_withdraw(*, tenant: Tenant, actor: Actor, claim: Claim, comment: str = "") -> Claim:
    claim = _lock(claim)
    workflow.check_transition(claim.status, workflow.WITHDRAWN)
    before = snapshot(claim, CLAIM_FIELDS)
    return _transition(
        tenant=tenant,
        actor=actor,
        claim=claim,
        target=workflow.WITHDRAWN,
        comment=comment,
        event_type=None,
        before=before,
        message=_("Claim %(number)s was withdrawn.") % {"number": claim.number},
    )


# --- Comments, documents, assignment ---------------------------------------------------------


@transaction.atomic
def claim_assign(*, tenant: Tenant, actor: Actor, claim: Claim, assignee: User | None) -> Claim:
    claim = _lock(claim)
    before = snapshot(claim, CLAIM_FIELDS)
    claim.assignee = assignee
    claim.save(update_fields=["assignee", "updated_at"])
    _event(
        tenant=tenant,
        actor=actor,
        claim=claim,
        kind=ClaimEvent.Kind.ASSIGNMENT,
        comment=assignee.get_username() if assignee else _("Unassigned"),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="claim.assign",
        obj=claim,
        before=before,
        after=snapshot(claim, CLAIM_FIELDS),
    )
    if assignee is not None and assignee != _user(actor):
        notify(
            tenant=tenant,
            users=[assignee],
            message=_("Claim %(number)s was assigned to you.") % {"number": claim.number},
            link=_link(claim),
        )
    return claim


@transaction.atomic
def claim_comment(*, tenant: Tenant, actor: Actor, claim: Claim, comment: str) -> ClaimEvent:
    text = comment.strip()
    if not text:
        raise ValidationError({"comment": _("Write a comment.")})
    if len(text) > 5000:
        raise ValidationError({"comment": _("Keep the comment to 5000 characters.")})
    event = _event(
        tenant=tenant, actor=actor, claim=claim, kind=ClaimEvent.Kind.COMMENT, comment=text
    )
    _notify(
        tenant=tenant,
        actor=actor,
        claim=claim,
        message=_("New comment on claim %(number)s.") % {"number": claim.number},
    )
    return event


@transaction.atomic
def claim_document_add(
    *, tenant: Tenant, actor: Actor, claim: Claim, title: str, uploaded_file: UploadedFile[Any]
) -> ClaimDocument:
    title = title.strip() or (uploaded_file.name or "")
    if not title:
        raise ValidationError({"title": _("Give the document a title.")})
    size = uploaded_file.size or 0
    if size <= 0:
        raise ValidationError({"file": _("The file is empty.")})
    if size > MAX_DOCUMENT_BYTES:
        raise ValidationError({"file": _("The file is larger than 20 MB.")})
    document = ClaimDocument(
        tenant=tenant,
        claim=claim,
        title=title[:200],
        content_type=(uploaded_file.content_type or "application/octet-stream")[:100],
        size=size,
        uploaded_by=_user(actor),
    )
    document.file.save(uploaded_file.name or "document", uploaded_file, save=False)
    document.save()
    _event(
        tenant=tenant,
        actor=actor,
        claim=claim,
        kind=ClaimEvent.Kind.DOCUMENT,
        comment=document.title,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="claim.document_add",
        obj=claim,
        after={"document": document.title, "size": size},
    )
    return document


# --- Recoveries and write-offs ---------------------------------------------------------------


@transaction.atomic
def recovery_record(
    *,
    tenant: Tenant,
    actor: Actor,
    claim: Claim,
    received_on: date,
    amount: Decimal,
    source: str,
    note: str = "",
) -> Recovery:
    """A recovery on a paid claim, shared with the insurer (`indemnity.recovery_split`)."""
    claim = _lock(claim)
    if claim.status != workflow.PAID:
        raise TransitionNotAllowed(
            _("Recoveries can only be recorded on a paid claim."), code="not_paid"
        )
    if source not in Recovery.Source.values:
        raise ValidationError({"source": _("Unknown source.")})
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be above zero.")})
    if received_on > today():
        raise ValidationError({"received_on": _("The date cannot be in the future.")})
    recovered, insurer_before = selectors.recovered_totals(claim)
    split = indemnity.recovery_split(
        amount=amount,
        loss=claim.claimed_amount,
        paid_indemnity=claim.paid_amount or ZERO,
        recovered_before=recovered,
        insurer_share_before=insurer_before,
    )
    recovery = Recovery.objects.create(
        tenant=tenant,
        claim=claim,
        received_on=received_on,
        source=source,
        amount=indemnity.cents(amount),
        insurer_share=split.insurer_share,
        insured_share=split.insured_share,
        note=note.strip(),
        recorded_by_label=actor_label(actor),
    )
    _event(
        tenant=tenant,
        actor=actor,
        claim=claim,
        kind=ClaimEvent.Kind.RECOVERY,
        comment=_("Recovered %(amount)s %(currency)s (insurer %(insurer)s, insured %(insured)s).")
        % {
            "amount": recovery.amount,
            "currency": claim.currency,
            "insurer": recovery.insurer_share,
            "insured": recovery.insured_share,
        },
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="claim.recovery",
        obj=claim,
        after=snapshot(
            recovery, ["received_on", "source", "amount", "insurer_share", "insured_share"]
        ),
    )
    return recovery


@transaction.atomic
def write_off_record(
    *,
    tenant: Tenant,
    actor: Actor,
    claim: Claim,
    amount: Decimal,
    written_off_on: date,
    reason: str = "",
) -> WriteOff:
    """Write off the uninsured rest of a paid or rejected claim's loss."""
    claim = _lock(claim)
    if claim.status not in (workflow.PAID, workflow.REJECTED):
        raise TransitionNotAllowed(
            _("Only a paid or rejected claim's loss can be written off."), code="not_final"
        )
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be above zero.")})
    if written_off_on > today():
        raise ValidationError({"written_off_on": _("The date cannot be in the future.")})
    recovered, _insurer = selectors.recovered_totals(claim)
    room = indemnity.write_off_room(
        loss=claim.claimed_amount,
        indemnity_paid=claim.paid_amount or ZERO,
        recovered=recovered,
        written_off=selectors.written_off_total(claim),
    )
    if amount > room:
        raise ValidationError(
            {"amount": _("At most %(room)s can still be written off.") % {"room": room}}
        )
    write_off = WriteOff.objects.create(
        tenant=tenant,
        claim=claim,
        written_off_on=written_off_on,
        amount=indemnity.cents(amount),
        reason=reason.strip(),
        recorded_by_label=actor_label(actor),
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="claim.write_off",
        obj=claim,
        after=snapshot(write_off, ["written_off_on", "amount", "reason"]),
    )
    return write_off
