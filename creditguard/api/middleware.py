"""Edge guards for every request, and problem documents for every API error.

`InputGuardMiddleware` refuses NUL characters in the path and the query string before any view
or database sees them (PostgreSQL cannot store them; psycopg2 raises ValueError). Bodies are
checked by the API's JSON parser and by Django's form fields.

`ProblemDetailsMiddleware` sits outermost: whatever answered an `/api/` request with an error
that is not already `application/problem+json` — the URL resolver (a non-numeric id), Django's
DEBUG pages, CSRF failures, a refused body, a crash — the client gets a problem document with
the same status. Server errors are logged by Django before they get here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import bad_request

from .parsers import NUL_MESSAGE
from .problems import PROBLEM_CONTENT_TYPE, django_problem, is_api_request, problem


class InputGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = []
        if "\x00" in request.path:
            fields.append("path")
        fields += [
            key
            for key, values in request.GET.lists()
            if "\x00" in key or any("\x00" in value for value in values)
        ]
        if not fields:
            return self.get_response(request)
        if is_api_request(request):
            return JsonResponse(
                problem(
                    400,
                    _("Invalid input"),
                    _("One or more fields are invalid."),
                    errors=[
                        {"field": field.replace("\x00", "\\x00"), "message": _(NUL_MESSAGE)}
                        for field in fields
                    ],
                ),
                status=400,
                content_type=PROBLEM_CONTENT_TYPE,
            )
        return bad_request(request, exception=SuspiciousOperation("NUL character in the URL"))


class ProblemDetailsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_request(request)
            and response.get("Content-Type", "").split(";")[0] != PROBLEM_CONTENT_TYPE
        ):
            replacement = django_problem(request, response.status_code)
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
