"""Database roles, privileges and row-level security.

The owner role (DATABASE_URL) runs migrations and owns every table. The runtime role
(DATABASE_APP_USER) is created here with NOSUPERUSER NOBYPASSRLS and gets only DML
privileges, minus UPDATE/DELETE on append-only tables. Every tenant-owned table has RLS
ENABLED and FORCED with a policy on `app.tenant_id`; with no tenant set the policy compares
with NULL and no row is visible.

The schema is kept ready for Citus (docs/scale-out.md): a tenant table's primary key is
(tenant_id, id) (`tenant_primary_key`), its foreign keys to other tenant tables are composite
(`same_tenant_foreign_key`), and every table without a tenant is listed in `REFERENCE_TABLES`.
tests/tenancy/test_citus_schema.py checks the catalog against these rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import connections, migrations
from psycopg2 import sql

from .models import AppendOnly


@contextmanager
def owner_role() -> Iterator[None]:
    """Connect the default connection as the owner role for the block (it creates and migrates
    databases and may COPY into row-secured tables): the test and bench databases; the app
    itself always runs as the runtime role."""
    connection = connections["default"]
    connection.close()
    runtime = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
    connection.settings_dict.update(settings.DATABASE_OWNER_CREDENTIALS)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(runtime)


TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"

# Tables that are not distributed by tenant: global data every tenant reads, replicated to each
# node as Citus reference tables. Every other table has a tenant_id and is distributed on it.
# api_apikey carries a tenant_id but is looked up by its globally unique prefix before the tenant
# is known, so it is global too (its row-level security still applies).
REFERENCE_TABLES = frozenset(
    {
        # tenants and people
        "tenancy_tenant",
        "auth_user",
        "auth_group",
        "auth_group_permissions",
        "auth_permission",
        "auth_user_groups",
        "auth_user_user_permissions",
        "api_apikey",
        # reference data: countries, FX rates, country and sector risk
        "reference_country",
        "reference_fxrate",
        "monitoring_countryrisk",
        "monitoring_sectorrisk",
        # sign-in protection (django-axes): attempts are counted per address, before any tenant
        "axes_accessattempt",
        "axes_accessattemptexpiration",
        "axes_accessfailurelog",
        "axes_accesslog",
        # two-factor devices (django-otp) belong to a user, who may be in several tenants
        "otp_totp_totpdevice",
        # Django internals
        "django_content_type",
        "django_migrations",
        "django_session",
    }
)

# What the runtime role may do on each table without row-level security (the tenant tables get
# SELECT, INSERT, UPDATE, DELETE under their policy; append-only ones no UPDATE or DELETE).
# Global data written only by migrations is read-only. FX rates and country and sector ratings
# are upserted by `import_fx_rates`, `import_country_risk` and `import_sector_risk`, which run as
# the runtime role; ratings are history and are never deleted by the application. Two grants
# serve test fixtures only, until they load data as the owner: INSERT on reference_country
# (tests/buyers/test_imports.py `reference_countries`) and DELETE on monitoring_countryrisk
# (tests/monitoring/test_alerts.py `kiwi`).
GLOBAL_TABLE_PRIVILEGES = {
    "tenancy_tenant": "SELECT, INSERT, UPDATE",
    "auth_user": "SELECT, INSERT, UPDATE",
    "auth_group": "SELECT",
    "auth_group_permissions": "SELECT",
    "auth_permission": "SELECT",
    "auth_user_groups": "SELECT",
    "auth_user_user_permissions": "SELECT",
    "reference_country": "SELECT, INSERT",
    "reference_fxrate": "SELECT, INSERT, UPDATE",
    "monitoring_countryrisk": "SELECT, INSERT, UPDATE, DELETE",
    "monitoring_sectorrisk": "SELECT, INSERT, UPDATE",
    "axes_accessattempt": "SELECT, INSERT, UPDATE, DELETE",
    "axes_accessattemptexpiration": "SELECT, INSERT, UPDATE, DELETE",
    "axes_accessfailurelog": "SELECT, INSERT, UPDATE, DELETE",
    "axes_accesslog": "SELECT, INSERT, UPDATE, DELETE",
    # a user's authenticator: created unconfirmed, confirmed, throttled, removed
    "otp_totp_totpdevice": "SELECT, INSERT, UPDATE, DELETE",
    "django_content_type": "SELECT",
    "django_migrations": "SELECT",
    "django_session": "SELECT, INSERT, UPDATE, DELETE",
}


def enable_row_level_security(table: str, *, extra_read_predicate: str = "") -> migrations.RunSQL:
    """Migration operation: isolate `table` by tenant_id.

    `extra_read_predicate` is kept for the first migrations of api and accounts only: it widened
    reads on a variable the runtime role could set itself, and `tenant_policy_only` removes it.
    Look-ups before a tenant is known go through `definer_lookup_function` instead.
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


def tenant_policy_only(table: str, *, previous_read_predicate: str) -> migrations.RunSQL:
    """Migration operation: `table`'s policy becomes the tenant predicate alone, for reading too.

    Reverses to the policy with `previous_read_predicate` that `enable_row_level_security` made.
    """

    def policy(using: str) -> tuple[str, ...]:
        return (
            f"DROP POLICY tenant_isolation ON {table}",
            f"CREATE POLICY tenant_isolation ON {table} USING ({using}) "
            f"WITH CHECK ({TENANT_PREDICATE})",
        )

    return migrations.RunSQL(
        sql=policy(TENANT_PREDICATE),
        reverse_sql=policy(f"({TENANT_PREDICATE}) OR ({previous_read_predicate})"),
    )


# Look-ups made before any tenant is known, as SECURITY DEFINER functions (signature → table).
# The runtime role may EXECUTE them (granted after migrate) and nothing else may; each returns
# the rows of one exact key prefix or one user, never a whole table.
DEFINER_FUNCTIONS = {
    "app_api_key_by_prefix(text)": "api_apikey",
    "app_memberships_of_user(bigint)": "accounts_membership",
}

# SECURITY DEFINER maintenance the runtime role may call: ANALYZE of one whitelisted table after
# a bulk load (buyers migration 0005, `buyers.figures.analyze_if_grown`).
MAINTENANCE_FUNCTIONS = ("app_analyze_table(text)",)


def definer_lookup_function(signature: str, *, returns: str, body: str) -> migrations.RunSQL:
    """Migration operation: create the SECURITY DEFINER look-up `signature` (see DEFINER_FUNCTIONS).

    It runs as the owner that creates it, with a fixed search_path so that no object of the
    caller's choosing can stand in for a table or operator. Row-level security is FORCEd, so the
    owner reads the table through a SELECT-only policy of its own (`definer_lookup`); the runtime
    role is not the owner and only sees the tenant policy. A superuser owner bypasses both.
    """
    table = DEFINER_FUNCTIONS[signature]
    return migrations.RunSQL(
        sql=[
            f"CREATE POLICY definer_lookup ON {table} FOR SELECT TO CURRENT_USER USING (true)",
            f"CREATE FUNCTION {signature} RETURNS {returns} LANGUAGE sql STABLE SECURITY DEFINER "
            f"SET search_path = pg_catalog, public AS $function$ {body} $function$",
            f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC",
        ],
        reverse_sql=[
            f"DROP FUNCTION {signature}",
            f"DROP POLICY definer_lookup ON {table}",
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
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        existing = {row[0] for row in cursor.fetchall()}
        for table, privileges in GLOBAL_TABLE_PRIVILEGES.items():
            if table in existing:  # a partial migrate may not have created it yet
                statements += [
                    sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                        sql.Identifier(table), ident
                    ),
                    sql.SQL(f"GRANT {privileges} ON {{}} TO {{}}").format(
                        sql.Identifier(table), ident
                    ),
                ]
        for signature in (*DEFINER_FUNCTIONS, *MAINTENANCE_FUNCTIONS):
            cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [signature])
            if cursor.fetchone()[0]:
                statements.append(
                    sql.SQL(f"GRANT EXECUTE ON FUNCTION {signature} TO {{}}").format(ident)
                )
        for statement in statements:
            cursor.execute(statement)


def same_tenant_foreign_key(table: str, column: str, target: str) -> list[migrations.RunSQL]:
    """Migration operations: `table.column` may only point at a row of the same tenant.

    Foreign-key checks bypass row-level security, so a plain FK would accept another tenant's id.
    The composite key (tenant_id, column) → (tenant_id, id) makes that impossible in the database
    and is the shape Citus needs to co-locate tenant rows. The Django field is declared with
    `db_constraint=False`: this key does the checking. It references the target's primary key
    (tenant_id, id), or, on a table created before `tenant_primary_key`, a UNIQUE (tenant_id, id)
    added here.
    """
    target_key = f"{target}_tenant_id_key"
    constraint = f"{table}_{column}_same_tenant"
    return [
        migrations.RunSQL(
            "DO $$ BEGIN "
            f"IF NOT EXISTS ({_TENANT_ID_KEY_OF.format(table=target)}) THEN "
            f"ALTER TABLE {target} ADD CONSTRAINT {target_key} UNIQUE (tenant_id, id); "
            "END IF; END $$",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            f"ALTER TABLE {table} ADD CONSTRAINT {constraint} FOREIGN KEY (tenant_id, {column}) "
            f"REFERENCES {target} (tenant_id, id) DEFERRABLE INITIALLY DEFERRED",
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {constraint}",
        ),
    ]


# A primary key or unique constraint of `table` on exactly (tenant_id, id).
_TENANT_ID_KEY_OF = (
    "SELECT FROM pg_constraint c WHERE c.conrelid = '{table}'::regclass "
    "AND c.contype IN ('p', 'u') AND ARRAY(SELECT a.attname::text FROM pg_attribute a "
    "WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) ORDER BY a.attname) "
    "= ARRAY['id', 'tenant_id']"
)


def tenant_primary_key(table: str) -> migrations.RunSQL:
    """Migration operation: the primary key of tenant table `table` becomes (tenant_id, id).

    Citus needs the distribution column in every primary key. Django keeps `id` as the model's
    primary key field (look-ups, URLs and relations use it; ids come from one sequence, so they
    stay unique). Composite foreign keys pointing at `table` (`same_tenant_foreign_key`) are
    re-created against the new key, and the UNIQUE (tenant_id, id) they used is dropped. A
    single-column foreign key to `table` stops the migration: declare it `db_constraint=False`.
    """
    return migrations.RunSQL(
        sql=_swap_primary_key(table, "tenant_id, id"),
        reverse_sql=_swap_primary_key(table, "id"),
    )


def _swap_primary_key(table: str, columns: str) -> str:
    # PL/pgSQL so that the foreign keys depending on the old keys are found in the catalog (their
    # names and definitions differ per table) and restored with the same definitions.
    to_composite = columns != "id"
    refuse_single_column = (
        "IF NOT fk.has_tenant THEN RAISE EXCEPTION 'foreign key % on % references "
        f"{table} without tenant_id: declare its field with db_constraint=False', "
        "fk.conname, fk.source; END IF;"
        if to_composite
        else ""
    )
    restore_unique = (
        ""
        if to_composite
        else f"IF cardinality(definitions) > 0 THEN ALTER TABLE {table} "
        f"ADD CONSTRAINT {table}_tenant_id_key UNIQUE (tenant_id, id); END IF;"
    )
    # Table names come from migration files, never from input.
    return f"""
DO $$
DECLARE
    fk record;
    definitions text[] := '{{}}';
    definition text;
BEGIN
    FOR fk IN
        SELECT conrelid::regclass AS source, conname, pg_get_constraintdef(oid) AS body,
               'tenant_id' = ANY(ARRAY(SELECT attname::text FROM pg_attribute
                                       WHERE attrelid = conrelid AND attnum = ANY(conkey)))
                   AS has_tenant
        FROM pg_constraint WHERE contype = 'f' AND confrelid = '{table}'::regclass
    LOOP
        {refuse_single_column}
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.source, fk.conname);
        definitions := definitions
            || format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.source, fk.conname, fk.body);
    END LOOP;
    ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_tenant_id_key;
    ALTER TABLE {table} DROP CONSTRAINT {table}_pkey;
    ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({columns});
    {restore_unique}
    FOREACH definition IN ARRAY definitions LOOP
        EXECUTE definition;
    END LOOP;
END $$
"""  # noqa: S608
