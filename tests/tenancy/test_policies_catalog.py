"""The runtime role's narrowed access, read from the migrated catalog and tried as that role.

Every row-level security policy reads `app.tenant_id` and no other setting; look-ups made before
a tenant is known (API key by prefix, a user's memberships) go through SECURITY DEFINER
functions that only the runtime role may execute; global tables carry only the privileges the
application needs (`GLOBAL_TABLE_PRIVILEGES`).
"""

import re

import pytest
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction

from creditguard.accounts.selectors import memberships_of_user
from creditguard.api.selectors import api_key_by_prefix
from creditguard.audit.models import AuditEvent
from creditguard.tenancy.db import DEFINER_FUNCTIONS, GLOBAL_TABLE_PRIVILEGES, REFERENCE_TABLES
from tests.conftest import active

pytestmark = pytest.mark.django_db

SETTING_READ = re.compile(r"current_setting\(\s*'([^']*)'")


def policies() -> list[tuple[str, str, str, list[str], str | None, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, policyname, cmd, roles::text[], qual, with_check FROM pg_policies "
            "WHERE schemaname = 'public' ORDER BY tablename, policyname"
        )
        return cursor.fetchall()


def test_no_policy_reads_a_setting_other_than_the_tenant_id():
    rows = policies()
    assert rows
    other_settings = {
        (table, name, setting)
        for table, name, _cmd, _roles, using, check in rows
        for setting in SETTING_READ.findall(f"{using or ''} {check or ''}")
        if setting != "app.tenant_id"
    }
    assert other_settings == set()


def test_the_check_catches_a_policy_reading_another_setting():
    sample = "(prefix = NULLIF(current_setting('app.api_key_prefix'::text, true), ''::text))"
    assert SETTING_READ.findall(sample) == ["app.api_key_prefix"]


def test_every_policy_the_runtime_role_is_subject_to_is_the_tenant_predicate_alone():
    applying = [
        (table, using, check)
        for table, _name, _cmd, roles, using, check in policies()
        if "public" in roles or settings.DATABASE_APP_USER in roles
    ]
    predicates = {using for _table, using, _check in applying} | {
        check for _table, _using, check in applying
    }
    assert len(predicates) == 1, predicates
    (predicate,) = predicates
    assert "current_setting('app.tenant_id'" in predicate and " OR " not in predicate


def test_the_definer_lookup_policies_are_read_only_and_for_the_owner_alone():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.tablename, p.cmd, p.roles::text[], t.tableowner FROM pg_policies p "
            "JOIN pg_tables t USING (schemaname, tablename) "
            "WHERE p.schemaname = 'public' AND p.policyname = 'definer_lookup'"
        )
        rows = cursor.fetchall()
    assert sorted(table for table, *_ in rows) == sorted(DEFINER_FUNCTIONS.values())
    for _table, command, roles, owner in rows:
        assert (command, roles) == ("SELECT", [owner])
        assert owner != settings.DATABASE_APP_USER


@pytest.mark.parametrize("signature", sorted(DEFINER_FUNCTIONS))
def test_a_definer_function_is_owned_by_the_table_owner_with_a_fixed_search_path(signature):
    table = DEFINER_FUNCTIONS[signature]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.prosecdef, p.provolatile, p.proconfig, pg_get_userbyid(p.proowner), "
            "(SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = %s) "
            "FROM pg_proc p WHERE p.oid = to_regprocedure(%s)",
            [table, signature],
        )
        security_definer, volatility, config, owner, table_owner = cursor.fetchone()
    assert (security_definer, volatility) == (True, "s")
    assert config == ["search_path=pg_catalog, public"]
    assert owner == table_owner != settings.DATABASE_APP_USER


@pytest.mark.parametrize("signature", sorted(DEFINER_FUNCTIONS))
def test_only_the_owner_and_the_runtime_role_may_execute_a_definer_function(signature):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(r.rolname, 'PUBLIC') FROM pg_proc p, aclexplode(p.proacl) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee "
            "WHERE p.oid = to_regprocedure(%s) AND a.privilege_type = 'EXECUTE'",
            [signature],
        )
        executors = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = to_regprocedure(%s)",
            [signature],
        )
        owner = cursor.fetchone()[0]
    assert executors == {owner, settings.DATABASE_APP_USER}


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def set_setting(name: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def test_setting_the_old_key_prefix_variable_reveals_no_key(tenant_a, api_key_a, api_key_b):
    set_setting("app.api_key_prefix", api_key_b[0].prefix)
    assert count("api_apikey") == 0
    with active(tenant_a):
        set_setting("app.api_key_prefix", api_key_b[0].prefix)
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tenant_id FROM api_apikey")
            assert [row[0] for row in cursor.fetchall()] == [tenant_a.pk]


def test_setting_the_old_user_variable_reveals_no_membership(tenant_a, owner, outsider):
    set_setting("app.user_id", str(outsider.pk))
    assert count("accounts_membership") == 0
    with active(tenant_a):
        set_setting("app.user_id", str(outsider.pk))
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tenant_id FROM accounts_membership")
            assert [row[0] for row in cursor.fetchall()] == [tenant_a.pk]


def test_the_key_lookup_returns_the_one_key_of_an_exact_prefix(api_key_a, api_key_b):
    key, _raw = api_key_b
    found = api_key_by_prefix(prefix=key.prefix)
    assert (found.pk, found.tenant_id, found.hashed_key) == (key.pk, key.tenant_id, key.hashed_key)
    assert api_key_by_prefix(prefix="%") is None
    assert api_key_by_prefix(prefix=key.prefix[:-1]) is None


def test_the_membership_lookup_returns_only_that_users_memberships(
    tenant_a, tenant_b, owner, teammate, outsider
):
    assert [(m.user_id, m.tenant_id) for m in memberships_of_user(user=owner)] == [
        (owner.pk, tenant_a.pk)
    ]
    assert [(m.user_id, m.tenant_id) for m in memberships_of_user(user=outsider)] == [
        (outsider.pk, tenant_b.pk)
    ]


def test_every_reference_table_has_its_runtime_privileges_stated():
    tenant_isolated = {"api_apikey"}  # global for Citus, but under the tenant policy
    unstated = REFERENCE_TABLES - tenant_isolated - set(GLOBAL_TABLE_PRIVILEGES)
    assert unstated == set(), "add each to GLOBAL_TABLE_PRIVILEGES with what the app needs"


def test_the_runtime_role_has_exactly_the_stated_privileges_on_global_tables():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, string_agg(privilege_type, ', ' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants "
            "WHERE grantee = current_user AND table_schema = 'public' AND table_name = ANY(%s) "
            "GROUP BY table_name",
            [list(GLOBAL_TABLE_PRIVILEGES)],
        )
        granted = dict(cursor.fetchall())
    stated = {
        table: ", ".join(sorted(privileges.split(", ")))
        for table, privileges in GLOBAL_TABLE_PRIVILEGES.items()
    }
    assert granted == stated


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE reference_country SET name = name WHERE code = 'DE'",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
        "DELETE FROM django_content_type WHERE id = -1",
        "DELETE FROM reference_fxrate WHERE id = -1",
    ],
)
def test_the_runtime_role_cannot_write_read_only_global_data(statement):
    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_an_audit_event_cannot_name_another_tenants_api_key(tenant_a, api_key_b):
    with (
        active(tenant_a),
        pytest.raises(IntegrityError, match="same_tenant"),
        transaction.atomic(),
    ):
        AuditEvent.unscoped.create(
            tenant=tenant_a, actor_api_key=api_key_b[0], actor_label="x", action="test"
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
