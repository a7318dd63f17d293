"""Planner settings for the insurance's set-based statements (the coverage sweep, the deadline
alert source).

The planner sees a tenant's rows through row-level security and CTEs, underestimates the joins
(1 row for thousands) and picks nested loops over them: quadratic, seconds for 10,000 invoices
(bench/deadlines.py). Every join of these statements is over whole sets, which hash joins serve
in one pass. JIT compilation of their many expressions costs more than it saves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from django.db.backends.utils import CursorWrapper

SET_BASED: Final = {"enable_nestloop": "off", "jit": "off"}


@contextmanager
def set_based_planner(cursor: CursorWrapper) -> Iterator[None]:
    """Run the block with `SET_BASED`, restoring the previous values after it (transaction-local
    settings: nothing outlives the caller's transaction)."""
    names = list(SET_BASED)
    reads = ", ".join("current_setting(%s)" for _ in names)
    writes = ", ".join("set_config(%s, %s, true)" for _ in names)
    cursor.execute(
        f"SELECT {reads}, {writes}",
        [*names, *(item for name in names for item in (name, SET_BASED[name]))],
    )
    row = cursor.fetchone()
    previous = [str(value) for value in row[: len(names)]] if row else list(SET_BASED.values())
    try:
        yield
    finally:
        cursor.execute(
            f"SELECT {writes}",
            [item for name, value in zip(names, previous, strict=True) for item in (name, value)],
        )
