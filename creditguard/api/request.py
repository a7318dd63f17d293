"""Who and which tenant an API request acts for, whatever authenticated it."""

from typing import cast

from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from creditguard.tenancy.http import TenantHttpRequest
from creditguard.tenancy.models import Tenant

from .models import ApiKey


def request_tenant(request: Request) -> Tenant:
    """The tenant of the API key or of the signed-in member (`TenantPermission` let it in)."""
    tenant = cast(TenantHttpRequest, request._request).tenant
    if tenant is None:
        raise NotAuthenticated()
    return tenant


def request_actor(request: Request) -> ApiKey | User:
    """The API key, or the signed-in user, that the audit trail names for this request."""
    if isinstance(request.auth, ApiKey):
        return request.auth
    if isinstance(request.user, User):
        return request.user
    raise NotAuthenticated()
