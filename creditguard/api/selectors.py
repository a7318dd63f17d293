from __future__ import annotations

from creditguard.tenancy.lookups import rows_with_tenant

from .models import ApiKey


def api_key_by_prefix(*, prefix: str) -> ApiKey | None:
    """The key with this exact prefix in any tenant, revoked or not, with its tenant; else None.

    Read before the tenant is known, through the SECURITY DEFINER function
    `app_api_key_by_prefix` (migration api 0004): the runtime role cannot read api_apikey
    across tenants itself. The caller verifies the secret and activates the key's tenant.
    """
    keys = rows_with_tenant(ApiKey, function_call="app_api_key_by_prefix(%s)", params=[prefix])
    return keys[0] if keys else None
