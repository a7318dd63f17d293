"""Schemathesis over the whole OpenAPI schema, in process against the real app and database.

Every operation gets generated requests, valid and invalid (bounded per operation so the suite
stays fast, derandomized so a failure reproduces). Asserted: no 5xx ever; the status code,
content type and body conform to the schema (errors included: `creditguard.api.schema`
declares the problem answers of every operation); every error is an RFC 9457 problem document.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import bearer

PROBLEM = "application/problem+json"


def _load_schema():
    """The schema the API serves, generated in process (pytest-django set Django up)."""
    from drf_spectacular.generators import SchemaGenerator

    loaded = schemathesis.openapi.from_dict(
        json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    )
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@pytest.fixture
def in_process_requests(db):
    # Calls run in this thread, inside the test's transaction: like Django's test client, keep
    # the request signals from closing the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says_and_errors_are_problems(
    case, api_key_a, in_process_requests
):
    response = case.call(headers=bearer(api_key_a[1]))

    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type == PROBLEM, (case.as_curl_command(), response.status_code, content_type)
