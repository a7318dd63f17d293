import pytest
from django.conf import settings
from django.db import ProgrammingError, connection, transaction

from creditguard.accounts.models import Membership
from creditguard.audit.services import audit_record
from creditguard.tenancy.context import TenantNotSet, activate_tenant, reset_db_context
from tests.conftest import active

pytestmark = pytest.mark.django_db


def tenant_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id'
              AND t.table_type = 'BASE TABLE'
            ORDER BY 1
            """
        )
        return [row[0] for row in cursor.fetchall()]


def test_every_table_with_a_tenant_id_has_row_level_security_enabled_and_forced():
    tables = tenant_tables()
    assert "accounts_membership" in tables and "audit_auditevent" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c WHERE relname = ANY(%s)",
            [tables],
        )
        state = {name: (enabled, forced, policies) for name, enabled, forced, policies in cursor}
    missing = [
        t for t in tables if state.get(t, (False, False, 0))[:2] != (True, True) or state[t][2] == 0
    ]
    assert missing == []


def test_the_runtime_role_is_neither_owner_superuser_nor_bypassrls():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, is_superuser, bypasses_rls = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )
        owned_tables = cursor.fetchone()[0]
    assert user == settings.DATABASE_APP_USER
    assert (is_superuser, bypasses_rls, owned_tables) == (False, False, 0)


def test_with_no_tenant_set_every_tenant_table_reads_zero_rows(tenant_a, tenant_b, owner, outsider):
    for tenant in (tenant_a, tenant_b):
        activate_tenant(tenant)
        audit_record(tenant=tenant, actor=None, action="test.seed")
    reset_db_context()
    with connection.cursor() as cursor:
        counts = {}
        for table in tenant_tables():
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    assert set(counts.values()) == {0}, counts


def test_a_tenant_sees_only_its_own_rows(tenant_a, tenant_b, owner, outsider):
    with connection.cursor() as cursor:
        activate_tenant(tenant_a)
        cursor.execute("SELECT DISTINCT tenant_id FROM accounts_membership")
        assert [row[0] for row in cursor.fetchall()] == [tenant_a.pk]


def test_inserting_a_row_for_another_tenant_is_refused(tenant_a, tenant_b, owner):
    activate_tenant(tenant_a)
    with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
        Membership.unscoped.create(tenant=tenant_b, user=owner, role="viewer")


def test_scoped_managers_refuse_to_run_without_a_tenant(tenant_a):
    with pytest.raises(TenantNotSet):
        list(Membership.objects.all())


def test_the_runtime_role_cannot_update_or_delete_the_audit_trail(tenant_a):
    with active(tenant_a):
        event = audit_record(tenant=tenant_a, actor=None, action="test.event")
        for statement in (
            "UPDATE audit_auditevent SET action = 'tampered' WHERE id = %s",
            "DELETE FROM audit_auditevent WHERE id = %s",
        ):
            with (
                pytest.raises(ProgrammingError, match="permission denied"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement, [event.pk])
