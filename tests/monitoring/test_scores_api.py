"""REST API for scores, country risk and back-tests, incl. other tenants and query counts."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.models import BuyerScore
from tests.conftest import active, bearer
from tests.factories import (
    BuyerFactory,
    BuyerScoreFactory,
    CountryRiskFactory,
    InvoiceFactory,
    LegalEventFactory,
)

pytestmark = pytest.mark.django_db

# The request's savepoints (4) and tenant settings (3), the API key, and one page of scores
# with their buyers: a fixed number, whatever the rows.
LIST_QUERY_BUDGET = 9
FACTORS = [
    {
        "factor": "payment_behaviour",
        "label": "Days beyond terms",
        "points": -6.3,
        "weight": 18.0,
        "value": 41.0,
        "message": "Pays on average %(days)s days beyond terms (last 12 months).",
        "params": {"days": 41.0},
    },
    {
        "factor": "country_risk",
        "label": "Country risk",
        "points": 6.22,
        "weight": 16.0,
        "value": 1,
        "message": "Country risk rating %(rating)s of 10 (%(country)s).",
        "params": {"country": "DE", "rating": 1},
    },
]


@pytest.fixture
def api(client, api_key_a):
    client.defaults["HTTP_AUTHORIZATION"] = bearer(api_key_a[1])["Authorization"]
    return client


@pytest.fixture
def outsider_api(client, api_key_b):
    client.defaults["HTTP_AUTHORIZATION"] = bearer(api_key_b[1])["Authorization"]
    return client


@pytest.fixture
def portfolio(tenant_a):
    """Two buyers scored in October and November 2026."""
    with active(tenant_a):
        nord = BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")
        sud = BuyerFactory(tenant=tenant_a, erp_reference="C-2", legal_name="Südwind AG")
        for buyer, grades in ((nord, (3, 5)), (sud, (7, 8))):
            for period, grade in zip((date(2026, 10, 1), date(2026, 11, 1)), grades, strict=True):
                BuyerScoreFactory(
                    buyer=buyer,
                    period=period,
                    grade=grade,
                    score=Decimal(100 - grade * 9),
                    model_version="cg-2026.1",
                    factors=FACTORS,
                )
    return {"nord": nord, "sud": sud}


# --- Current scores ----------------------------------------------------------------------------


def test_it_lists_the_latest_score_of_every_buyer(api, portfolio):
    response = api.get("/api/v1/scores/")

    assert response.status_code == 200
    rows = sorted(response.json()["results"], key=lambda row: row["buyer"]["erp_reference"])
    assert [(row["buyer"]["erp_reference"], row["period"], row["grade"]) for row in rows] == [
        ("C-1", "2026-11-01", 5),
        ("C-2", "2026-11-01", 8),
    ]
    assert rows[0]["buyer"] == {
        "id": portfolio["nord"].pk,
        "erp_reference": "C-1",
        "legal_name": "Nordlicht GmbH",
    }
    assert (rows[0]["score"], rows[0]["model_version"]) == ("55.00", "cg-2026.1")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("buyer_erp_reference=C-2", [("C-2", 8)]),
        ("grade_min=6", [("C-2", 8)]),
        ("grade_max=5", [("C-1", 5)]),
        ("grade_min=4&grade_max=8", [("C-1", 5), ("C-2", 8)]),
        ("period=2026-10-01", [("C-1", 3), ("C-2", 7)]),
        ("period=2026-10-01&grade_min=5", [("C-2", 7)]),
        ("period=2025-01-01", []),
    ],
)
def test_scores_filter_by_buyer_grade_range_and_period(api, portfolio, query, expected):
    response = api.get(f"/api/v1/scores/?{query}")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert sorted((row["buyer"]["erp_reference"], row["grade"]) for row in rows) == expected


def test_a_bad_period_is_a_problem_document(api, portfolio):
    response = api.get("/api/v1/scores/?period=November")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "period" in response.content.decode()


def test_the_score_list_runs_the_same_few_queries_for_any_number_of_buyers(
    api, tenant_a, portfolio
):
    api.get("/api/v1/scores/")
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/scores/")
    with active(tenant_a):
        for _ in range(15):
            BuyerScoreFactory(buyer=BuyerFactory(tenant=tenant_a), period=date(2026, 11, 1))
    with CaptureQueriesContext(connection) as many:
        response = api.get("/api/v1/scores/")

    assert len(response.json()["results"]) == 17
    assert len(many) == len(few) <= LIST_QUERY_BUDGET


def test_another_tenant_sees_none_of_the_scores(outsider_api, portfolio):
    response = outsider_api.get("/api/v1/scores/")

    assert response.status_code == 200 and response.json()["results"] == []


def test_scores_need_authentication(client, portfolio):
    assert client.get("/api/v1/scores/").status_code in (401, 403)


# --- A buyer's score history -------------------------------------------------------------------


def test_a_buyers_history_is_newest_first_with_factors_explained_in_english(api, portfolio):
    response = api.get(
        f"/api/v1/buyers/{portfolio['nord'].pk}/scores/", headers={"Accept-Language": "zh-hans"}
    )

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["period"], row["grade"]) for row in rows] == [
        ("2026-11-01", 5),
        ("2026-10-01", 3),
    ]
    days, country = rows[0]["factors"]
    assert days["explanation"] == "Pays on average 41.0 days beyond terms (last 12 months)."
    assert days["message"] == FACTORS[0]["message"] and days["params"] == {"days": 41.0}
    assert country["explanation"] == "Country risk rating 1 of 10 (DE)."
    assert rows[0]["explanation"] == (
        "Pays on average 41.0 days beyond terms (last 12 months). Country risk rating 1 of 10 (DE)."
    )


def test_another_tenants_buyer_has_no_history(outsider_api, portfolio):
    response = outsider_api.get(f"/api/v1/buyers/{portfolio['nord'].pk}/scores/")

    assert response.status_code == 404


def test_a_buyer_without_scores_has_an_empty_history(api, tenant_a):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)

    response = api.get(f"/api/v1/buyers/{buyer.pk}/scores/")

    assert response.status_code == 200 and response.json()["results"] == []


# --- Country risk ------------------------------------------------------------------------------


def test_it_lists_the_current_rating_of_every_country(api):
    CountryRiskFactory(country_id="AR", rating=9, effective_date=date(2026, 11, 1))

    response = api.get("/api/v1/country-risk/")

    assert response.status_code == 200
    rows = {row["country"]: row for row in response.json()}
    assert len(rows) == 249
    assert rows["DE"]["rating"] == 1 and rows["DE"]["name"] == "Germany"
    assert rows["DE"]["change"] is None
    assert rows["AR"] == {
        "country": "AR",
        "name": "Argentina",
        "rating": 9,
        "effective_date": "2026-11-01",
        "source": "test",
        "data_version": "test",
        "previous_rating": 8,
        "previous_effective_date": "2026-10-01",
        "change": "downgrade",
    }


def test_country_risk_filters_by_country_code(api):
    response = api.get("/api/v1/country-risk/?country=de")

    assert [row["country"] for row in response.json()] == ["DE"]


def test_a_countrys_history_is_newest_first(api):
    CountryRiskFactory(country_id="AR", rating=9, effective_date=date(2026, 11, 1), source="Q4b")

    response = api.get("/api/v1/country-risk/ar/history/")

    assert response.status_code == 200
    assert [(row["rating"], row["effective_date"]) for row in response.json()] == [
        (9, "2026-11-01"),
        (8, "2026-10-01"),
    ]


def test_an_unknown_country_has_no_history(api):
    assert api.get("/api/v1/country-risk/XX/history/").status_code == 404


# --- Back-tests --------------------------------------------------------------------------------


def scored_in_january_2025(tenant, *, grade, score, version="cg-test"):
    buyer = BuyerFactory(tenant=tenant)
    row = BuyerScoreFactory(
        buyer=buyer,
        period=date(2025, 1, 1),
        grade=grade,
        score=Decimal(score),
        model_version=version,
        probability_of_default=Decimal("0.02000"),
    )
    BuyerScore.objects.filter(pk=row.pk).update(
        computed_at=timezone.make_aware(datetime(2025, 1, 1, 2))
    )
    return buyer


def test_the_back_test_reports_auc_gini_and_rates_by_grade(api, tenant_a):
    with active(tenant_a):
        # Defaults of every kind, all within 12 months of January 2025:
        insolvent = scored_in_january_2025(tenant_a, grade=9, score=20)
        LegalEventFactory(buyer=insolvent, kind="insolvency_filing", event_date=date(2025, 5, 1))
        for score in (22, 24):
            buyer = scored_in_january_2025(tenant_a, grade=9, score=score)
            LegalEventFactory(
                buyer=buyer, kind="insolvency_proceedings", event_date=date(2025, 9, 1)
            )
        status_insolvent = scored_in_january_2025(tenant_a, grade=8, score=30)
        type(status_insolvent).objects.filter(pk=status_insolvent.pk).update(
            status="insolvent", updated_at=timezone.make_aware(datetime(2025, 6, 1))
        )
        written_off = scored_in_january_2025(tenant_a, grade=8, score=75)  # ranked wrongly
        invoice = InvoiceFactory(buyer=written_off, status="written_off")
        type(invoice).objects.filter(pk=invoice.pk).update(
            updated_at=timezone.make_aware(datetime(2025, 10, 1))
        )
        # Performers, and a court judgment that is not a default:
        for score in (60, 65, 70, 80, 85):
            performer = scored_in_january_2025(tenant_a, grade=3, score=score)
        LegalEventFactory(buyer=performer, kind="court_judgment", event_date=date(2025, 3, 1))

    response = api.get("/api/v1/backtests/")

    assert response.status_code == 200
    [report] = response.json()
    assert (report["defaults"], report["performing"], report["observations"]) == (5, 5, 10)
    assert report["sufficient"] is True and report["assessment"] == ""
    # Four defaulters rank below all five performers (20 pairs); the written-off buyer (75)
    # ranks below only 80 and 85 (2 pairs): AUC = 22 / 25 = 0.88, Gini = 2·0.88 − 1 = 0.76.
    assert (report["auc"], report["gini"]) == ("0.8800", "0.7600")
    grades = {row["grade"]: row for row in report["by_grade"]}
    assert (grades[9]["observations"], grades[9]["defaults"], grades[9]["default_rate"]) == (
        3,
        3,
        "1.00000",
    )
    assert grades[3]["default_rate"] == "0.00000" and grades[1]["default_rate"] is None


def test_the_back_test_says_when_there_are_too_few_defaults(api, tenant_a):
    with active(tenant_a):
        buyer = scored_in_january_2025(tenant_a, grade=9, score=20)
        LegalEventFactory(buyer=buyer, kind="insolvency_filing", event_date=date(2025, 5, 1))
        for score in (60, 65, 70, 80, 85):
            scored_in_january_2025(tenant_a, grade=3, score=score)

    [report] = api.get("/api/v1/backtests/").json()

    assert report["sufficient"] is False
    assert report["assessment"] == "not enough defaults to judge"
    assert report["auc"] is None and report["gini"] is None


def test_the_back_test_filters_by_model_version(api, tenant_a):
    with active(tenant_a):
        scored_in_january_2025(tenant_a, grade=3, score=60, version="cg-old")
        scored_in_january_2025(tenant_a, grade=3, score=60, version="cg-new")

    both = api.get("/api/v1/backtests/").json()
    one = api.get("/api/v1/backtests/?model_version=cg-old").json()
    none = api.get("/api/v1/backtests/?model_version=cg-unknown").json()

    assert sorted(report["model_version"] for report in both) == ["cg-new", "cg-old"]
    assert [report["model_version"] for report in one] == ["cg-old"]
    assert none == []


def test_another_tenant_back_tests_only_its_own_scores(outsider_api, tenant_a):
    with active(tenant_a):
        scored_in_january_2025(tenant_a, grade=3, score=60)

    assert outsider_api.get("/api/v1/backtests/").json() == []
