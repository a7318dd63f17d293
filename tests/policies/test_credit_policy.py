"""Credit policy versions: validation of the grade bands and which version is in force.

Fields are validated once, at the edge (here the API's input serializer); the service checks
what needs all bands together or today's date.
"""

from datetime import date
from decimal import Decimal

import pytest

from creditguard.api.problems import flatten_errors
from policies import selectors, services
from policies.api.serializers import CreditPolicyInput
from policies.services import validate_bands
from tests.conftest import active
from tests.factories import CreditPolicyFactory

POLICY = {
    "effective_from": date(2027, 1, 1),
    "four_eyes_threshold": Decimal("250000"),
    "lowest_acceptable_grade": 8,
    "overdue_hold_days": 60,
    "overdue_hold_amount": Decimal("5000"),
    "limit_without_financials": Decimal("50000"),
}


def band(low, high, **extra):
    return {
        "grade_from": low,
        "grade_to": high,
        "max_payment_terms_days": 30,
        "max_limit": Decimal("1000"),
    } | extra


def input_errors(data):
    """The field errors of a credit policy request body, keyed as the API reports them."""
    typed = CreditPolicyInput(data=data)
    typed.is_valid()
    return {error["field"]: error["message"] for error in flatten_errors(typed.errors)}


def test_bands_covering_every_grade_once_are_accepted_in_grade_order():
    cleaned, errors = validate_bands([band(5, 10), band(1, 4)])

    assert errors == {}
    assert [row["grade_from"] for row in cleaned] == [1, 5]


@pytest.mark.parametrize(
    "bands",
    [
        [band(1, 4), band(6, 10)],  # grade 5 missing
        [band(1, 5), band(5, 10)],  # grade 5 twice
        [band(1, 9)],  # grade 10 missing
    ],
)
def test_bands_with_a_gap_or_an_overlap_are_refused(bands):
    _cleaned, errors = validate_bands(bands)

    assert list(errors) == ["bands"]


def test_each_bad_band_field_is_named_with_its_row():
    errors = input_errors(
        {
            **POLICY,
            "bands": [
                band(1, 10, max_limit="-1", max_limit_equity_pct="120", approval_level="board")
            ],
        }
    )

    assert set(errors) == {
        "bands[0].max_limit",
        "bands[0].max_limit_equity_pct",
        "bands[0].approval_level",
    }


@pytest.mark.django_db
def test_versions_are_numbered_and_the_latest_effective_one_is_in_force(tenant_a, owner):
    with active(tenant_a):
        first = services.credit_policy_create(
            tenant=tenant_a, actor=owner, **POLICY, bands=[band(1, 10)], as_of=date(2026, 12, 1)
        )
        second = services.credit_policy_create(
            tenant=tenant_a,
            actor=owner,
            **{**POLICY, "effective_from": date(2027, 7, 1)},
            bands=[band(1, 10)],
            as_of=date(2026, 12, 1),
        )

        assert (first.version, second.version) == (1, 2)
        assert selectors.policy_in_force(on=date(2026, 12, 31)) is None
        assert selectors.policy_in_force(on=date(2027, 6, 30)) == first
        assert selectors.policy_in_force(on=date(2027, 7, 1)) == second
        policy, bands = selectors.policy_in_force_with_bands(on=date(2027, 7, 1))
        assert (policy, [b.grade_to for b in bands]) == (second, [10])


@pytest.mark.django_db
def test_two_versions_effective_the_same_day_the_later_one_wins(tenant_a):
    with active(tenant_a):
        CreditPolicyFactory(tenant=tenant_a, version=1, effective_from=date(2026, 1, 1))
        later = CreditPolicyFactory(tenant=tenant_a, version=2, effective_from=date(2026, 1, 1))

        assert selectors.policy_in_force(on=date(2026, 3, 1)) == later


@pytest.mark.django_db
def test_a_policy_with_invalid_settings_writes_nothing(client, tenant_a, owner):
    client.force_login(owner)
    invalid = {**POLICY, "lowest_acceptable_grade": 11, "four_eyes_threshold": "lots"}

    response = client.post(
        "/api/v1/credit-policies/",
        {**invalid, "effective_from": "2099-01-01", "bands": [band(1, 10)]},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {
        "lowest_acceptable_grade",
        "four_eyes_threshold",
    }
    with active(tenant_a):
        assert not selectors.policy_versions().exists()
