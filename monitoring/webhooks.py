"""Signed webhooks (Standard Webhooks, https://www.standardwebhooks.com/): endpoints, events,
delivery with retries.

- An event is recorded as one `WebhookDelivery` per subscribed endpoint, in the transaction
  that produced it (an outbox): unique on (endpoint, event id), so publishing the same event
  twice delivers it once. The delivery task is enqueued after commit.
- Each attempt claims its row with ``SELECT ... FOR UPDATE SKIP LOCKED`` and only while it is
  pending, so a delivered row is never sent again and two workers never send the same row
  at once. Receivers still get at-least-once delivery (a worker dying mid-request retries)
  and deduplicate on ``webhook-id``, which is the event id and stays the same across retries.
- Failures retry with exponential backoff and jitter (30 s, 2 min, 8 min, 32 min, ~2 h, 8 h,
  8 h) up to `MAX_ATTEMPTS`; short waits are Celery countdowns, longer ones (and messages
  lost on the way) are picked up by the sweeper task, `monitoring.sweep_webhook_deliveries`.
- Requests carry ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
  (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``). After a secret rotation the old
  secret stays valid for `ROTATION_OVERLAP`, and deliveries carry both signatures.
- Endpoint URLs must be https and resolve to public addresses only (checked when saved and
  again before each attempt). Plain http to localhost is allowed only with DEBUG or
  ``WEBHOOKS_ALLOW_HTTP_LOCALHOST`` (tests). Redirects are not followed.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import secrets
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from creditguard.audit.services import audit_record, snapshot
from creditguard.queue import enqueue
from creditguard.tenancy.models import Tenant

from .models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
EVENT_TYPES = (
    "alert.created",
    "alert.acknowledged",
    "alert.resolved",
    "cover.changed",  # an insurer's decision on a cover was recorded (policies)
    "deadline.approaching",  # a policy deadline of an open invoice is near (policies)
    "claim.submitted",  # a claim was submitted to the insurer (claims)
    "claim.decided",  # the insurer approved, partially approved or rejected a claim (claims)
    "claim.paid",  # the insurer paid a claim (claims)
)
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ATTEMPTS = 8
REQUEST_TIMEOUT_SECONDS = 10
RETRY_BASE_SECONDS = 30
RETRY_FACTOR = 4
RETRY_CAP_SECONDS = 8 * 60 * 60
# Waits up to this long are Celery countdowns; longer ones are left to the sweeper, because a
# Redis broker redelivers messages held longer than its visibility timeout.
MAX_COUNTDOWN_SECONDS = 15 * 60
# An attempt that arrives this early (clock skew, a duplicate message) still runs.
EARLY_TOLERANCE = timedelta(seconds=2)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
USER_AGENT = "CreditGuard-Webhooks/1.0"
ENDPOINT_FIELDS = ["url", "description", "event_types", "is_active"]


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# --- URL checks (SSRF) -----------------------------------------------------------------------


def _local_http_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "WEBHOOKS_ALLOW_HTTP_LOCALHOST", False))


def _resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (a function of its own so tests can stand in DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_webhook_url(url: str) -> str:
    """The cleaned URL, or a ValidationError on ``url`` when it may not receive webhooks."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": _("Enter a valid URL.")}) from None
    if len(url) > 500:
        raise ValidationError({"url": _("Keep the URL to 500 characters.")})
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise ValidationError({"url": _("The URL may not contain a user name or password.")})
    local = _local_http_allowed() and host in LOCAL_HOSTS
    if parts.scheme != "https" and not local:
        raise ValidationError({"url": _("Use an https:// URL.")})
    addresses = _resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    if not addresses:
        raise ValidationError({"url": _("The host name does not resolve.")})
    if not local and not all(_is_public(address) for address in addresses):
        raise ValidationError({"url": _("The URL points to a private or reserved address.")})
    return url


def _check_event_types(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValidationError({"event_types": _("Enter a list of event types.")})
    unknown = [item for item in value if item not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {
                "event_types": _("Unknown event type %(type)s; choose from %(choices)s.")
                % {"type": unknown[0], "choices": ", ".join(EVENT_TYPES)}
            }
        )
    return [event_type for event_type in EVENT_TYPES if event_type in value]


def _endpoint_values(data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "url" in data:
        values["url"] = check_webhook_url(data["url"])
    if "description" in data:
        description = str(data["description"] or "").strip()
        if len(description) > 200:
            raise ValidationError({"description": _("Keep the description to 200 characters.")})
        values["description"] = description
    if "event_types" in data:
        values["event_types"] = _check_event_types(data["event_types"])
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise ValidationError({"is_active": _("Enter true or false.")})
        values["is_active"] = data["is_active"]
    return values


# --- Endpoint services -----------------------------------------------------------------------


@transaction.atomic
def webhook_endpoint_create(
    *,
    tenant: Tenant,
    actor: Actor,
    url: str,
    description: str = "",
    event_types: Sequence[str] | None = None,
    is_active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; the signing secret is returned here and shown only once."""
    values = _endpoint_values(
        {
            "url": url,
            "description": description,
            "event_types": list(event_types or []),
            "is_active": is_active,
        }
    )
    secret = generate_secret()
    endpoint = WebhookEndpoint.objects.create(tenant=tenant, secret=secret, **values)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.create",
        obj=endpoint,
        after=snapshot(endpoint, ENDPOINT_FIELDS),
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *, tenant: Tenant, actor: Actor, endpoint: WebhookEndpoint, data: Mapping[str, Any]
) -> WebhookEndpoint:
    """Change the URL, description, event types or active flag (any subset)."""
    values = _endpoint_values({key: data[key] for key in ENDPOINT_FIELDS if key in data})
    before = snapshot(endpoint, ENDPOINT_FIELDS)
    for name, value in values.items():
        setattr(endpoint, name, value)
    endpoint.save()
    after = snapshot(endpoint, ENDPOINT_FIELDS)
    if after != before:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="webhook_endpoint.update",
            obj=endpoint,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, tenant: Tenant, actor: Actor, endpoint: WebhookEndpoint
) -> tuple[WebhookEndpoint, str]:
    """A new secret, returned once; the current one keeps signing for `ROTATION_OVERLAP`.

    Rotating again within the overlap retires the oldest secret at once: at most two are
    ever valid.
    """
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = generate_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.rotate_secret",
        obj=endpoint,
        after={"previous_secret_expires_at": endpoint.previous_secret_expires_at},
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_delete(*, tenant: Tenant, actor: Actor, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its delivery log."""
    audit_record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.delete",
        obj=endpoint,
        before=snapshot(endpoint, ENDPOINT_FIELDS),
    )
    endpoint.delete()


# --- Events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str  # stable: the same event published twice is delivered once per endpoint
    event_type: str
    data: dict[str, Any]


def _subscribed(event_type: str) -> Q:
    return Q(event_types=[]) | Q(event_types__contains=[event_type])


def has_subscribers(*, event_type: str) -> bool:
    return WebhookEndpoint.objects.filter(_subscribed(event_type), is_active=True).exists()


def webhook_events_publish(*, tenant: Tenant, events: Iterable[WebhookEvent]) -> list[int]:
    """Record a delivery per event and subscribed active endpoint; send them after commit.

    Returns the ids of the deliveries created (an event already recorded for an endpoint is
    skipped).
    """
    events = list(events)
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("pk", "event_types"))
    rows = [
        (endpoint.pk, event)
        for event in events
        for endpoint in endpoints
        if not endpoint.event_types or event.event_type in endpoint.event_types
    ]
    if not rows:
        return []
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO monitoring_webhookdelivery (tenant_id, endpoint_id, event_id, event_type,
                payload, status, attempts, next_attempt_at, last_error, created_at)
            SELECT %(tenant)s, r.endpoint_id, r.event_id, r.event_type, r.payload::jsonb,
                   'pending', 0, %(now)s, '', %(now)s
            FROM unnest(%(endpoints)s::bigint[], %(event_ids)s::text[], %(types)s::text[],
                        %(payloads)s::text[]) AS r(endpoint_id, event_id, event_type, payload)
            ON CONFLICT (tenant_id, endpoint_id, event_id) DO NOTHING
            RETURNING id
            """,
            {
                "tenant": tenant.pk,
                "now": now,
                "endpoints": [endpoint_id for endpoint_id, _event in rows],
                "event_ids": [event.event_id for _endpoint, event in rows],
                "types": [event.event_type for _endpoint, event in rows],
                "payloads": [
                    json.dumps(
                        {
                            "type": event.event_type,
                            "timestamp": now.isoformat(),
                            "data": event.data,
                        }
                    )
                    for _endpoint, event in rows
                ],
            },
        )
        delivery_ids = [row[0] for row in cursor.fetchall()]
    for delivery_id in delivery_ids:
        enqueue_delivery(tenant_id=tenant.pk, delivery_id=delivery_id)
    return delivery_ids


# --- Delivery --------------------------------------------------------------------------------


def _queued_key(delivery_id: int) -> str:
    return f"monitoring:webhook-queued:{delivery_id}"


def enqueue_delivery(*, tenant_id: int, delivery_id: int, countdown: float = 0) -> None:
    """Send (or retry) a delivery after the current transaction commits.

    Waits longer than `MAX_COUNTDOWN_SECONDS` are left to the sweeper. The cache key tells the
    sweeper a message is on its way, so it does not queue a second one.
    """
    if countdown > MAX_COUNTDOWN_SECONDS:
        return

    def send() -> None:
        cache.set(_queued_key(delivery_id), 1, timeout=int(countdown) + 600)
        enqueue("monitoring.deliver_webhook", delivery_id, tenant_id=tenant_id, countdown=countdown)

    transaction.on_commit(send)


def claim_for_sweep(delivery_id: int) -> bool:
    """True if no message for this delivery was queued in the last ten minutes."""
    return bool(cache.add(_queued_key(delivery_id), 1, timeout=600))


def due_delivery_ids(*, limit: int = 500) -> list[int]:
    """Pending deliveries of the active tenant whose next attempt is due."""
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def retry_delay(attempts: int, *, base_seconds: float | None = None) -> float:
    """Seconds to wait after `attempts` failed attempts: base x 4^(n-1), capped at 8 h, with
    +/-20 % jitter so that many deliveries failing together do not retry together."""
    if base_seconds is None:
        base_seconds = getattr(settings, "WEBHOOKS_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS)
    delay = min(base_seconds * RETRY_FACTOR ** max(attempts - 1, 0), RETRY_CAP_SECONDS)
    return delay * random.uniform(0.8, 1.2)


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    secrets_ = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        secrets_.append(endpoint.previous_secret)
    return secrets_


def signature_headers(
    *, secrets_: Sequence[str], event_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The Standard Webhooks headers; one ``v1,`` signature per valid secret."""
    signatures = [
        Webhook(secret).sign(msg_id=event_id, timestamp=timestamp, data=body) for secret in secrets_
    ]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(url: str, *, body: str, headers: dict[str, str]) -> AttemptResult:
    try:
        check_webhook_url(url)  # again: DNS may point elsewhere now
    except ValidationError as error:
        return AttemptResult(None, "; ".join(error.messages))
    try:
        response = requests.post(
            url,
            data=body.encode(),
            headers={"content-type": "application/json", "user-agent": USER_AGENT, **headers},
            timeout=REQUEST_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,  # read no more than the start of the answer
        )
    except requests.RequestException as error:
        return AttemptResult(None, f"{type(error).__name__}: {error}"[:500])
    try:
        if 200 <= response.status_code < 300:
            return AttemptResult(response.status_code, "")
        start = response.raw.read(200, decode_content=True) or b""
        detail = start.decode("utf-8", "replace").strip()
        return AttemptResult(
            response.status_code, f"HTTP {response.status_code} {response.reason}: {detail}"[:500]
        )
    finally:
        response.close()


def webhook_delivery_attempt(*, tenant: Tenant, delivery_id: int) -> float | None:
    """Make one attempt at a pending delivery that is due.

    Returns the seconds until the next attempt after a failure that will be retried, else None
    (delivered, given up, not due, or claimed by another worker). Holds the row lock during
    the request, so it must run in a transaction (the task's).
    """
    now = timezone.now()
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint")
        .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .first()
    )
    if delivery is None:
        return None
    if delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY_TOLERANCE:
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.last_error = _("The endpoint is disabled.")
        delivery.next_attempt_at = None
        delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
        return None
    body = json.dumps(delivery.payload, separators=(",", ":"))
    headers = signature_headers(
        secrets_=signing_secrets(endpoint, now=now),
        event_id=delivery.event_id,
        timestamp=now,
        body=body,
    )
    result = _post(endpoint.url, body=body, headers=headers)
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    retry_in = None
    if result.ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        retry_in = retry_delay(delivery.attempts)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
        ]
    )
    return retry_in
