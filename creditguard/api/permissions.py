from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission

from .models import ApiKey

if TYPE_CHECKING:
    from rest_framework.views import APIView


class TenantPermission(BasePermission):
    """Every API call needs a tenant: an API key (read or write scope) or a signed-in member.

    Views name the role permission a member needs with `required_permission` (default VIEW for
    safe methods, EDIT_RECEIVABLES otherwise) or `required_permissions = {method: Permission}`.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            return request.method in SAFE_METHODS or request.auth.can_write
        membership: Membership | None = getattr(request._request, "membership", None)
        if not request.user.is_authenticated or membership is None:
            return False
        return membership.allows(self.required(request, view))

    @staticmethod
    def required(request: Request, view: APIView) -> Permission:
        per_method: dict[str, Permission] = getattr(view, "required_permissions", {})
        if request.method in per_method:
            return per_method[request.method]
        permission: Permission
        if request.method in SAFE_METHODS:
            permission = getattr(view, "required_permission", Permission.VIEW)
        else:
            permission = getattr(view, "required_write_permission", Permission.EDIT_RECEIVABLES)
        return permission
