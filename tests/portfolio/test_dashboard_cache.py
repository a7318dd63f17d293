"""The dashboard's aggregates are cached until the figures change (`buyers.figures_version`):
repeated views between two refreshes do not aggregate again, and what changed shows on the
next view. These tests commit (transaction=True): the cache follows commits."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buyers import services as buyer_services
from buyers.figures import figures_fresh
from buyers.models import Buyer
from buyers.tasks import figures_refresh
from creditguard.dates import today
from creditguard.tenancy.context import tenant_context
from portfolio.tasks import dashboard_warm
from tests.factories import BuyerFactory, MembershipFactory, TenantFactory
from tests.portfolio.test_dashboard import invoice

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    tenant = TenantFactory(slug="cache-shop")
    with tenant_context(tenant):
        user = MembershipFactory(tenant=tenant, role="analyst", user__email="a@shop.example").user
        buyer = BuyerFactory(tenant=tenant, country_id="DE")
        invoice(buyer, days_past_due=10, amount="1000")
        figures_fresh(tenant=tenant)
    return tenant, user, buyer


def view(client, user, **params):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboard"), params)
    assert response.status_code == 200
    aggregations = [
        query["sql"]
        for query in queries.captured_queries
        if "buyers_buyerfigures" in query["sql"] and "GROUP BY" in query["sql"]
    ]
    return response.context["totals"], aggregations


def test_repeated_views_between_refreshes_read_the_cache(client, shop):
    _tenant, user, _buyer = shop
    totals, aggregated = view(client, user)
    assert totals.exposure == Decimal("1000.00") and aggregated

    totals, aggregated = view(client, user)

    assert totals.exposure == Decimal("1000.00")
    assert aggregated == []


def test_a_new_invoice_shows_on_the_next_view(client, shop):
    tenant, user, buyer = shop
    view(client, user)
    view(client, user)  # cached
    with tenant_context(tenant):
        invoice(buyer, days_past_due=3, amount="250")

    # This view refreshes the buyer (figures_fresh) and must not be served the cached totals.
    totals, _aggregated = view(client, user)
    assert (totals.exposure, totals.overdue) == (Decimal("1250.00"), Decimal("1250.00"))
    # The refresh has committed: the next views read the new figures, then from the cache.
    totals, _aggregated = view(client, user)
    assert totals.exposure == Decimal("1250.00")
    totals, aggregated = view(client, user)
    assert totals.exposure == Decimal("1250.00") and aggregated == []


def test_filtered_views_are_cached_apart(client, shop):
    tenant, user, _buyer = shop
    with tenant_context(tenant):
        french = BuyerFactory(tenant=tenant, country_id="FR")
        invoice(french, days_past_due=-5, amount="400")
    assert view(client, user)[0].exposure == Decimal("1400.00")

    assert view(client, user, country="FR")[0].exposure == Decimal("400.00")
    assert view(client, user, country="DE")[0].exposure == Decimal("1000.00")
    assert view(client, user, country="FR") == (view(client, user, country="FR")[0], [])


def test_a_deleted_buyer_leaves_the_totals(client, shop):
    tenant, user, _buyer = shop
    with tenant_context(tenant):
        idle = BuyerFactory(tenant=tenant, country_id="FR")  # no invoices: it may be deleted
    assert view(client, user)[0].buyers == 2
    assert view(client, user)[0].buyers == 2  # cached

    with tenant_context(tenant):
        buyer_services.buyer_delete(tenant=tenant, actor=user, buyer=idle)

    assert view(client, user)[0].buyers == 1


def test_a_background_refresh_warms_the_unfiltered_dashboard(client, shop, monkeypatch):
    tenant, user, buyer = shop
    sent = []
    monkeypatch.setattr(
        "creditguard.queue.enqueue", lambda name, *args, **kwargs: sent.append((name, kwargs))
    )
    with tenant_context(tenant):
        invoice(buyer, days_past_due=-1, amount="500")

    figures_refresh("dirty", today().isoformat(), tenant_id=tenant.pk)

    assert ("portfolio.dashboard_warm", {"tenant_id": tenant.pk, "countdown": None}) in sent
    dashboard_warm(tenant_id=tenant.pk)  # what the worker then runs
    totals, aggregated = view(client, user)
    assert totals.exposure == Decimal("1500.00")
    assert aggregated == []


# --- Buyer list: its count is cached on the figures as well --------------------------------


def listed(client, user, **params):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("buyers:list"), params)
    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    counts = [sql for sql in counts if "buyers_buyer" in sql]
    return response.context["page"].paginator.count, counts


def test_the_buyer_list_counts_once_per_change_of_the_figures(client, shop):
    tenant, user, buyer = shop
    assert listed(client, user, sort="-exposure")[0] == 1
    assert listed(client, user, sort="-exposure") == (1, [])  # cached

    with tenant_context(tenant):
        BuyerFactory(tenant=tenant, country_id="FR")

    assert listed(client, user, sort="-exposure")[0] == 2  # refreshed in this request
    assert listed(client, user, sort="-exposure")[0] == 2  # counted under the new version
    assert listed(client, user, sort="-exposure") == (2, [])
    assert listed(client, user, country="FR")[0] == 1  # other filters, another count
    with tenant_context(tenant):
        Buyer.objects.filter(pk=buyer.pk).update(country_id="FR")  # marked by its trigger
    assert listed(client, user, country="FR")[0] == 2


def test_changes_left_to_a_background_refresh_are_not_hidden_by_the_cache(
    client, shop, monkeypatch
):
    """Too many marked buyers for a request: the refresh goes to a task, and until it has run
    nothing cached on the figures is served (the buyer rows themselves are current)."""
    tenant, user, _buyer = shop
    monkeypatch.setattr("creditguard.queue.enqueue", lambda *args, **kwargs: None)
    assert listed(client, user)[0] == 1
    assert listed(client, user) == (1, [])  # cached
    monkeypatch.setattr("buyers.figures.INLINE_DIRTY", 0)  # any change goes to the task

    with tenant_context(tenant):
        BuyerFactory(tenant=tenant, country_id="FR")

    assert listed(client, user)[0] == 2
    assert listed(client, user)[0] == 2
