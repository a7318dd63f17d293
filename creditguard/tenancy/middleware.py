from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from creditguard.accounts.selectors import membership_for_request

from .context import activate_tenant, reset_db_context, tenant_scope
from .http import TenantHttpRequest


class TenantMiddleware:
    """Run the request in one transaction with the signed-in user's active tenant set.

    API-key requests get their tenant from `ApiKeyAuthentication`, inside this same
    transaction. Views run with ATOMIC_REQUESTS in a savepoint, so a failing view rolls back
    its own writes while the tenant setting stays for the error response.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    # The health check reports on the database rather than depending on it.
    exempt_paths = frozenset({"/healthz"})

    def __call__(self, request: TenantHttpRequest) -> HttpResponse:
        if request.path in self.exempt_paths:
            return self.get_response(request)
        with tenant_scope(), transaction.atomic():
            reset_db_context()
            request.tenant = None
            request.membership = None
            if request.user.is_authenticated:
                membership = membership_for_request(request)
                if membership is not None:
                    activate_tenant(membership.tenant)
                    request.tenant = membership.tenant
                    request.membership = membership
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response
