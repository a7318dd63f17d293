"""The insurance policy pages: what members see and do, in English and Chinese; other tenants get
"not found", viewers cannot write."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from creditguard.web.templatetags.money import day
from policies.insurance.terms import PolicyTerms
from policies.models import CoverDecision, InsurancePolicy, PolicyBuyer, PolicyVersion
from policies.services import covers as cover_services
from policies.services import insurance as insurance_services
from tests.conftest import active
from tests.factories import BuyerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

TODAY = date.today()
TERMS = PolicyTerms(
    period_start=date(TODAY.year, 1, 1),
    period_end=date(TODAY.year, 12, 31),
    indemnity_commercial_pct=Decimal("90"),
    indemnity_political_pct=Decimal("95"),
    max_liability=Decimal("5000000"),
    covered_risks=("insolvency", "protracted_default"),
    covered_countries=("DE", "FR"),
    waiting_period_days=180,
    max_extension_days=60,
    notification_days=30,
    claim_filing_days=90,
    cover_notice_days=30,
    premium_basis="turnover",
    premium_rate_pct=Decimal("0.18"),
    dcl_max_amount=Decimal("25000"),
    dcl_min_on_time_payments=2,
)
FORM = {
    "period_start": f"{TODAY.year}-01-01",
    "period_end": f"{TODAY.year}-12-31",
    "indemnity_commercial_pct": "85",
    "indemnity_political_pct": "90",
    "max_liability": "2000000",
    "covered_risks": ["insolvency", "political"],
    "covered_countries": "cn, DE",
    "waiting_period_days": "180",
    "max_extension_days": "60",
    "notification_days": "30",
    "claim_filing_days": "90",
    "cover_notice_days": "30",
    "non_qualifying_loss": "0",
    "deductible_per_buyer": "0",
    "aggregate_first_loss": "0",
    "dcl_max_amount": "0",
    "dcl_payment_lookback_days": "365",
    "premium_basis": "balances",
    "premium_rate_pct": "0.2",
    "country_group_rates": "Asia: CN = 0.35",
    "premium_tiers": "1000000 = 0.3\n* = 0.2",
    "minimum_premium": "5000",
    "declaration_frequency": "quarterly",
    "declaration_due_days": "15",
}


@pytest.fixture
def setup(tenant_a, owner):
    """A policy with a named buyer and a buyer with a pending reduction, in tenant A."""
    with active(tenant_a):
        policy = insurance_services.insurance_policy_create(
            tenant=tenant_a,
            actor=owner,
            insurer="Tenant A Insurer",
            number="TCI-A",
            currency="EUR",
            terms=TERMS,
        )
        buyer = BuyerFactory(tenant=tenant_a, country_id="DE", legal_name="Nordlicht GmbH")
        named = BuyerFactory(tenant=tenant_a, country_id="IT", legal_name="Milano SpA")
        insurance_services.policy_buyer_set(
            tenant=tenant_a, actor=owner, policy=policy, buyer=named, kind="included"
        )
        for kind, amount, day in [("grant", "100000", TODAY - timedelta(days=20)),
                                  ("reduction", "40000", TODAY)]:  # fmt: skip
            cover_services.cover_decision_record(
                tenant=tenant_a,
                actor=owner,
                buyer=buyer,
                policy=policy,
                kind=kind,
                amount=Decimal(amount),
                currency="EUR",
                decision_date=day,
            )
    return {"policy": policy, "buyer": buyer, "named": named}


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="viewer@a.ex").user


def page_text(response) -> str:
    text = response.content.decode().replace(response.request["PATH_INFO"], "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


def pages(setup):
    policy, buyer = setup["policy"].pk, setup["buyer"].pk
    return [
        reverse("insurance:list"),
        reverse("insurance:create"),
        reverse("insurance:detail", args=[policy]),
        reverse("insurance:endorse", args=[policy]),
        reverse("insurance:buyers", args=[policy]),
        reverse("insurance:cover-decide", args=[policy, buyer]),
        reverse("insurance:cover-history", args=[policy, buyer]),
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_renders_in_both_languages(client, owner, setup, language):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    for url in pages(setup):
        response = client.get(url)
        assert response.status_code == 200, url
        assert f'<html lang="{language}">' in response.content.decode()


def test_the_navigation_links_to_the_policies(client, owner, setup):
    client.force_login(owner)

    page = client.get(reverse("limits:overview")).content.decode()

    assert f'href="{reverse("insurance:list")}"' in page


def test_the_policy_page_shows_terms_cover_in_force_and_the_pending_reduction(client, owner, setup):
    client.force_login(owner)

    page = client.get(reverse("insurance:detail", args=[setup["policy"].pk])).content.decode()

    assert "Terms in force: version 1" in page
    assert "90 % of commercial losses" in page
    assert "Nordlicht GmbH" in page and "Milano SpA" in page
    assert "100,000 EUR" in page  # in force today
    assert "40,000 EUR" in page  # the reduction, pending
    assert day(TODAY + timedelta(days=30)) in page
    assert 'href="{}"'.format(reverse("insurance:deadlines", args=[setup["policy"].pk])) in page


def test_a_policy_is_created_from_the_form(client, owner, tenant_a, setup):
    client.force_login(owner)

    response = client.post(
        reverse("insurance:create"),
        {**FORM, "insurer": "Sinosure", "number": "CN-1", "currency": "usd"},
    )

    assert response.status_code == 302
    with active(tenant_a):
        policy = InsurancePolicy.objects.get(number="CN-1")
        version = PolicyVersion.objects.get(policy=policy)
    assert policy.currency == "USD"
    assert version.covered_countries == ["CN", "DE"]
    assert version.country_group_rates == [
        {"name": "Asia", "countries": ["CN"], "rate_pct": "0.35"}
    ]
    assert version.premium_tiers == [
        {"up_to": "1000000", "rate_pct": "0.3"},
        {"up_to": None, "rate_pct": "0.2"},
    ]


def test_form_errors_are_shown_at_their_field(client, owner, tenant_a, setup):
    client.force_login(owner)

    response = client.post(
        reverse("insurance:create"),
        {**FORM, "insurer": "X", "number": "N-1", "currency": "EUR",
         "covered_countries": "DE, QQ", "premium_tiers": "* = 0.3\n5000 = 0.2",
         "dcl_max_amount": "1000"},
    )  # fmt: skip

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "covered_countries" in errors
    assert errors["premium_tiers"][0].startswith("Line 1:")
    assert "dcl_report_max_age_days" in errors
    with active(tenant_a):
        assert not InsurancePolicy.objects.filter(number="N-1").exists()


def test_an_endorsement_from_the_form_adds_a_version(client, owner, tenant_a, setup):
    client.force_login(owner)
    policy = setup["policy"]
    initial = client.get(reverse("insurance:endorse", args=[policy.pk])).context["form"].initial

    data = {
        **{key: value for key, value in FORM.items()},
        "covered_countries": initial["covered_countries"] + ", AT",
        "covered_risks": initial["covered_risks"],
        "country_group_rates": "",
        "premium_tiers": "",
        "effective_from": TODAY.isoformat(),
        "endorsement_reference": "END-9",
    }
    response = client.post(reverse("insurance:endorse", args=[policy.pk]), data)

    assert response.status_code == 302, response.context["form"].errors
    with active(tenant_a):
        latest = PolicyVersion.objects.filter(policy=policy).order_by("-version").first()
    assert latest.version == 2
    assert latest.covered_countries == ["DE", "FR", "AT"]
    assert latest.endorsement_reference == "END-9"


def test_a_decision_is_recorded_from_the_form(client, owner, tenant_a, setup):
    client.force_login(owner)
    url = reverse("insurance:cover-decide", args=[setup["policy"].pk, setup["named"].pk])

    bad = client.post(url, {"kind": "increase", "amount": "5", "currency": "EUR",
                            "decision_date": TODAY.isoformat()})  # fmt: skip
    good = client.post(url, {"kind": "grant", "amount": "15000", "currency": "EUR",
                             "decision_date": TODAY.isoformat()})  # fmt: skip

    assert bad.status_code == 200 and "kind" in bad.context["form"].errors
    assert good.status_code == 302
    with active(tenant_a):
        assert CoverDecision.objects.filter(cover__buyer=setup["named"]).count() == 1


def test_named_buyers_are_added_and_removed(client, owner, tenant_a, setup):
    client.force_login(owner)
    url = reverse("insurance:buyers", args=[setup["policy"].pk])

    client.post(url, {"buyer": setup["buyer"].pk, "kind": "excluded"})
    with active(tenant_a):
        assert PolicyBuyer.objects.get(buyer=setup["buyer"]).kind == "excluded"
    client.post(url, {"remove": setup["buyer"].pk})

    with active(tenant_a):
        assert not PolicyBuyer.objects.filter(buyer=setup["buyer"]).exists()


WRITES = [
    ("insurance:endorse", False, {"effective_from": "2026-01-01"}),
    ("insurance:buyers", False, {"kind": "included"}),
    ("insurance:cover-decide", True, {"kind": "grant", "amount": "1", "currency": "EUR",
                                      "decision_date": "2026-01-01"}),
]  # fmt: skip


def test_another_tenant_gets_not_found_for_every_route_like_a_missing_one(
    client, tenant_a, tenant_b, outsider, setup
):
    client.force_login(outsider)
    policy, buyer = setup["policy"].pk, setup["buyer"].pk
    missing = 2_000_000_000

    for name, needs_buyer in [
        ("insurance:detail", False),
        ("insurance:endorse", False),
        ("insurance:buyers", False),
        ("insurance:cover-decide", True),
        ("insurance:cover-history", True),
    ]:
        theirs = client.get(reverse(name, args=[policy, buyer] if needs_buyer else [policy]))
        gone = client.get(reverse(name, args=[missing, missing] if needs_buyer else [missing]))
        assert theirs.status_code == gone.status_code == 404, name
        assert page_text(theirs) == page_text(gone)
    for name, needs_buyer, data in WRITES:
        response = client.post(
            reverse(name, args=[policy, buyer] if needs_buyer else [policy]), data
        )
        assert response.status_code == 404, name
    listed = client.get(reverse("insurance:list")).content.decode()
    assert "TCI-A" not in listed and "Tenant A Insurer" not in listed
    with active(tenant_a):
        assert PolicyVersion.objects.count() == 1
        assert PolicyBuyer.objects.count() == 1
        assert CoverDecision.objects.count() == 2


def test_a_viewer_sees_the_pages_but_cannot_write(client, tenant_a, viewer, setup):
    client.force_login(viewer)
    policy, buyer = setup["policy"].pk, setup["buyer"].pk

    detail = client.get(reverse("insurance:detail", args=[policy]))
    forms = [
        client.get(reverse("insurance:create")),
        client.get(reverse("insurance:endorse", args=[policy])),
        client.get(reverse("insurance:cover-decide", args=[policy, buyer])),
    ]
    posts = [
        client.post(reverse(name, args=[policy, buyer] if needs_buyer else [policy]), data)
        for name, needs_buyer, data in WRITES
    ]
    remove = client.post(reverse("insurance:buyers", args=[policy]), {"remove": setup["named"].pk})

    assert detail.status_code == 200
    assert "Record decision" not in detail.content.decode()
    assert [response.status_code for response in forms] == [403, 403, 403]
    assert [response.status_code for response in posts] == [403, 403, 403]
    assert remove.status_code == 403
    with active(tenant_a):
        assert PolicyBuyer.objects.count() == 1


def test_an_anonymous_visitor_is_sent_to_sign_in(client, setup):
    for url in pages(setup):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
