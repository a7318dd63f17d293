"""The buyer list: risk columns from the maintained figures, their filters and sorts, the filter
form, pagination, query count, and names in pinyin order in Chinese."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buyers.models import Buyer
from tests.buyers.test_views import invoice, page_text, row_names
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    BuyerScoreFactory,
    CreditLimitFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db

ALL = ["Alpha Metall AG", "Beta Bau GmbH", "Delta Druck KG", "Gamma Glas SA"]


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer").user


@pytest.fixture
def risks(tenant_a):
    """Four buyers whose figures differ in every risk column:

    | buyer | grade | score | exposure | overdue | own limit | used | cover | policy |
    | Alpha |   2   |  85   |  5,000   |    0    |  10,000   |  50% | 8,000 | first  |
    | Beta  |   6   |  55   |  3,000   |  3,000  |   1,000   | 300% |   —   |   —    |
    | Gamma |   9   |  20   |    700   |    700  |     —     |   —  |   500 | second |
    | Delta |   —   |   —   |      0   |      0  |     —     |   —  |   —   |   —    |
    """
    with active(tenant_a):
        first, second = InsurancePolicyFactory.create_batch(2, tenant=tenant_a)
        alpha = BuyerFactory(tenant=tenant_a, legal_name="Alpha Metall AG", erp_reference="AL")
        beta = BuyerFactory(tenant=tenant_a, legal_name="Beta Bau GmbH", erp_reference="BE")
        gamma = BuyerFactory(tenant=tenant_a, legal_name="Gamma Glas SA", erp_reference="GA")
        delta = BuyerFactory(tenant=tenant_a, legal_name="Delta Druck KG", erp_reference="DE")
        invoice(alpha, days_past_due=-20, amount="5000")
        invoice(beta, days_past_due=40, amount="3000")
        invoice(gamma, days_past_due=10, amount="700")
        BuyerScoreFactory(buyer=alpha, score=Decimal("85"), grade=2)
        BuyerScoreFactory(buyer=beta, score=Decimal("55"), grade=6)
        BuyerScoreFactory(buyer=gamma, score=Decimal("20"), grade=9)
        CreditLimitFactory(buyer=alpha, amount=Decimal("10000"))
        CreditLimitFactory(buyer=beta, amount=Decimal("1000"))
        InsurerCoverFactory(buyer=alpha, amount=Decimal("8000"), policy=first)
        InsurerCoverFactory(buyer=gamma, amount=Decimal("500"), policy=second)
    return {
        "alpha": alpha,
        "beta": beta,
        "gamma": gamma,
        "delta": delta,
        "first_policy": first,
        "second_policy": second,
    }


def test_the_list_shows_grade_score_limit_utilisation_and_cover(client, teammate, risks):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"))

    assert row_names(response) == ALL
    text = page_text(response)
    # grade, score, exposure, overdue, own limit, utilisation, cover
    assert (
        "Alpha Metall AG AL Germany G · Wholesale and retail tr… Active 2 85 5,000 0 10,000 50% 8,000 "
        in text
    )
    assert " 6 55 3,000 3,000 1,000 300% — " in text
    assert " 9 20 700 700 — — 500 " in text
    assert "Delta Druck KG DE Germany G · Wholesale and retail tr… Active — — 0 0 — — — " in text


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"grade_min": "5"}, ["Beta Bau GmbH", "Gamma Glas SA"], id="grade-from"),
        pytest.param({"grade_max": "5"}, ["Alpha Metall AG"], id="grade-to"),
        pytest.param({"grade_min": "5", "grade_max": "8"}, ["Beta Bau GmbH"], id="grade-range"),
        pytest.param({"grade_min": "6", "grade_max": "6"}, ["Beta Bau GmbH"], id="one-grade"),
        pytest.param({"overdue": "1"}, ["Beta Bau GmbH", "Gamma Glas SA"], id="overdue"),
        pytest.param({"over_limit": "1"}, ["Beta Bau GmbH"], id="over-limit"),
        pytest.param({"no_limit": "1"}, ["Delta Druck KG", "Gamma Glas SA"], id="no-limit"),
        pytest.param({"uninsured": "1"}, ["Beta Bau GmbH", "Delta Druck KG"], id="uninsured"),
        pytest.param(
            {"utilisation_min": "40"}, ["Alpha Metall AG", "Beta Bau GmbH"], id="utilisation"
        ),
        pytest.param({"utilisation_min": "100"}, ["Beta Bau GmbH"], id="utilisation-full"),
        pytest.param(
            {"grade_min": "5", "uninsured": "1", "overdue": "1"},
            ["Beta Bau GmbH"],
            id="combined",
        ),
        pytest.param({"q": "glas", "grade_min": "9"}, ["Gamma Glas SA"], id="search-and-grade"),
        pytest.param({"country": "DE", "over_limit": "1"}, ["Beta Bau GmbH"], id="with-country"),
    ],
)
def test_the_list_filters_by_the_risk_figures(client, teammate, risks, filters, expected):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), filters)

    assert response.status_code == 200
    assert row_names(response) == expected


def test_the_list_filters_by_the_covering_insurance_policy(client, teammate, risks):
    client.force_login(teammate)
    first, second = risks["first_policy"], risks["second_policy"]

    response = client.get(reverse("buyers:list"), {"policy": str(first.pk)})

    assert row_names(response) == ["Alpha Metall AG"]
    choices = response.context["form"].fields["policy"].choices
    assert [value for value, _label in choices] == ["", first.pk, second.pk]
    assert row_names(client.get(reverse("buyers:list"), {"policy": second.pk})) == ["Gamma Glas SA"]


def test_another_tenants_policy_is_no_choice_and_filters_nothing(client, teammate, tenant_b, risks):
    with active(tenant_b):
        foreign = InsurancePolicyFactory(tenant=tenant_b, number="B-POLICY")
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), {"policy": str(foreign.pk)})

    assert row_names(response) == ALL
    assert "B-POLICY" not in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("grade", ["Alpha Metall AG", "Beta Bau GmbH", "Gamma Glas SA", "Delta Druck KG"]),
        ("-grade", ["Gamma Glas SA", "Beta Bau GmbH", "Alpha Metall AG", "Delta Druck KG"]),
        ("score", ["Gamma Glas SA", "Beta Bau GmbH", "Alpha Metall AG", "Delta Druck KG"]),
        ("-score", ["Alpha Metall AG", "Beta Bau GmbH", "Gamma Glas SA", "Delta Druck KG"]),
        ("-exposure", ["Alpha Metall AG", "Beta Bau GmbH", "Gamma Glas SA", "Delta Druck KG"]),
        ("exposure", ["Delta Druck KG", "Gamma Glas SA", "Beta Bau GmbH", "Alpha Metall AG"]),
        ("-overdue", ["Beta Bau GmbH", "Gamma Glas SA", "Alpha Metall AG", "Delta Druck KG"]),
        # Without the figure (no limit, no cover) last in both directions, then by name.
        ("-limit", ["Alpha Metall AG", "Beta Bau GmbH", "Delta Druck KG", "Gamma Glas SA"]),
        ("limit", ["Beta Bau GmbH", "Alpha Metall AG", "Delta Druck KG", "Gamma Glas SA"]),
        ("-utilisation", ["Beta Bau GmbH", "Alpha Metall AG", "Delta Druck KG", "Gamma Glas SA"]),
        ("utilisation", ["Alpha Metall AG", "Beta Bau GmbH", "Delta Druck KG", "Gamma Glas SA"]),
        ("-cover", ["Alpha Metall AG", "Gamma Glas SA", "Beta Bau GmbH", "Delta Druck KG"]),
        ("cover", ["Gamma Glas SA", "Alpha Metall AG", "Beta Bau GmbH", "Delta Druck KG"]),
        ("-name", ["Gamma Glas SA", "Delta Druck KG", "Beta Bau GmbH", "Alpha Metall AG"]),
        ("-nonsense", ALL),
    ],
)
def test_the_list_sorts_by_each_risk_column(client, teammate, risks, sort, expected):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), {"sort": sort})

    assert row_names(response) == expected


def test_a_risk_column_header_sorts_worst_first_keeping_the_filters(client, teammate, risks):
    client.force_login(teammate)

    links = client.get(reverse("buyers:list"), {"grade_min": "5"}).context["sort_links"]

    assert links["grade"] == {"url": "?grade_min=5&sort=-grade", "direction": ""}
    assert links["score"] == {"url": "?grade_min=5&sort=score", "direction": ""}
    assert links["utilisation"] == {"url": "?grade_min=5&sort=-utilisation", "direction": ""}


def test_the_form_shows_the_active_filters_each_removable_and_a_clear_button(
    client, teammate, risks
):
    client.force_login(teammate)

    response = client.get(
        reverse("buyers:list"), {"grade_min": "5", "uninsured": "1", "sort": "-grade"}
    )

    active_filters = response.context["active_filters"]
    assert active_filters == [
        {"text": "Grade from: 5", "url": "?uninsured=1&sort=-grade"},
        {"text": "Uninsured", "url": "?grade_min=5&sort=-grade"},
    ]
    page = response.content.decode()
    assert 'href="?uninsured=1&amp;sort=-grade"' in page
    assert f'href="{reverse("buyers:list")}?sort=-grade">Clear</a>' in page
    assert 'name="grade_min" value="5"' in page
    assert re.search(r'<input type="checkbox" name="uninsured"[^>]* value="1"[^>]* checked>', page)


def test_an_unfiltered_list_has_no_clear_button(client, teammate, risks):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), {"sort": "-grade"})

    assert response.context["active_filters"] == []
    assert ">Clear</a>" not in response.content.decode()


@pytest.mark.parametrize(
    ("filters", "field", "message", "expected"),
    [
        ({"grade_min": "11"}, "grade_min", "less than or equal to 10", ALL),
        ({"grade_max": "0"}, "grade_max", "greater than or equal to 1", ALL),
        ({"grade_min": "bad"}, "grade_min", "Enter a whole number.", ALL),
        # The range's end is refused; its start still filters.
        (
            {"grade_min": "7", "grade_max": "3"},
            "grade_max",
            "must not be better",
            ["Gamma Glas SA"],
        ),
        ({"utilisation_min": "-5"}, "utilisation_min", "greater than or equal to 0", ALL),
    ],
)
def test_a_bad_number_is_an_error_on_its_field_and_filters_nothing(
    client, teammate, risks, filters, field, message, expected
):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), filters)

    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert f"{form.fields[field].label}: " in page_text(response)
    assert row_names(response) == expected


def test_pages_keep_the_filters_and_the_sort(client, teammate, tenant_a):
    with active(tenant_a):
        for number in range(53):
            buyer = BuyerFactory(tenant=tenant_a, legal_name=f"Risky {number:02d}")
            BuyerScoreFactory(buyer=buyer, grade=8)
        BuyerScoreFactory(buyer=BuyerFactory(tenant=tenant_a, legal_name="Safe"), grade=1)
    client.force_login(teammate)

    first = client.get(reverse("buyers:list"), {"grade_min": "8", "sort": "-name"})
    second = client.get(reverse("buyers:list"), {"grade_min": "8", "sort": "-name", "page": "2"})

    assert "?grade_min=8&amp;sort=-name&amp;page=2" in first.content.decode()
    assert len(first.context["page"].object_list) == 50
    assert row_names(second) == ["Risky 02", "Risky 01", "Risky 00"]
    assert "?grade_min=8&amp;sort=-name&amp;page=1" in second.content.decode()
    assert "53 buyers" in page_text(first)


def test_the_list_runs_the_same_queries_for_few_and_many_buyers(client, teammate, tenant_a):
    """No invoice aggregation per request: the figures are read, joined to the page's buyers."""
    client.force_login(teammate)
    params = {"grade_min": "3", "uninsured": "1", "sort": "-utilisation"}

    def list_queries() -> list[str]:
        client.get(reverse("buyers:list"), params)  # the figures refresh after the writes
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("buyers:list"), params).status_code == 200
        return [query["sql"] for query in queries.captured_queries]

    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        invoice(buyer, days_past_due=5, amount="10")
        BuyerScoreFactory(buyer=buyer, grade=5)
    few = list_queries()
    with active(tenant_a):
        for number in range(30):
            buyer = BuyerFactory(tenant=tenant_a, country_id=("DE", "FR", "IT")[number % 3])
            for days in (number, -number, 2 * number):
                invoice(buyer, days_past_due=days, amount="100")
            BuyerScoreFactory(buyer=buyer, grade=3 + number % 7)
            CreditLimitFactory(buyer=buyer, amount=Decimal("250"))
    many = list_queries()

    assert len(many) == len(few) <= 17
    assert not [sql for sql in many if "buyers_invoice" in sql]


@pytest.fixture
def chinese_buyers(tenant_a):
    with active(tenant_a):
        for name, country in (
            ("深圳华强电子有限公司", "CN"),
            ("上海振华重工股份有限公司", "CN"),
            ("北京京东方科技集团", "CN"),
            ("重庆长安汽车股份有限公司", "CN"),
            ("Zeta Trading GmbH", "DE"),
        ):
            BuyerFactory(tenant=tenant_a, legal_name=name, country_id=country)


def chinese(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"


PINYIN_ORDER = [
    "北京京东方科技集团",  # bei
    "重庆长安汽车股份有限公司",  # chong (not zhong: pinyin of the word)
    "上海振华重工股份有限公司",  # shang
    "深圳华强电子有限公司",  # shen
]


def test_in_chinese_the_list_sorts_names_by_pinyin(client, teammate, chinese_buyers):
    client.force_login(teammate)
    chinese(client)

    names = row_names(client.get(reverse("buyers:list")))

    cities = [name for name in names if name != "Zeta Trading GmbH"]
    assert cities[0] == "北京京东方科技集团"
    assert cities.index("北京京东方科技集团") < cities.index("上海振华重工股份有限公司")
    assert cities.index("上海振华重工股份有限公司") < cities.index("深圳华强电子有限公司")


def test_in_chinese_descending_names_are_reverse_pinyin(client, teammate, chinese_buyers):
    client.force_login(teammate)
    chinese(client)

    names = row_names(client.get(reverse("buyers:list"), {"sort": "-name"}))

    cities = [name for name in names if name != "Zeta Trading GmbH"]
    assert cities.index("深圳华强电子有限公司") < cities.index("上海振华重工股份有限公司")
    assert cities.index("上海振华重工股份有限公司") < cities.index("北京京东方科技集团")


def test_the_list_sorts_by_the_best_chinese_order_this_server_offers(
    client, teammate, chinese_buyers
):
    """With ICU (Debian's and the production image's PostgreSQL) the whole pinyin order holds;
    the embedded server of `make test` has no ICU and sorts by GB18030 bytes instead."""
    from creditguard.i18n import chinese_collation

    client.force_login(teammate)
    chinese(client)

    names = row_names(client.get(reverse("buyers:list")))

    chinese_names = [name for name in names if name != "Zeta Trading GmbH"]
    if chinese_collation(connection):
        assert chinese_names == PINYIN_ORDER
    else:
        assert chinese_names == sorted(PINYIN_ORDER, key=lambda name: name.encode("gb18030"))


def test_without_icu_common_characters_still_sort_by_pinyin(
    client, teammate, chinese_buyers, monkeypatch
):
    """PostgreSQL built without ICU (the embedded server of `make test`): GB18030 order."""
    monkeypatch.setattr("creditguard.i18n.chinese_collation", lambda connection: "")
    client.force_login(teammate)
    chinese(client)

    names = row_names(client.get(reverse("buyers:list")))

    cities = [name for name in names if name != "Zeta Trading GmbH"]
    assert cities.index("北京京东方科技集团") < cities.index("上海振华重工股份有限公司")
    assert cities.index("上海振华重工股份有限公司") < cities.index("深圳华强电子有限公司")


def test_in_english_names_keep_the_databases_order(client, teammate, tenant_a, chinese_buyers):
    client.force_login(teammate)

    names = row_names(client.get(reverse("buyers:list")))

    with active(tenant_a):
        in_database_order = list(
            Buyer.objects.order_by("legal_name").values_list("legal_name", flat=True)
        )
    assert names == in_database_order


def test_in_chinese_the_country_filter_is_in_pinyin_order(client, teammate, tenant_a):
    with active(tenant_a):
        for country in ("CN", "DE", "FR", "AT", "US", "JP"):
            BuyerFactory(tenant=tenant_a, country_id=country)
    client.force_login(teammate)
    chinese(client)

    form = client.get(reverse("buyers:list")).context["form"]

    # 奥地利 ao, 德国 de, 法国 fa, 美国 mei, 日本 ri, 中国 zhong
    assert [code for code, _name in form.fields["country"].choices] == [
        "",
        "AT",
        "DE",
        "FR",
        "US",
        "JP",
        "CN",
    ]


def test_in_chinese_the_country_sort_is_by_the_chinese_name(client, teammate, tenant_a):
    with active(tenant_a):
        for country in ("CN", "DE", "AT"):
            BuyerFactory(tenant=tenant_a, country_id=country, legal_name=f"Buyer {country}")
    client.force_login(teammate)
    chinese(client)

    names = row_names(client.get(reverse("buyers:list"), {"sort": "country"}))

    assert names == ["Buyer AT", "Buyer DE", "Buyer CN"]  # 奥地利, 德国, 中国


def test_a_viewer_filters_and_sorts_the_list(client, viewer, risks):
    client.force_login(viewer)

    response = client.get(reverse("buyers:list"), {"grade_min": "5", "sort": "-grade"})

    assert row_names(response) == ["Gamma Glas SA", "Beta Bau GmbH"]


def test_the_outsider_sees_only_its_own_buyers_whatever_the_filters(
    client, outsider, tenant_b, risks
):
    with active(tenant_b):
        own = BuyerFactory(tenant=tenant_b, legal_name="Bravo Tenant B")
        BuyerScoreFactory(buyer=own, grade=7)
    client.force_login(outsider)

    for filters in ({}, {"grade_min": "5"}, {"uninsured": "1"}, {"q": "Alpha"}):
        response = client.get(reverse("buyers:list"), filters)
        page = response.content.decode()
        assert "Alpha Metall" not in page and "Beta Bau" not in page and "Gamma Glas" not in page
        assert row_names(response) in (["Bravo Tenant B"], [])
        assert response.context["form"].fields["policy"].choices == [("", "All policies")]


def test_the_export_link_carries_the_filters_and_sort(client, teammate, risks):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), {"grade_min": "5", "sort": "-grade", "page": "1"})

    assert response.context["export_url"] == (reverse("buyers:export") + "?grade_min=5&sort=-grade")
    assert "Export these buyers (CSV)" in response.content.decode()
