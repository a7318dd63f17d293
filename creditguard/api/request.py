"""Who and which tenant an API request acts for, whatever authenticated it."""

from rest_framework.request import Request

from creditguard.tenancy.models import Tenant


def request_tenant(request: Request) -> Tenant:
    return request._request.tenant


def request_actor(request: Request):
    return request.auth if request.auth is not None else request.user
