"""Session-level PostgreSQL advisory locks for background jobs that must not run twice at once.

A job (a re-scoring run, a history back-fill, a model's training) takes `job_lock(namespace,
key)` for as long as it works. The lock belongs to the database session, not to a transaction,
so the job may commit as it goes; PostgreSQL releases it when the session ends, which is what
happens when a worker dies, so a redelivered task can take over. `job_lock_held` tells whether
any session holds it (a "running" job whose lock nobody holds was abandoned).

Keys are two 32-bit integers: a namespace per kind of job (spell a short name in ASCII hex, e.g.
0x52534352 "RSCR") and the job's id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_INT4 = 0x7FFFFFFF


@contextmanager
def job_lock(namespace: int, key: int) -> Iterator[bool]:
    """Try the lock without waiting; yields False when another session holds it."""
    arguments = (namespace, key & _INT4)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", arguments)
        locked = bool(cursor.fetchone()[0])
    try:
        yield locked
    finally:
        if locked and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", arguments)


def job_lock_held(namespace: int, key: int) -> bool:
    """Whether some session holds `job_lock(namespace, key)`, i.e. is working on the job.
    Advisory locks are per database; `pg_locks` lists the whole server's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = %s AND objid = %s AND objsubid = 2 AND granted)",
            [namespace, key & _INT4],
        )
        held: bool = cursor.fetchone()[0]
        return held
