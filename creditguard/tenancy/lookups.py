"""Rows read before a tenant is known, through a SECURITY DEFINER function, with their tenant.

The functions (creditguard/tenancy/db.py, DEFINER_FUNCTIONS) return whole rows of one table; the
tenant (no row-level security) is joined in the same query, as `select_related` would, so the
caller can activate it without a second round trip.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models

from .models import Tenant

RowModel = TypeVar("RowModel", bound=models.Model)


def rows_with_tenant(
    model: type[RowModel], *, function_call: str, params: list[int | str], where_order: str = ""
) -> list[RowModel]:
    """`model` instances from `SELECT ... FROM <function_call> AS <model's table>` joined with
    their tenant. `function_call`, `where_order` come from code, never from input."""
    quote = connection.ops.quote_name
    table = model._meta.db_table
    own_fields = model._meta.concrete_fields
    tenant_fields = Tenant._meta.concrete_fields
    columns = [f"{quote(table)}.{quote(str(field.column))}" for field in own_fields] + [
        f"tenant.{quote(str(field.column))}" for field in tenant_fields
    ]
    query = (
        f"SELECT {', '.join(columns)} FROM {function_call} AS {quote(table)} "  # noqa: S608
        f"JOIN tenancy_tenant tenant ON tenant.id = {quote(table)}.tenant_id {where_order}"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    instances = []
    split = len(own_fields)
    for row in rows:
        instance = model.from_db(
            connection.alias, [field.attname for field in own_fields], row[:split]
        )
        instance.tenant = Tenant.from_db(  # type: ignore[attr-defined]
            connection.alias, [field.attname for field in tenant_fields], row[split:]
        )
        instances.append(instance)
    return instances
