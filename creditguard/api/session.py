"""Session authentication for the API that honours two-factor sign-in."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from creditguard.accounts.two_factor import two_factor_pending


class VerifiedSessionAuthentication(SessionAuthentication):
    """A browser session counts only once it has passed two-factor sign-in (or set-up, where
    the tenant requires it of administrators); until then the API treats it as anonymous."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        membership = getattr(request._request, "membership", None)
        if two_factor_pending(user=result[0], membership=membership) is not None:
            return None
        return result


class VerifiedSessionScheme(SessionScheme):
    """The same `cookieAuth` security scheme in the OpenAPI schema as Django's session."""

    # The class itself rather than its dotted path: nothing left to import (or fail) later.
    target_class = VerifiedSessionAuthentication  # type: ignore[assignment]
