"""The benches' scratch database: created like a test database (migrated), loaded with COPY as
the owner role, dropped at the end. Import after `django.setup()`."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import Any

from django.db import connection

from creditguard.tenancy.db import owner_role

__all__ = ["copy_rows", "create_database", "drop_database", "owner_role"]


def create_database(bench: str) -> str:
    """Create and migrate `bench_<bench>_<pid>` and connect to it; returns the original name
    (for `drop_database`)."""
    original = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"bench_{bench}_{os.getpid()}"
    with owner_role():
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return str(original)


def drop_database(original: str) -> None:
    with owner_role():
        connection.creation.destroy_test_db(original, verbosity=0)


def copy_rows(cursor: Any, table: str, columns: list[str], lines: Iterable[str]) -> int:
    """COPY text-format ``lines`` (tab-separated, newline-terminated) into ``table``; returns
    the rows copied."""
    buffer = io.StringIO()
    count = 0
    for line in lines:
        buffer.write(line)
        count += 1
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    return count
