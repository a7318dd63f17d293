from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse

from creditguard.accounts.two_factor import Pending, two_factor_pending
from creditguard.api.problems import is_api_request
from creditguard.tenancy.http import TenantHttpRequest


class TwoFactorMiddleware:
    """A session that still owes its two-factor code, or an administrator's 2FA set-up that
    the tenant requires, reaches only the page that settles it (and signing out, the language
    switch). Everything else redirects there, so `login_required` and `tenant_view` pages never
    see such a session. The API answers it as anonymous (`VerifiedSessionAuthentication`).
    After `TenantMiddleware`: the requirement depends on the active tenant and role.
    """

    def __init__(self, get_response: Callable[[TenantHttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantHttpRequest) -> HttpResponse:
        if is_api_request(request) or request.path == "/healthz":
            return self.get_response(request)
        pending = two_factor_pending(
            user=request.user, membership=getattr(request, "membership", None)
        )
        if pending is None:
            return self.get_response(request)
        target = reverse("two-factor-verify" if pending == Pending.CODE else "two-factor")
        allowed = {target, reverse("logout"), reverse("set_language")}
        if pending == Pending.SETUP:
            # The requirement is the active tenant's: switching to another one is allowed.
            allowed.add(reverse("tenant-switch"))
        if request.path in allowed:
            return self.get_response(request)
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{target}?{query}")
