"""The request as `TenantMiddleware` leaves it, for type checkers.

The middleware sets `tenant` and `membership` on every request, and `membership_for_request`
the signed-in user's `memberships`; `ApiKeyAuthentication` sets `tenant` for API-key calls.
Annotate a view's request as `TenantHttpRequest` to read them with their types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from creditguard.accounts.models import Membership
    from creditguard.tenancy.models import Tenant


class TenantHttpRequest(HttpRequest):
    tenant: Tenant | None
    membership: Membership | None
    memberships: list[Membership]
