"""Which terms of a policy are in force on a day, and which policy covers a buyer.

- **Terms in force** on a day: the policy's latest version effective on or before it (by
  `effective_from`, then `version`). A policy whose first version starts later has none yet.
- **Scope**: a buyer is covered by a policy when the policy names it as included, or when its
  country is one of the covered countries of the terms in force and the policy does not name it
  as excluded (`in_scope`).
- **One policy per buyer**: when several policies cover a buyer, the one that names it wins,
  then the lowest policy id.
- **Cover period** of a policy: from the earliest `period_start` to the latest `period_end` of
  its versions; an invoice is under the policy when its buyer is and its issue date falls in it.

The rule is written three ways, kept in agreement by tests/insurance/test_scope.py: pure
(`in_scope`), ORM (`covered_buyers`) and SQL (`SCOPE_CTES`, for the daily sweep).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from buyers.models import Buyer
from creditguard.tenancy.context import current_tenant

from ..models import InsurancePolicy, PolicyBuyer, PolicyVersion

INCLUDED = PolicyBuyer.Kind.INCLUDED.value
EXCLUDED = PolicyBuyer.Kind.EXCLUDED.value


def in_scope(*, country: str, named: str | None, covered_countries: Sequence[str]) -> bool:
    """Whether one policy covers a buyer of `country` that it names as `named` (or not at all)."""
    if named == INCLUDED:
        return True
    if named == EXCLUDED:
        return False
    return country in covered_countries


def version_in_force(*, policy: InsurancePolicy, on: date) -> PolicyVersion | None:
    """The terms of `policy` in force on `on`, or None before its first version starts."""
    return (
        PolicyVersion.objects.filter(policy=policy, effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .first()
    )


def versions_in_force(*, on: date) -> dict[int, PolicyVersion]:
    """The terms in force on `on` of every policy of the current tenant that has some."""
    versions = (
        PolicyVersion.objects.filter(effective_from__lte=on)
        .order_by("policy_id", "-effective_from", "-version")
        .distinct("policy_id")
    )
    return {version.policy_id: version for version in versions}


def _named(policy_id: int, kind: str) -> Exists:
    return Exists(
        PolicyBuyer.objects.filter(policy_id=policy_id, buyer_id=OuterRef("pk"), kind=kind)
    )


def _by_country(policy_id: int, version: PolicyVersion) -> Q:
    return Q(country_id__in=list(version.covered_countries)) & Q(~_named(policy_id, EXCLUDED))


def covered_buyers(*, policy: InsurancePolicy, on: date) -> QuerySet[Buyer]:
    """The buyers of the current tenant that `policy` covers on `on` (one policy per buyer)."""
    versions = versions_in_force(on=on)
    version = versions.get(policy.pk)
    if version is None:
        return Buyer.objects.none()
    named_elsewhere = Exists(
        PolicyBuyer.objects.filter(
            buyer_id=OuterRef("pk"), kind=INCLUDED, policy_id__in=list(versions)
        ).exclude(policy_id=policy.pk)
    )
    named_lower = Exists(
        PolicyBuyer.objects.filter(
            buyer_id=OuterRef("pk"), kind=INCLUDED, policy_id__in=list(versions)
        ).filter(policy_id__lt=policy.pk)
    )
    by_country = _by_country(policy.pk, version) & Q(~named_elsewhere)
    for other_id, other in versions.items():
        if other_id < policy.pk:
            by_country &= ~_by_country(other_id, other)
    by_name = Q(_named(policy.pk, INCLUDED)) & Q(~named_lower)
    return Buyer.objects.filter(by_name | by_country)


# The same rules in SQL for set-based jobs. Parameters: %(tenant)s, %(as_of)s. Defines
#   policy_terms(policy_id, <every PolicyVersion column>)  terms in force on as_of
#   policy_period(policy_id, cover_start, cover_end)       a policy's cover period
#   buyer_policy(buyer_id, policy_id)                      the one policy covering each buyer
SCOPE_CTES = """
policy_terms AS (
    SELECT DISTINCT ON (v.policy_id) v.*
    FROM policies_policyversion v
    WHERE v.tenant_id = %(tenant)s AND v.effective_from <= %(as_of)s
    ORDER BY v.policy_id, v.effective_from DESC, v.version DESC
),
policy_period AS (
    SELECT v.policy_id, min(v.period_start) AS cover_start, max(v.period_end) AS cover_end
    FROM policies_policyversion v
    WHERE v.tenant_id = %(tenant)s
    GROUP BY v.policy_id
),
buyer_policy AS (
    SELECT DISTINCT ON (b.id) b.id AS buyer_id, t.policy_id
    FROM buyers_buyer b
    CROSS JOIN policy_terms t
    LEFT JOIN policies_policybuyer pb
           ON pb.tenant_id = b.tenant_id AND pb.policy_id = t.policy_id AND pb.buyer_id = b.id
    WHERE b.tenant_id = %(tenant)s
      AND (pb.kind = 'included' OR (pb.kind IS NULL AND b.country_id = ANY(t.covered_countries)))
    ORDER BY b.id, (pb.kind IS NOT DISTINCT FROM 'included') DESC, t.policy_id
)
"""


def policy_of_buyers(*, buyer_ids: Sequence[int] | None = None, on: date) -> dict[int, int]:
    """The policy covering each buyer of the current tenant on `on` (all buyers when
    `buyer_ids` is None); buyers no policy covers are left out."""
    params: dict[str, int | date | list[int]] = {"tenant": current_tenant().pk, "as_of": on}
    sql = f"WITH {SCOPE_CTES} SELECT buyer_id, policy_id FROM buyer_policy"  # noqa: S608
    if buyer_ids is not None:
        sql += " WHERE buyer_id = ANY(%(buyers)s)"
        params["buyers"] = list(buyer_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {int(buyer_id): int(policy_id) for buyer_id, policy_id in cursor.fetchall()}
