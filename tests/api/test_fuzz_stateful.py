"""Schemathesis, stateful: sequences of calls that follow the schema's OpenAPI links.

`test_fuzz_schema` sends every operation generated requests on its own, so an operation on
`/buyers/{id}/` mostly meets random ids and answers 404. Here scenarios follow the links the
served schema declares (`creditguard.api.schema.add_links`): a new buyer's id into
`/buyers/{id}/…`, its ERP reference into invoice, payment, limit request and credit check
bodies and into the list filters, a new invoice's reference into a dispute, a new claim's id
into its workflow actions. Each scenario starts from a buyer and an invoice created through the
API with valid bodies (generated ones rarely pass our reference-data rules: currencies, country
and NACE codes), then Schemathesis picks creates and linked calls with generated data.

Asserted for every step, as in the stateless test: no 5xx; status, content type and body as the
schema says; every error a problem document; plus Schemathesis' stateful checks (a created
object can be read; a deleted one is gone). And that links were followed and reached real
objects: a run that followed none would prove nothing. Only the links the schema declares are
followed (not Schemathesis' guesses), so this also checks the links integrators read.

Bounded (derandomized; 50 scenarios of up to 10 calls) to stay around twenty seconds.
"""

from collections import Counter

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import Bundle, initialize, multiple
from schemathesis.checks import not_a_server_error
from schemathesis.generation.stateful.state_machine import StepInput
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from creditguard.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from tests.api.test_fuzz_schema import PROBLEM, _load_schema, in_process_requests  # noqa: F401
from tests.conftest import bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    use_after_free,
    ensure_resource_availability,
]
SETTINGS = hypothesis_settings(
    max_examples=50,
    stateful_step_count=10,
    derandomize=True,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
BUYER = {
    "erp_reference": "SF-1",
    "legal_name": "Stateful GmbH",
    "country": "DE",
    "nace_code": "28.41",
    "currency": "EUR",
}
INVOICE = {
    "erp_reference": "SF-INV-1",
    "buyer_erp_reference": "SF-1",
    "issue_date": "2026-01-05",
    "due_date": "2026-02-04",
    "amount": "1200.00",
    "currency": "EUR",
}


def _linked_schema():
    loaded = _load_schema()
    # Only the links the schema declares, not the ones Schemathesis would infer.
    loaded.config.phases.stateful.inference.algorithms = []
    return loaded


schema = _linked_schema()


@pytest.mark.usefixtures("in_process_requests")
def test_call_sequences_that_follow_the_links_answer_as_the_schema_says(api_key_a):
    headers = bearer(api_key_a[1])
    followed: Counter[str] = Counter()  # link targets called with the values the link passed…
    found: Counter[str] = Counter()  # … that answered with a success

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self):
            # Each scenario in a savepoint rolled back at its end: Hypothesis replays scenarios
            # and expects the same answers, so each must start from the same database.
            self.scenario = transaction.atomic()
            self.scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        @initialize(target=Bundle("catch_all"))
        def a_buyer_with_an_invoice(self):
            # Returned steps land in the bundles of their operations' links.
            return multiple(
                self.create("/api/v1/buyers/", BUYER), self.create("/api/v1/invoices/", INVOICE)
            )

        def create(self, path, body):
            step = StepInput.initial(self.schema[path]["POST"].Case(body=body))
            self.recorder.record_case(case=step.case)
            self.control.record_step(step, self.recorder)
            output = self.step(step)
            assert output.response.status_code == 201, output.response.content
            return output

        def before_call(self, case):
            # An Idempotency-Key's Redis lock is released after the request's commit, which the
            # test's transaction never makes: a replayed scenario would meet its own lock (409)
            # and answer differently. The stateless test covers the header.
            if case.headers:
                case.headers.pop(IDEMPOTENCY_HEADER, None)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def step(self, input):
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                label = input.case.operation.label
                followed[label] += 1
                if output.response.status_code < 400:
                    found[label] += 1
            return output

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder
            )
            if response.status_code >= 400:
                content_type = response.headers.get("content-type", [""])[0]
                assert content_type == PROBLEM, (
                    case.as_curl_command(),
                    response.status_code,
                    content_type,
                )

    Workflow.run(settings=SETTINGS)

    print(f"links followed: {followed}\nsucceeded: {found}")  # shown with -s
    assert sum(followed.values()) >= 60, followed
    assert len(found) >= 8, found
    # Calls on an object a link named in the path (its id or reference) that succeeded. How
    # many varies with what the scenarios met before (the database and Redis are shared with
    # the rest of the suite): a handful, never none.
    assert sum(n for label, n in found.items() if "}" in label) >= 3, found


def test_a_create_links_to_the_operations_on_what_it_created_and_those_that_name_it():
    links = schema.raw_schema["paths"]["/api/v1/buyers/"]["post"]["responses"]["201"]["links"]

    assert links["buyers_retrieve"]["parameters"] == {"path.id": "$response.body#/id"}
    assert links["buyers_by_reference_retrieve"]["parameters"] == {
        "path.erp_reference": "$response.body#/erp_reference"
    }
    assert links["invoices_create"]["requestBody"] == {
        "buyer_erp_reference": "$response.body#/erp_reference"
    }
    assert links["invoices_list"]["parameters"] == {
        "query.buyer": "$response.body#/id",
        "query.buyer_erp_reference": "$response.body#/erp_reference",
    }
    assert "buyers_list" not in links


def test_every_operation_on_a_created_object_is_linked_from_its_create():
    paths = schema.raw_schema["paths"]
    unlinked = [
        f"{method.upper()} {path}"
        for path, item in paths.items()
        if path.count("{") == 1 and "{id}" in path
        for method, operation in item.items()
        if (collection := path.split("{id}")[0]) in paths
        and "post" in paths[collection]
        and not any(
            operation["operationId"] in response.get("links", {})
            for response in paths[collection]["post"]["responses"].values()
        )
    ]

    assert unlinked == []
