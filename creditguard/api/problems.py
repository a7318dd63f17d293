"""RFC 9457 problem details for every API error.

Body: `type`, `title`, `status`, `detail`, and for invalid input `errors`, a list of
`{"field": "path.to.field", "message": "..."}` (bulk endpoints add `index`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.creditguard.app/problems/"

_TYPES = {
    400: "validation-error",
    401: "not-authenticated",
    403: "permission-denied",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "throttled",
    503: "service-unavailable",
}


def problem(status_code: int, title: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + _TYPES.get(status_code, "server-error"),
        "title": title,
        "status": status_code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested error structure as a flat list of field/message pairs."""
    if isinstance(detail, dict):
        # DRF reports the items of a nested list by index (int keys): `bands[0].max_limit`.
        return [
            error
            for key, value in detail.items()
            for error in flatten_errors(
                value,
                f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key),
            )
        ]
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": path or "non_field_errors", "message": str(item)} for item in detail]
        return [
            error
            for index, item in enumerate(detail)
            for error in flatten_errors(item, f"{path}[{index}]" if path else f"[{index}]")
        ]
    return [{"field": path or "non_field_errors", "message": str(detail)}]


def problem_response(
    status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IntegrityError):
        # Two writers raced past the uniqueness check (e.g. the same erp_reference created
        # concurrently without an Idempotency-Key): the loser is told, and its transaction
        # rolled back, like any other conflict.
        exc = exceptions.APIException(
            _("The request conflicts with a record written at the same time; retry it.")
        )
        exc.status_code = 409
    if isinstance(exc, DjangoValidationError):
        # Services validate with Django's ValidationError; the API reports it like DRF's.
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(
            {
                "non_field_errors" if key == NON_FIELD_ERRORS else key: value
                for key, value in detail.items()
            }
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's handler500 answers with a problem document
    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            response.status_code,
            _("Invalid input"),
            _("One or more fields are invalid."),
            errors=flatten_errors(exc.detail),
        )
    else:
        message = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        title = status_title(response.status_code)
        body = problem(response.status_code, title, str(message))
        if isinstance(exc, exceptions.Throttled):
            wait: float | None = exc.wait  # type: ignore[attr-defined]  # not in the DRF stubs
            if wait is not None:
                body["retry_after"] = int(wait)
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def status_title(status_code: int) -> str:
    titles = {
        401: _("Not authenticated"),
        403: _("Permission denied"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Payload too large"),
        415: _("Unsupported media type"),
        422: _("Unprocessable request"),
        429: _("Too many requests"),
        500: _("Server error"),
        503: _("Service temporarily unavailable"),
    }
    return titles.get(status_code, _("Request failed"))


def django_problem(request: HttpRequest, status_code: int) -> JsonResponse:
    """For errors raised outside DRF views (unknown URL, server error) under /api/."""
    return JsonResponse(
        problem(status_code, status_title(status_code)),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")
