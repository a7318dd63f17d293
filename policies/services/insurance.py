"""Insurance policies: created with their first terms, changed by endorsements, and the buyers
they name.

- Creating a policy writes the `InsurancePolicy` and its version 1 (effective from the period
  start unless told otherwise).
- An endorsement is a new `PolicyVersion`: a copy of the terms in force on its effective date
  (the first version's when it takes effect before any version) with the changes applied, its
  `effective_from`, `endorsement_reference` and `change_note`. Versions are append-only, so the
  history is kept; the terms in force on a day are the latest version effective on or before it
  (`policies.insurance.scope.version_in_force`).
- Terms are validated as a whole by `policies.insurance.terms.validate_terms`, against the
  country reference and the trade currencies.
- A named buyer is included in a policy (covered whatever its country) or excluded from it
  (not covered although its country is); one entry per policy and buyer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from buyers.models import Buyer
from buyers.records import CURRENCIES
from creditguard.audit.services import audit_record, snapshot
from creditguard.reference.models import Country
from creditguard.tenancy.models import Tenant

from ..insurance import terms as policy_terms
from ..insurance.scope import version_in_force
from ..models import InsurancePolicy, PolicyBuyer, PolicyVersion
from .coverage import coverage_refresh_soon

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

POLICY_FIELDS = ["insurer", "number", "name", "currency"]
VERSION_FIELDS = [
    "version",
    "effective_from",
    "endorsement_reference",
    "change_note",
    *policy_terms.TERM_FIELDS,
]


def terms_errors(problems: Iterable[policy_terms.Problem]) -> dict[str, list[str]]:
    """The problems of `policy_terms` as translated messages keyed by field."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(_(problem.message) % dict(problem.params))
    return errors


def terms_of(version: PolicyVersion) -> policy_terms.PolicyTerms:
    """The terms of a stored version, typed (JSON lists parsed)."""
    groups, _group_problems = policy_terms.parse_country_group_rates(version.country_group_rates)
    tiers, _tier_problems = policy_terms.parse_premium_tiers(version.premium_tiers)
    values: dict[str, Any] = {
        name: getattr(version, name)
        for name in policy_terms.TERM_FIELDS
        if name
        not in ("covered_risks", "covered_countries", "country_group_rates", "premium_tiers")
    }
    return policy_terms.PolicyTerms(
        **values,
        covered_risks=tuple(version.covered_risks),
        covered_countries=tuple(version.covered_countries),
        country_group_rates=groups,
        premium_tiers=tiers,
    )


def _stored(terms: policy_terms.PolicyTerms) -> dict[str, Any]:
    """The terms as `PolicyVersion` field values."""
    values = {name: getattr(terms, name) for name in policy_terms.TERM_FIELDS}
    values["covered_risks"] = list(terms.covered_risks)
    values["covered_countries"] = list(terms.covered_countries)
    values["country_group_rates"] = policy_terms.country_group_rates_json(terms.country_group_rates)
    values["premium_tiers"] = policy_terms.premium_tiers_json(terms.premium_tiers)
    return values


def validate_policy_terms(
    terms: policy_terms.PolicyTerms, *, currency: str | None = None
) -> dict[str, list[str]]:
    """`validate_terms` against the country reference and the trade currencies."""
    country_codes = frozenset(Country.objects.values_list("code", flat=True))
    return terms_errors(
        policy_terms.validate_terms(
            terms, country_codes=country_codes, currencies=CURRENCIES, currency=currency
        )
    )


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _version_audit(version: PolicyVersion) -> dict[str, Any]:
    return snapshot(version, VERSION_FIELDS)


@transaction.atomic
def insurance_policy_create(
    *,
    tenant: Tenant,
    actor: Actor,
    insurer: str,
    number: str,
    currency: str,
    terms: policy_terms.PolicyTerms,
    name: str = "",
    effective_from: date | None = None,
) -> InsurancePolicy:
    """A new policy with its terms as version 1, effective from `effective_from` (default: the
    start of the policy period)."""
    insurer, number = insurer.strip(), number.strip()
    errors = validate_policy_terms(terms, currency=currency)
    if not insurer:
        errors.setdefault("insurer", []).append(_("Name the insurer."))
    if not number:
        errors.setdefault("number", []).append(_("Enter the policy number."))
    if InsurancePolicy.objects.filter(insurer__iexact=insurer, number__iexact=number).exists():
        errors.setdefault("number", []).append(
            _("This insurer's policy with this number is already recorded.")
        )
    if errors:
        raise ValidationError(errors)
    policy = InsurancePolicy.objects.create(
        tenant=tenant,
        insurer=insurer,
        number=number,
        name=name.strip(),
        currency=currency,
        created_by=_user(actor),
    )
    version = PolicyVersion.objects.create(
        tenant=tenant,
        policy=policy,
        version=1,
        effective_from=effective_from or terms.period_start,
        created_by=_user(actor),
        **_stored(terms),
    )
    version.refresh_from_db()  # the stored values (decimal places), for the audit
    audit_record(
        tenant=tenant,
        actor=actor,
        action="insurance_policy.create",
        obj=policy,
        after={**snapshot(policy, POLICY_FIELDS), "terms": _version_audit(version)},
    )
    coverage_refresh_soon(tenant=tenant)
    return policy


@transaction.atomic
def insurance_policy_endorse(
    *,
    tenant: Tenant,
    actor: Actor,
    policy: InsurancePolicy,
    effective_from: date,
    changes: Mapping[str, Any],
    endorsement_reference: str = "",
    change_note: str = "",
) -> PolicyVersion:
    """An endorsement: a new version with the terms in force on `effective_from` and
    `changes` (term field → new value; every key a field of `PolicyTerms`) applied."""
    unknown = sorted(set(changes) - set(policy_terms.TERM_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Not a term of the policy.")] for key in unknown})
    # Versions are append-only; locking the policy row numbers concurrent endorsements.
    policy = InsurancePolicy.objects.select_for_update().get(pk=policy.pk)
    base = (
        version_in_force(policy=policy, on=effective_from)
        or PolicyVersion.objects.filter(policy=policy).order_by("effective_from", "version").first()
    )
    if base is None:  # a policy always has its version 1
        raise ValidationError({"effective_from": [_("The policy has no terms to endorse.")]})
    current = terms_of(base)
    typed: dict[str, Any] = {
        key: tuple(value) if key in ("covered_risks", "covered_countries") else value
        for key, value in changes.items()
    }
    terms = dataclasses.replace(current, **typed)
    if terms == current:
        raise ValidationError(
            {"non_field_errors": [_("The endorsement changes none of the terms in force.")]}
        )
    errors = validate_policy_terms(terms)
    if errors:
        raise ValidationError(errors)
    latest = PolicyVersion.objects.filter(policy=policy).order_by("-version").first()
    version = PolicyVersion.objects.create(
        tenant=tenant,
        policy=policy,
        version=(latest.version if latest else 0) + 1,
        effective_from=effective_from,
        endorsement_reference=endorsement_reference.strip(),
        change_note=change_note.strip(),
        created_by=_user(actor),
        **_stored(terms),
    )
    version.refresh_from_db()  # the stored values (decimal places), for the audit
    before = _version_audit(base)
    after = _version_audit(version)
    changed = [
        key for key in policy_terms.TERM_FIELDS if getattr(current, key) != getattr(terms, key)
    ]
    audit_record(
        tenant=tenant,
        actor=actor,
        action="insurance_policy.endorse",
        obj=policy,
        before={"version": base.version, **{key: before[key] for key in changed}},
        after={
            "version": version.version,
            "effective_from": after["effective_from"],
            "endorsement_reference": version.endorsement_reference,
            "change_note": version.change_note,
            **{key: after[key] for key in changed},
        },
    )
    coverage_refresh_soon(tenant=tenant)
    return version


@transaction.atomic
def policy_buyer_set(
    *, tenant: Tenant, actor: Actor, policy: InsurancePolicy, buyer: Buyer, kind: str
) -> PolicyBuyer:
    """Name `buyer` on `policy` as included or excluded (replacing an earlier entry)."""
    if kind not in PolicyBuyer.Kind.values:
        raise ValidationError({"kind": [_("Choose included or excluded.")]})
    entry = PolicyBuyer.objects.select_for_update().filter(policy=policy, buyer=buyer).first()
    before = {"kind": entry.kind} if entry else None
    if entry is None:
        entry = PolicyBuyer.objects.create(tenant=tenant, policy=policy, buyer=buyer, kind=kind)
    elif entry.kind != kind:
        entry.kind = kind
        entry.save(update_fields=["kind"])
    else:
        return entry
    audit_record(
        tenant=tenant,
        actor=actor,
        action="insurance_policy.buyer_set",
        obj=policy,
        before={"buyer": buyer.pk, **before} if before else None,
        after={"buyer": buyer.pk, "buyer_name": buyer.legal_name, "kind": kind},
    )
    coverage_refresh_soon(tenant=tenant)
    return entry


@transaction.atomic
def policy_buyer_remove(
    *, tenant: Tenant, actor: Actor, policy: InsurancePolicy, buyer: Buyer
) -> bool:
    """Stop naming `buyer` on `policy` (its country decides again). False when it was not
    named."""
    entry = PolicyBuyer.objects.filter(policy=policy, buyer=buyer).first()
    if entry is None:
        return False
    kind = entry.kind
    entry.delete()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="insurance_policy.buyer_remove",
        obj=policy,
        before={"buyer": buyer.pk, "buyer_name": buyer.legal_name, "kind": kind},
    )
    coverage_refresh_soon(tenant=tenant)
    return True
