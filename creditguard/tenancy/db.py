"""Database roles, privileges and row-level security.

The owner role (DATABASE_URL) runs migrations and owns every table. The runtime role
(DATABASE_APP_USER) is created here with NOSUPERUSER NOBYPASSRLS and gets only DML
privileges, minus UPDATE/DELETE on append-only tables. Every tenant-owned table has RLS
ENABLED and FORCED with a policy on `app.tenant_id`; with no tenant set the policy compares
with NULL and no row is visible.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import connections, migrations
from psycopg2 import sql

from .models import AppendOnly

TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def enable_row_level_security(table: str, *, extra_read_predicate: str = "") -> migrations.RunSQL:
    """Migration operation: isolate `table` by tenant_id.

    `extra_read_predicate` widens what can be *read* (never written) for look-ups that happen
    before a tenant is known, e.g. a user's own memberships at login.
    """
    using = TENANT_PREDICATE
    if extra_read_predicate:
        using = f"({TENANT_PREDICATE}) OR ({extra_read_predicate})"
    return migrations.RunSQL(
        sql=[
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_isolation ON {table} USING ({using}) "
            f"WITH CHECK ({TENANT_PREDICATE})",
        ],
        reverse_sql=[
            f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
            f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        ],
    )


def grant_runtime_privileges(using: str = "default", **_kwargs: object) -> None:
    """post_migrate: create or correct the runtime role and its privileges (idempotent)."""
    connection = connections[using]
    role = settings.DATABASE_APP_USER
    if connection.settings_dict["USER"] == role:
        return  # not run as the owner, e.g. a migrate that has nothing to do
    append_only = sorted(
        model._meta.db_table for model in apps.get_models() if issubclass(model, AppendOnly)
    )
    ident = sql.Identifier(role)
    with connection.cursor() as cursor:
        # Parallel test databases share the cluster-wide role: create it at most once, and alter
        # it only when needed (concurrent ALTER ROLE fails with "tuple concurrently updated").
        cursor.execute(
            sql.SQL(
                "DO $$ BEGIN "
                "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN "
                "CREATE ROLE {role} LOGIN; END IF; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ).format(name=sql.Literal(role), role=ident)
        )
        cursor.execute(
            "SELECT rolsuper OR rolbypassrls OR rolcreatedb OR rolcreaterole OR rolreplication "
            "OR NOT rolcanlogin FROM pg_roles WHERE rolname = %s",
            [role],
        )
        if cursor.fetchone()[0]:
            cursor.execute(
                sql.SQL(
                    "ALTER ROLE {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION LOGIN"
                ).format(ident)
            )
        if settings.DATABASE_APP_PASSWORD:
            cursor.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    ident, sql.Literal(settings.DATABASE_APP_PASSWORD)
                )
            )
        database = sql.Identifier(connection.settings_dict["NAME"])
        statements = [
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, ident),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(ident),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident),
            sql.SQL(
                "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {}"
            ).format(ident),
        ]
        statements += [
            sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), ident)
            for table in append_only
        ]
        for statement in statements:
            cursor.execute(statement)


def same_tenant_foreign_key(table: str, column: str, target: str) -> list[migrations.RunSQL]:
    """Migration operations: `table.column` may only point at a row of the same tenant.

    Foreign-key checks bypass row-level security, so a plain FK would accept another tenant's id.
    The composite key (tenant_id, column) → (tenant_id, id) makes that impossible in the database
    and is the shape Citus needs to co-locate tenant rows.
    """
    target_key = f"{target}_tenant_id_key"
    constraint = f"{table}_{column}_same_tenant"
    return [
        migrations.RunSQL(
            f"DO $$ BEGIN ALTER TABLE {target} ADD CONSTRAINT {target_key} UNIQUE (tenant_id, id); "
            "EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END $$",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            f"ALTER TABLE {table} ADD CONSTRAINT {constraint} FOREIGN KEY (tenant_id, {column}) "
            f"REFERENCES {target} (tenant_id, id) DEFERRABLE INITIALLY DEFERRED",
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {constraint}",
        ),
    ]
