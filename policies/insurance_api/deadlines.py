"""REST API for the deadline calendar and the per-invoice coverage of the last sweep. Thin over
`policies.insurance.calendar` and `InvoiceCoverage`.

- ``GET /insurance-deadlines/``: one entry per deadline (end of extension, notification, claim)
  of an open invoice under a policy, by date; filters ``policy``, ``buyer``, ``kind`` (repeat
  it for several), ``from``, ``to``; keyset cursor pagination (``next`` link, ``page_size``).
- ``GET /invoice-coverage/``: per invoice, the insured / uninsured / over-cover split and the
  deadlines; filters ``policy``, ``buyer``, ``cover_lost``, ``notified``; cursor pagination.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from creditguard.api.filters import check_year
from creditguard.api.request import request_tenant
from creditguard.dates import today

from ..insurance import deadlines
from ..insurance.calendar import (
    MAX_PAGE_SIZE,
    CalendarCursor,
    CalendarFilter,
    deadline_calendar,
)
from ..models import InvoiceCoverage

TAG = "insurance deadlines"
ID_MAX = 2**63 - 1


class _BoundedDate(serializers.DateField):
    """A date the product accepts (`creditguard.api.filters.check_year`)."""

    def to_internal_value(self, value: Any) -> Any:
        day = super().to_internal_value(value)
        try:
            check_year(day)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return day


class DeadlineQuery(serializers.Serializer):
    policy = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    buyer = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    kind = serializers.ListField(
        child=serializers.ChoiceField(choices=deadlines.DEADLINE_KINDS), required=False
    )
    date_from = _BoundedDate(required=False)
    date_to = _BoundedDate(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
    cursor = serializers.CharField(required=False, max_length=200)

    def to_internal_value(self, data: Any) -> Any:
        # ``from`` and ``to`` are Python keywords; ``kind`` may repeat.
        plain = {key: data.get(key) for key in data if key not in ("from", "to", "kind")}
        if "from" in data:
            plain["date_from"] = data.get("from")
        if "to" in data:
            plain["date_to"] = data.get("to")
        if "kind" in data:
            plain["kind"] = data.getlist("kind") if hasattr(data, "getlist") else data["kind"]
        try:
            return super().to_internal_value(plain)
        except serializers.ValidationError as error:
            detail = error.detail
            if isinstance(detail, dict):
                renamed = {"date_from": "from", "date_to": "to"}
                error.detail = {renamed.get(key, key): value for key, value in detail.items()}
            raise

    def validate_cursor(self, value: str) -> CalendarCursor:
        try:
            return CalendarCursor.decode(value)
        except ValueError:
            raise serializers.ValidationError(_("Invalid cursor.")) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("date_from")
            and attrs.get("date_to")
            and attrs["date_from"] > attrs["date_to"]
        ):
            raise serializers.ValidationError({"to": [_("Must not be before from.")]})
        return attrs


class DeadlineEntryOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="One of " + ", ".join(deadlines.DEADLINE_KINDS) + ".")
    deadline = serializers.DateField()
    days_left = serializers.IntegerField(help_text="Negative once the deadline has passed.")
    invoice = serializers.SerializerMethodField()
    buyer = serializers.SerializerMethodField()
    policy = serializers.IntegerField(source="policy_id")
    due_date = serializers.DateField()
    outstanding = serializers.DecimalField(max_digits=24, decimal_places=2)
    insured = serializers.DecimalField(max_digits=24, decimal_places=2)
    notified = serializers.BooleanField()
    cover_lost = serializers.BooleanField()

    def get_invoice(self, entry: Any) -> dict[str, Any]:
        return {
            "id": entry.invoice_id,
            "number": entry.invoice_number,
            "erp_reference": entry.invoice_erp_reference,
        }

    def get_buyer(self, entry: Any) -> dict[str, Any]:
        return {
            "id": entry.buyer_id,
            "erp_reference": entry.buyer_erp_reference,
            "legal_name": entry.buyer_name,
        }


class DeadlinePageOutput(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = DeadlineEntryOutput(many=True)


class DeadlineListView(APIView):
    @extend_schema(
        summary="Policy deadlines of open invoices, by date",
        tags=[TAG],
        parameters=[
            OpenApiParameter("policy", OpenApiTypes.INT),
            OpenApiParameter("buyer", OpenApiTypes.INT),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                enum=list(deadlines.DEADLINE_KINDS),
                description="Repeat for several kinds; default all.",
            ),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("page_size", OpenApiTypes.INT),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses=DeadlinePageOutput,
    )
    def get(self, request: Request) -> Response:
        query = DeadlineQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        page = deadline_calendar(
            tenant=request_tenant(request),
            as_of=today(),
            filters=CalendarFilter(
                policy_id=values.get("policy"),
                buyer_id=values.get("buyer"),
                kinds=values.get("kind") or deadlines.DEADLINE_KINDS,
                date_from=values.get("date_from"),
                date_to=values.get("date_to"),
            ),
            after=values.get("cursor"),
            page_size=values.get("page_size", 50),
        )
        url = request.build_absolute_uri()
        next_url = (
            replace_query_param(url, "cursor", page.next_cursor.encode())
            if page.next_cursor
            else None
        )
        return Response(
            {
                "next": next_url,
                # Keyset pages go forward; the first page is the URL without a cursor.
                "previous": remove_query_param(url, "cursor") if values.get("cursor") else None,
                "results": DeadlineEntryOutput(page.entries, many=True).data,
            }
        )


BOOLEAN_CHOICES = [("true", "true"), ("false", "false")]


def _strict_boolean() -> django_filters.TypedChoiceFilter:
    # django-filter's BooleanFilter reads an unknown value as "no filter"; this refuses it.
    return django_filters.TypedChoiceFilter(
        choices=BOOLEAN_CHOICES, coerce=lambda value: value == "true"
    )


class CoverageFilter(django_filters.FilterSet):
    policy = django_filters.NumberFilter(field_name="policy_id")
    buyer = django_filters.NumberFilter(field_name="buyer_id")
    cover_lost = _strict_boolean()
    notified = _strict_boolean()

    class Meta:
        model = InvoiceCoverage
        fields = ["policy", "buyer", "cover_lost", "notified"]


class InvoiceCoverageOutput(serializers.ModelSerializer):
    invoice = serializers.SerializerMethodField()
    buyer = serializers.SerializerMethodField()
    policy = serializers.IntegerField(source="policy_id")

    class Meta:
        model = InvoiceCoverage
        fields = [
            "invoice",
            "buyer",
            "policy",
            "as_of",
            "due_date",
            "outstanding",
            "insured",
            "uninsured",
            "over_cover",
            "disputed",
            "notified",
            "cover_lost",
            "extension_end",
            "notify_by",
            "earliest_claim",
            "claim_by",
        ]

    def get_invoice(self, row: InvoiceCoverage) -> dict[str, Any]:
        return {
            "id": row.invoice_id,
            "number": row.invoice.number,
            "erp_reference": row.invoice.erp_reference,
        }

    def get_buyer(self, row: InvoiceCoverage) -> dict[str, Any]:
        return {"id": row.buyer_id, "erp_reference": row.buyer.erp_reference}


class InvoiceCoverageListView(generics.ListAPIView):
    """Amounts in the tenant's base currency, as of the last coverage sweep (``as_of`` is the
    day a row's figures last changed)."""

    serializer_class = InvoiceCoverageOutput
    filterset_class = CoverageFilter

    @extend_schema(summary="Insured, uninsured and over-cover parts per open invoice", tags=[TAG])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[InvoiceCoverage]:
        return InvoiceCoverage.objects.select_related("invoice", "buyer")
