"""Switching tenant on a page about one object lands on the landing page of its section.

The page itself belongs to the tenant just left (a buyer, a request, a claim): keeping its URL
answered 404 in the new tenant.
"""

import pytest
from django.urls import reverse

from tests.conftest import active
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tenant_client(client, tenant_a, tenant_b, owner):
    with active(tenant_b):
        MembershipFactory(tenant=tenant_b, user=owner, role="admin")
    client.force_login(owner)
    return client


@pytest.mark.parametrize(
    ("page", "landing"),
    [
        ("/buyers/123/", "buyers:list"),
        ("/buyers/123/edit/", "buyers:list"),
        ("/imports/77/", "imports:list"),
        ("/limits/requests/5/", "limits:overview"),
        ("/limits/buyers/123/", "limits:overview"),
        ("/limits/requests/new/?buyer=123", "limits:overview"),
        ("/policies/9/", "insurance:list"),
        ("/claims/12/", "claims:list"),
        ("/claims/new/?policy=9&buyer=123", "claims:list"),
        ("/monitoring/webhooks/3/", "monitoring:alerts"),
    ],
)
def test_switching_on_a_section_page_lands_on_that_sections_index(
    two_tenant_client, tenant_b, page, landing
):
    response = two_tenant_client.post(
        reverse("tenant-switch"), {"tenant_id": tenant_b.pk, "next": page}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(landing)
    assert two_tenant_client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "page",
    [
        "/buyers/?country=DE&sort=-exposure",
        "/limits/queue/",
        "/monitoring/rules/",
        "/claims/",
        "/settings/audit/?page=2",
    ],
)
def test_switching_on_a_page_about_no_object_stays_on_it(two_tenant_client, tenant_b, page):
    response = two_tenant_client.post(
        reverse("tenant-switch"), {"tenant_id": tenant_b.pk, "next": page}
    )

    assert response.status_code == 302 and response["Location"] == page
    assert two_tenant_client.get(page).status_code == 200


@pytest.mark.parametrize(
    "page",
    [
        "",
        "/",
        "/settings/users/4/",
        "/no-such-section/1/",
        "https://evil.example/buyers/",
        "//evil.example/buyers/",
        "javascript:alert(1)",
    ],
)
def test_switching_elsewhere_or_with_a_foreign_next_lands_on_the_dashboard(
    two_tenant_client, tenant_b, page
):
    response = two_tenant_client.post(
        reverse("tenant-switch"), {"tenant_id": tenant_b.pk, "next": page}
    )

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
