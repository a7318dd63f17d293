"""The buyer list's CSV export: the list as filtered and sorted, formula-safe."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from buyers import exports
from tests.buyers.test_buyer_list import risks  # noqa: F401 (fixture)
from tests.buyers.test_views import row_names
from tests.conftest import active
from tests.factories import BuyerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "ERP reference",
    "Buyer",
    "Country code",
    "Country",
    "Sector code",
    "Sector",
    "Status",
    "Grade",
    "Score",
    "Exposure (EUR)",
    "Overdue (EUR)",
    "Credit limit (EUR)",
    "Limit used (%)",
    "Insurer cover (EUR)",
]

WHOLESALE = "Wholesale and retail trade; repair of motor vehicles"


def read_csv(response) -> list[list[str]]:
    assert response.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_export_has_the_lists_columns_in_base_currency(client, teammate, risks):  # noqa: F811
    client.force_login(teammate)

    response = client.get(reverse("buyers:export"), {"sort": "-grade"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="buyers-')
    rows = read_csv(response)
    assert rows[0] == HEADER
    identity = ["DE", "Germany", "G", WHOLESALE, "Active"]
    assert rows[1:] == [
        ["GA", "Gamma Glas SA", *identity, "9", "20", "700.00", "700.00", "", "", "500.00"],
        [
            "BE",
            "Beta Bau GmbH",
            *identity,
            "6",
            "55",
            "3000.00",
            "3000.00",
            "1000.00",
            "300.00",
            "",
        ],
        [
            "AL",
            "Alpha Metall AG",
            *identity,
            "2",
            "85",
            "5000.00",
            "0.00",
            "10000.00",
            "50.00",
            "8000.00",
        ],
        ["DE", "Delta Druck KG", *identity, "", "", "0.00", "0.00", "", "", ""],
    ]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="all"),
        pytest.param({"grade_min": "5", "sort": "-grade"}, id="grade"),
        pytest.param({"over_limit": "1"}, id="over-limit"),
        pytest.param({"uninsured": "1", "sort": "-exposure"}, id="uninsured"),
        pytest.param({"no_limit": "1", "sort": "name"}, id="no-limit"),
        pytest.param({"overdue": "1", "utilisation_min": "100"}, id="overdue-utilisation"),
        pytest.param({"q": "a", "sort": "-score"}, id="search"),
        pytest.param({"grade_min": "99"}, id="invalid-filter-ignored-as-on-the-page"),
    ],
)
def test_the_export_holds_exactly_the_filtered_list_in_its_order(
    client,
    teammate,
    risks,  # noqa: F811
    params,
):
    client.force_login(teammate)

    listed = row_names(client.get(reverse("buyers:list"), params))
    exported = [row[1] for row in read_csv(client.get(reverse("buyers:export"), params))[1:]]

    assert exported == listed


def test_the_export_is_not_paged(client, teammate, tenant_a):
    with active(tenant_a):
        BuyerFactory.create_batch(55, tenant=tenant_a)
    client.force_login(teammate)

    rows = read_csv(client.get(reverse("buyers:export"), {"page": "2"}))

    assert len(rows) == 1 + 55


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"])
def test_the_export_makes_formulas_inert(client, teammate, tenant_a, formula):
    with active(tenant_a):
        BuyerFactory(tenant=tenant_a, legal_name=formula, erp_reference=formula[:10])
    client.force_login(teammate)

    rows = read_csv(client.get(reverse("buyers:export")))

    assert rows[1][:2] == [f"'{formula[:10]}", f"'{formula}"]


def test_a_too_large_export_says_so_and_returns_to_the_filtered_list(
    client, teammate, tenant_a, monkeypatch
):
    with active(tenant_a):
        BuyerFactory.create_batch(3, tenant=tenant_a)
    monkeypatch.setitem(exports.EXPORT_MAX_ROWS, "csv", 2)
    client.force_login(teammate)

    response = client.get(reverse("buyers:export"), {"status": "active", "sort": "-grade"})

    assert response.status_code == 302
    assert response["Location"] == reverse("buyers:list") + "?status=active&sort=-grade"
    follow = client.get(response["Location"])
    assert "An export holds at most 2 rows. Narrow it with a filter." in follow.content.decode()


def test_a_viewer_may_export(client, tenant_a, risks):  # noqa: F811
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    client.force_login(viewer)

    response = client.get(reverse("buyers:export"), {"grade_min": "9"})

    assert [row[1] for row in read_csv(response)[1:]] == ["Gamma Glas SA"]


def test_the_outsiders_export_holds_only_its_own_buyers(
    client,
    outsider,
    tenant_b,
    risks,  # noqa: F811
):
    with active(tenant_b):
        BuyerFactory(tenant=tenant_b, legal_name="Bravo Tenant B", erp_reference="B-1")
    client.force_login(outsider)

    for params in ({}, {"q": "Alpha"}, {"policy": str(risks["first_policy"].pk)}):
        body = client.get(reverse("buyers:export"), params).content.decode("utf-8-sig")
        assert "Alpha" not in body and "Beta Bau" not in body and "Gamma" not in body
    rows = read_csv(client.get(reverse("buyers:export")))
    assert [row[1] for row in rows[1:]] == ["Bravo Tenant B"]


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    url = reverse("buyers:export")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_the_export_in_chinese_has_chinese_headers_and_names(client, teammate, tenant_a):
    from django.conf import settings

    with active(tenant_a):
        BuyerFactory(tenant=tenant_a, legal_name="北京京东方科技集团", country_id="CN")
    client.force_login(teammate)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    rows = read_csv(client.get(reverse("buyers:export")))

    assert rows[1][1] == "北京京东方科技集团"
    assert rows[1][3] == "中国"
    assert Decimal(rows[1][9]) == Decimal("0")
