import hmac
from datetime import timedelta
from typing import cast

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from creditguard.tenancy.context import activate_tenant
from creditguard.tenancy.http import TenantHttpRequest

from .models import KEY_PREFIX, ApiKey, hash_secret
from .selectors import api_key_by_prefix

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer cg_<prefix>_<secret>`; the key's tenant becomes the active one."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw_key = raw_key.strip()
        prefix = raw_key.removeprefix(KEY_PREFIX).split("_", 1)[0]
        if not raw_key.startswith(KEY_PREFIX) or not prefix:
            raise exceptions.AuthenticationFailed(_("Malformed API key."))
        api_key = api_key_by_prefix(prefix=prefix)
        if (
            api_key is None
            or not hmac.compare_digest(api_key.hashed_key, hash_secret(raw_key))
            or not api_key.is_active
            or not api_key.tenant.is_active
        ):
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        activate_tenant(api_key.tenant)
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.unscoped.filter(pk=api_key.pk).update(last_used_at=now)
        cast(TenantHttpRequest, request._request).tenant = api_key.tenant
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
