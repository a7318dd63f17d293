"""Reading overdue notifications: the list with its filters, and the "sheet" of one
notification that the page, the API, the PDF and the CSV all show (one assembly, so the four
agree): the buyer's identity, the invoices with days overdue and whether their cover is lost,
totals per currency, the FX rates of the overdue amount, and the extension requests.

Days overdue are counted to the day the notification was sent, or to the day looked at while
it is not sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from django.db.models import QuerySet

from buyers.models import Buyer, Invoice
from creditguard.audit.models import AuditEvent

from ..models import ExtensionRequest, InsurancePolicy, OverdueNotification
from . import notification_rules as rules
from .coverage import is_cover_lost

ZERO: Final = Decimal("0")
# The audit actions that record the FX rates of a proposal (policies.services.overdue_notifications).
FX_ACTIONS: Final = ("overdue_notification.propose", "overdue_notification.update")


def notifications(
    *, policy_id: int | None = None, buyer_id: int | None = None, status: str | None = None
) -> QuerySet[OverdueNotification]:
    """The current tenant's notifications, most urgent first."""
    rows = OverdueNotification.objects.select_related("policy", "buyer", "buyer__country")
    if policy_id is not None:
        rows = rows.filter(policy_id=policy_id)
    if buyer_id is not None:
        rows = rows.filter(buyer_id=buyer_id)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("deadline", "id")


def notification_or_none(pk: int) -> OverdueNotification | None:
    return (
        OverdueNotification.objects.select_related("policy", "buyer", "buyer__country", "tenant")
        .prefetch_related("items", "extensions", "extensions__payment_plan")
        .filter(pk=pk)
        .first()
    )


@dataclass(frozen=True)
class SheetRow:
    invoice_id: int
    number: str
    issue_date: date | None
    due_date: date
    outstanding: Decimal
    currency: str
    days_overdue: int
    notify_by: date
    cover_lost: bool


@dataclass(frozen=True)
class NotificationSheet:
    notification: OverdueNotification
    policy: InsurancePolicy
    buyer: Buyer
    policyholder: str
    rows: list[SheetRow]
    totals: list[tuple[str, Decimal]]  # (currency, outstanding), by currency
    overdue_amount: Decimal
    currency: str
    deadline: date
    counted_to: date  # days overdue counted to this day
    fx_date: date | None
    fx_rates: list[tuple[str, str]]  # (currency, policy-currency units per unit)
    fx_missing: list[str]
    extensions: list[ExtensionRequest] = field(default_factory=list)
    maximum_extension_until: date | None = None

    @property
    def cover_lost_rows(self) -> list[SheetRow]:
        return [row for row in self.rows if row.cover_lost]

    @property
    def deadline_missed(self) -> bool:
        return bool(self.cover_lost_rows)


def _fx_record(notification: OverdueNotification) -> tuple[date | None, dict[str, str], list[str]]:
    event = (
        AuditEvent.objects.filter(
            object_type=OverdueNotification._meta.label_lower,
            object_id=str(notification.pk),
            action__in=FX_ACTIONS,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    after = (event.after or {}) if event is not None else {}
    raw_date = after.get("fx_date")
    return (
        date.fromisoformat(raw_date) if isinstance(raw_date, str) else None,
        dict(after.get("fx_rates") or {}),
        list(after.get("fx_missing") or []),
    )


def notification_sheet(
    notification: OverdueNotification, *, as_of: date, max_extension_days: int | None = None
) -> NotificationSheet:
    """Everything one notification shows (load it with `notification_or_none`)."""
    items = list(notification.items.all())
    invoices = Invoice.objects.in_bulk([item.invoice_id for item in items])
    counted_to = notification.sent_on or as_of
    rows = []
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in items:
        invoice = invoices.get(item.invoice_id)
        rows.append(
            SheetRow(
                invoice_id=item.invoice_id,
                number=(invoice.number or invoice.erp_reference) if invoice else "",
                issue_date=invoice.issue_date if invoice else None,
                due_date=item.due_date,
                outstanding=item.outstanding,
                currency=item.currency,
                days_overdue=rules.days_overdue(due_date=item.due_date, as_of=counted_to),
                notify_by=item.notify_by,
                cover_lost=is_cover_lost(
                    notify_by=item.notify_by, sent_on=notification.sent_on, as_of=as_of
                ),
            )
        )
        totals[item.currency] += item.outstanding
    fx_date, fx_rates, fx_missing = _fx_record(notification)
    maximum = None
    if max_extension_days is not None and items:
        maximum = rules.maximum_extension_until(
            due_dates=[item.due_date for item in items], max_extension_days=max_extension_days
        )
    return NotificationSheet(
        notification=notification,
        policy=notification.policy,
        buyer=notification.buyer,
        policyholder=notification.tenant.name,
        rows=rows,
        totals=sorted(totals.items()),
        overdue_amount=notification.overdue_amount,
        currency=notification.currency,
        deadline=notification.deadline,
        counted_to=counted_to,
        fx_date=fx_date,
        fx_rates=sorted(fx_rates.items()),
        fx_missing=fx_missing,
        extensions=list(notification.extensions.all()),
        maximum_extension_until=maximum,
    )
