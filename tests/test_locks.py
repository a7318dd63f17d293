"""Job locks (`creditguard.locks`): advisory locks of the real PostgreSQL server."""

import psycopg2
import pytest
from django.db import connection

from creditguard.locks import job_lock, job_lock_held

NAMESPACE = 0x54455354  # "TEST"


def _other_session(database: str) -> psycopg2.extensions.connection:
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=database,
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
    )


@pytest.mark.django_db
def test_a_lock_held_by_another_session_of_this_database_is_seen():
    other = _other_session(connection.settings_dict["NAME"])
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [NAMESPACE, 41])
        assert job_lock_held(NAMESPACE, 41)
        with job_lock(NAMESPACE, 41) as locked:
            assert not locked
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [NAMESPACE, 41])
        assert not job_lock_held(NAMESPACE, 41)
    finally:
        other.close()


@pytest.mark.django_db
def test_a_lock_of_the_same_key_in_another_database_is_not_this_jobs():
    # Advisory locks are per database, pg_locks lists the server's: a job of the same id in
    # another database (a bench's scratch database, another test worker's) is another job.
    other = _other_session("postgres")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [NAMESPACE, 42])
        assert not job_lock_held(NAMESPACE, 42)
        with job_lock(NAMESPACE, 42) as locked:
            assert locked
    finally:
        other.close()
