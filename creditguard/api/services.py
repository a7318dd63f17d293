from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from creditguard.audit.services import audit_record
from creditguard.tenancy.models import Tenant

from .models import ApiKey, generate_raw_key, hash_secret


@transaction.atomic
def api_key_create(*, tenant: Tenant, actor: User, name: str, scope: str) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and only its hash is stored."""
    raw_key, prefix = generate_raw_key()
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=prefix,
        hashed_key=hash_secret(raw_key),
        scope=scope,
        created_by=actor,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="api_key.create",
        obj=api_key,
        after={"name": name, "scope": scope, "prefix": prefix},
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, actor: User, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="api_key.revoke",
            obj=api_key,
            before={"revoked_at": None},
            after={"revoked_at": api_key.revoked_at},
        )
    return api_key
