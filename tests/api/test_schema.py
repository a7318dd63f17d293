"""OpenAPI 3 schema and documentation pages, served with no asset from another host."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema_responses(django_db_blocker) -> dict:
    """The schema as served, fetched once per module (generating it takes a while)."""
    with django_db_blocker.unblock():
        client = Client()
        return {
            "yaml": client.get(reverse("api:schema")),
            "json": client.get(reverse("api:schema"), {"format": "json"}),
        }


@pytest.fixture
def schema(schema_responses) -> dict:
    return schema_responses["json"].json()


def test_the_schema_is_valid_openapi_3_in_yaml_and_json(schema_responses, schema):
    as_yaml = yaml.safe_load(schema_responses["yaml"].content)

    assert schema_responses["json"]["Content-Type"] == "application/vnd.oai.openapi+json"
    assert schema_responses["yaml"]["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_yaml == schema
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document
    assert {"/api/v1/", "/api/v1/audit-events/"} <= set(schema["paths"])


def test_the_schema_documents_api_key_authentication(schema):
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cg_<prefix>_<secret>",
        "description": "A tenant API key created under Settings → API keys.",
    }
    assert {"ApiKey": []} in schema["paths"]["/api/v1/audit-events/"]["get"]["security"]


def test_the_schema_documents_cursor_pagination(schema):
    parameters = schema["paths"]["/api/v1/audit-events/"]["get"]["parameters"]
    assert {"cursor", "page_size"} <= {parameter["name"] for parameter in parameters}


def test_the_schema_generates_without_warnings(tmp_path):
    # Warnings mean guessed types or views the generator could not inspect.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


def test_the_api_documentation_loads_no_asset_from_another_host(client):
    response = client.get(reverse("api:docs"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn" not in page.lower()
    assert re.findall(r"(?:src|href)=[\"']?(?:https?:)?//[^\"'\s>]+", page) == []


def test_every_asset_of_the_api_documentation_ships_with_the_app(client):
    page = client.get(reverse("api:docs")).content.decode()

    assets = re.findall(r"(?:src|href)=\"/static/([^\"]+)\"", page)

    assert assets
    assert [asset for asset in assets if not finders.find(asset)] == []


def test_the_swagger_ui_reads_the_local_schema(client):
    # The page loads its set-up script from a URL (no inline script under the CSP).
    script = client.get(reverse("api:docs"), {"script": ""}).content.decode()

    assert f'"{reverse("api:schema")}"' in script
