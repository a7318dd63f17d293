from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render

from creditguard.accounts.roles import Permission
from creditguard.tenancy.http import TenantHttpRequest


def tenant_view(permission: Permission = Permission.VIEW) -> Callable:
    """A signed-in member of the active tenant whose role allows `permission`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: TenantHttpRequest, *args, **kwargs) -> HttpResponse:
            if request.membership is None:
                return render(request, "web/no_tenant.html", status=403)
            if not request.membership.allows(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
