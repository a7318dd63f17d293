"""Insurer cover: the insurer's credit limit decision on a buyer, recorded or changed, its
history of decisions, and discretionary credit limits (DCL).

Every change of a cover appends a `CoverDecision` (append-only), whose `effective_date` follows
`policies.insurance.cover.effective_date`: a grant or an increase takes effect on its decision
date, a reduction or a withdrawal only after the notice period of the policy's terms in force on
the decision date (`cover_notice_days`; 0 for a cover without a policy, and for a discretionary
credit limit, which the policyholder sets itself), a refusal or an expiry on its date. The cover
in force on a day is read from the decisions (`policies.insurance.cover.amount_in_force`); the
`InsurerCover` row holds the latest decision's figures. Every decision is audited and published
as the webhook event `cover.changed` (delivered after commit).

The edge (API serializer or page form) parses the input into `CoverTerms` or keyword
arguments; the services check the rules that need the whole cover or the database and trust
the values otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.audit.services import actor_label, audit_changes, audit_record, snapshot
from creditguard.dates import today
from creditguard.tenancy.models import Tenant
from monitoring import webhooks

from ..insurance import cover as cover_rules
from ..insurance import dcl
from ..insurance.policy_selectors import dcl_evidence
from ..insurance.scope import covered_buyers, in_scope, version_in_force, versions_in_force
from ..models import (
    CoverDecision,
    CoverKind,
    InsurancePolicy,
    InsurerCover,
    PolicyBuyer,
    PolicyVersion,
)
from .coverage import coverage_refresh_soon

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

EVENT_COVER_CHANGED = "cover.changed"
Kind = CoverDecision.Kind
Status = InsurerCover.Status
ZERO = Decimal("0")
STATUS_OF_KIND: dict[str, str] = {
    Kind.GRANT: Status.GRANTED,
    Kind.INCREASE: Status.GRANTED,
    Kind.REDUCTION: Status.REDUCED,
    Kind.WITHDRAWAL: Status.WITHDRAWN,
    Kind.REFUSAL: Status.REFUSED,
    Kind.EXPIRY: Status.EXPIRED,
}
ENDING_KIND_OF_STATUS: dict[str, str] = {
    Status.WITHDRAWN: Kind.WITHDRAWAL,
    Status.REFUSED: Kind.REFUSAL,
    Status.EXPIRED: Kind.EXPIRY,
}
CHANGES_OF_A_CUT = (Kind.INCREASE, Kind.REDUCTION, Kind.WITHDRAWAL)
DECISION_FIELDS = [
    "kind",
    "amount",
    "currency",
    "decision_date",
    "effective_date",
    "expiry_date",
    "conditions",
    "reference",
]
# The figures of a cover that a decision is about (a change of notes alone is not one).
DECIDED_FIELDS = ("amount", "currency", "status", "decision_date", "expiry_date")


@dataclass(frozen=True)
class CoverTerms:
    """One insurer decision, as the API and the cover page parse it (currency upper-case)."""

    insurer: str
    amount: Decimal
    currency: str
    decision_date: date
    policy_number: str = ""
    decision_reference: str = ""
    expiry_date: date | None = None
    status: str = InsurerCover.Status.GRANTED
    notes: str = ""

    @classmethod
    def of(cls, cover: InsurerCover, **changes: Any) -> CoverTerms:
        """The terms of `cover` with `changes` applied (a partial update)."""
        current = {field.name: getattr(cover, field.name) for field in dataclasses.fields(cls)}
        return cls(**{**current, **changes})


COVER_FIELDS = [field.name for field in dataclasses.fields(CoverTerms)]


@transaction.atomic
def insurer_cover_save(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    terms: CoverTerms,
    cover: InsurerCover | None = None,
) -> InsurerCover:
    """Record an insurer's decision on a buyer, or replace the terms of `cover`."""
    if terms.expiry_date is not None and terms.expiry_date < terms.decision_date:
        raise ValidationError({"expiry_date": [_("The cover cannot expire before the decision.")]})
    clash = InsurerCover.objects.filter(buyer=buyer, insurer__iexact=terms.insurer)
    if cover is not None:
        clash = clash.exclude(pk=cover.pk)
    if clash.exists():
        raise ValidationError(
            {"insurer": [_("This insurer already has a cover on this buyer; change that one.")]}
        )
    current = snapshot(cover, COVER_FIELDS) if cover else {}
    previous = {name: getattr(cover, name) for name in DECIDED_FIELDS} if cover else None
    if cover is None:
        cover = InsurerCover(tenant=tenant, buyer=buyer)
    for name, value in dataclasses.asdict(terms).items():
        setattr(cover, name, value)
    cover.save()
    audit_changes(
        tenant=tenant,
        actor=actor,
        action="insurer_cover.update" if current else "insurer_cover.create",
        obj=cover,
        before=current,
        after=snapshot(cover, COVER_FIELDS),
    )
    kind = inferred_kind(previous=previous, terms=terms)
    if kind is not None:
        _append_decision(
            tenant=tenant,
            actor=actor,
            cover=cover,
            kind=kind,
            amount=terms.amount,
            currency=terms.currency,
            decision_date=terms.decision_date,
            expiry_date=terms.expiry_date,
            conditions=cover.conditions,
            reference=terms.decision_reference,
            notice_days=_notice_days(cover.policy, terms.decision_date) if cover.policy else 0,
        )
    return cover


def inferred_kind(*, previous: dict[str, Any] | None, terms: CoverTerms) -> str | None:
    """The decision a save of `terms` over a cover whose decided figures were `previous` (None
    for a new cover) stands for: the status says withdrawn, refused or expired; otherwise the
    amount says grant (new, or in force again), increase or reduction, and the same amount with
    other dates or currency is a renewal (grant). None when nothing decided changed, or the
    cover is only requested."""
    if terms.status == Status.REQUESTED:
        return None
    if previous is not None and all(
        previous[name] == getattr(terms, name) for name in DECIDED_FIELDS
    ):
        return None
    if terms.status in ENDING_KIND_OF_STATUS:
        return ENDING_KIND_OF_STATUS[terms.status]
    if previous is None or previous["status"] not in InsurerCover.IN_FORCE:
        return Kind.GRANT
    if previous["currency"] == terms.currency and terms.amount > previous["amount"]:
        return Kind.INCREASE
    if previous["currency"] == terms.currency and terms.amount < previous["amount"]:
        return Kind.REDUCTION
    return Kind.GRANT


def _notice_days(policy: InsurancePolicy, on: date) -> int:
    """The notice period of the policy's terms in force on `on` (its first terms before
    they start)."""
    version = _terms_on(policy, on)
    return version.cover_notice_days if version else 0


def _terms_on(policy: InsurancePolicy, on: date) -> PolicyVersion | None:
    return (
        version_in_force(policy=policy, on=on)
        or PolicyVersion.objects.filter(policy=policy).order_by("effective_from", "version").first()
    )


def _append_decision(
    *,
    tenant: Tenant,
    actor: Actor,
    cover: InsurerCover,
    kind: str,
    amount: Decimal,
    currency: str,
    decision_date: date,
    expiry_date: date | None,
    conditions: str,
    reference: str,
    notice_days: int,
) -> CoverDecision:
    decision = CoverDecision.objects.create(
        tenant=tenant,
        cover=cover,
        kind=kind,
        amount=ZERO if kind in cover_rules.ENDING else amount,
        currency=currency,
        decision_date=decision_date,
        effective_date=cover_rules.effective_date(
            kind=kind, decision_date=decision_date, notice_days=notice_days
        ),
        expiry_date=expiry_date,
        conditions=conditions,
        reference=reference,
        recorded_by_label=actor_label(actor),
    )
    _publish(tenant, cover, [decision])
    coverage_refresh_soon(tenant=tenant)
    return decision


def cover_event(cover: InsurerCover, decision: CoverDecision) -> webhooks.WebhookEvent:
    """The `cover.changed` webhook event of one decision (its id is stable: one delivery per
    decision and endpoint)."""
    buyer = cover.buyer
    return webhooks.WebhookEvent(
        event_id=f"evt_cover_decision_{decision.pk}",
        event_type=EVENT_COVER_CHANGED,
        data={
            "cover": {
                "id": cover.pk,
                "insurer": cover.insurer,
                "kind": cover.kind,
                "policy_id": cover.policy_id,
                "status": cover.status,
            },
            "buyer": {
                "id": buyer.pk,
                "erp_reference": buyer.erp_reference,
                "legal_name": buyer.legal_name,
            },
            "decision": {
                "id": decision.pk,
                "kind": decision.kind,
                "amount": f"{decision.amount:.2f}",
                "currency": decision.currency,
                "decision_date": decision.decision_date.isoformat(),
                "effective_date": decision.effective_date.isoformat(),
                "expiry_date": decision.expiry_date.isoformat() if decision.expiry_date else None,
                "reference": decision.reference,
            },
        },
    )


def _publish(tenant: Tenant, cover: InsurerCover, decisions: Iterable[CoverDecision]) -> None:
    # The deliveries are rows of this transaction, sent after it commits (`enqueue_delivery`).
    if not webhooks.has_subscribers(event_type=EVENT_COVER_CHANGED):
        return
    webhooks.webhook_events_publish(
        tenant=tenant, events=[cover_event(cover, decision) for decision in decisions]
    )


def _cover_audit(cover: InsurerCover) -> dict[str, Any]:
    return snapshot(
        cover, ["policy_id", "kind", "insurer", *COVER_FIELDS, "conditions", "evidence"]
    )


@transaction.atomic
def cover_decision_record(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    policy: InsurancePolicy,
    kind: str,
    amount: Decimal,
    currency: str,
    decision_date: date,
    expiry_date: date | None = None,
    conditions: str = "",
    reference: str = "",
) -> CoverDecision:
    """Record the insurer's decision on `buyer` under `policy`: the buyer's cover by the policy's
    insurer is created or updated (a named cover, attached to the policy) and the decision is
    appended to its history, effective as the module docstring says.

    Rules: the policy covers the buyer (named as included, or its country covered and not
    excluded, by the terms in force on the decision date); a grant, increase or reduction has an
    amount above zero, an increase is above and a reduction below the amount decided before,
    and an increase, reduction or withdrawal needs a cover to change; a withdrawal, refusal or
    expiry has no amount (recorded as 0); the expiry is not before the decision.
    """
    errors: dict[str, list[str]] = {}
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Choose a decision.")]})
    if expiry_date is not None and expiry_date < decision_date:
        errors["expiry_date"] = [_("The cover cannot expire before the decision.")]
    ending = kind in cover_rules.ENDING
    if not ending and amount <= ZERO:
        errors["amount"] = [_("Enter the amount of cover the insurer decided.")]
    version = _terms_on(policy, decision_date)
    named = PolicyBuyer.objects.filter(policy=policy, buyer=buyer).values_list("kind", flat=True)
    if version is None or not in_scope(
        country=buyer.country_id,
        named=next(iter(named), None),
        covered_countries=version.covered_countries,
    ):
        errors["buyer"] = [
            _(
                "The policy does not cover this buyer: its country is not covered, or the "
                "policy excludes it."
            )
        ]
    cover = (
        InsurerCover.objects.select_for_update()
        .select_related("buyer")
        .filter(buyer=buyer, insurer__iexact=policy.insurer)
        .first()
    )
    if cover is not None and cover.policy_id not in (None, policy.pk):
        errors["buyer"] = [
            _("This buyer's cover by %(insurer)s belongs to another policy.")
            % {"insurer": policy.insurer}
        ]
    in_force_before = cover is not None and cover.status in InsurerCover.IN_FORCE
    if kind in CHANGES_OF_A_CUT and not in_force_before:
        errors["kind"] = [_("There is no cover in force to change; record a grant.")]
    elif cover is not None and in_force_before and cover.currency == currency:
        if kind == Kind.INCREASE and amount <= cover.amount:
            errors["amount"] = [_("An increase must be above the cover decided before.")]
        if kind == Kind.REDUCTION and amount >= cover.amount:
            errors["amount"] = [_("A reduction must be below the cover decided before.")]
    if errors:
        raise ValidationError(errors)
    before = _cover_audit(cover) if cover else None
    if cover is None:
        cover = InsurerCover(tenant=tenant, buyer=buyer, insurer=policy.insurer)
    cover.policy = policy
    cover.policy_number = policy.number
    cover.kind = CoverKind.NAMED
    cover.evidence = {}
    cover.amount = ZERO if ending else amount
    cover.currency = currency
    cover.decision_date = decision_date
    cover.expiry_date = expiry_date
    cover.status = STATUS_OF_KIND[kind]
    cover.conditions = conditions
    cover.decision_reference = reference
    cover.save()
    decision = _append_decision(
        tenant=tenant,
        actor=actor,
        cover=cover,
        kind=kind,
        amount=amount,
        currency=currency,
        decision_date=decision_date,
        expiry_date=expiry_date,
        conditions=conditions,
        reference=reference,
        notice_days=version.cover_notice_days if version else 0,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="insurer_cover.decision",
        obj=cover,
        before=before,
        after={**_cover_audit(cover), "decision": snapshot(decision, DECISION_FIELDS)},
    )
    return decision


# --- Discretionary credit limits -------------------------------------------------------------


def _evidence_json(
    *,
    version: PolicyVersion,
    evidence: dcl.DclEvidence,
    result: dcl.DclResult,
    currency: str,
    as_of: date,
) -> dict[str, Any]:
    return {
        "checked_on": as_of.isoformat(),
        "credit_report_date": (
            evidence.credit_report_date.isoformat() if evidence.credit_report_date else None
        ),
        "on_time_payments": evidence.on_time_payments,
        "own_limit": None if evidence.own_limit is None else f"{evidence.own_limit:.2f}",
        "currency": currency,
        "dcl_max_amount": f"{version.dcl_max_amount:.2f}",
        "report_max_age_days": version.dcl_report_max_age_days,
        "min_on_time_payments": version.dcl_min_on_time_payments,
        "payment_lookback_days": version.dcl_payment_lookback_days,
        "policy_version": version.version,
        "eligible": result.eligible,
        "amount": f"{result.amount:.2f}",
        "reasons": list(result.reasons),
    }


def _dcl_kind(cover: InsurerCover | None, result: dcl.DclResult) -> str | None:
    """The decision a DCL check stands for, against the discretionary cover decided before."""
    in_force = cover is not None and cover.status in InsurerCover.IN_FORCE
    if not result.eligible or result.amount <= ZERO:
        return Kind.WITHDRAWAL if in_force else None
    if cover is None or not in_force:
        return Kind.GRANT
    if result.amount > cover.amount:
        return Kind.INCREASE
    if result.amount < cover.amount:
        return Kind.REDUCTION
    return None


@transaction.atomic
def dcl_refresh(*, tenant: Tenant, as_of: date | None = None) -> int:
    """Check the DCL rules of every policy (terms in force on `as_of`) for the buyers it covers
    that have no named cover by its insurer, and grant, change or withdraw their discretionary
    covers accordingly (the evidence kept on the cover). A discretionary cover of a buyer the
    policy no longer covers, or of a policy that no longer offers a DCL, is withdrawn. Returns
    the number of decisions recorded; a second run on the same day records none. Runs with
    `tenant` active."""
    as_of = as_of or today()
    versions = versions_in_force(on=as_of)
    policies = InsurancePolicy.objects.in_bulk(list(versions))
    recorded = 0
    for policy_id in sorted(versions):
        recorded += _dcl_refresh_policy(
            tenant=tenant, policy=policies[policy_id], version=versions[policy_id], as_of=as_of
        )
    return recorded


def _dcl_refresh_policy(
    *, tenant: Tenant, policy: InsurancePolicy, version: PolicyVersion, as_of: date
) -> int:
    offers_dcl = version.dcl_max_amount > ZERO
    scope_ids = (
        set(covered_buyers(policy=policy, on=as_of).values_list("pk", flat=True))
        if offers_dcl
        else set()
    )
    covers = {
        cover.buyer_id: cover
        for cover in InsurerCover.objects.select_for_update()
        .filter(insurer__iexact=policy.insurer)
        .filter(Q(buyer_id__in=scope_ids) | Q(policy=policy, kind=CoverKind.DISCRETIONARY))
    }
    candidates = sorted(
        buyer_id
        for buyer_id in scope_ids
        if buyer_id not in covers or covers[buyer_id].kind == CoverKind.DISCRETIONARY
    )
    evidence = dcl_evidence(policy=policy, version=version, buyer_ids=candidates, as_of=as_of)
    outcomes: dict[int, tuple[dcl.DclResult, dict[str, Any]]] = {}
    for buyer_id in candidates:
        result = dcl.discretionary_limit(version, evidence[buyer_id], as_of)
        outcomes[buyer_id] = (
            result,
            _evidence_json(
                version=version,
                evidence=evidence[buyer_id],
                result=result,
                currency=policy.currency,
                as_of=as_of,
            ),
        )
    for buyer_id, cover in covers.items():
        # Out of scope, or no DCL offered any more.
        mine = cover.kind == CoverKind.DISCRETIONARY and cover.policy_id == policy.pk
        if mine and buyer_id not in outcomes:
            outcomes[buyer_id] = (dcl.DclResult(ZERO, False, []), cover.evidence)
    changes = {
        buyer_id: kind
        for buyer_id, (result, _evidence) in outcomes.items()
        if (kind := _dcl_kind(covers.get(buyer_id), result)) is not None
    }
    buyers = Buyer.objects.in_bulk(list(changes))
    checked: list[InsurerCover] = []
    for buyer_id, (result, evidence_json) in outcomes.items():
        found = covers.get(buyer_id)
        kind = changes.get(buyer_id)
        if kind is None:
            if found is not None and found.evidence != evidence_json:
                found.evidence = evidence_json
                checked.append(found)
            continue
        before = _cover_audit(found) if found else None
        cover = found or InsurerCover(tenant=tenant, buyer=buyers[buyer_id], insurer=policy.insurer)
        cover.buyer = buyers[buyer_id]
        cover.policy = policy
        cover.policy_number = policy.number
        cover.kind = CoverKind.DISCRETIONARY
        cover.evidence = evidence_json
        cover.amount = ZERO if kind in cover_rules.ENDING else result.amount
        cover.currency = policy.currency
        cover.decision_date = as_of
        cover.expiry_date = None
        cover.status = STATUS_OF_KIND[kind]
        cover.decision_reference = ""
        cover.conditions = ""
        cover.save()
        decision = _append_decision(
            tenant=tenant,
            actor=None,
            cover=cover,
            kind=kind,
            amount=result.amount,
            currency=policy.currency,
            decision_date=as_of,
            expiry_date=None,
            conditions="",
            reference="",
            notice_days=0,  # the policyholder's own decision: no insurer's notice
        )
        audit_record(
            tenant=tenant,
            actor=None,
            action="insurer_cover.dcl",
            obj=cover,
            before=before,
            after={**_cover_audit(cover), "decision": snapshot(decision, DECISION_FIELDS)},
        )
    if checked:
        InsurerCover.objects.bulk_update(checked, ["evidence"])
    return len(changes)
