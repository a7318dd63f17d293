"""Webhooks against a real HTTP receiver on 127.0.0.1: Standard Webhooks signatures (checked
with the `standardwebhooks` package), retries with backoff, deduplication, secret rotation,
URL checks, and one delivery through a real Celery worker."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from creditguard.audit.models import AuditEvent
from creditguard.tenancy.context import tenant_context
from monitoring import webhooks
from monitoring.models import WebhookDelivery, WebhookEndpoint
from monitoring.webhooks import (
    MAX_ATTEMPTS,
    WebhookEvent,
    retry_delay,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_events_publish,
)
from tests.conftest import active
from tests.factories import TenantFactory, WebhookEndpointFactory


class Receiver:
    """Records every request; answers 500 to the first `fail_first` of them, then 204."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append({"headers": headers, "body": body})
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 204)
                self.end_headers()
                if failing:
                    self.wfile.write(b"receiver is down")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


EVENT = WebhookEvent(
    event_id="evt_test_1", event_type="alert.created", data={"id": 1, "title": "Über due"}
)


def publish(tenant, event=EVENT) -> list[int]:
    return webhook_events_publish(tenant=tenant, events=[event])


def attempt(tenant, delivery_id):
    return webhook_delivery_attempt(tenant=tenant, delivery_id=delivery_id)


def make_due(delivery_id) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())


@pytest.fixture
def public_dns(monkeypatch):
    """Stand-in DNS: *.example.com is public, internal.example.com private."""
    table = {
        "hooks.example.com": ["93.184.215.14"],
        "internal.example.com": ["10.1.2.3"],
        "mapped.example.com": ["::ffff:127.0.0.1"],
    }
    real = webhooks._resolve
    monkeypatch.setattr(
        webhooks, "_resolve", lambda host, port: table.get(host, []) or real(host, port)
    )


# --- Endpoints -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_an_endpoint_returns_a_standard_secret_once_and_audits_without_it(
    tenant_a, owner, receiver
):
    with active(tenant_a):
        endpoint, secret = webhook_endpoint_create(
            tenant=tenant_a, actor=owner, url=receiver.url, event_types=["alert.resolved"]
        )
        event = AuditEvent.objects.get(action="webhook_endpoint.create")

    assert secret.startswith("whsec_")
    assert len(Webhook(secret)._whsecret) == 24
    assert endpoint.secret == secret
    assert endpoint.event_types == ["alert.resolved"]
    assert secret not in json.dumps(event.after)


@pytest.mark.django_db
@pytest.mark.usefixtures("public_dns")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/in", "Use an https:// URL."),
        ("https://10.0.0.5/in", "private or reserved"),
        ("https://169.254.169.254/latest/meta-data", "private or reserved"),
        ("https://[::1]/in", "private or reserved"),
        ("https://internal.example.com/in", "private or reserved"),
        ("https://mapped.example.com/in", "private or reserved"),
        ("https://nowhere.invalid/in", "does not resolve"),
        ("https://user:pw@hooks.example.com/in", "user name or password"),
        ("ftp://hooks.example.com/in", "valid URL"),
    ],
)
def test_unsafe_urls_are_refused(tenant_a, owner, settings, url, message):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    with active(tenant_a):
        with pytest.raises(ValidationError) as error:
            webhook_endpoint_create(tenant=tenant_a, actor=owner, url=url)

        assert message in error.value.message_dict["url"][0]
        assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("public_dns")
def test_a_public_https_url_is_accepted(tenant_a, owner):
    with active(tenant_a):
        endpoint, _secret = webhook_endpoint_create(
            tenant=tenant_a, actor=owner, url="https://hooks.example.com/in"
        )

    assert endpoint.url == "https://hooks.example.com/in"


@pytest.mark.django_db
def test_plain_http_to_localhost_needs_debug_or_the_setting(tenant_a, owner, settings, receiver):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    settings.DEBUG = False
    with active(tenant_a), pytest.raises(ValidationError):
        webhook_endpoint_create(tenant=tenant_a, actor=owner, url=receiver.url)

    settings.DEBUG = True
    with active(tenant_a):
        webhook_endpoint_create(tenant=tenant_a, actor=owner, url=receiver.url)


@pytest.mark.django_db
def test_unknown_event_types_are_refused(tenant_a, owner, receiver):
    with active(tenant_a), pytest.raises(ValidationError) as error:
        webhook_endpoint_create(
            tenant=tenant_a, actor=owner, url=receiver.url, event_types=["buyer.deleted"]
        )

    assert "event_types" in error.value.message_dict


# --- Delivery --------------------------------------------------------------------------------


@pytest.fixture
def endpoint(tenant_a, receiver):
    with active(tenant_a):
        return WebhookEndpointFactory(tenant=tenant_a, url=receiver.url)


@pytest.mark.django_db
def test_a_delivery_is_signed_per_standard_webhooks(tenant_a, endpoint, receiver):
    with active(tenant_a):
        [delivery_id] = publish(tenant_a)

        assert attempt(tenant_a, delivery_id) is None
        delivery = WebhookDelivery.objects.get()

    [request] = receiver.requests
    payload = Webhook(endpoint.secret).verify(request["body"], request["headers"])
    assert payload["type"] == "alert.created"
    assert payload["data"] == {"id": 1, "title": "Über due"}
    assert request["headers"]["webhook-id"] == "evt_test_1"
    assert request["headers"]["content-type"] == "application/json"
    assert abs(int(request["headers"]["webhook-timestamp"]) - time.time()) < 60
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    assert delivery.delivered_at is not None


@pytest.mark.django_db
def test_another_secret_does_not_verify(tenant_a, endpoint, receiver):
    with active(tenant_a):
        [delivery_id] = publish(tenant_a)
        attempt(tenant_a, delivery_id)

    [request] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.generate_secret()).verify(request["body"], request["headers"])


@pytest.mark.django_db
def test_failures_retry_with_backoff_under_the_same_id_until_delivered(
    tenant_a, endpoint, receiver
):
    receiver.fail_first = 2
    with active(tenant_a):
        [delivery_id] = publish(tenant_a)

        first_wait = attempt(tenant_a, delivery_id)
        failed = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            next_attempt_at=timezone.now() + timedelta(minutes=2)
        )
        assert attempt(tenant_a, delivery_id) is None  # not due yet: nothing sent
        assert len(receiver.requests) == 1
        make_due(delivery_id)
        second_wait = attempt(tenant_a, delivery_id)
        make_due(delivery_id)
        assert attempt(tenant_a, delivery_id) is None
        make_due(delivery_id)
        assert attempt(tenant_a, delivery_id) is None  # delivered: never sent again
        delivery = WebhookDelivery.objects.get()

    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
    assert "receiver is down" in failed.last_error
    assert failed.next_attempt_at > timezone.now()
    assert 0.8 <= first_wait <= 1.2 and 3.2 <= second_wait <= 4.8  # test base: 1 s, x4
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, "")
    assert len(receiver.requests) == 3
    assert {request["headers"]["webhook-id"] for request in receiver.requests} == {"evt_test_1"}


def test_the_backoff_grows_fourfold_from_30_seconds_up_to_8_hours_with_jitter():
    expected = [30, 120, 480, 1920, 7680, 28800, 28800]
    for attempts, seconds in enumerate(expected, start=1):
        delays = [retry_delay(attempts, base_seconds=30) for _ in range(50)]
        assert all(seconds * 0.8 <= delay <= seconds * 1.2 for delay in delays)
        assert len(set(delays)) > 1


@pytest.mark.django_db
def test_a_delivery_gives_up_after_the_last_attempt(tenant_a, endpoint, receiver):
    receiver.fail_first = 100
    with active(tenant_a):
        [delivery_id] = publish(tenant_a)
        WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=MAX_ATTEMPTS - 1)

        assert attempt(tenant_a, delivery_id) is None
        delivery = WebhookDelivery.objects.get()

    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        "failed",
        MAX_ATTEMPTS,
        None,
    )


@pytest.mark.django_db
def test_a_connection_error_is_logged_and_retried(tenant_a, receiver):
    receiver.close()  # nobody listens any more
    with active(tenant_a):
        WebhookEndpointFactory(tenant=tenant_a, url=receiver.url)
        [delivery_id] = publish(tenant_a)

        assert attempt(tenant_a, delivery_id) is not None
        delivery = WebhookDelivery.objects.get()

    assert delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


@pytest.mark.django_db
def test_the_same_event_published_twice_is_delivered_once(tenant_a, endpoint, receiver):
    with active(tenant_a):
        first = publish(tenant_a)
        second = publish(tenant_a)
        for delivery_id in first + second:
            attempt(tenant_a, delivery_id)

        assert WebhookDelivery.objects.count() == 1
    assert (len(first), second) == (1, [])
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_events_go_only_to_active_endpoints_subscribed_to_them(tenant_a, receiver):
    with active(tenant_a):
        everything = WebhookEndpointFactory(tenant=tenant_a, url=receiver.url)
        resolved_only = WebhookEndpointFactory(
            tenant=tenant_a, url=receiver.url, event_types=["alert.resolved"]
        )
        WebhookEndpointFactory(tenant=tenant_a, url=receiver.url, is_active=False)

        publish(tenant_a)
        publish(tenant_a, WebhookEvent("evt_2", "alert.resolved", {}))

        pairs = set(WebhookDelivery.objects.values_list("endpoint_id", "event_id"))

    assert pairs == {
        (everything.pk, "evt_test_1"),
        (everything.pk, "evt_2"),
        (resolved_only.pk, "evt_2"),
    }


@pytest.mark.django_db
def test_a_delivery_for_a_disabled_endpoint_is_not_sent(tenant_a, endpoint, receiver):
    with active(tenant_a):
        [delivery_id] = publish(tenant_a)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)

        attempt(tenant_a, delivery_id)

        assert WebhookDelivery.objects.get().status == "failed"
    assert receiver.requests == []


# --- Secret rotation -------------------------------------------------------------------------


@pytest.mark.django_db
def test_after_rotation_deliveries_carry_both_signatures_for_24_hours(
    tenant_a, owner, endpoint, receiver
):
    old_secret = endpoint.secret
    with active(tenant_a):
        endpoint, new_secret = webhook_endpoint_rotate_secret(
            tenant=tenant_a, actor=owner, endpoint=endpoint
        )
        [during] = publish(tenant_a)
        attempt(tenant_a, during)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
        )
        [after] = publish(tenant_a, WebhookEvent("evt_after", "alert.created", {}))
        attempt(tenant_a, after)
        assert AuditEvent.objects.filter(action="webhook_endpoint.rotate_secret").exists()

    overlap, expired = receiver.requests
    assert new_secret != old_secret
    assert endpoint.previous_secret_expires_at - timezone.now() > timedelta(hours=23)
    signatures = overlap["headers"]["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (new_secret, old_secret):
        Webhook(secret).verify(overlap["body"], overlap["headers"])
    Webhook(new_secret).verify(expired["body"], expired["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(expired["body"], expired["headers"])


# --- Through a real Celery worker ------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_after_commit_and_retries_a_failure(celery_worker, receiver):
    receiver.fail_first = 1
    tenant = TenantFactory(slug="webhook-worker")
    with tenant_context(tenant):
        WebhookEndpointFactory(tenant=tenant, url=receiver.url)
        publish(tenant)
        assert receiver.requests == []  # nothing leaves before the commit

    deadline = time.monotonic() + 30
    delivery = None
    while time.monotonic() < deadline:
        with tenant_context(tenant):
            delivery = WebhookDelivery.objects.get()
        if delivery.status == "delivered":
            break
        time.sleep(0.2)

    assert delivery is not None and delivery.status == "delivered", delivery.__dict__
    assert delivery.attempts == 2
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == ["evt_test_1"] * 2
    with tenant_context(tenant):
        secret = WebhookEndpoint.objects.get().secret
    Webhook(secret).verify(receiver.requests[-1]["body"], receiver.requests[-1]["headers"])


@pytest.mark.django_db
def test_the_sweeper_runs_once_per_active_tenant(tenant_a, tenant_b, sent_tasks):
    from monitoring import alert_tasks

    alert_tasks.sweep_webhook_deliveries()

    assert [(task.name, task.kwargs) for task in sent_tasks] == [
        ("monitoring.sweep_tenant_webhook_deliveries", {"tenant_id": tenant.pk})
        for tenant in (tenant_a, tenant_b)
    ]


@pytest.mark.django_db
def test_the_sweeper_queues_due_deliveries_once_and_leaves_future_ones(
    tenant_a, endpoint, sent_tasks
):
    from monitoring import alert_tasks

    with active(tenant_a):
        due, later = (
            publish(tenant_a, WebhookEvent(event_id, "alert.created", {}))[0]
            for event_id in ("evt_due", "evt_later")
        )
        WebhookDelivery.objects.filter(pk=later).update(
            next_attempt_at=timezone.now() + timedelta(hours=2)
        )

    alert_tasks.sweep_tenant_webhook_deliveries(tenant_id=tenant_a.pk)
    alert_tasks.sweep_tenant_webhook_deliveries(tenant_id=tenant_a.pk)

    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.deliver_webhook", (due,), {"tenant_id": tenant_a.pk})
    ]
