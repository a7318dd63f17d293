"""The dashboard's figures from BuyerFigures: each against hand-computed data, the filters on
every block, drill-down links that keep the filter, roles, outsiders and the query budget."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buyers.figures import figures_fresh
from buyers.models import BuyerFigures, PortfolioSnapshot
from creditguard.dates import today
from creditguard.reference.nace import section_name
from portfolio.selectors import DashboardFilters, month_ends
from tests.conftest import active
from tests.factories import AlertFactory, BuyerFactory, InsurancePolicyFactory, MembershipFactory
from tests.portfolio.test_dashboard import invoice, page_text

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def book(tenant_a):
    """Three buyers, figures by hand:

    - German (DE, sector G): 1,000 current; 5,000 paid. Grade 2, limit 800 (over), 500 insured
      under the policy.
    - French (FR, G): 2,000 due 40 days ago, 1,000 disputed due 100 days ago; one open alert
      raised two days after its risk event. Grade 8, limit 10,000.
    - Italian (IT, sector C): 500 due 5 days ago. Not scored, no limit.

    Credit sales of the last 365 days: 6,000 + 3,000 + 500 = 9,500.
    """
    with active(tenant_a):
        policy = InsurancePolicyFactory(tenant=tenant_a, insurer="Atradius", number="AT-1")
        german = BuyerFactory(tenant=tenant_a, country_id="DE", legal_name="Deutsche Kunde AG")
        french = BuyerFactory(tenant=tenant_a, country_id="FR", legal_name="Client Français SA")
        italian = BuyerFactory(
            tenant=tenant_a,
            country_id="IT",
            nace_code="25.11",
            nace_section="C",
            legal_name="Cliente Italiano SpA",
        )
        invoice(german, days_past_due=-10, amount="1000")
        invoice(german, days_past_due=70, amount="5000", paid_amount=D("5000"), status="paid")
        invoice(french, days_past_due=40, amount="2000")
        invoice(french, days_past_due=100, amount="1000", status="disputed")
        invoice(italian, days_past_due=5, amount="500")
        AlertFactory(buyer=french, tenant=tenant_a)
        figures_fresh(tenant=tenant_a)
        BuyerFigures.objects.filter(buyer=german).update(
            grade=2, credit_limit=D("800"), insured=D("500"), policy_id=policy.pk
        )
        BuyerFigures.objects.filter(buyer=french).update(grade=8, credit_limit=D("10000"))
        BuyerFigures.objects.filter(buyer=italian).update(grade=None, credit_limit=None)
    return {"policy": policy, "german": german, "french": french, "italian": italian}


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="v@a.example").user


def dashboard(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("dashboard"), params)
    assert response.status_code == 200
    return response


def test_the_totals_come_from_the_buyer_figures(client, teammate, book):
    totals = dashboard(client, teammate).context["totals"]

    assert (totals.buyers, totals.exposure, totals.overdue, totals.disputed) == (
        3,
        D("4500"),
        D("3500"),
        D("1000"),
    )
    assert totals.insured == D("500") and totals.uninsured == D("4000")
    assert totals.protected_share == D("0.1111")  # 500 / 4,500
    assert totals.credit_sales == D("9500")
    assert totals.dso == D("172.9")  # 4,500 × 365 / 9,500
    assert totals.open_alerts == 1 and totals.overdue_buyers == 2
    assert totals.aging == {
        "current": D("1000"),
        "1_30": D("500"),
        "31_60": D("2000"),
        "61_90": D("0"),
        "91_180": D("1000"),
        "over_180": D("0"),
    }


def test_the_key_figures_are_shown_and_formatted(client, teammate, book):
    text = page_text(dashboard(client, teammate))

    assert "Buyers 3 " in text
    assert "Exposure EUR 4,500 Open receivables" in text
    assert "Overdue EUR 3,500 77.8% of exposure, 2 buyers" in text
    assert "DSO days 172.9 " in text
    assert "Share of receivables protected 11.1% 4,000 EUR uninsured" in text
    assert "Days from risk event to warning 2.0 " in text


def test_limit_utilisation_counts_buyers_per_band_and_over_the_limit(client, teammate, book):
    response = dashboard(client, teammate)
    totals = response.context["totals"]

    assert (totals.with_limit, totals.no_limit, totals.over_limit) == (2, 1, 1)
    assert totals.over_limit_excess == D("200")  # 1,000 exposure on an 800 limit
    assert {band.key: band.buyers for band in totals.utilisation_bands} == {
        "under_50": 1,  # French: 3,000 / 10,000
        "50_80": 0,
        "80_100": 0,
        "over_100": 1,
    }
    assert "200 EUR above the limits" in page_text(response)


def test_the_grade_distribution_counts_buyers_and_exposure(client, teammate, book):
    grades = dashboard(client, teammate).context["grades"]

    rows = {row["row"].grade: (row["row"].buyers, row["row"].exposure) for row in grades}
    assert rows[2] == (1, D("1000")) and rows[8] == (1, D("3000")) and rows[None] == (1, D("500"))
    assert rows[5] == (0, D("0"))
    assert [row["row"].grade for row in grades] == [*range(1, 11), None]
    grade_8 = next(row for row in grades if row["row"].grade == 8)
    assert grade_8["url"] == f"{reverse('buyers:list')}?grade_min=8&grade_max=8"


def test_the_risk_map_crosses_countries_and_sectors(client, teammate, book):
    risk_map = dashboard(client, teammate).context["risk_map"]

    assert [column["code"] for column in risk_map["columns"]] == ["G", "C"]
    assert [row.code for row in risk_map["rows"]] == ["FR", "DE", "IT"]
    french = risk_map["rows"][0]
    assert [cell.exposure for cell in french.cells] == [D("3000"), D("0")]
    assert french.cells[0].overdue == D("3000") and french.cells[0].heat == 5
    assert french.total.exposure == D("3000")
    assert [column["total"].exposure for column in risk_map["columns"]] == [D("4000"), D("500")]
    assert risk_map["total"].exposure == D("4500")
    assert french.cells[0].url == f"{reverse('buyers:list')}?sort=-exposure&country=FR&sector=G"
    assert french.cells[1].url is None  # nothing there


def test_the_risk_map_names_countries_and_sectors_in_chinese(client, teammate, book):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = dashboard(client, teammate)

    names = [row.name for row in response.context["risk_map"]["rows"]]
    assert names == ["法国", "德国", "意大利"]
    assert response.context["risk_map"]["columns"][0]["name"] == section_name("G", "zh-hans")
    assert "法国" in page_text(response)


def test_top_exposures_rank_buyers_and_link_to_their_credit_file(client, teammate, book):
    response = dashboard(client, teammate)

    top = response.context["top_exposures"]
    assert [(figures.buyer.legal_name, country) for figures, country in top] == [
        ("Client Français SA", "France"),
        ("Deutsche Kunde AG", "Germany"),
        ("Cliente Italiano SpA", "Italy"),
    ]
    assert reverse("buyers:detail", args=[book["french"].pk]) in response.content.decode()


def test_the_dso_trend_reads_the_month_end_snapshots(client, teammate, tenant_a, book):
    ends = month_ends(as_of=today())
    with active(tenant_a):
        for index, month_end in enumerate(ends[-3:]):
            PortfolioSnapshot.objects.create(
                tenant=tenant_a,
                as_of=month_end,
                exposure=D("1000") * (index + 1),
                overdue=D("0"),
                insured=D("0"),
                credit_sales_365=D("3650"),
                buyer_count=3,
            )
        # Not a month-end: left out of the trend.
        PortfolioSnapshot.objects.create(
            tenant=tenant_a,
            as_of=ends[-1] - timedelta(days=3),
            exposure=D("9"),
            overdue=D("0"),
            insured=D("0"),
            credit_sales_365=D("9"),
            buyer_count=3,
        )

    response = dashboard(client, teammate)

    trend = response.context["dso_trend"]
    assert [(point.as_of, point.dso) for point in trend] == [
        (ends[-3], D("100.0")),
        (ends[-2], D("200.0")),
        (ends[-1], D("300.0")),
    ]
    assert f"{ends[-1]:%Y-%m}: 300.0 days" in response.content.decode()


def test_month_ends_are_the_last_twelve_before_the_day():
    ends = month_ends(as_of=date(2026, 3, 31))
    assert ends[0] == date(2025, 4, 30) and ends[-1] == date(2026, 3, 31) and len(ends) == 12
    assert month_ends(as_of=date(2026, 3, 30))[-1] == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("params", "buyers", "exposure", "open_alerts"),
    [
        ({"country": "FR"}, 1, D("3000"), 1),
        ({"country": "DE"}, 1, D("1000"), 0),
        ({"sector": "C"}, 1, D("500"), 0),
        ({"grade_min": "5"}, 1, D("3000"), 1),
        ({"grade_max": "4"}, 1, D("1000"), 0),
        ({"grade_min": "1", "grade_max": "10", "sector": "G"}, 2, D("4000"), 1),
    ],
)
def test_the_filters_apply_to_the_figures(
    client, teammate, book, params, buyers, exposure, open_alerts
):
    response = dashboard(client, teammate, **params)

    totals = response.context["totals"]
    assert (totals.buyers, totals.exposure, totals.open_alerts) == (buyers, exposure, open_alerts)
    assert sum(row["row"].buyers for row in response.context["grades"]) == buyers
    assert response.context["risk_map"]["total"].exposure == exposure
    assert sum(figures.exposure for figures, _country in response.context["top_exposures"]) == (
        exposure
    )


def test_the_policy_filter_keeps_the_buyers_it_covers(client, teammate, book):
    response = dashboard(client, teammate, policy=book["policy"].pk)

    assert response.context["totals"].exposure == D("1000")
    insurance = response.context["insurance"]
    assert insurance is not None and insurance.policy_id == book["policy"].pk


def test_the_lead_time_and_claims_follow_the_filter(client, teammate, book):
    french = dashboard(client, teammate, country="FR").context
    german = dashboard(client, teammate, country="DE").context

    assert french["lead_times"]["count"] == 1 and french["lead_times"]["median_days"] == D("2.0")
    assert german["lead_times"]["count"] == 0 and german["lead_times"]["median_days"] is None
    # The bad-debt ratio's credit sales are the buyers' in scope (BuyerFigures).
    assert german["claims"].write_offs == D("0") and german["claims"].bad_debt_ratio == D("0")


def test_a_country_filter_leaves_out_the_per_policy_insurance_figures(client, teammate, book):
    response = dashboard(client, teammate, country="FR")

    assert response.context["insurance"] is None
    assert "clear the country, sector and grade filters" in page_text(response)


def test_drill_down_links_carry_the_filter(client, teammate, book):
    page = dashboard(client, teammate, country="FR", grade_min="5").content.decode()

    buyers = reverse("buyers:list")
    for link in (
        f"{buyers}?country=FR&amp;grade_min=5&amp;sort=-exposure",
        f"{buyers}?country=FR&amp;grade_min=5&amp;overdue=1&amp;sort=-overdue",
        f"{buyers}?country=FR&amp;grade_min=5&amp;over_limit=1&amp;sort=-utilisation",
        f"{buyers}?country=FR&amp;grade_min=5&amp;no_limit=1&amp;sort=-exposure",
        f"{buyers}?country=FR&amp;grade_min=5&amp;uninsured=1&amp;sort=-exposure",
        f"{buyers}?country=FR&amp;grade_min=8&amp;grade_max=8",
        f"{buyers}?country=FR&amp;grade_min=5&amp;sort=-exposure&amp;sector=G",
        f"{reverse('monitoring:alerts')}?country=FR&amp;grade_min=5&amp;status=open",
        f"{reverse('monitoring:alerts')}?country=FR&amp;grade_min=5",  # the lead times
    ):
        assert f'href="{link}"' in page, link


def test_the_policy_filter_carries_to_the_claims_list(client, teammate, book):
    page = dashboard(client, teammate, policy=book["policy"].pk).content.decode()

    assert f'href="{reverse("claims:list")}?policy={book["policy"].pk}"' in page


def test_bad_filter_values_are_named_and_filter_nothing(client, teammate, book):
    response = dashboard(client, teammate, grade_min="eleven", grade_max="3", country="XX")

    text = page_text(response)
    assert "Grade from:" in text and "Country:" in text
    # grade_max is valid and applies; the others filter nothing.
    assert response.context["totals"].buyers == 1
    inverted = dashboard(client, teammate, grade_min="8", grade_max="2")
    assert "Grade to: Cannot be below “Grade from”." in page_text(inverted)
    assert inverted.context["totals"].buyers == 1  # grade 8 and up: the French buyer


def test_a_viewer_sees_the_dashboard(client, viewer, book):
    response = dashboard(client, viewer)

    assert response.context["totals"].exposure == D("4500")
    assert "Risk map" in page_text(response)


def test_an_outsider_sees_only_their_own_tenant(client, outsider, tenant_b, book):
    with active(tenant_b):
        italian = BuyerFactory(tenant=tenant_b, country_id="IT", legal_name="Outsider Srl")
        invoice(italian, days_past_due=5, amount="777")

    response = dashboard(client, outsider)

    totals = response.context["totals"]
    assert (totals.buyers, totals.exposure) == (1, D("777"))
    text = page_text(response)
    assert "Client Français SA" not in text and "France" not in text
    # Another tenant's policy is not a choice: the filter says so and filters nothing.
    other = dashboard(client, outsider, policy=book["policy"].pk)
    assert other.context["totals"].exposure == D("777")
    assert "Insurance policy:" in page_text(other)


def test_the_page_reads_no_invoice_and_runs_no_query_twice(client, teammate, book):
    client.force_login(teammate)
    client.get(reverse("dashboard"))  # sessions, caches and figures settle

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboard"), {"country": "FR"})

    assert response.status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if "buyers_invoice" in sql]
    repeated = {sql for sql in statements if statements.count(sql) > 1}
    assert not repeated
    assert len(statements) <= 30


def test_the_unfiltered_page_stays_within_its_query_budget(
    client, teammate, book, django_assert_max_num_queries
):
    client.force_login(teammate)
    client.get(reverse("dashboard"))

    with django_assert_max_num_queries(35):
        assert client.get(reverse("dashboard")).status_code == 200


def test_an_empty_filter_result_says_so(client, teammate, book):
    text = page_text(dashboard(client, teammate, country="FR", sector="C"))

    assert "No buyer matches these filters." in text


def test_the_chinese_page_has_no_english_left_for_dashboard_strings(client, teammate, book):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    text = page_text(dashboard(client, teammate))

    for english in (
        "Credit-protection KPIs",
        "Share of receivables protected",
        "Days from risk event to warning",
        "Grade distribution",
        "Limit utilisation",
        "Risk map",
        "Top exposures",
        "DSO trend",
        "Insurance policy",
        "All countries",
        "Clear filters",
        "Over the limit",
        "Not scored",
    ):
        assert english not in text, english


def test_the_filters_know_their_buyer_list_names():
    filters = DashboardFilters(policy_id=7, country="FR", sector="", grade_min=3, grade_max=None)

    assert filters.params() == {"policy": "7", "country": "FR", "grade_min": "3"}
    assert filters.active and filters.splits_buyers
    assert not DashboardFilters(policy_id=7).splits_buyers


def test_the_country_filter_lists_countries_by_pinyin_in_chinese(client, teammate, book):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    form = dashboard(client, teammate).context["form"]

    labels = [label for _code, label in form.fields["country"].choices][1:]
    assert labels == ["德国", "法国", "意大利"]  # de, fa, yi
