"""The current tenant: one value in a context variable and in the database transaction.

Both walls are set together by `activate_tenant`: the application wall (tenant-scoped managers
read the context variable) and the database wall (row-level security policies read
`app.tenant_id`, set with `set_config(..., is_local => true)` so it ends with the transaction
and can never leak to the next user of a pooled connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db import connection, transaction

if TYPE_CHECKING:
    from .models import Tenant

_current_tenant: ContextVar[Tenant | None] = ContextVar("current_tenant", default=None)


class TenantNotSet(RuntimeError):
    """A tenant-owned table was queried with no tenant active."""


def set_db_variable(name: str, value: str) -> None:
    """Set a transaction-local `app.*` setting read by the row-level security policies."""
    if not connection.in_atomic_block:
        raise RuntimeError(f"app.{name} must be set inside a transaction")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [f"app.{name}", value])


def reset_db_context() -> None:
    """Forget the tenant of this transaction (start of a request).

    `app.tenant_id` is the only setting a policy reads (tests/tenancy/test_policies_catalog.py):
    look-ups before a tenant is known go through SECURITY DEFINER functions instead.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


def activate_tenant(tenant: Tenant) -> None:
    """Make `tenant` the current one on both walls (inside a transaction)."""
    set_db_variable("tenant_id", str(tenant.pk))
    _current_tenant.set(tenant)


def deactivate_tenant() -> None:
    """No tenant is current any more, on both walls."""
    _current_tenant.set(None)
    if connection.in_atomic_block:
        set_db_variable("tenant_id", "")


def current_tenant() -> Tenant:
    tenant = _current_tenant.get()
    if tenant is None:
        raise TenantNotSet("no tenant is active; use tenant_context() or the request's tenant")
    return tenant


def current_tenant_or_none() -> Tenant | None:
    return _current_tenant.get()


@contextmanager
def tenant_scope() -> Iterator[None]:
    """Start the block with no tenant current and forget, on leaving, whatever it activated.

    The frame of one unit of work (a request, a task step, a test): the tenant of one never
    leaks into the next one run by the same thread.
    """
    token = _current_tenant.set(None)
    try:
        yield
    finally:
        _current_tenant.reset(token)


@contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block in a transaction with `tenant` active on both walls."""
    with tenant_scope(), transaction.atomic():
        activate_tenant(tenant)
        yield tenant
