"""The one way to record an audited change; write services call `audit_record`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .models import AuditEvent

if TYPE_CHECKING:
    from creditguard.api.models import ApiKey
    from creditguard.tenancy.models import Tenant

    Actor = User | ApiKey | None


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    jsonable: dict[str, Any] = json.loads(json.dumps(values, cls=DjangoJSONEncoder))
    return jsonable


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """Field values of `instance` for an audit before/after, by attribute name."""
    return _jsonable({name: getattr(instance, name) for name in fields}) or {}


def actor_label(actor: Actor) -> str:
    from creditguard.api.models import ApiKey

    if actor is None:
        return "system"
    if isinstance(actor, ApiKey):
        return f"api-key:{actor.prefix} ({actor.name})"
    return actor.get_username()


def audit_record(
    *,
    tenant: Tenant,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    from creditguard.api.models import ApiKey

    return AuditEvent.objects.create(
        tenant=tenant,
        actor_user=actor if isinstance(actor, User) else None,
        actor_api_key=actor if isinstance(actor, ApiKey) else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=str(obj)[:300] if obj is not None else "",
        before=_jsonable(before),
        after=_jsonable(after),
    )


def audit_changes(
    *,
    tenant: Tenant,
    actor: Actor,
    action: str,
    obj: models.Model,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEvent | None:
    """Record a change as the fields whose values differ, old → new (`before` is {} for a new
    object); nothing when no value changed. `before` and `after` are `snapshot`s."""
    changed = [name for name, value in after.items() if before.get(name) != value]
    if not changed:
        return None
    return audit_record(
        tenant=tenant,
        actor=actor,
        action=action,
        obj=obj,
        before={name: before[name] for name in changed if name in before} or None,
        after={name: after[name] for name in changed},
    )
