"""The deadline engine: the policy deadlines of one open invoice, as pure functions and as the
SQL fragments the daily sweep uses. Both state the same rules; tests/insurance/test_deadlines_sql.py
checks on random cases that they agree.

The rules (terms of the policy version in force on the sweep date):

- ``extension_end`` = due date + ``max_extension_days``; or, when the insurer GRANTED an
  extension (an `ExtensionRequest` with status granted on a SENT overdue notification that
  lists the invoice) until a later date, that date.
- ``notify_by`` = ``extension_end`` + ``notification_days``: the overdue must be notified to
  the insurer by then, or the invoice loses its cover (`coverage.is_cover_lost`).
- ``earliest_claim`` = due date + ``waiting_period_days`` (protracted default: a claim may be
  filed once the waiting period is over).
- ``claim_by`` = ``earliest_claim`` + ``claim_filing_days``.

All four are on or after the due date: the day counts are non-negative and a granted extension
only ever moves ``extension_end`` later.

No Django import: the sweep (`policies.services.coverage`), the calendar and the alert source
call these; nothing else restates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

# Kinds of deadline, as the calendar, the API filters and the alerts name them.
EXTENSION_END: Final = "extension_end"
NOTIFY_BY: Final = "notify_by"
CLAIM_BY: Final = "claim_by"
DEADLINE_KINDS: Final[tuple[str, ...]] = (NOTIFY_BY, CLAIM_BY, EXTENSION_END)
# The deadlines that cost cover or a claim when missed: the ones alerts warn about.
ALERTED_KINDS: Final[tuple[str, ...]] = (NOTIFY_BY, CLAIM_BY)


@dataclass(frozen=True)
class DeadlineTerms:
    """The day counts of a policy version that the deadlines depend on (all >= 0)."""

    max_extension_days: int
    notification_days: int
    waiting_period_days: int
    claim_filing_days: int

    def __post_init__(self) -> None:
        for name in (
            "max_extension_days",
            "notification_days",
            "waiting_period_days",
            "claim_filing_days",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True)
class InvoiceDeadlines:
    extension_end: date
    notify_by: date
    earliest_claim: date
    claim_by: date

    def of_kind(self, kind: str) -> date:
        """The deadline named by one of `DEADLINE_KINDS`."""
        if kind == EXTENSION_END:
            return self.extension_end
        if kind == NOTIFY_BY:
            return self.notify_by
        if kind == CLAIM_BY:
            return self.claim_by
        raise ValueError(f"unknown deadline kind {kind!r}")


def extension_end(*, due_date: date, terms: DeadlineTerms, granted_until: date | None) -> date:
    """End of the maximum extension period, or the later date of a granted extension."""
    end = due_date + timedelta(days=terms.max_extension_days)
    if granted_until is not None and granted_until > end:
        return granted_until
    return end


def invoice_deadlines(
    *, due_date: date, terms: DeadlineTerms, granted_until: date | None = None
) -> InvoiceDeadlines:
    """The four deadlines of an invoice due on ``due_date`` (see the module docstring).

    ``granted_until`` is the latest date of a granted extension on a sent notification listing
    the invoice (None when there is none).
    """
    end = extension_end(due_date=due_date, terms=terms, granted_until=granted_until)
    earliest_claim = due_date + timedelta(days=terms.waiting_period_days)
    return InvoiceDeadlines(
        extension_end=end,
        notify_by=end + timedelta(days=terms.notification_days),
        earliest_claim=earliest_claim,
        claim_by=earliest_claim + timedelta(days=terms.claim_filing_days),
    )


def days_left(*, deadline: date, as_of: date) -> int:
    """Days from ``as_of`` to ``deadline``: 0 on the day, negative once it has passed."""
    return (deadline - as_of).days


# --- SQL -----------------------------------------------------------------------------------------
#
# The same rules for the set-based sweep. Each function takes SQL expressions (column names of
# the caller's aliases, never user input): ``due`` the invoice's due date, ``version`` the alias
# of the policy version row in force (columns named as in `DeadlineTerms`), ``granted`` the
# granted-extension date (NULL when none). PostgreSQL's GREATEST ignores NULLs, which is the
# "no extension" case.


def extension_end_sql(*, due: str, version: str, granted: str) -> str:
    return f"GREATEST({due} + {version}.max_extension_days, {granted})"


def notify_by_sql(*, due: str, version: str, granted: str) -> str:
    return f"({extension_end_sql(due=due, version=version, granted=granted)} + {version}.notification_days)"


def earliest_claim_sql(*, due: str, version: str) -> str:
    return f"({due} + {version}.waiting_period_days)"


def claim_by_sql(*, due: str, version: str) -> str:
    return f"({earliest_claim_sql(due=due, version=version)} + {version}.claim_filing_days)"


def deadline_columns_sql(*, due: str, version: str, granted: str) -> str:
    """The four deadlines as a select list: ``extension_end, notify_by, earliest_claim,
    claim_by``."""
    return (
        f"{extension_end_sql(due=due, version=version, granted=granted)} AS extension_end, "
        f"{notify_by_sql(due=due, version=version, granted=granted)} AS notify_by, "
        f"{earliest_claim_sql(due=due, version=version)} AS earliest_claim, "
        f"{claim_by_sql(due=due, version=version)} AS claim_by"
    )


# Invoices on a SENT overdue notification of the current tenant, with the day it was first sent
# and the latest date of a GRANTED extension on such a notification (NULL when none):
# ``(invoice_id, sent_on, granted_until)``.
# ``%(tenant)s`` is the caller's parameter.
NOTICES_SQL: Final = """
SELECT it.invoice_id, MIN(n.sent_on) AS sent_on, MAX(x.requested_until) AS granted_until
FROM policies_overduenotificationitem it
JOIN policies_overduenotification n
  ON n.tenant_id = it.tenant_id AND n.id = it.notification_id AND n.status = 'sent'
LEFT JOIN policies_extensionrequest x
  ON x.tenant_id = n.tenant_id AND x.notification_id = n.id AND x.status = 'granted'
WHERE it.tenant_id = %(tenant)s
GROUP BY it.invoice_id
"""
