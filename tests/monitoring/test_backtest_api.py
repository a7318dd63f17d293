"""The back-test API over a window of months, with its intervals and PD flags, and back-filled
history counted as predictions."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring.models import BuyerScore
from tests.conftest import active, bearer
from tests.factories import BuyerFactory, BuyerScoreFactory, LegalEventFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/backtests/"


def scored(tenant, *, period, grade, score, pd="0.01600", defaulted_on=None, as_of=None):
    """A buyer scored for ``period``, computed today (as a back-fill does) from what was known
    on ``as_of``."""
    buyer = BuyerFactory(tenant=tenant)
    row = BuyerScoreFactory(
        buyer=buyer,
        period=period,
        grade=grade,
        score=Decimal(score),
        probability_of_default=Decimal(pd),
        model_version="cg-test",
        trigger="backfill" if as_of else "monthly",
    )
    BuyerScore.objects.filter(pk=row.pk).update(as_of=as_of)
    if defaulted_on:
        LegalEventFactory(buyer=buyer, kind="insolvency_filing", event_date=defaulted_on)
    return buyer


@pytest.fixture
def history(tenant_a):
    """Back-filled January 2023 and January 2024: in each, 6 of 20 grade-6 buyers defaulted
    (against a PD of 1.6 %) and none of 20 grade-2 buyers."""
    with active(tenant_a):
        for period in (date(2023, 1, 1), date(2024, 1, 1)):
            for number in range(20):
                scored(
                    tenant_a,
                    period=period,
                    as_of=period,
                    grade=6,
                    score=30 + number,
                    defaulted_on=date(period.year, 6, 1)
                    if number % 3 == 0 and number < 18
                    else None,
                )
                scored(
                    tenant_a, period=period, as_of=period, grade=2, score=80 + number, pd="0.001"
                )


def test_back_filled_scores_count_as_predictions_with_intervals(api, history):
    [report] = api.get(URL).json()

    # Computed today, but as of each January: the defaults in June were not known yet.
    assert (report["observations"], report["defaults"], report["already_in_default"]) == (80, 12, 0)
    assert Decimal(report["auc_low"]) < Decimal(report["auc"]) < Decimal(report["auc_high"])
    assert Decimal(report["gini_low"]) == 2 * Decimal(report["auc_low"]) - 1
    # Clopper–Pearson of 12 in 80, as the F-distribution form gives it: 7.998 %–24.736 %.
    assert (report["default_rate"], report["default_rate_low"], report["default_rate_high"]) == (
        "0.15000",
        "0.07998",
        "0.24736",
    )
    assert report["grades_off"] == [6]
    grades = {row["grade"]: row for row in report["by_grade"]}
    assert grades[6] | {"grade": 6} == {
        "grade": 6,
        "observations": 40,
        "defaults": 12,
        "default_rate": "0.30000",
        "default_rate_low": "0.16563",
        "default_rate_high": "0.46532",
        "mean_pd": "0.01600",
        "pd_check": "understated",
        "pd_outside": True,
    }
    assert (grades[2]["pd_check"], grades[2]["pd_outside"]) == ("within", False)
    assert (grades[1]["pd_check"], grades[1]["default_rate_low"]) == (None, None)


def test_the_window_of_months_filters_the_scores(api, history):
    [january_2023] = api.get(
        URL, {"first_period": "2023-01-01", "last_period": "2023-12-31"}
    ).json()
    [from_2024] = api.get(URL, {"first_period": "2024-01-15"}).json()
    none = api.get(URL, {"last_period": "2022-12-01"}).json()

    assert (january_2023["first_period"], january_2023["last_period"]) == (
        "2023-01-01",
        "2023-01-01",
    )
    assert january_2023["observations"] == 40
    assert (from_2024["first_period"], from_2024["observations"]) == ("2024-01-01", 40)
    assert none == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"first_period": "2024-02"}, "first_period", id="not-a-date"),
        pytest.param({"last_period": "yesterday"}, "last_period", id="words"),
        pytest.param(
            {"first_period": "2024-06-01", "last_period": "2024-01-01"},
            "first_period",
            id="first-after-last",
        ),
    ],
)
def test_an_invalid_window_is_a_400_problem(api, query, field):
    response = api.get(URL, query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_a_score_computed_with_hindsight_is_left_out(api, tenant_a):
    with active(tenant_a):
        buyer = scored(tenant_a, period=date(2023, 1, 1), grade=6, score=30)
        LegalEventFactory(buyer=buyer, kind="insolvency_filing", event_date=date(2023, 6, 1))
        # No as-of day: an old row, computed in 2024, after the default.
        BuyerScore.objects.filter(buyer=buyer).update(
            computed_at=timezone.make_aware(datetime(2024, 2, 1, 2))
        )

    [report] = api.get(URL).json()

    assert (report["observations"], report["already_in_default"]) == (0, 1)


def test_a_read_key_reads_the_back_test_and_another_tenant_sees_none(
    client, read_key, api_key_b, history
):
    assert client.get(URL, headers=bearer(read_key)).status_code == 200
    assert client.get(URL, headers=bearer(api_key_b[1])).json() == []


def test_observations_know_what_their_score_knew(tenant_a):
    from monitoring.backtest import Observation
    from monitoring.selectors import backtest_observations

    with active(tenant_a):
        back_filled = scored(
            tenant_a,
            period=date(2023, 1, 1),
            as_of=date(2023, 1, 1),
            grade=6,
            score="30.25",
            defaulted_on=date(2023, 6, 1),
        )
        old = scored(tenant_a, period=date(2023, 2, 1), grade=2, score=81, pd="0.00100")
        BuyerScore.objects.filter(buyer=old).update(
            computed_at=timezone.make_aware(datetime(2023, 2, 1, 23, 30))
        )
        scored(tenant_a, period=date(2024, 1, 1), grade=2, score=90)

        observations = backtest_observations(model_version="cg-test", last_period=date(2023, 12, 1))

    assert observations == [
        Observation(
            buyer_id=back_filled.pk,
            period=date(2023, 1, 1),
            known_on=date(2023, 1, 1),
            score=Decimal("30.25"),
            grade=6,
            probability_of_default=Decimal("0.01600"),
            first_default_on=date(2023, 6, 1),
        ),
        # No as-of day: the (local) day it was computed stands in.
        Observation(
            buyer_id=old.pk,
            period=date(2023, 2, 1),
            known_on=date(2023, 2, 1),
            score=Decimal("81.00"),
            grade=2,
            probability_of_default=Decimal("0.00100"),
        ),
    ]
