"""The schema stays ready for Citus (docs/scale-out.md), read from the migrated catalog.

Every table is either a tenant table (it has tenant_id and is distributed on it) or listed in
REFERENCE_TABLES. On tenant tables the primary key is (tenant_id, id), every unique index includes
tenant_id, and every foreign key to another tenant table matches tenant_id with tenant_id.
Reference tables never point at tenant tables.
"""

import pytest
from django.apps import apps
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.models import Count

from buyers.models import Buyer
from creditguard.tenancy.db import REFERENCE_TABLES, tenant_primary_key
from creditguard.tenancy.models import TenantOwnedModel
from tests.conftest import active
from tests.factories import BuyerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def catalog_problems(namespace: int) -> list[str]:
    """Every breach of the Citus rules among the tables of `namespace` (a pg_namespace oid)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname,
                   EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = t.oid
                           AND a.attname = 'tenant_id' AND NOT a.attisdropped),
                   p.conname,
                   ARRAY(SELECT a.attname::text FROM unnest(p.conkey) WITH ORDINALITY k(num, n)
                         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.num
                         ORDER BY k.n)
            FROM pg_class t
            LEFT JOIN pg_constraint p ON p.conrelid = t.oid AND p.contype = 'p'
            WHERE t.relnamespace = %s AND t.relkind IN ('r', 'p')
            ORDER BY t.relname
            """,
            [namespace],
        )
        tables = cursor.fetchall()
        cursor.execute(
            """
            SELECT t.relname, i.relname,
                   ARRAY(SELECT a.attname::text
                         FROM unnest((x.indkey::int2[])[0:x.indnkeyatts - 1]) k(num)
                         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.num)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE x.indisunique AND NOT x.indisprimary AND t.relnamespace = %s
            ORDER BY t.relname, i.relname
            """,
            [namespace],
        )
        unique_indexes = cursor.fetchall()
        cursor.execute(
            """
            SELECT c.conname, source.relname, target.relname,
                   ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, n)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
                         ORDER BY k.n),
                   ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(num, n)
                         JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num
                         ORDER BY k.n)
            FROM pg_constraint c
            JOIN pg_class source ON source.oid = c.conrelid
            JOIN pg_class target ON target.oid = c.confrelid
            WHERE c.contype = 'f' AND source.relnamespace = %s
            ORDER BY source.relname, c.conname
            """,
            [namespace],
        )
        foreign_keys = cursor.fetchall()

    problems = []
    tenant_tables = set()
    for table, has_tenant_id, primary_key, key_columns in tables:
        if table in REFERENCE_TABLES:
            continue
        if not has_tenant_id:
            problems.append(f"{table}: no tenant_id and not listed in REFERENCE_TABLES")
            continue
        tenant_tables.add(table)
        if key_columns != ["tenant_id", "id"]:
            problems.append(
                f"{table}: primary key {primary_key} is ({', '.join(key_columns)}), "
                "not (tenant_id, id); add tenant_primary_key() to the migration"
            )
    for table, index, columns in unique_indexes:
        if table in tenant_tables and "tenant_id" not in columns:
            problems.append(
                f"{table}: unique {index} on ({', '.join(columns)}) does not include tenant_id"
            )
    for name, source, target, columns, target_columns in foreign_keys:
        if source in tenant_tables and target in tenant_tables:
            if ("tenant_id", "tenant_id") not in zip(columns, target_columns, strict=True):
                problems.append(
                    f"{source}: foreign key {name} to tenant table {target} does not match "
                    "tenant_id with tenant_id; use db_constraint=False and same_tenant_foreign_key()"
                )
        elif source in REFERENCE_TABLES and target in tenant_tables:
            problems.append(
                f"{source}: reference table has foreign key {name} to tenant table {target}"
            )
    return problems


def public_namespace() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'public'::regnamespace::oid")
        return cursor.fetchone()[0]


def test_the_migrated_schema_follows_the_citus_rules():
    assert catalog_problems(public_namespace()) == []


def test_every_listed_reference_table_exists():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {row[0] for row in cursor.fetchall()}
    assert sorted(REFERENCE_TABLES - tables) == []


def test_the_tenant_tables_are_the_tenant_owned_models_not_listed_as_reference():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id'"
        )
        with_tenant_id = {row[0] for row in cursor.fetchall()}
    tenant_owned = {
        model._meta.db_table for model in apps.get_models() if issubclass(model, TenantOwnedModel)
    }
    assert with_tenant_id - REFERENCE_TABLES == tenant_owned - REFERENCE_TABLES


def test_the_check_names_the_table_and_constraint_of_every_breach():
    # Temporary tables live in this session's own schema, so the check can be run on them alone.
    # One of them shadows a reference table's name to stand for a reference table.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE cg_parent (
                id bigint PRIMARY KEY, tenant_id bigint NOT NULL, code text UNIQUE,
                UNIQUE (tenant_id, id)
            );
            CREATE TEMP TABLE cg_child (
                id bigint, tenant_id bigint, parent_id bigint REFERENCES cg_parent (id),
                PRIMARY KEY (tenant_id, id)
            );
            CREATE UNIQUE INDEX cg_child_parent_idx ON cg_child (parent_id) WHERE parent_id > 0;
            CREATE TEMP TABLE cg_orphan (id bigint PRIMARY KEY);
            CREATE TEMP TABLE reference_country (
                code text PRIMARY KEY, tenant_id bigint, child_id bigint,
                FOREIGN KEY (tenant_id, child_id) REFERENCES cg_child (tenant_id, id)
            );
            CREATE TEMP TABLE cg_good (
                id bigint, tenant_id bigint, parent_id bigint, PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, parent_id) REFERENCES cg_parent (tenant_id, id),
                UNIQUE (tenant_id, parent_id)
            );
            """
        )
        cursor.execute("SELECT pg_my_temp_schema()::oid")
        temporary_schema = cursor.fetchone()[0]

    assert sorted(catalog_problems(temporary_schema)) == [
        "cg_child: foreign key cg_child_parent_id_fkey to tenant table cg_parent does not match "
        "tenant_id with tenant_id; use db_constraint=False and same_tenant_foreign_key()",
        "cg_child: unique cg_child_parent_idx on (parent_id) does not include tenant_id",
        "cg_orphan: no tenant_id and not listed in REFERENCE_TABLES",
        "cg_parent: primary key cg_parent_pkey is (id), not (tenant_id, id); "
        "add tenant_primary_key() to the migration",
        "cg_parent: unique cg_parent_code_key on (code) does not include tenant_id",
        "reference_country: reference table has foreign key reference_country_tenant_id_child_id_fkey "
        "to tenant table cg_child",
    ]


def keys_of(table: str) -> list[str]:
    """Primary, unique and foreign keys (PostgreSQL 18 also lists NOT NULL as constraints)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def test_tenant_primary_key_moves_the_composite_foreign_keys_onto_the_new_key_and_back():
    operation = tenant_primary_key("cg_parent")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE cg_parent (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
            ALTER TABLE cg_parent ADD CONSTRAINT cg_parent_tenant_id_key UNIQUE (tenant_id, id);
            CREATE TEMP TABLE cg_child (
                id bigint PRIMARY KEY, tenant_id bigint NOT NULL, parent_id bigint,
                CONSTRAINT cg_child_parent_id_same_tenant FOREIGN KEY (tenant_id, parent_id)
                    REFERENCES cg_parent (tenant_id, id) DEFERRABLE INITIALLY DEFERRED
            );
            INSERT INTO cg_parent VALUES (1, 7);
            INSERT INTO cg_child VALUES (1, 7, 1);
            SET CONSTRAINTS ALL IMMEDIATE;  -- a table with pending checks cannot be altered
            """
        )
        before = keys_of("cg_parent") + keys_of("cg_child")

        cursor.execute(operation.sql)
        assert keys_of("cg_parent") == ["cg_parent_pkey PRIMARY KEY (tenant_id, id)"]
        assert keys_of("cg_child") == [
            "cg_child_parent_id_same_tenant FOREIGN KEY (tenant_id, parent_id) REFERENCES "
            "cg_parent(tenant_id, id) DEFERRABLE INITIALLY DEFERRED",
            "cg_child_pkey PRIMARY KEY (id)",
        ]

        cursor.execute(operation.reverse_sql)
        assert keys_of("cg_parent") + keys_of("cg_child") == before


def test_tenant_primary_key_stops_at_a_single_column_foreign_key():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE cg_parent (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
            CREATE TEMP TABLE cg_child (id bigint PRIMARY KEY, parent_id bigint REFERENCES cg_parent);
            """
        )
        with (
            pytest.raises(InternalError, match="cg_child_parent_id_fkey on cg_child references"),
            transaction.atomic(),
        ):
            cursor.execute(tenant_primary_key("cg_parent").sql)


def test_a_row_cannot_point_at_another_tenants_row(tenant_a, tenant_b):
    # Only the composite key guards this now: the single-column constraint is gone, and
    # foreign-key checks do not see row-level security.
    with active(tenant_b):
        foreign_buyer = BuyerFactory(tenant=tenant_b)
    with active(tenant_a):
        invoice = InvoiceFactory(buyer=BuyerFactory(tenant=tenant_a))
        with (
            pytest.raises(IntegrityError, match="buyers_invoice_buyer_id_same_tenant"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "UPDATE buyers_invoice SET buyer_id = %s WHERE id = %s",
                [foreign_buyer.pk, invoice.pk],
            )


def test_whole_rows_of_a_tenant_table_can_be_aggregated(tenant_a):
    # PostgreSQL sees the other columns as depending on the whole primary key (tenant_id, id)
    # only, so Django must not shorten GROUP BY to `id` (creditguard.tenancy.postgresql).
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        InvoiceFactory.create_batch(2, buyer=buyer, tenant=tenant_a)
        counted = Buyer.objects.annotate(invoice_count=Count("invoices")).get()
    assert (counted.legal_name, counted.invoice_count) == (buyer.legal_name, 2)
