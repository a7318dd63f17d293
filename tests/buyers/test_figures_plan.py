"""Bulk loads leave the planner correct: a new tenant loaded through the bulk path into a large
invoice table (far below autovacuum's 10% threshold) is re-analysed, so the planner's estimate
for the tenant's invoices is its real row count, not 1."""

import json

import pytest
from django.core.cache import cache
from django.db import connection

from buyers import tasks
from buyers.bulk import bulk_upsert
from buyers.figures import analyze_tables
from tests.conftest import active
from tests.factories import BuyerFactory, TenantFactory

pytestmark = pytest.mark.django_db

LARGE = 60_000
SMALL_BUYERS = 40
SMALL_INVOICES = 2_000  # 3% of the large tenant's invoices


def estimated_invoices(tenant_id: int) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT * FROM buyers_invoice WHERE tenant_id = %s", [tenant_id]
        )
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"]


def test_a_tenant_loaded_in_bulk_gets_a_correct_row_estimate(
    sent_tasks, django_capture_on_commit_callbacks
):
    cache.delete_many([f"figures:analyze:{t}" for t in ("buyers_buyer", "buyers_invoice")])
    large = TenantFactory(slug="large")
    with active(large), connection.cursor() as cursor:
        buyer = BuyerFactory(tenant=large)
        cursor.execute(
            "INSERT INTO buyers_invoice (tenant_id, buyer_id, erp_reference, number, issue_date,"
            " due_date, amount, currency, paid_amount, status, updated_at)"
            " SELECT %s, %s, 'L-' || n, '', DATE '2026-01-01', DATE '2026-02-01', 100, 'EUR',"
            " 0, 'open', now() FROM generate_series(1, %s) n",
            [large.pk, buyer.pk, LARGE],
        )
    analyze_tables(["buyers_invoice"])  # the runtime role, through the owner's function

    small = TenantFactory(slug="small")
    with active(small), django_capture_on_commit_callbacks(execute=True):
        bulk_upsert(
            tenant=small,
            actor=None,
            kind="buyers",
            records=[
                {
                    "erp_reference": f"S-{b}",
                    "legal_name": f"Small buyer {b}",
                    "country": "DE",
                    "nace_code": "46.69",
                    "currency": "EUR",
                }
                for b in range(SMALL_BUYERS)
            ],
        )
        bulk_upsert(
            tenant=small,
            actor=None,
            kind="invoices",
            records=[
                {
                    "erp_reference": f"SI-{n}",
                    "buyer_erp_reference": f"S-{n % SMALL_BUYERS}",
                    "issue_date": "2026-10-01",
                    "due_date": "2026-11-01",
                    "amount": "250.00",
                    "currency": "EUR",
                }
                for n in range(SMALL_INVOICES)
            ],
        )
    with active(small):
        before = estimated_invoices(small.pk)
    analyses = [task.args[0] for task in sent_tasks if task.name == "buyers.analyze_tables"]
    assert ["buyers_invoice"] in analyses
    tasks.analyze_tables(["buyers_invoice"])
    with active(small):
        after = estimated_invoices(small.pk)
    assert before < SMALL_INVOICES / 10  # what the planner believed before: next to nothing
    assert SMALL_INVOICES / 2 <= after <= SMALL_INVOICES * 2, after
