"""The deadline calendar (selector): the deadlines of open invoices under a policy, by date, read
from the last coverage sweep (`InvoiceCoverage`; the deadlines themselves are the rules of
`policies.insurance.deadlines`).

Each entry is one deadline of one invoice: ``extension_end``, ``notify_by`` or ``claim_by``.
Entries are ordered by (date, kind — end of extension, notification, claim — invoice id) and
read page by page with a keyset cursor (`CalendarCursor`), so a page costs the same however deep
it is. The same selector serves the page and the API.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from django.db import connection

from creditguard.dates import is_supported
from creditguard.tenancy.models import Tenant

from . import deadlines

# Order of the kinds within a day.
KIND_RANK: Final = {deadlines.EXTENSION_END: 0, deadlines.NOTIFY_BY: 1, deadlines.CLAIM_BY: 2}
MAX_PAGE_SIZE: Final = 500


@dataclass(frozen=True)
class CalendarCursor:
    """The position after an entry: ``(deadline, kind rank, invoice id)``."""

    deadline: date
    rank: int
    invoice_id: int

    def encode(self) -> str:
        raw = f"{self.deadline.isoformat()}|{self.rank}|{self.invoice_id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> CalendarCursor:
        """Raises ValueError for anything that is not a cursor this module made."""
        try:
            padded = token + "=" * (-len(token) % 4)
            day, rank, invoice_id = base64.urlsafe_b64decode(padded).decode().split("|")
            cursor = cls(date.fromisoformat(day), int(rank), int(invoice_id))
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise ValueError("invalid cursor") from error
        if (
            not is_supported(cursor.deadline)
            or cursor.rank not in KIND_RANK.values()
            or not 0 < cursor.invoice_id < 2**63
        ):
            raise ValueError("invalid cursor")
        return cursor


@dataclass(frozen=True)
class CalendarEntry:
    kind: str
    deadline: date
    days_left: int
    invoice_id: int
    invoice_number: str
    invoice_erp_reference: str
    due_date: date
    buyer_id: int
    buyer_erp_reference: str
    buyer_name: str
    policy_id: int
    outstanding: Decimal
    insured: Decimal
    notified: bool
    cover_lost: bool

    @property
    def cursor(self) -> CalendarCursor:
        return CalendarCursor(self.deadline, KIND_RANK[self.kind], self.invoice_id)


@dataclass(frozen=True)
class CalendarPage:
    entries: list[CalendarEntry]
    next_cursor: CalendarCursor | None


@dataclass(frozen=True)
class CalendarFilter:
    policy_id: int | None = None
    buyer_id: int | None = None
    kinds: Sequence[str] = deadlines.DEADLINE_KINDS
    date_from: date | None = None
    date_to: date | None = None


CALENDAR_SQL: Final = """
SELECT k.kind, k.deadline, c.invoice_id, i.number, i.erp_reference, c.due_date, c.buyer_id,
       b.erp_reference, b.legal_name, c.policy_id, c.outstanding, c.insured, c.notified,
       c.cover_lost
FROM policies_invoicecoverage c
CROSS JOIN LATERAL (VALUES (%(rank_extension)s, %(extension)s, c.extension_end),
                           (%(rank_notify)s, %(notify)s, c.notify_by),
                           (%(rank_claim)s, %(claim)s, c.claim_by)) AS k(rank, kind, deadline)
JOIN buyers_invoice i ON i.tenant_id = c.tenant_id AND i.id = c.invoice_id
JOIN buyers_buyer b ON b.tenant_id = c.tenant_id AND b.id = c.buyer_id
WHERE c.tenant_id = %(tenant)s
  AND k.kind = ANY(%(kinds)s)
  AND (%(policy)s::bigint IS NULL OR c.policy_id = %(policy)s)
  AND (%(buyer)s::bigint IS NULL OR c.buyer_id = %(buyer)s)
  AND (%(date_from)s::date IS NULL OR k.deadline >= %(date_from)s)
  AND (%(date_to)s::date IS NULL OR k.deadline <= %(date_to)s)
  AND (%(after_date)s::date IS NULL
       OR (k.deadline, k.rank, c.invoice_id) > (%(after_date)s, %(after_rank)s, %(after_id)s))
ORDER BY k.deadline, k.rank, c.invoice_id
LIMIT %(limit)s
"""


def deadline_calendar(
    *,
    tenant: Tenant,
    as_of: date,
    filters: CalendarFilter,
    after: CalendarCursor | None = None,
    page_size: int = 50,
) -> CalendarPage:
    """One page of the calendar of ``tenant`` (the current tenant), ``days_left`` counted from
    ``as_of``."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    params: dict[str, int | str | date | list[str] | None] = {
        "tenant": tenant.pk,
        "kinds": list(filters.kinds),
        "policy": filters.policy_id,
        "buyer": filters.buyer_id,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "after_date": after.deadline if after else None,
        "after_rank": after.rank if after else None,
        "after_id": after.invoice_id if after else None,
        "limit": page_size + 1,
        "rank_extension": KIND_RANK[deadlines.EXTENSION_END],
        "rank_notify": KIND_RANK[deadlines.NOTIFY_BY],
        "rank_claim": KIND_RANK[deadlines.CLAIM_BY],
        "extension": deadlines.EXTENSION_END,
        "notify": deadlines.NOTIFY_BY,
        "claim": deadlines.CLAIM_BY,
    }
    with connection.cursor() as cursor:
        cursor.execute(CALENDAR_SQL, params)
        rows = cursor.fetchall()
    entries = [
        CalendarEntry(
            kind=kind,
            deadline=deadline,
            days_left=deadlines.days_left(deadline=deadline, as_of=as_of),
            invoice_id=invoice_id,
            invoice_number=number,
            invoice_erp_reference=erp_reference,
            due_date=due_date,
            buyer_id=buyer_id,
            buyer_erp_reference=buyer_reference,
            buyer_name=buyer_name,
            policy_id=policy_id,
            outstanding=outstanding,
            insured=insured,
            notified=notified,
            cover_lost=cover_lost,
        )
        for (
            kind,
            deadline,
            invoice_id,
            number,
            erp_reference,
            due_date,
            buyer_id,
            buyer_reference,
            buyer_name,
            policy_id,
            outstanding,
            insured,
            notified,
            cover_lost,
        ) in rows[:page_size]
    ]
    next_cursor = entries[-1].cursor if len(rows) > page_size else None
    return CalendarPage(entries=entries, next_cursor=next_cursor)
