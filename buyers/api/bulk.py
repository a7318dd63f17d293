"""Bulk upsert endpoints for ERP integration: POST {"records": [...]} to `<resource>/bulk`.

Thin over `buyers.bulk.bulk_upsert`. The body is read and parsed here with orjson rather than
through DRF's parser and a serializer per record: a batch of 10,000 invoices is a few MB and
the whole request has to stay a fraction of a second. Answers are rendered with orjson too.
Unsafe retries are covered by `Idempotency-Key` (see `creditguard.api.idempotency`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from creditguard.api.idempotency import (
    SCHEMA_PARAMETER,
    json_response,
    respond_idempotently,
)
from creditguard.api.problems import PROBLEM_CONTENT_TYPE, problem
from creditguard.api.request import request_actor, request_tenant

from ..bulk import BulkValidationError, bulk_upsert
from .serializers import BuyerInput, InvoiceInput, PaymentInput, StatementInput

MAX_RECORDS = 10_000
# Every error of a full batch is listed (a 10,000-record batch rarely has more); past this the
# response says how many there were, and `error_summary` still counts them all by message.
MAX_LISTED_ERRORS = 10_000
# 10,000 records of a few hundred bytes each, with room to spare; Django's own
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is for form posts and would refuse a full batch.
MAX_BODY_BYTES = 64 * 1024 * 1024


class BulkUpsertView(APIView):
    """POST a batch of records; all are written or none (400 lists every bad record)."""

    kind = ""

    def post(self, request: Request) -> HttpResponse:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            return json_response(413, _too_large(_("The request body is too large.")))
        body = request._request.read()
        tenant = request_tenant(request)
        return respond_idempotently(
            request,
            tenant=tenant,
            body=body,
            handler=lambda: self.upsert(request, body),
        )

    def upsert(self, request: Request, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return 400, problem(
                400, _("Malformed JSON"), _("The body is not valid JSON: %s") % error
            )
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or not records:
            return 400, problem(
                400,
                _("Invalid input"),
                _("One or more fields are invalid."),
                errors=[{"field": "records", "message": _("Send a non-empty list of records.")}],
            )
        if len(records) > MAX_RECORDS:
            return 413, _too_large(
                _("At most %(max)d records per request; this one has %(count)d.")
                % {"max": MAX_RECORDS, "count": len(records)}
            )
        try:
            result = bulk_upsert(
                tenant=request_tenant(request),
                actor=request_actor(request),
                kind=self.kind,
                records=records,
            )
        except BulkValidationError as invalid:
            listed = invalid.errors[:MAX_LISTED_ERRORS]
            detail = _("%(count)d invalid records; nothing was written.") % {
                "count": len({error.index for error in invalid.errors})
            }
            if len(invalid.errors) > len(listed):
                detail += " " + _("The first %(listed)d of %(total)d errors are listed.") % {
                    "listed": len(listed),
                    "total": len(invalid.errors),
                }
            return 400, problem(
                400,
                _("Invalid records"),
                detail,
                error_count=len(invalid.errors),
                error_cap=MAX_LISTED_ERRORS,
                error_summary=dict(
                    Counter(error.message for error in invalid.errors).most_common()
                ),
                errors=[
                    {"index": error.index, "field": error.field, "message": error.message}
                    for error in listed
                ],
            )
        return 200, {
            "kind": result.kind,
            "created": result.created,
            "updated": result.updated,
            "count": result.count,
        }


def _too_large(detail: str) -> dict[str, Any]:
    return problem(413, _("Payload too large"), detail)


# --- OpenAPI ------------------------------------------------------------------------------------
# Documentation only: the records are validated by buyers.records, not by these serializers. A
# record has the shape of the single-object endpoint's input (`buyers.api.serializers`).

BULK_RESULT = inline_serializer(
    "BulkUpsertResult",
    {
        "kind": serializers.CharField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "count": serializers.IntegerField(),
    },
)
BULK_PROBLEM = inline_serializer(
    "BulkProblem",
    {
        "type": serializers.URLField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "error_count": serializers.IntegerField(required=False),
        "error_cap": serializers.IntegerField(
            required=False, help_text="At most this many errors are listed."
        ),
        "error_summary": serializers.DictField(
            required=False,
            child=serializers.IntegerField(),
            help_text="Every error's message with how many times it occurs, most frequent first.",
        ),
        "errors": serializers.ListField(
            required=False,
            child=inline_serializer(
                "BulkRecordError",
                {
                    "index": serializers.IntegerField(required=False),
                    "field": serializers.CharField(),
                    "message": serializers.CharField(),
                },
            ),
        ),
    },
)


def _bulk_schema(*, kind: str, tag: str, record: serializers.Serializer, example: dict) -> Any:
    return extend_schema(
        operation_id=f"{kind}_bulk_upsert",
        summary=f"Create or update up to {MAX_RECORDS:,} {kind.replace('_', ' ')} at once",
        description=(
            "Upsert by natural key, all or nothing: when any record is invalid nothing is "
            "written and the 400 problem lists every error as {index, field, message}, up to "
            f"{MAX_LISTED_ERRORS:,} errors per request (`error_cap`; `error_count` has the "
            "total), plus `error_summary`: each message with how often it occurs."
        ),
        tags=[tag],
        parameters=[SCHEMA_PARAMETER],
        request=inline_serializer(
            f"Bulk{kind.title().replace('_', '')}",
            {"records": serializers.ListField(child=record, max_length=MAX_RECORDS)},
        ),
        responses={
            200: BULK_RESULT,
            **{
                (status, PROBLEM_CONTENT_TYPE): BULK_PROBLEM
                for status in (400, 401, 403, 409, 413, 422, 429)
            },
        },
        examples=[
            OpenApiExample(f"{tag.capitalize()}", value={"records": [example]}, request_only=True),
            OpenApiExample(
                "Written",
                value={"kind": kind, "created": 1, "updated": 0, "count": 1},
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Invalid records",
                value=problem(
                    400,
                    "Invalid records",
                    "1 invalid records; nothing was written.",
                    error_count=1,
                    error_cap=MAX_LISTED_ERRORS,
                    error_summary={"Unknown buyer: no buyer has this ERP reference.": 1},
                    errors=[
                        {
                            "index": 0,
                            "field": "buyer_erp_reference",
                            "message": "Unknown buyer: no buyer has this ERP reference.",
                        }
                    ],
                ),
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )


class BuyerBulkView(BulkUpsertView):
    kind = "buyers"

    @_bulk_schema(
        kind="buyers",
        tag="buyers",
        record=BuyerInput(),
        example={
            "erp_reference": "C-10042",
            "legal_name": "Nordlicht Maschinenbau GmbH",
            "vat_number": "DE811234567",
            "country": "DE",
            "city": "Hamburg",
            "nace_code": "28.41",
            "parent_erp_reference": "C-10000",
            "currency": "EUR",
            "payment_terms_days": 60,
        },
    )
    def post(self, request: Request) -> HttpResponse:
        return super().post(request)


class InvoiceBulkView(BulkUpsertView):
    kind = "invoices"

    @_bulk_schema(
        kind="invoices",
        tag="invoices",
        record=InvoiceInput(),
        example={
            "erp_reference": "INV-2026-000931",
            "buyer_erp_reference": "C-10042",
            "number": "2026-000931",
            "issue_date": "2026-10-01",
            "due_date": "2026-11-30",
            "amount": "48250.00",
            "currency": "EUR",
            "paid_amount": "10000.00",
        },
    )
    def post(self, request: Request) -> HttpResponse:
        return super().post(request)


class PaymentBulkView(BulkUpsertView):
    kind = "payments"

    @_bulk_schema(
        kind="payments",
        tag="payments",
        record=PaymentInput(),
        example={
            "erp_reference": "PAY-2026-0412",
            "buyer_erp_reference": "C-10042",
            "received_date": "2026-11-28",
            "amount": "48250.00",
            "currency": "EUR",
            "allocations": [{"invoice_erp_reference": "INV-2026-000931", "amount": "48250.00"}],
        },
    )
    def post(self, request: Request) -> HttpResponse:
        return super().post(request)


class FinancialStatementBulkView(BulkUpsertView):
    kind = "financial_statements"

    @_bulk_schema(
        kind="financial_statements",
        tag="financial statements",
        record=StatementInput(),
        example={
            "buyer_erp_reference": "C-10042",
            "period_end": "2025-12-31",
            "period_months": 12,
            "currency": "EUR",
            "revenue": "84200000.00",
            "ebit": "6100000.00",
            "net_income": "4050000.00",
            "total_assets": "61000000.00",
            "current_assets": "29500000.00",
            "current_liabilities": "17800000.00",
            "total_liabilities": "36900000.00",
            "retained_earnings": "15200000.00",
            "equity": "24100000.00",
            "audited": True,
            "source": "Bundesanzeiger",
        },
    )
    def post(self, request: Request) -> HttpResponse:
        return super().post(request)
