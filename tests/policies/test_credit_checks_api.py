"""`POST /api/v1/credit-checks`: approve or hold, each reason through the whole stack."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from creditguard.reference.models import FxRate
from tests.conftest import active, bearer
from tests.factories import (
    ApiKeyFactory,
    BuyerScoreFactory,
    CreditLimitFactory,
    InvoiceFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/credit-checks"


@pytest.fixture
def erp(tenant_a):
    """A read-only key: a credit check writes nothing."""
    with active(tenant_a):
        return bearer(ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")[1])


@pytest.fixture
def limit(tenant_a, buyer):
    """100,000 EUR, 60 days, with 50,000 EUR exposure not yet due."""
    with active(tenant_a):
        InvoiceFactory(
            buyer=buyer,
            amount=Decimal("50000"),
            issue_date=date.today() - timedelta(days=10),
            due_date=date.today() + timedelta(days=20),
        )
        return CreditLimitFactory(buyer=buyer, amount=Decimal("100000"), payment_terms_days=60)


def check(client, headers, **body):
    order = {"buyer_erp_reference": "C-1", "order_amount": "20000.00", "payment_terms_days": 60}
    response = client.post(URL, order | body, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    return response.json()


def codes(answer) -> list[str]:
    return [reason["code"] for reason in answer["reasons"]]


def test_an_order_within_the_limit_is_approved(client, erp, policy, limit):
    answer = check(client, erp)

    assert answer["decision"] == "approve"
    assert answer["reasons"] == []
    assert (answer["limit"], answer["exposure"], answer["available"], answer["currency"]) == (
        "100000.00",
        "50000.00",
        "50000.00",
        "EUR",
    )
    assert answer["grade"] == 3


def test_an_order_over_the_limit_is_held(client, erp, policy, limit):
    answer = check(client, erp, order_amount="60000")

    assert (answer["decision"], codes(answer)) == ("hold", ["over_limit"])
    assert answer["reasons"][0]["values"]["excess"] == "10000.00"
    assert "exceeds the limit" in answer["reasons"][0]["message"]


def test_a_buyer_without_a_limit_is_held(client, erp, policy, buyer):
    answer = check(client, erp)

    assert codes(answer) == ["no_limit"]
    assert answer["limit"] is None


def test_an_expired_limit_is_held_as_no_limit(client, erp, tenant_a, policy, buyer):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, status="expired", expiry_date=date(2026, 1, 31))

    answer = check(client, erp)

    assert codes(answer) == ["no_limit"]
    assert "expired on 2026-01-31" in answer["reasons"][0]["message"]


def test_a_blocked_limit_is_held(client, erp, tenant_a, policy, limit):
    with active(tenant_a):
        limit.status = "blocked"
        limit.save()

    assert codes(check(client, erp)) == ["blocked"]


def test_a_buyer_on_hold_is_held(client, erp, tenant_a, policy, limit, buyer):
    with active(tenant_a):
        buyer.status = "on_hold"
        buyer.save()

    assert codes(check(client, erp)) == ["blocked"]


def test_overdue_beyond_the_policy_threshold_is_held(client, erp, tenant_a, policy, limit, buyer):
    # Policy: more than 5,000 EUR overdue by more than 60 days.
    with active(tenant_a):
        InvoiceFactory(
            buyer=buyer,
            amount=Decimal("6000"),
            issue_date=date.today() - timedelta(days=120),
            due_date=date.today() - timedelta(days=61),
        )
        InvoiceFactory(  # overdue, but only by 30 days: does not count
            buyer=buyer,
            amount=Decimal("9000"),
            issue_date=date.today() - timedelta(days=60),
            due_date=date.today() - timedelta(days=30),
        )

    answer = check(client, erp, order_amount="1000")

    assert codes(answer) == ["overdue_beyond_threshold"]
    assert answer["reasons"][0]["values"] == {
        "overdue_amount": "6000.00",
        "days": 60,
        "threshold": "5000.00",
    }


def test_a_disputed_invoice_does_not_count_as_overdue(client, erp, tenant_a, policy, limit, buyer):
    with active(tenant_a):
        InvoiceFactory(
            buyer=buyer,
            amount=Decimal("6000"),
            status="disputed",
            issue_date=date.today() - timedelta(days=120),
            due_date=date.today() - timedelta(days=90),
        )

    assert check(client, erp, order_amount="1000")["decision"] == "approve"


def test_a_grade_worse_than_the_policy_minimum_is_held(client, erp, tenant_a, policy, limit, buyer):
    with active(tenant_a):
        BuyerScoreFactory(buyer=buyer, grade=9, period=date(2026, 2, 1))  # newer than grade 3

    answer = check(client, erp, payment_terms_days=30)

    assert codes(answer) == ["grade_below_minimum"]
    assert answer["grade"] == 9


def test_terms_beyond_the_policy_are_held(client, erp, policy, limit):
    # Grade 3 band allows 90 days, the limit was approved with 60.
    answer = check(client, erp, payment_terms_days=75)

    assert codes(answer) == ["terms_beyond_policy"]
    assert answer["reasons"][0]["values"] == {"terms_days": 75, "max_terms_days": 60}


def test_an_order_in_another_currency_is_converted(client, erp, policy, limit):
    FxRate.objects.create(currency="USD", rate_date=date.today(), units_per_eur=Decimal("1.25"))

    answer = check(client, erp, order_amount="75000", currency="USD")  # 60,000 EUR

    assert answer["order_amount"] == "60000.00"
    assert codes(answer) == ["over_limit"]


def test_the_path_without_a_trailing_slash_works_too(client, erp, policy, limit):
    response = client.post(
        URL + "/",
        {"buyer_erp_reference": "C-1", "order_amount": "1"},
        content_type="application/json",
        headers=erp,
    )

    assert response.status_code == 200


def test_an_unknown_buyer_or_currency_is_a_validation_problem(client, erp, policy, limit):
    unknown = client.post(
        URL,
        {"buyer_erp_reference": "nope", "order_amount": "1"},
        content_type="application/json",
        headers=erp,
    )
    no_rate = client.post(
        URL,
        {"buyer_erp_reference": "C-1", "order_amount": "1", "currency": "XYZ"},
        content_type="application/json",
        headers=erp,
    )

    assert unknown.status_code == no_rate.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "buyer_erp_reference"
    assert no_rate.json()["errors"][0]["field"] == "currency"


def test_another_tenants_buyer_is_unknown(client, policy, limit, api_key_b):
    response = client.post(
        URL,
        {"buyer_erp_reference": "C-1", "order_amount": "1"},
        content_type="application/json",
        headers=bearer(api_key_b[1]),
    )

    assert response.status_code == 400


def test_a_credit_check_needs_a_credential(client, policy, limit):
    response = client.post(
        URL, {"buyer_erp_reference": "C-1", "order_amount": "1"}, content_type="application/json"
    )

    assert response.status_code == 401


def test_a_credit_check_makes_four_queries_of_its_own(client, erp, policy, limit):
    check(client, erp)  # the key's last-used time is written on the first call only

    with CaptureQueriesContext(connection) as queries:
        check(client, erp)

    application = [
        query["sql"]
        for query in queries.captured_queries
        if "set_config" not in query["sql"]
        and "SAVEPOINT" not in query["sql"]
        and "api_apikey" not in query["sql"]
    ]
    assert len(application) == 4, application
