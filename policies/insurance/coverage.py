"""The insured / uninsured / over-cover split of a buyer's open invoices under a policy, as pure
functions and as the SQL fragments of the daily sweep (`policies.services.coverage`). Both state
the same rules; tests/insurance/test_coverage_sweep_sql.py checks that they agree on random
cases.

The rules, per buyer, on the sweep date ``as_of`` (amounts in the tenant's base currency):

- **cover lost**: the invoice's ``notify_by`` deadline (`deadlines`) has passed
  (``notify_by < as_of``) and the invoice is not on a SENT overdue notification.
- **notified**: the invoice is on a SENT overdue notification.
- **eligible**: open (`buyers.receivables.is_open_invoice`), not disputed (a disputed invoice is
  uninsured while its dispute is open: DESIGN.md, Insurance), not cover lost, and issued within
  the policy's cover period (from the earliest ``period_start`` to the latest ``period_end`` of
  the policy's versions).
- The **cover in force** (`policies.insurance.cover`), converted with the rates of ``as_of``,
  is allocated to the eligible invoices oldest first, by (due date, invoice id):
  ``insured = min(outstanding, max(0, cover - eligible outstanding before it))``.
- ``over_cover`` = eligible outstanding − insured (0 for an ineligible invoice);
  ``uninsured`` = outstanding − insured.

So the insured amounts of a buyer never add up to more than its cover, an invoice is never
insured for more than it owes, and a disputed invoice is never insured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

ZERO: Final = Decimal("0")


@dataclass(frozen=True)
class CoverageItem:
    """One open invoice of a buyer under a policy, in base currency."""

    invoice_id: int
    due_date: date
    outstanding: Decimal
    disputed: bool
    cover_lost: bool
    in_cover_period: bool = True

    @property
    def eligible(self) -> bool:
        return is_eligible(
            outstanding=self.outstanding,
            disputed=self.disputed,
            cover_lost=self.cover_lost,
            in_cover_period=self.in_cover_period,
        )


@dataclass(frozen=True)
class InsuredSplit:
    invoice_id: int
    outstanding: Decimal
    insured: Decimal
    uninsured: Decimal
    over_cover: Decimal


def is_cover_lost(*, notify_by: date, as_of: date, sent_on: date | None) -> bool:
    """The notification deadline was missed: the invoice was notified after it (`sent_on`, the
    day its sent notification went out), or nothing was sent and the deadline is before
    `as_of`."""
    if sent_on is not None:
        return sent_on > notify_by
    return notify_by < as_of


def is_eligible(
    *, outstanding: Decimal, disputed: bool, cover_lost: bool, in_cover_period: bool
) -> bool:
    """Counts against the cover: open (something still to pay), undisputed, cover not lost, and
    issued within the policy's cover period."""
    return outstanding > 0 and not disputed and not cover_lost and in_cover_period


def in_cover_period(*, issue_date: date, cover_start: date, cover_end: date) -> bool:
    return cover_start <= issue_date <= cover_end


def insured_split(items: Iterable[CoverageItem], *, cover: Decimal) -> list[InsuredSplit]:
    """Allocate ``cover`` to one buyer's ``items`` oldest first (due date, invoice id); one
    split per item, in that order."""
    cover = max(cover, ZERO)
    splits = []
    before = ZERO  # eligible outstanding of the invoices allocated so far
    for item in sorted(items, key=lambda item: (item.due_date, item.invoice_id)):
        if item.eligible:
            insured = min(item.outstanding, max(ZERO, cover - before))
            over_cover = item.outstanding - insured
            before += item.outstanding
        else:
            insured = over_cover = ZERO
        splits.append(
            InsuredSplit(
                invoice_id=item.invoice_id,
                outstanding=item.outstanding,
                insured=insured,
                uninsured=item.outstanding - insured,
                over_cover=over_cover,
            )
        )
    return splits


# --- SQL -----------------------------------------------------------------------------------------
#
# The same rules for the sweep, as functions of SQL expressions / aliases of the caller (never
# user input).


def cover_lost_sql(*, notify_by: str, as_of: str, sent_on: str) -> str:
    return (
        f"(CASE WHEN {sent_on} IS NOT NULL THEN {sent_on} > {notify_by} "
        f"ELSE {notify_by} < {as_of} END)"
    )


def eligible_sql(*, outstanding: str, disputed: str, cover_lost: str, in_period: str) -> str:
    return f"({outstanding} > 0 AND NOT {disputed} AND NOT {cover_lost} AND {in_period})"


def insured_split_sql(source: str) -> str:
    """A query over relation ``source`` with columns ``(buyer_id, invoice_id, due_date,
    outstanding, eligible, cover)`` — ``cover`` the buyer's cover in base currency, repeated on
    each of its rows — adding ``insured``, ``uninsured`` and ``over_cover`` (the other columns
    of ``source`` are kept: ``s.*``). One window pass per buyer gives the eligible outstanding
    before each invoice."""
    # The running total up to and including the row, minus the row: the frame PostgreSQL
    # aggregates incrementally (an end of "1 PRECEDING" is measurably slower).
    eligible_outstanding = "CASE WHEN s.eligible THEN s.outstanding ELSE 0 END"
    before = (
        f"(SUM({eligible_outstanding}) OVER (PARTITION BY s.buyer_id "
        "ORDER BY s.due_date, s.invoice_id ROWS UNBOUNDED PRECEDING) "
        f"- {eligible_outstanding})"
    )
    insured = (
        "CASE WHEN s.eligible THEN "
        f"LEAST(s.outstanding, GREATEST(0, GREATEST(s.cover, 0) - {before})) ELSE 0 END"
    )
    return f"""
        SELECT a.*, a.outstanding - a.insured AS uninsured,
               CASE WHEN a.eligible THEN a.outstanding - a.insured ELSE 0 END AS over_cover
        FROM (SELECT s.*, {insured} AS insured FROM {source} s) a
    """  # noqa: S608  (aliases of the caller, no input)
