from __future__ import annotations

from django.contrib.auth.models import User

from creditguard.tenancy.http import TenantHttpRequest

from .models import Membership

SESSION_TENANT_KEY = "tenant_id"


def memberships_of_user(*, user: User) -> list[Membership]:
    """The user's active memberships in every tenant; needs `app.user_id` set (middleware)."""
    return list(
        Membership.unscoped.filter(user=user, is_active=True, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
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
