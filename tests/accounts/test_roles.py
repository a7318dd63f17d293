"""The role → permission mapping (no database)."""

import pytest

from creditguard.accounts.models import Membership
from creditguard.accounts.roles import ROLE_PERMISSIONS, Permission, Role, role_allows

P = Permission
SETTINGS_PERMISSIONS = {P.MANAGE_USERS, P.MANAGE_API_KEYS, P.MANAGE_CREDIT_POLICY}


def test_every_role_has_a_permission_set():
    assert set(ROLE_PERMISSIONS) == set(Role.values)


def test_a_viewer_may_only_view():
    assert ROLE_PERMISSIONS[Role.VIEWER] == {P.VIEW}


def test_an_analyst_maintains_receivables_but_decides_nothing_and_manages_no_settings():
    analyst = ROLE_PERMISSIONS[Role.ANALYST]

    assert {P.VIEW, P.EDIT_RECEIVABLES, P.REQUEST_LIMIT, P.MANAGE_INSURANCE} <= analyst
    assert analyst.isdisjoint({P.DECIDE_LIMIT, P.VIEW_AUDIT, *SETTINGS_PERMISSIONS})


def test_a_credit_manager_decides_limits_and_reads_the_audit_trail_but_manages_no_settings():
    credit_manager = ROLE_PERMISSIONS[Role.CREDIT_MANAGER]

    assert ROLE_PERMISSIONS[Role.ANALYST] < credit_manager
    assert {P.DECIDE_LIMIT, P.MANAGE_MONITORING, P.VIEW_AUDIT} <= credit_manager
    assert credit_manager.isdisjoint(SETTINGS_PERMISSIONS)


def test_an_admin_has_every_permission():
    assert ROLE_PERMISSIONS[Role.ADMIN] == set(Permission)


def test_an_unknown_role_is_allowed_nothing():
    assert not any(role_allows("superuser", permission) for permission in Permission)


@pytest.mark.parametrize("role", Role.values)
def test_an_inactive_membership_allows_nothing_whatever_the_role(role):
    membership = Membership(role=role, is_active=False)

    assert not any(membership.allows(permission) for permission in Permission)
    assert Membership(role=role, is_active=True).allows(P.VIEW)
