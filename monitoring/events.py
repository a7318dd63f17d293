"""New information about buyers → re-score them soon, not at the next monthly run.

Call `buyer_risk_changed` from the service that recorded the information (a new financial
statement, a legal event, a payment plan broken, invoices crossing an overdue threshold), inside
its transaction: the re-scoring is enqueued only once that transaction commits, and never if it
rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

EVENT_BATCH_SIZE = 1000  # buyers per task: one short transaction each


def buyer_risk_changed(*, tenant_id: int, buyer_ids: Iterable[int], reason: str) -> None:
    """Re-score ``buyer_ids`` of tenant ``tenant_id`` for the current period after commit
    (task `monitoring.rescore_buyers`, trigger "event"; the period's scores are replaced and
    the alert rules evaluated). ``reason`` is a short code for the logs, e.g. "statement"."""
    from .tasks import rescore_buyers

    ids = sorted(set(buyer_ids))
    for start in range(0, len(ids), EVENT_BATCH_SIZE):
        batch = ids[start : start + EVENT_BATCH_SIZE]
        transaction.on_commit(
            lambda batch=batch: rescore_buyers.delay(batch, tenant_id=tenant_id, reason=reason)
        )
