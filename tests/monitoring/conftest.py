"""Fixtures of the monitoring API tests: a client with tenant A's read-write key, and a
read-only key of tenant A."""

import pytest

from tests.conftest import active
from tests.factories import ApiKeyFactory


@pytest.fixture
def api(client, api_key_a):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key_a[1]}"
    return client


@pytest.fixture
def read_key(tenant_a):
    with active(tenant_a):
        return ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")[1]
