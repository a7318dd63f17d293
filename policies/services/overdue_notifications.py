"""Overdue (threat-of-loss) notifications to the insurer: proposed from the daily sweep's
`InvoiceCoverage` rows, reviewed, marked sent or withdrawn; extension requests and payment
plans recorded against them. The rules are in `policies.insurance.notification_rules`.

Workflow: proposed → reviewed → sent (final); proposed or reviewed → withdrawn. A proposal whose
invoices change (one paid, a new one due) goes back to proposed and must be reviewed again. A
forbidden step raises `TransitionNotAllowed` (a ValidationError: the pages show it, the API
answers 409).

Amounts: each item keeps its invoice's outstanding in the invoice currency; the notification's
``overdue_amount`` is their sum in the policy currency, each item converted with the FX rates
of the day of the proposal (`creditguard.reference.fx.convert`, rounded to cents per item;
items in a currency without a rate are left out of the sum, as in every ledger figure). The
rates used are recorded in the audit event of the proposal (`fx_date`, `fx_rates`), which the
pages and the PDF state.

Invoices on a withdrawn notification are not proposed again: withdrawing says "this buyer's
overdue is not to be notified" (for instance a promise to pay that the insurer need not hear
about). The deadline calendar still shows their deadlines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers import ledger
from buyers.models import PaymentPlan
from creditguard.audit.services import audit_record, snapshot
from creditguard.dates import today
from creditguard.reference.fx import MissingRate, convert
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.models import Tenant

from ..insurance import notification_rules as rules
from ..insurance.scope import version_in_force
from ..models import (
    ExtensionRequest,
    InsurancePolicy,
    InvoiceCoverage,
    OverdueNotification,
    OverdueNotificationItem,
)
from .coverage import coverage_refresh_soon
from .transitions import TransitionNotAllowed as TransitionNotAllowed  # for pages and API

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

Status = OverdueNotification.Status
ZERO: Final = Decimal("0")
PROPOSE_ACTION: Final = "overdue_notification.propose"
UPDATE_ACTION: Final = "overdue_notification.update"
NOTIFICATION_FIELDS: Final = [
    "status",
    "deadline",
    "overdue_amount",
    "currency",
    "insurer_reference",
    "notes",
    "sent_on",
]
EXTENSION_FIELDS: Final = ["kind", "requested_until", "payment_plan_id", "status", "decided_on"]


# --- Proposals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemFigures:
    invoice_id: int
    due_date: date
    outstanding: Decimal
    currency: str
    notify_by: date

    def key(self) -> tuple[int, date, Decimal, str, date]:
        return (self.invoice_id, self.due_date, self.outstanding, self.currency, self.notify_by)


def _excluded_invoices() -> Exists:
    """On a sent notification (notified already) or on a withdrawn one (decided against)."""
    return Exists(
        OverdueNotificationItem.objects.filter(
            invoice_id=OuterRef("invoice_id"),
            notification__status__in=[Status.SENT, Status.WITHDRAWN],
        )
    )


def _candidates(*, as_of: date, lead_days: int) -> dict[tuple[int, int], list[ItemFigures]]:
    """The invoices due for notification, by (policy, buyer)."""
    rows = (
        InvoiceCoverage.objects.filter(
            notified=False,
            extension_end__lte=as_of + timedelta(days=lead_days),
            invoice__in=ledger.open_invoices(),
        )
        .exclude(_excluded_invoices())
        .values_list(
            "policy_id",
            "buyer_id",
            "invoice_id",
            "invoice__due_date",
            "invoice__amount",
            "invoice__paid_amount",
            "invoice__currency",
            "notify_by",
        )
    )
    groups: dict[tuple[int, int], list[ItemFigures]] = defaultdict(list)
    for policy_id, buyer_id, invoice_id, due, amount, paid, currency, notify_by in rows:
        groups[(policy_id, buyer_id)].append(
            ItemFigures(invoice_id, due, amount - paid, currency, notify_by)
        )
    return groups


def _current_items(notification: OverdueNotification) -> list[ItemFigures]:
    """The notification's items whose invoices are still open, with today's outstanding and
    the latest deadline the sweep computed."""
    items = list(notification.items.all())
    open_invoices = {
        invoice.pk: invoice
        for invoice in ledger.open_invoices().filter(pk__in=[item.invoice_id for item in items])
    }
    deadlines = dict(
        InvoiceCoverage.objects.filter(invoice_id__in=list(open_invoices)).values_list(
            "invoice_id", "notify_by"
        )
    )
    return [
        ItemFigures(
            item.invoice_id,
            open_invoices[item.invoice_id].due_date,
            open_invoices[item.invoice_id].amount - open_invoices[item.invoice_id].paid_amount,
            open_invoices[item.invoice_id].currency,
            deadlines.get(item.invoice_id, item.notify_by),
        )
        for item in items
        if item.invoice_id in open_invoices
    ]


@dataclass(frozen=True)
class Conversion:
    amount: Decimal  # in the policy currency
    rates: dict[str, str]  # "USD" → "0.92165899" policy-currency units per unit
    missing: list[str]  # currencies without a rate (left out)


def overdue_amount_in(
    items: Iterable[tuple[Decimal, str]], *, currency: str, rates: Mapping[str, Decimal]
) -> Conversion:
    """The sum of (outstanding, currency) items in `currency`, each converted and rounded."""
    total = ZERO
    used: dict[str, str] = {}
    missing: set[str] = set()
    for outstanding, item_currency in items:
        try:
            total += convert(
                outstanding,
                from_currency=item_currency,
                to_currency=currency,
                units_per_eur=dict(rates),
            )
        except MissingRate:
            missing.add(item_currency)
            continue
        if item_currency != currency:
            factor = convert(
                Decimal("1000000"),
                from_currency=item_currency,
                to_currency=currency,
                units_per_eur=dict(rates),
            ) / Decimal("1000000")
            used[item_currency] = f"{factor:.6f}"
    return Conversion(amount=total, rates=used, missing=sorted(missing))


def _write_items(notification: OverdueNotification, figures: list[ItemFigures]) -> None:
    wanted = {item.invoice_id: item for item in figures}
    notification.items.exclude(invoice_id__in=list(wanted)).delete()
    existing = {item.invoice_id: item for item in notification.items.all()}
    for invoice_id, item in wanted.items():
        row = existing.get(invoice_id)
        values = {
            "due_date": item.due_date,
            "outstanding": item.outstanding,
            "currency": item.currency,
            "notify_by": item.notify_by,
        }
        if row is None:
            OverdueNotificationItem.objects.create(
                tenant_id=notification.tenant_id,
                notification=notification,
                invoice_id=invoice_id,
                **values,
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.save(update_fields=list(values))


def _items_audit(figures: list[ItemFigures]) -> list[dict[str, Any]]:
    return [
        {
            "invoice_id": item.invoice_id,
            "due_date": item.due_date.isoformat(),
            "outstanding": f"{item.outstanding:.2f}",
            "currency": item.currency,
            "notify_by": item.notify_by.isoformat(),
        }
        for item in sorted(figures, key=lambda item: (item.due_date, item.invoice_id))
    ]


def _refresh(
    *,
    tenant: Tenant,
    policy: InsurancePolicy,
    buyer_id: int,
    notification: OverdueNotification | None,
    figures: list[ItemFigures],
    as_of: date,
    rates: Mapping[str, Decimal],
) -> bool:
    """Create, update or (when nothing is left to notify) withdraw one buyer's open
    notification; whether anything changed."""
    before_items = _current_items(notification) if notification else []
    stored = (
        sorted(
            ItemFigures(i.invoice_id, i.due_date, i.outstanding, i.currency, i.notify_by).key()
            for i in notification.items.all()
        )
        if notification
        else []
    )
    merged = {item.invoice_id: item for item in before_items}
    merged.update({item.invoice_id: item for item in figures})
    items = sorted(merged.values(), key=lambda item: (item.due_date, item.invoice_id))
    if notification is not None and not items:
        previous_status = notification.status
        notification.status = Status.WITHDRAWN
        notification.notes = "\n".join(
            filter(None, [notification.notes, _("Withdrawn: every invoice on it was paid.")])
        )
        notification.save(update_fields=["status", "notes", "updated_at"])
        audit_record(
            tenant=tenant,
            actor=None,
            action="overdue_notification.withdraw",
            obj=notification,
            before={"status": previous_status},
            after={"status": Status.WITHDRAWN, "reason": "paid"},
        )
        return True
    if not items:
        return False
    conversion = overdue_amount_in(
        ((item.outstanding, item.currency) for item in items),
        currency=policy.currency,
        rates=rates,
    )
    deadline = rules.notification_deadline(item.notify_by for item in items)
    same_items = stored == sorted(item.key() for item in items)
    if (
        notification is not None
        and same_items
        and notification.deadline == deadline
        and notification.overdue_amount == conversion.amount
    ):
        return False
    created = notification is None
    before = snapshot(notification, NOTIFICATION_FIELDS) if notification else {}
    if notification is None:
        notification = OverdueNotification(
            tenant=tenant, policy=policy, buyer_id=buyer_id, currency=policy.currency
        )
    elif not same_items and notification.status == Status.REVIEWED:
        # What the reviewer saw is no longer what would be sent.
        notification.status = Status.PROPOSED
        notification.reviewed_at = None
        notification.reviewed_by = None
    notification.deadline = deadline
    notification.overdue_amount = conversion.amount
    notification.currency = policy.currency
    notification.save()
    _write_items(notification, items)
    audit_record(
        tenant=tenant,
        actor=None,
        action=PROPOSE_ACTION if created else UPDATE_ACTION,
        obj=notification,
        before=before or None,
        after={
            **snapshot(notification, NOTIFICATION_FIELDS),
            "items": _items_audit(items),
            "fx_date": as_of.isoformat(),
            "fx_rates": conversion.rates,
            "fx_missing": conversion.missing,
        },
    )
    return True


@transaction.atomic
def overdue_notifications_propose(
    *, tenant: Tenant, as_of: date, lead_days: int = rules.DEFAULT_LEAD_DAYS
) -> int:
    """Propose, extend or refresh the notification of every buyer whose open invoices under a
    policy reach the end of their maximum extension period within `lead_days` (from the daily
    sweep's `InvoiceCoverage`; run the sweep first). Idempotent; the number of notifications
    created or changed. Runs with `tenant` active."""
    candidates = _candidates(as_of=as_of, lead_days=lead_days)
    open_notifications = {
        (notification.policy_id, notification.buyer_id): notification
        for notification in OverdueNotification.objects.select_for_update()
        .filter(status__in=OverdueNotification.OPEN_STATUSES)
        .prefetch_related("items")
    }
    keys = sorted(set(candidates) | set(open_notifications))
    policies = InsurancePolicy.objects.in_bulk({policy_id for policy_id, _buyer in keys})
    rates = fx_rates_on(as_of)
    changed = 0
    for policy_id, buyer_id in keys:
        changed += _refresh(
            tenant=tenant,
            policy=policies[policy_id],
            buyer_id=buyer_id,
            notification=open_notifications.get((policy_id, buyer_id)),
            figures=candidates.get((policy_id, buyer_id), []),
            as_of=as_of,
            rates=rates,
        )
    return changed


# --- Workflow ------------------------------------------------------------------------------------


def _locked(notification: OverdueNotification) -> OverdueNotification:
    return OverdueNotification.objects.select_for_update().get(pk=notification.pk)


def _require(notification: OverdueNotification, allowed: Iterable[str], message: str) -> None:
    if notification.status not in set(allowed):
        raise TransitionNotAllowed(message)


def _audit_change(
    *,
    tenant: Tenant,
    actor: Actor,
    action: str,
    notification: OverdueNotification,
    before: dict[str, Any],
) -> None:
    after = snapshot(notification, NOTIFICATION_FIELDS)
    audit_record(
        tenant=tenant,
        actor=actor,
        action=action,
        obj=notification,
        before={key: value for key, value in before.items() if after.get(key) != value},
        after={key: value for key, value in after.items() if before.get(key) != value},
    )


@transaction.atomic
def notification_review(
    *,
    tenant: Tenant,
    actor: Actor,
    notification: OverdueNotification,
    notes: str | None = None,
) -> OverdueNotification:
    """A person checked the proposal: it may be sent."""
    notification = _locked(notification)
    _require(
        notification,
        [Status.PROPOSED],
        _("Only a proposed notification can be reviewed (this one is %(status)s).")
        % {"status": notification.get_status_display()},
    )
    before = snapshot(notification, NOTIFICATION_FIELDS)
    notification.status = Status.REVIEWED
    notification.reviewed_at = timezone.now()
    notification.reviewed_by = actor if isinstance(actor, User) else None
    if notes is not None:
        notification.notes = notes
    notification.save()
    _audit_change(
        tenant=tenant,
        actor=actor,
        action="overdue_notification.review",
        notification=notification,
        before=before,
    )
    return notification


@transaction.atomic
def notification_mark_sent(
    *,
    tenant: Tenant,
    actor: Actor,
    notification: OverdueNotification,
    sent_on: date,
    insurer_reference: str = "",
) -> OverdueNotification:
    """The reviewed notification went to the insurer on `sent_on`. Final. Sending after the
    deadline is recorded as it happened; the late items show as cover lost."""
    notification = _locked(notification)
    if notification.status == Status.PROPOSED:
        raise TransitionNotAllowed(_("Review the notification before marking it sent."))
    _require(
        notification,
        [Status.REVIEWED],
        _("Only a reviewed notification can be marked sent (this one is %(status)s).")
        % {"status": notification.get_status_display()},
    )
    if sent_on > today():
        raise ValidationError({"sent_on": [_("The date it was sent cannot be in the future.")]})
    if sent_on < notification.created_at.date():
        raise ValidationError(
            {"sent_on": [_("The notification cannot have been sent before it was proposed.")]}
        )
    before = snapshot(notification, NOTIFICATION_FIELDS)
    notification.status = Status.SENT
    notification.sent_on = sent_on
    notification.sent_by = actor if isinstance(actor, User) else None
    notification.insurer_reference = insurer_reference
    notification.save()
    _audit_change(
        tenant=tenant,
        actor=actor,
        action="overdue_notification.send",
        notification=notification,
        before=before,
    )
    coverage_refresh_soon(tenant=tenant)  # notified (or late): the cover of its invoices
    return notification


@transaction.atomic
def notification_withdraw(
    *, tenant: Tenant, actor: Actor, notification: OverdueNotification, reason: str = ""
) -> OverdueNotification:
    """Not to be sent: its invoices are not proposed again."""
    notification = _locked(notification)
    _require(
        notification,
        OverdueNotification.OPEN_STATUSES,
        _("A notification that is %(status)s cannot be withdrawn.")
        % {"status": notification.get_status_display()},
    )
    before = snapshot(notification, NOTIFICATION_FIELDS)
    notification.status = Status.WITHDRAWN
    if reason:
        notification.notes = "\n".join(filter(None, [notification.notes, reason]))
    notification.save()
    _audit_change(
        tenant=tenant,
        actor=actor,
        action="overdue_notification.withdraw",
        notification=notification,
        before=before,
    )
    return notification


# --- Extension requests and payment plans --------------------------------------------------------


def max_extension_days(notification: OverdueNotification) -> int:
    """The maximum extension period of the policy terms in force on the earliest due date of
    the notification's invoices (0 when the policy had no terms then)."""
    due_dates = [item.due_date for item in notification.items.all()]
    on = min(due_dates) if due_dates else notification.deadline
    version = version_in_force(policy=notification.policy, on=on)
    if version is None:
        version = version_in_force(policy=notification.policy, on=notification.deadline)
    return version.max_extension_days if version is not None else 0


@transaction.atomic
def extension_request_create(
    *,
    tenant: Tenant,
    actor: Actor,
    notification: OverdueNotification,
    kind: str,
    requested_until: date,
    payment_plan: PaymentPlan | None = None,
    notes: str = "",
    beyond_maximum: bool = False,
) -> ExtensionRequest:
    """Record an extension of the terms, or a payment plan, asked of the insurer for the
    notification's invoices. Going beyond the policy's maximum extension period must be said
    (`beyond_maximum`): the insurer has to agree to it expressly."""
    notification = _locked(notification)
    if notification.status == Status.WITHDRAWN:
        raise TransitionNotAllowed(_("A withdrawn notification cannot get an extension request."))
    if kind not in ExtensionRequest.Kind.values:
        raise ValidationError({"kind": [_("Unknown kind of request.")]})
    if kind == ExtensionRequest.Kind.PAYMENT_PLAN and payment_plan is None:
        raise ValidationError(
            {"payment_plan": [_("Choose the payment plan agreed with the buyer.")]}
        )
    if kind == ExtensionRequest.Kind.EXTENSION and payment_plan is not None:
        raise ValidationError(
            {"payment_plan": [_("An extension of the due date has no payment plan.")]}
        )
    if payment_plan is not None and payment_plan.buyer_id != notification.buyer_id:
        raise ValidationError({"payment_plan": [_("This payment plan is of another buyer.")]})
    due_dates = [item.due_date for item in notification.items.all()]
    if not due_dates:
        raise ValidationError(_("This notification has no invoices to extend."))
    check = rules.check_extension(
        requested_until=requested_until,
        due_dates=due_dates,
        max_extension_days=max_extension_days(notification),
    )
    if check.too_early:
        raise ValidationError(
            {
                "requested_until": [
                    _("Ask for a date after the invoices' due dates (from %(date)s).")
                    % {"date": check.earliest_allowed.isoformat()}
                ]
            }
        )
    if check.beyond_maximum and not beyond_maximum:
        raise ValidationError(
            {
                "requested_until": [
                    _(
                        "This goes beyond the policy's maximum extension period (up to "
                        "%(date)s): confirm that you ask the insurer for more."
                    )
                    % {"date": check.maximum.isoformat()}
                ]
            }
        )
    extension = ExtensionRequest.objects.create(
        tenant=tenant,
        notification=notification,
        kind=kind,
        requested_until=requested_until,
        payment_plan=payment_plan,
        notes=notes,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="extension_request.create",
        obj=extension,
        after={
            **snapshot(extension, EXTENSION_FIELDS),
            "notification_id": notification.pk,
            "maximum_extension_until": check.maximum.isoformat(),
            "beyond_maximum": check.beyond_maximum,
        },
    )
    return extension


@transaction.atomic
def extension_request_decide(
    *,
    tenant: Tenant,
    actor: Actor,
    extension: ExtensionRequest,
    decision: str,
    decided_on: date,
    notes: str | None = None,
) -> ExtensionRequest:
    """The insurer's answer: granted or refused. A granted extension on a sent notification
    moves its invoices' deadlines (the daily sweep reads it)."""
    extension = ExtensionRequest.objects.select_for_update().get(pk=extension.pk)
    if extension.status != ExtensionRequest.Status.REQUESTED:
        raise TransitionNotAllowed(
            _("The insurer's answer to this request is already recorded (%(status)s).")
            % {"status": extension.get_status_display()}
        )
    if decision not in (ExtensionRequest.Status.GRANTED, ExtensionRequest.Status.REFUSED):
        raise ValidationError({"decision": [_("Choose granted or refused.")]})
    if decided_on > today():
        raise ValidationError({"decided_on": [_("The decision date cannot be in the future.")]})
    if decided_on < extension.created_at.date():
        raise ValidationError(
            {"decided_on": [_("The insurer cannot have decided before the request was made.")]}
        )
    before = snapshot(extension, EXTENSION_FIELDS)
    extension.status = decision
    extension.decided_on = decided_on
    if notes is not None:
        extension.notes = notes
    extension.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="extension_request.decide",
        obj=extension,
        before=before,
        after=snapshot(extension, EXTENSION_FIELDS),
    )
    coverage_refresh_soon(tenant=tenant)  # a granted extension moves the deadlines
    return extension
