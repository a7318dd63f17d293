"""The daily alert digest links to the alert feed and to each buyer, absolutely on SITE_URL."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from monitoring.models import Alert
from monitoring.notifications import alert_digest_send
from tests.conftest import active
from tests.factories import AlertFactory, BuyerFactory

pytestmark = pytest.mark.django_db


def test_the_digest_links_to_the_alerts_and_the_buyer_on_the_site_url(
    tenant_a, owner, mailoutbox, settings
):
    settings.SITE_URL = "https://cg.example.com"
    day = timezone.now().date() - timedelta(days=1)
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        alert = AlertFactory(buyer=buyer)
        Alert.objects.filter(pk=alert.pk).update(
            created_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
        )

        assert alert_digest_send(tenant=tenant_a, day=day) == 1

    [message] = mailoutbox
    buyer_url = f"https://cg.example.com/buyers/{buyer.pk}/"
    assert buyer_url in message.body
    assert "https://cg.example.com/monitoring/" in message.body
    html, _mimetype = message.alternatives[0]
    assert f'<a href="{buyer_url}">' in html
    assert '<a href="https://cg.example.com/monitoring/">' in html
