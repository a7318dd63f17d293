"""Insurance KPIs from the sweep (portfolio and policy), on the dashboard and in the API."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from policies.insurance.kpis import last_sweep_on, policy_kpis, portfolio_insurance_kpis
from policies.models import Declaration, DeclarationAdjustment
from policies.services.coverage import coverage_sweep
from tests.conftest import active, bearer
from tests.factories import BuyerFactory
from tests.insurance.test_coverage_sweep import _cover, _invoice, _policy

D = Decimal
AS_OF = date(2026, 6, 30)


def _declaration(policy, month, *, basis="turnover", amount="100000", premium="250", **extra):
    return Declaration.objects.create(
        tenant=policy.tenant,
        policy=policy,
        period_start=date(2026, month, 1),
        period_end=date(2026, month, 28),
        due_date=date(2026, month, 28),
        basis=basis,
        declared_amount=D(amount),
        premium=D(premium),
        currency="EUR",
        status=extra.pop("status", "submitted"),
        **extra,
    )


@pytest.fixture
def insured(tenant_a):
    """Buyer A: cover 5,000 on 3,000 + 4,000 (over cover 2,000) and a disputed 1,000; buyer C
    outside every policy (US) with 2,000."""
    with active(tenant_a):
        policy = _policy(tenant_a)
        a = BuyerFactory(tenant=tenant_a, country_id="DE")
        c = BuyerFactory(tenant=tenant_a, country_id="US")
        _cover(a, policy, "5000")
        _invoice(a, date(2026, 6, 1), "3000")
        _invoice(a, date(2026, 6, 10), "4000")
        _invoice(a, date(2026, 6, 5), "1000", status="disputed")
        _invoice(c, date(2026, 6, 1), "2000")
        yield policy


def test_portfolio_kpis_before_any_sweep(tenant_a, insured):
    with active(tenant_a):
        kpis = portfolio_insurance_kpis(tenant=tenant_a, as_of=AS_OF)
    assert kpis.last_sweep is None
    assert (kpis.total_exposure, kpis.insured, kpis.uninsured) == (D(10000), 0, D(10000))
    assert kpis.protected_share == 0


def test_portfolio_and_policy_kpis_from_the_sweep(tenant_a, insured):
    with active(tenant_a):
        _declaration(insured, 1, amount="100000", premium="250")
        decl = _declaration(insured, 2, amount="50000", premium="125")
        DeclarationAdjustment.objects.create(
            tenant=tenant_a,
            declaration=decl,
            kind="correction",
            amount_change=D("10000"),
            premium_change=D("25"),
            reason="late invoices",
        )
        _declaration(insured, 3, amount="999999", premium="999", status="draft")  # not counted
        _declaration(insured, 4, basis="balances", amount="70000", premium="100")
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        portfolio = portfolio_insurance_kpis(tenant=tenant_a, as_of=AS_OF)
        policy = policy_kpis(tenant=tenant_a, policy=insured, as_of=AS_OF)
        assert last_sweep_on(tenant=tenant_a) == AS_OF

    assert portfolio.last_sweep == AS_OF
    assert (portfolio.total_exposure, portfolio.insured) == (D(10000), D(5000))
    assert (portfolio.uninsured, portfolio.over_cover, portfolio.cover_lost) == (
        D(5000),
        D(2000),
        0,
    )
    assert portfolio.protected_share == D("0.5000")
    # Premium 250 + 125 + 25 + 100 (balances) over turnover 100,000 + 60,000.
    assert (portfolio.premium, portfolio.insured_turnover) == (D(500), D(160000))
    assert portfolio.premium_share_of_turnover == D("0.003125")

    assert (policy.total_exposure, policy.insured, policy.uninsured) == (D(8000), D(5000), D(3000))
    assert policy.protected_share == D("0.6250")
    assert (policy.premium_share_of_turnover, policy.invoices) == (D("0.003125"), 3)


def test_premium_share_is_none_without_turnover_declarations(tenant_a, insured):
    with active(tenant_a):
        _declaration(insured, 4, basis="balances", amount="70000", premium="100")
        kpis = policy_kpis(tenant=tenant_a, policy=insured, as_of=AS_OF)
    assert (kpis.premium, kpis.insured_turnover, kpis.premium_share_of_turnover) == (
        D(100),
        None,
        None,
    )


def test_the_dashboard_shows_the_insured_share(client, owner, tenant_a, insured):
    with active(tenant_a):
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
    client.force_login(owner)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    # Exposure is the live ledger figure, insured the sweep's.
    assert 'data-kpi="protected-share"' in html
    assert reverse("insurance:list") in html and "Over cover" in html


def test_the_api_gives_portfolio_and_policy_kpis(client, api_key_a, tenant_a, insured):
    _key, raw = api_key_a
    with active(tenant_a):
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
    portfolio = client.get("/api/v1/insurance-kpis/", headers=bearer(raw))
    assert portfolio.status_code == 200, portfolio.content
    assert portfolio.json()["insured"] == "5000.00" and portfolio.json()["policy"] is None
    policy = client.get(f"/api/v1/insurance-kpis/?policy={insured.pk}", headers=bearer(raw))
    assert policy.json()["policy"] == insured.pk
    assert policy.json()["total_exposure"] == "8000.00"
    assert policy.json()["protected_share"] == "0.6250"


def test_the_api_refuses_a_bad_policy_and_hides_other_tenants(
    client, api_key_a, api_key_b, insured
):
    _key, raw = api_key_a
    bad = client.get("/api/v1/insurance-kpis/?policy=abc", headers=bearer(raw))
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    assert "policy" in bad.content.decode()
    _key_b, raw_b = api_key_b
    foreign = client.get(f"/api/v1/insurance-kpis/?policy={insured.pk}", headers=bearer(raw_b))
    assert foreign.status_code == 404


def test_the_kpi_partial_renders_a_policys_kpis(tenant_a, insured):
    from django.template.loader import render_to_string

    with active(tenant_a):
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        kpis = policy_kpis(tenant=tenant_a, policy=insured, as_of=AS_OF)
    html = render_to_string("policies/insurance/_kpis.html", {"kpis": kpis})
    assert "62.5%" in html and "30 Jun 2026" in html
