from django.http import HttpRequest

from creditguard.accounts.roles import Permission


def tenancy(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": membership,
        "user_memberships": getattr(request, "memberships", []),
        "perms_in_tenant": {
            permission.value: bool(membership and membership.allows(permission))
            for permission in Permission
        },
    }
