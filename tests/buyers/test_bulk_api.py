"""Bulk upsert endpoints: POST {"records": [...]} to /api/v1/<resource>/bulk."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import orjson
import pytest
import requests
from django.utils import timezone

from buyers.models import Buyer, FinancialStatement, Invoice, Payment, PaymentAllocation
from creditguard.api.models import IdempotencyRecord
from creditguard.audit.models import AuditEvent
from creditguard.tenancy.context import tenant_context
from tests.buyers.statements import FIGURES
from tests.conftest import active
from tests.factories import (
    ApiKeyFactory,
    BuyerFactory,
    InvoiceFactory,
    MembershipFactory,
    TenantFactory,
)

PROBLEM = "application/problem+json"


def invoice(n, **fields):
    return {
        "erp_reference": f"INV-{n}",
        "buyer_erp_reference": "C-1",
        "number": f"2026-{n}",
        "issue_date": "2026-01-10",
        "due_date": "2026-02-09",
        "amount": "1000.00",
        "currency": "EUR",
        **fields,
    }


def buyer_record(reference, **fields):
    return {
        "erp_reference": reference,
        "legal_name": f"Buyer {reference} GmbH",
        "country": "DE",
        "nace_code": "46.69",
        "currency": "EUR",
        **fields,
    }


def statement(**fields):
    return {
        "buyer_erp_reference": "C-1",
        "period_end": "2025-12-31",
        "currency": "EUR",
        **FIGURES,
        **fields,
    }


def post(client, resource, records, **headers):
    body = orjson.dumps({"records": records}) if not isinstance(records, bytes) else records
    return client.post(
        f"/api/v1/{resource}/bulk", body, content_type="application/json", headers=headers
    )


@pytest.fixture
def api(client, api_key_a):
    _key, raw_key = api_key_a
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
    return client


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the idempotency lock release) as a committed request would."""

    def run(callable_, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return callable_(*args, **kwargs)

    return run


# --- Upserts ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_invoices_then_updates_them_and_counts_both(api, buyer, tenant_a):
    first = post(api, "invoices", [invoice(1), invoice(2, paid_amount="250.50"), invoice(3)])

    assert first.status_code == 200, first.content
    assert first.json() == {"kind": "invoices", "created": 3, "updated": 0, "count": 3}

    second = post(api, "invoices", [invoice(2, paid_amount="1000"), invoice(3), invoice(4)])

    assert second.json() == {"kind": "invoices", "created": 1, "updated": 2, "count": 3}
    with active(tenant_a):
        rows = {i.erp_reference: i for i in Invoice.objects.all()}
        assert sorted(rows) == ["INV-1", "INV-2", "INV-3", "INV-4"]
        assert {i.buyer_id for i in rows.values()} == {buyer.pk}
        paid = rows["INV-2"]
        assert (paid.paid_amount, paid.status, paid.paid_date) == (Decimal("1000"), "paid", None)
        assert (rows["INV-1"].status, rows["INV-1"].due_date) == ("open", date(2026, 2, 9))
        events = AuditEvent.objects.filter(action="invoices.bulk_upsert").order_by("id")
        assert [event.after for event in events] == [
            {"created": 3, "updated": 0, "count": 3},
            {"created": 1, "updated": 2, "count": 3},
        ]


@pytest.mark.django_db
def test_a_push_without_status_keeps_a_dispute_and_an_explicit_status_replaces_it(
    api, buyer, tenant_a
):
    with active(tenant_a):
        InvoiceFactory(tenant=tenant_a, buyer=buyer, erp_reference="INV-1", status="disputed")
        InvoiceFactory(tenant=tenant_a, buyer=buyer, erp_reference="INV-2", status="disputed")

    post(api, "invoices", [invoice(1, paid_amount="100"), invoice(2, status="open")])

    with active(tenant_a):
        statuses = dict(Invoice.objects.values_list("erp_reference", "status"))
    assert statuses == {"INV-1": "disputed", "INV-2": "open"}


@pytest.mark.django_db
def test_it_upserts_buyers_with_parents_from_the_batch_or_already_stored(api, buyer, tenant_a):
    response = post(
        api,
        "buyers",
        [
            buyer_record("C-10", parent_erp_reference="C-11", payment_terms_days=60),
            buyer_record("C-11", parent_erp_reference="C-1", country="FR", nace_code="28.41"),
            buyer_record("C-1", legal_name="Nordlicht Holding GmbH"),
        ],
    )

    assert response.json() == {"kind": "buyers", "created": 2, "updated": 1, "count": 3}
    with active(tenant_a):
        buyers = {b.erp_reference: b for b in Buyer.objects.select_related("parent")}
        assert buyers["C-10"].parent.erp_reference == "C-11"
        assert buyers["C-11"].parent_id == buyer.pk
        assert (buyers["C-11"].country_id, buyers["C-11"].nace_section) == ("FR", "C")
        assert buyers["C-10"].payment_terms_days == 60
        assert buyers["C-1"].legal_name == "Nordlicht Holding GmbH"

    post(api, "buyers", [buyer_record("C-10")])

    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="C-10").parent_id is None


@pytest.mark.django_db
def test_it_refuses_a_parent_that_would_make_the_group_circular(api, buyer, tenant_a):
    post(api, "buyers", [buyer_record("C-2", parent_erp_reference="C-1")])

    response = post(api, "buyers", [buyer_record("C-1", parent_erp_reference="C-2")])

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (0, "parent_erp_reference")
    ]
    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="C-1").parent_id is None


@pytest.mark.django_db
def test_an_unknown_parent_is_an_error(api, buyer):
    response = post(api, "buyers", [buyer_record("C-2", parent_erp_reference="C-404")])

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 0,
            "field": "parent_erp_reference",
            "message": "Unknown parent: no buyer has this ERP reference.",
        }
    ]


@pytest.mark.django_db
def test_it_upserts_financial_statements_by_buyer_and_period(api, buyer, tenant_a):
    first = post(api, "financial-statements", [statement(), statement(period_end="2024-12-31")])
    second = post(api, "financial-statements", [statement(revenue="12000000", audited=True)])

    assert first.json()["created"] == 2
    assert second.json() == {
        "kind": "financial_statements",
        "created": 0,
        "updated": 1,
        "count": 1,
    }
    with active(tenant_a):
        latest = FinancialStatement.objects.get(period_end=date(2025, 12, 31))
        assert (latest.revenue, latest.audited, latest.buyer_id) == (
            Decimal("12000000"),
            True,
            buyer.pk,
        )


# --- Payments and paid amounts ------------------------------------------------------------------


def payment(reference, amount, allocations, **fields):
    return {
        "erp_reference": reference,
        "buyer_erp_reference": "C-1",
        "received_date": "2026-02-01",
        "amount": amount,
        "currency": "EUR",
        "allocations": [
            {"invoice_erp_reference": ref, "amount": value} for ref, value in allocations
        ],
        **fields,
    }


@pytest.mark.django_db
def test_payments_set_the_paid_amount_of_their_invoices_to_the_sum_of_allocations(
    api, buyer, tenant_a
):
    post(api, "invoices", [invoice(1), invoice(2), invoice(3, status="disputed")])

    response = post(
        api,
        "payments",
        [
            payment("PAY-1", "1300", [("INV-1", "1000"), ("INV-2", "300")]),
            payment(
                "PAY-2", "500", [("INV-2", "200"), ("INV-3", "100")], received_date="2026-02-05"
            ),
        ],
    )

    assert response.json() == {"kind": "payments", "created": 2, "updated": 0, "count": 2}
    with active(tenant_a):
        invoices = {i.erp_reference: i for i in Invoice.objects.all()}
        assert [
            (invoices[ref].paid_amount, invoices[ref].status, invoices[ref].paid_date)
            for ref in ("INV-1", "INV-2", "INV-3")
        ] == [
            (Decimal("1000"), "paid", date(2026, 2, 1)),
            (Decimal("500"), "partially_paid", None),
            (Decimal("100"), "disputed", None),
        ]

    # Pushed again, PAY-1 no longer pays INV-1: its allocations are replaced.
    again = post(api, "payments", [payment("PAY-1", "1300", [("INV-2", "800")])])

    assert again.json()["updated"] == 1
    with active(tenant_a):
        invoices = {i.erp_reference: i for i in Invoice.objects.all()}
        assert (invoices["INV-1"].paid_amount, invoices["INV-1"].status) == (Decimal("0"), "open")
        assert (invoices["INV-2"].paid_amount, invoices["INV-2"].paid_date) == (
            Decimal("1000"),
            date(2026, 2, 5),
        )
        assert PaymentAllocation.objects.count() == 3


@pytest.mark.django_db
def test_allocations_beyond_an_invoice_amount_are_refused_and_nothing_is_written(
    api, buyer, tenant_a
):
    post(api, "invoices", [invoice(1)])
    post(api, "payments", [payment("PAY-1", "700", [("INV-1", "700")])])

    response = post(api, "payments", [payment("PAY-2", "400", [("INV-1", "400")])])

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 0,
            "field": "allocations[0].amount",
            "message": "The allocations to this invoice would total 1100.00, more than its "
            "amount 1000.00.",
        }
    ]
    with active(tenant_a):
        assert list(Payment.objects.values_list("erp_reference", flat=True)) == ["PAY-1"]
        assert Invoice.objects.get().paid_amount == Decimal("700")


@pytest.mark.django_db
def test_allocations_must_name_an_invoice_of_the_payments_buyer_and_currency(api, buyer, tenant_a):
    with active(tenant_a):
        other = BuyerFactory(tenant=tenant_a, erp_reference="C-2")
        InvoiceFactory(tenant=tenant_a, buyer=other, erp_reference="INV-OTHER")
        InvoiceFactory(tenant=tenant_a, buyer=buyer, erp_reference="INV-USD", currency="USD")

    response = post(
        api,
        "payments",
        [payment("PAY-1", "300", [("INV-OTHER", "100"), ("INV-USD", "100"), ("INV-404", "100")])],
    )

    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("allocations[0].invoice_erp_reference", "This invoice belongs to another buyer."),
        (
            "allocations[1].invoice_erp_reference",
            "This invoice is in another currency than the payment.",
        ),
        (
            "allocations[2].invoice_erp_reference",
            "Unknown invoice: no invoice has this ERP reference.",
        ),
    ]


# --- Rejections ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lists_every_bad_record_and_writes_nothing(api, buyer, tenant_a):
    records = [
        invoice(1, amount="-5"),
        invoice(2),
        invoice(3, buyer_erp_reference="C-404"),
        invoice(4, due_date="2026-01-01", currency="EURO"),
        "INV-5",
    ]

    response = post(api, "invoices", records)

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["error_count"]) == (400, 4)
    # Record 3's due date is checked once its fields are valid; record 1 is fine.
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (0, "amount"),
        (2, "buyer_erp_reference"),
        (3, "currency"),
        (4, "non_field_errors"),
    ]
    assert body["detail"] == "4 invalid records; nothing was written."
    with active(tenant_a):
        assert Invoice.objects.count() == 0
        assert not AuditEvent.objects.filter(action="invoices.bulk_upsert").exists()


@pytest.mark.django_db
def test_nace_codes_missing_from_the_official_table_are_refused(api, buyer, tenant_a):
    records = [
        buyer_record("C-2", nace_code="99.99"),
        buyer_record("C-3", nace_code="46.99"),
        buyer_record("C-4", nace_code="04"),
        buyer_record("C-5", nace_code="46.69"),
        buyer_record("C-6", nace_code="46.6"),
        buyer_record("C-7", nace_code="46"),
    ]

    response = post(api, "buyers", records)

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (0, "nace_code"),
        (1, "nace_code"),
        (2, "nace_code"),
    ]
    with active(tenant_a):
        assert list(Buyer.objects.values_list("erp_reference", flat=True)) == ["C-1"]


@pytest.mark.django_db
def test_nace_classes_groups_and_divisions_are_accepted(api, buyer, tenant_a):
    records = [
        buyer_record("C-5", nace_code="46.69"),
        buyer_record("C-6", nace_code="46.6"),
        buyer_record("C-7", nace_code="46"),
    ]

    response = post(api, "buyers", records)

    assert response.status_code == 200, response.content
    with active(tenant_a):
        stored = Buyer.objects.filter(erp_reference__in=["C-5", "C-6", "C-7"])
        assert sorted(stored.values_list("nace_code", "nace_section")) == [
            ("46", "G"),
            ("46.6", "G"),
            ("46.69", "G"),
        ]


@pytest.mark.django_db
def test_an_unknown_buyer_reference_is_reported_on_each_record(api, buyer):
    response = post(api, "invoices", [invoice(1, buyer_erp_reference="C-9"), invoice(2)])

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 0,
            "field": "buyer_erp_reference",
            "message": "Unknown buyer: no buyer has this ERP reference.",
        }
    ]


@pytest.mark.django_db
def test_more_than_10000_records_is_413(api, buyer):
    response = post(api, "invoices", [{}] * 10_001)

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 413


@pytest.mark.django_db
def test_a_full_batch_of_10000_bigger_than_djangos_upload_limit_is_accepted(
    api, buyer, tenant_a, settings
):
    records = [invoice(n, erp_reference=f"INV-{n:060d}", number=f"{n:064d}") for n in range(10_000)]
    body = orjson.dumps({"records": records})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = post(api, "invoices", body)

    assert response.json()["created"] == 10_000
    with active(tenant_a):
        assert Invoice.objects.count() == 10_000


@pytest.mark.django_db
def test_the_error_list_is_capped_at_10000_and_says_how_many_there_are(api, buyer):
    # Issue 13: the cap was 1,000 (an all-or-nothing load took several round trips); now
    # 10,000, stated in the body, with every error counted by message.
    records = [invoice(n, amount="x", due_date="x") for n in range(5_001)]
    response = post(api, "invoices", records)

    body = response.json()
    assert (len(body["errors"]), body["error_count"], body["error_cap"]) == (
        10_000,
        10_002,
        10_000,
    )
    assert body["detail"] == (
        "5001 invalid records; nothing was written. The first 10000 of 10002 errors are listed."
    )
    assert sum(body["error_summary"].values()) == 10_002
    assert len(body["error_summary"]) == 2


@pytest.mark.django_db
def test_malformed_json_is_a_400_problem(api, buyer):
    response = post(api, "invoices", b'{"records": [{"erp_reference": "INV-1",]}')

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["title"] == "Malformed JSON"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b'{"records": []}', b'{"records": {}}', b"[]", b'{"rows": [{}]}'])
def test_records_must_be_a_non_empty_list(api, buyer, body):
    response = post(api, "invoices", body)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "records", "message": "Send a non-empty list of records."}
    ]


@pytest.mark.django_db
def test_a_read_scope_key_is_refused(client, tenant_a, buyer):
    with active(tenant_a):
        _key, raw_key = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")

    response = client.post(
        "/api/v1/invoices/bulk",
        orjson.dumps({"records": [invoice(1)]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw_key}"},
    )

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_without_credentials_it_is_401(client):
    assert post(client, "invoices", [invoice(1)]).status_code == 401


@pytest.mark.django_db
def test_a_member_who_may_edit_receivables_can_push_and_a_viewer_cannot(
    client, teammate, tenant_a, buyer
):
    client.force_login(teammate)
    assert post(client, "invoices", [invoice(1)]).status_code == 200

    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    client.force_login(viewer)
    assert post(client, "invoices", [invoice(2)]).status_code == 403


# --- Tenancy ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_outsider_cannot_reference_or_touch_another_tenants_buyers(
    client, api_key_b, buyer, tenant_a, tenant_b
):
    _key, raw_key = api_key_b
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"

    response = post(client, "invoices", [invoice(1)])  # C-1 is tenant A's buyer

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "Unknown buyer: no buyer has this ERP reference."
    )

    renamed = post(client, "buyers", [buyer_record("C-1", legal_name="Hijacked")])

    assert renamed.json()["created"] == 1  # B's own C-1, a different buyer
    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="C-1").legal_name == "Nordlicht GmbH"
        assert Invoice.objects.count() == 0
    with active(tenant_b):
        assert Buyer.objects.get(erp_reference="C-1").legal_name == "Hijacked"


# --- Idempotency-Key ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_response_and_write_once(
    api, buyer, tenant_a, on_commit
):
    first = on_commit(post, api, "invoices", [invoice(1)], **{"Idempotency-Key": "k-1"})
    replay = on_commit(post, api, "invoices", [invoice(1)], **{"Idempotency-Key": "k-1"})

    assert (first.status_code, replay.status_code) == (200, 200)
    assert (
        replay.json()
        == first.json()
        == {
            "kind": "invoices",
            "created": 1,
            "updated": 0,
            "count": 1,
        }
    )
    assert replay["Idempotent-Replayed"] == "true"
    with active(tenant_a):
        assert AuditEvent.objects.filter(action="invoices.bulk_upsert").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422(api, buyer, on_commit):
    on_commit(post, api, "invoices", [invoice(1)], **{"Idempotency-Key": "k-1"})

    response = on_commit(post, api, "invoices", [invoice(2)], **{"Idempotency-Key": "k-1"})

    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_422(api, buyer, on_commit):
    on_commit(post, api, "invoices", [invoice(1)], **{"Idempotency-Key": "k-1"})

    assert (
        on_commit(post, api, "buyers", [invoice(1)], **{"Idempotency-Key": "k-1"}).status_code
        == 422
    )


@pytest.mark.django_db
def test_a_validation_error_is_stored_and_replayed_too(api, buyer, tenant_a, on_commit):
    records = [invoice(1, buyer_erp_reference="C-2")]
    first = on_commit(post, api, "invoices", records, **{"Idempotency-Key": "k-400"})
    with active(tenant_a):
        BuyerFactory(tenant=tenant_a, erp_reference="C-2")

    replay = on_commit(post, api, "invoices", records, **{"Idempotency-Key": "k-400"})

    assert (first.status_code, replay.status_code) == (400, 400)
    assert replay.json() == first.json()
    assert replay["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_a_key_still_locked_by_a_running_request_is_409(api, buyer, tenant_a):
    # Without on_commit callbacks the first request's lock is never released, as if it ran on.
    post(api, "invoices", [invoice(1)], **{"Idempotency-Key": "k-busy"})

    response = post(api, "invoices", [invoice(1)], **{"Idempotency-Key": "k-busy"})

    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == "1"


@pytest.mark.django_db
def test_keys_are_per_tenant(api, client, buyer, api_key_b, tenant_b, on_commit):
    on_commit(post, api, "invoices", [invoice(1)], **{"Idempotency-Key": "shared"})
    with active(tenant_b):
        BuyerFactory(tenant=tenant_b, erp_reference="C-1")
    _key, raw_key = api_key_b

    response = on_commit(
        post,
        client,
        "invoices",
        [invoice(1, amount="5")],
        **{"Idempotency-Key": "shared", "Authorization": f"Bearer {raw_key}"},
    )

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response


@pytest.mark.django_db
def test_a_record_older_than_24_hours_is_forgotten(api, buyer, tenant_a, on_commit):
    on_commit(post, api, "invoices", [invoice(1)], **{"Idempotency-Key": "k-old"})
    with active(tenant_a):
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    response = on_commit(post, api, "invoices", [invoice(2)], **{"Idempotency-Key": "k-old"})

    assert response.status_code == 200
    with active(tenant_a):
        assert IdempotencyRecord.objects.count() == 1  # the old one was deleted


@pytest.mark.django_db
def test_an_invalid_key_is_a_400(api, buyer):
    response = post(api, "invoices", [invoice(1)], **{"Idempotency-Key": "x" * 256})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.fixture
def live_tenant(transactional_db):
    """A committed tenant with a write key and buyer C-1, for requests over real HTTP."""
    tenant = TenantFactory(slug="live-a")
    with tenant_context(tenant):
        _key, raw_key = ApiKeyFactory.create_with_raw_key(tenant=tenant, scope="write")
        BuyerFactory(tenant=tenant, erp_reference="C-1")
    return tenant, raw_key


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_identical_requests_write_each_row_once(live_server, live_tenant):
    tenant, raw_key = live_tenant
    body = orjson.dumps({"records": [invoice(n) for n in range(20)]})
    headers = {
        "Authorization": f"Bearer {raw_key}",
        "Content-Type": "application/json",
        "Idempotency-Key": "concurrent-1",
    }

    def send(_n):
        response = requests.post(
            f"{live_server.url}/api/v1/invoices/bulk", data=body, headers=headers, timeout=60
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(send, range(50)))

    statuses = [status for status, _body in answers]
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
    created = {body["created"] for status, body in answers if status == 200}
    assert created == {20}  # the replays repeat the first answer
    with tenant_context(tenant):
        assert Invoice.objects.count() == 20
        assert AuditEvent.objects.filter(action="invoices.bulk_upsert").count() == 1
        assert IdempotencyRecord.objects.count() == 1
