"""`Idempotency-Key` for unsafe API requests: a retried request is answered, not re-done.

Semantics (per tenant and key, for `RETENTION`):
- same key, same request (method, path and body) → the stored response again, status and
  body, with `Idempotent-Replayed: true`; nothing is processed twice;
- same key, different request → 422 problem;
- same key while the first request is still running → 409 problem (retry later).

Every answer the handler gives is stored, validation errors (400) included; failures that
roll the request back (exceptions, 5xx) store nothing, so they can be retried.

Why a Redis lock: the whole request is one database transaction (TenantMiddleware), so a
request still running is invisible to the others through the database. The lock (SET NX
with a TTL, namespaced by database and tenant) is taken before the stored response is
looked up and released only after the transaction commits (`on_commit`) or when the request
fails, so a request that gets the lock sees every committed record. The unique constraint
on (tenant, key) is the backstop should a lock expire under a very slow request: the later
request then rolls its work back and answers 409.

Expired records are ignored when looked up and deleted on the next write of the tenant.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from redis import Redis
from rest_framework.request import Request

from creditguard.tenancy.models import Tenant

from .models import IdempotencyRecord
from .problems import PROBLEM_CONTENT_TYPE, problem
from .request import request_tenant

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The header as every endpoint that honours it documents it (drf-spectacular).
SCHEMA_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (e.g. a UUID) up to 255 characters. A retry with the same key and "
        "body gets the first response again without writing twice (kept 24 hours); the same "
        "key with another body is refused with 422, and while the first request runs with 409."
    ),
)
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# Longer than any request may run (gunicorn's worker timeout is 30 s).
LOCK_SECONDS = 300

Handler = Callable[[], tuple[int, dict[str, Any]]]

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> HttpResponse:
    """A JSON answer rendered with orjson; problem+json for errors."""
    content_type = PROBLEM_CONTENT_TYPE if status >= 400 else "application/json"
    return HttpResponse(
        orjson.dumps(body), status=status, content_type=content_type, headers=headers
    )


def request_fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256(f"{request.method}\n{request.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def respond_idempotently(
    request: Request, *, tenant: Tenant, body: bytes, handler: Handler
) -> HttpResponse:
    """Run `handler` (→ status, JSON body) at most once per `Idempotency-Key`; render it."""
    key = request.headers.get(HEADER)
    if key is None:
        return json_response(*handler())
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        return json_response(
            400,
            problem(
                400,
                _("Invalid input"),
                _("The Idempotency-Key header is invalid."),
                errors=[
                    {
                        "field": HEADER,
                        "message": _("Use 1 to %(max)d printable ASCII characters, e.g. a UUID.")
                        % {"max": MAX_KEY_LENGTH},
                    }
                ],
            ),
        )
    fingerprint = request_fingerprint(request, body)
    lock = _Lock(tenant_id=tenant.pk, key=key)
    if not lock.acquire():
        return _in_progress()
    try:
        cutoff = timezone.now() - RETENTION
        stored = IdempotencyRecord.objects.filter(key=key, created_at__gte=cutoff).first()
        if stored is not None:
            lock.release()
            if stored.request_fingerprint != fingerprint:
                return json_response(
                    422,
                    problem(
                        422,
                        _("Idempotency key reused"),
                        _("This Idempotency-Key was already used for a different request."),
                    ),
                )
            return json_response(
                stored.response_status, stored.response_body, {REPLAYED_HEADER: "true"}
            )
        try:
            with transaction.atomic():
                status, response_body = handler()
                if not _store(tenant, key, fingerprint, status, response_body, cutoff):
                    raise _LostRace
        except _LostRace:
            lock.release()
            return _in_progress()
        transaction.on_commit(lock.release)
    except BaseException:
        lock.release()
        raise
    return json_response(status, response_body)


def start_idempotently(
    request: Request, *, handler: Handler, located: Collection[int]
) -> HttpResponse:
    """`respond_idempotently` for a POST that starts or creates something: an answer whose
    status is in ``located`` (a replay too) names the thing's URL, its body's "url", in
    ``Location``."""
    response = respond_idempotently(
        request, tenant=request_tenant(request), body=request.body, handler=handler
    )
    if response.status_code in located:
        response["Location"] = orjson.loads(response.content)["url"]
    return response


class _LostRace(Exception):
    """Another request stored a response for the key first (only after a lock expired)."""


def _store(
    tenant: Tenant, key: str, fingerprint: str, status: int, body: dict[str, Any], cutoff: datetime
) -> bool:
    """Save the response; False if a record for the key exists already."""
    IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO api_idempotencyrecord "
            "(tenant_id, key, request_fingerprint, response_status, response_body, created_at) "
            "VALUES (%s, %s, %s, %s, %s, now()) "
            "ON CONFLICT (tenant_id, key) DO NOTHING RETURNING id",
            [tenant.pk, key, fingerprint, status, orjson.dumps(body).decode()],
        )
        return cursor.fetchone() is not None


def _in_progress() -> HttpResponse:
    return json_response(
        409,
        problem(
            409,
            _("Request in progress"),
            _("A request with this Idempotency-Key is still being processed; retry later."),
        ),
        {"Retry-After": "1"},
    )


@cache
def _redis() -> Redis:
    return Redis.from_url(settings.CACHES["default"]["LOCATION"], socket_timeout=5)


class _Lock:
    """A Redis lock for one (database, tenant, key), released only by its holder."""

    def __init__(self, *, tenant_id: int, key: str) -> None:
        database = connection.settings_dict["NAME"]
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        self.name = f"creditguard:idempotency:{database}:{tenant_id}:{key_hash}"
        self.token = secrets.token_hex(16)
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(_redis().set(self.name, self.token, nx=True, ex=LOCK_SECONDS))
        return self.held

    def release(self) -> None:
        if self.held:
            self.held = False
            _redis().eval(_RELEASE, 1, self.name, self.token)
