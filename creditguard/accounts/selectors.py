from __future__ import annotations

from django.contrib.auth.models import User

from creditguard.tenancy.http import TenantHttpRequest
from creditguard.tenancy.lookups import rows_with_tenant

from .models import Membership

SESSION_TENANT_KEY = "tenant_id"


def memberships_of_user(*, user: User) -> list[Membership]:
    """The user's active memberships in every tenant, by tenant name.

    Read before the tenant is known, through the SECURITY DEFINER function
    `app_memberships_of_user` (migration accounts 0003): the runtime role cannot read
    accounts_membership across tenants itself.
    """
    return rows_with_tenant(
        Membership,
        function_call="app_memberships_of_user(%s)",
        params=[user.pk],
        where_order=(
            "WHERE accounts_membership.is_active AND tenant.is_active ORDER BY tenant.name, tenant.id"
        ),
    )


def membership_for_request(request: TenantHttpRequest) -> Membership | None:
    """The membership of the tenant chosen in the session, else the user's first tenant."""
    if not isinstance(request.user, User):
        return None
    memberships = memberships_of_user(user=request.user)
    request.memberships = memberships
    chosen = request.session.get(SESSION_TENANT_KEY)
    for membership in memberships:
        if membership.tenant_id == chosen:
            return membership
    return memberships[0] if memberships else None


def tenant_memberships(*, tenant_id: int) -> list[Membership]:
    return list(
        Membership.objects.filter(tenant_id=tenant_id)
        .select_related("user")
        .order_by("user__email")
    )
