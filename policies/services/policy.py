"""Credit policy versions: append-only, numbered per tenant, with grade bands.

The edge (API serializer or page form) parses the settings and every band's fields; the
service checks what needs all bands together or today's date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from creditguard.audit.services import audit_record, snapshot
from creditguard.dates import today
from creditguard.tenancy.models import Tenant

from ..models import CreditPolicy, CreditPolicyBand

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

POLICY_LOCK_NAMESPACE = 5_001  # pg_advisory_xact_lock(namespace, tenant id)
POLICY_FIELDS = [
    "version",
    "effective_from",
    "currency",
    "four_eyes_threshold",
    "lowest_acceptable_grade",
    "overdue_hold_days",
    "overdue_hold_amount",
    "limit_without_financials",
    "notes",
]
BAND_FIELDS = [
    "grade_from",
    "grade_to",
    "max_payment_terms_days",
    "max_limit",
    "max_limit_equity_pct",
    "max_limit_revenue_pct",
    "insurance_required_above",
    "approval_level",
]


def validate_bands(
    bands: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Bands (fields already parsed) run from their first grade up and cover grades 1 to 10,
    each exactly once. Returns the bands in grade order, with every band field, and the errors
    keyed `bands[<index>].<field>` or `bands`."""
    errors: dict[str, list[str]] = {}
    cleaned = [
        {
            "max_limit_equity_pct": None,
            "max_limit_revenue_pct": None,
            "insurance_required_above": None,
            **band,
            "approval_level": band.get("approval_level") or CreditPolicyBand.ApprovalLevel.STANDARD,
        }
        for band in bands
    ]
    for index, band in enumerate(cleaned):
        if band["grade_from"] > band["grade_to"]:
            errors[f"bands[{index}].grade_to"] = [_("Must not be below the first grade.")]
    if not errors:
        covered = sorted(
            grade for band in cleaned for grade in range(band["grade_from"], band["grade_to"] + 1)
        )
        if covered != list(range(1, 11)):
            errors["bands"] = [
                _("The bands must cover every grade from 1 to 10 exactly once, without gaps.")
            ]
    return sorted(cleaned, key=lambda band: band["grade_from"]), errors


@transaction.atomic
def credit_policy_create(
    *,
    tenant: Tenant,
    actor: Actor,
    effective_from: date,
    four_eyes_threshold: Decimal,
    lowest_acceptable_grade: int,
    overdue_hold_days: int,
    overdue_hold_amount: Decimal,
    limit_without_financials: Decimal,
    bands: Sequence[Mapping[str, Any]],
    notes: str = "",
    as_of: date | None = None,
) -> CreditPolicy:
    """A new version of the tenant's credit policy, effective today or later."""
    as_of = as_of or today()
    cleaned_bands, errors = validate_bands(bands)
    if effective_from < as_of:
        errors["effective_from"] = [_("A new version cannot take effect in the past.")]
    if errors:
        raise ValidationError(errors)
    # Versions are append-only (no UPDATE privilege, so no row lock): a transaction-level
    # advisory lock per tenant numbers concurrent versions one after the other.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [POLICY_LOCK_NAMESPACE, tenant.pk])
    latest = CreditPolicy.objects.order_by("-version").first()
    policy = CreditPolicy.objects.create(
        tenant=tenant,
        version=(latest.version + 1) if latest else 1,
        currency=tenant.base_currency,
        created_by=actor if isinstance(actor, User) else None,
        effective_from=effective_from,
        four_eyes_threshold=four_eyes_threshold,
        lowest_acceptable_grade=lowest_acceptable_grade,
        overdue_hold_days=overdue_hold_days,
        overdue_hold_amount=overdue_hold_amount,
        limit_without_financials=limit_without_financials,
        notes=notes,
    )
    CreditPolicyBand.objects.bulk_create(
        [CreditPolicyBand(tenant=tenant, policy=policy, **band) for band in cleaned_bands]
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_policy.create",
        obj=policy,
        after={
            **snapshot(policy, POLICY_FIELDS),
            "bands": [snapshot(band, BAND_FIELDS) for band in policy.bands.order_by("grade_from")],
        },
    )
    return policy
