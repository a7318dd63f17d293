"""New information about buyers → re-score them soon, not at the next monthly run.

Services of `buyers` send the signal `buyers.signals.buyer_risk_changed` (a new financial
statement, a status change, a broken payment plan), which `monitoring.receivers` turns into
this call; monitoring's own services (a legal event, invoices crossing an overdue threshold)
call `buyer_risk_changed` directly. Either way inside the recording transaction: the re-scoring is
enqueued only once that transaction commits, and never if it rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable

from creditguard.queue import enqueue_on_commit

EVENT_BATCH_SIZE = 1000  # buyers per task: one short transaction each


def buyer_risk_changed(*, tenant_id: int, buyer_ids: Iterable[int], reason: str) -> None:
    """Re-score ``buyer_ids`` of tenant ``tenant_id`` for the current period after commit
    (task `monitoring.rescore_buyers`, trigger "event"; the period's scores are replaced and
    the alert rules evaluated). ``reason`` is a short code for the logs, e.g. "statement"."""
    ids = sorted(set(buyer_ids))
    for start in range(0, len(ids), EVENT_BATCH_SIZE):
        enqueue_on_commit(
            "monitoring.rescore_buyers",
            ids[start : start + EVENT_BATCH_SIZE],
            tenant_id=tenant_id,
            reason=reason,
        )
