"""REST API for the buyer credit file: one view per resource operation set, thin over services."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creditguard.api.request import request_actor, request_tenant

from .. import selectors, services
from ..models import Buyer, Dispute, FinancialStatement, Instalment, Invoice, Payment, PaymentPlan
from ..records import buyer_record, invoice_record, parse_record, statement_record
from . import filters, serializers

BUYER_EXAMPLE = {
    "erp_reference": "C-10042",
    "legal_name": "Nordlicht Maschinenbau GmbH",
    "registration_number": "HRB 123456",
    "vat_number": "DE811234567",
    "country": "DE",
    "city": "Hamburg",
    "nace_code": "28.41",
    "currency": "EUR",
    "payment_terms_days": 60,
}
INVOICE_EXAMPLE = {
    "erp_reference": "INV-2026-000931",
    "buyer_erp_reference": "C-10042",
    "number": "2026-000931",
    "issue_date": "2026-10-01",
    "due_date": "2026-11-30",
    "amount": "48250.00",
    "currency": "EUR",
    "paid_amount": "0.00",
}


class CreateMixin:
    """POST → service(data=request.data) → 201 with the output serializer."""

    output_serializer: type

    def created(self, instance: object) -> Response:
        return Response(self.output_serializer(instance).data, status=status.HTTP_201_CREATED)


# --- Buyers ----------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List buyers", tags=["buyers"]),
    post=extend_schema(
        summary="Create a buyer",
        tags=["buyers"],
        request=serializers.BuyerInput,
        responses={201: serializers.BuyerOutput},
        examples=[OpenApiExample("Buyer", value=BUYER_EXAMPLE, request_only=True)],
    ),
)
class BuyerListCreateView(CreateMixin, generics.ListAPIView):
    serializer_class = output_serializer = serializers.BuyerOutput
    filterset_class = filters.BuyerFilter

    def get_queryset(self) -> QuerySet:
        return Buyer.objects.select_related("parent")

    def post(self, request: Request) -> Response:
        buyer = services.buyer_create(
            tenant=request_tenant(request),
            actor=request_actor(request),
            record=parse_record("buyers", request.data),
        )
        return self.created(buyer)


@extend_schema_view(
    get=extend_schema(summary="Get a buyer", tags=["buyers"]),
    patch=extend_schema(
        summary="Update a buyer (any subset of fields)",
        tags=["buyers"],
        request=serializers.BuyerInput(partial=True),
        examples=[OpenApiExample("New terms", value={"payment_terms_days": 45}, request_only=True)],
    ),
    delete=extend_schema(
        summary="Delete a buyer without receivables (others: set status closed)", tags=["buyers"]
    ),
)
class BuyerDetailView(generics.GenericAPIView):
    serializer_class = serializers.BuyerOutput

    def get_queryset(self) -> QuerySet:
        return Buyer.objects.select_related("parent")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request: Request, pk: int) -> Response:
        buyer = self.get_object()
        buyer = services.buyer_update(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=buyer,
            record=parse_record("buyers", {**buyer_record(buyer), **request.data}),
        )
        return Response(self.get_serializer(buyer).data)

    def delete(self, request: Request, pk: int) -> Response:
        services.buyer_delete(
            tenant=request_tenant(request), actor=request_actor(request), buyer=self.get_object()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(summary="Get a buyer by ERP reference", tags=["buyers"]),
    put=extend_schema(
        summary="Create or update a buyer by ERP reference (upsert)",
        tags=["buyers"],
        request=serializers.BuyerInput,
        responses={200: serializers.BuyerOutput, 201: serializers.BuyerOutput},
        examples=[OpenApiExample("Buyer", value=BUYER_EXAMPLE, request_only=True)],
    ),
)
class BuyerByReferenceView(generics.GenericAPIView):
    serializer_class = serializers.BuyerOutput
    # For OPTIONS (DRF's metadata looks the object up like the PUT would).
    queryset = Buyer.objects.select_related("parent")
    lookup_field = lookup_url_kwarg = "erp_reference"

    def get(self, request: Request, erp_reference: str) -> Response:
        buyer = get_object_or_404(
            Buyer.objects.select_related("parent"), erp_reference=erp_reference
        )
        return Response(self.get_serializer(buyer).data)

    def put(self, request: Request, erp_reference: str) -> Response:
        current = Buyer.objects.select_related("parent").filter(erp_reference=erp_reference)
        changes = {**request.data, "erp_reference": erp_reference}
        buyer, created = services.buyer_upsert(
            tenant=request_tenant(request),
            actor=request_actor(request),
            record=parse_record(
                "buyers", {**(buyer_record(current[0]) if current else {}), **changes}
            ),
        )
        return Response(
            self.get_serializer(buyer).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class BuyerCreditFileView(APIView):
    @extend_schema(
        summary="A buyer's credit file: exposure, aging, DSO and DBT in base currency",
        tags=["buyers"],
        responses=serializers.CreditFileOutput,
    )
    def get(self, request: Request, pk: int) -> Response:
        buyer = get_object_or_404(Buyer.objects.select_related("parent", "country"), pk=pk)
        credit_file = selectors.buyer_credit_file(tenant=request_tenant(request), buyer=buyer)
        return Response(serializers.CreditFileOutput(credit_file).data)


# --- Financial statements --------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List financial statements", tags=["financial statements"]),
    post=extend_schema(
        summary="Add a financial statement",
        tags=["financial statements"],
        request=serializers.StatementInput,
        responses={201: serializers.StatementOutput},
        examples=[
            OpenApiExample(
                "FY 2025",
                request_only=True,
                value={
                    "buyer_erp_reference": "C-10042",
                    "period_end": "2025-12-31",
                    "currency": "EUR",
                    "revenue": "84000000",
                    "ebit": "5200000",
                    "net_income": "3100000",
                    "total_assets": "61000000",
                    "current_assets": "29000000",
                    "current_liabilities": "17500000",
                    "total_liabilities": "38000000",
                    "retained_earnings": "14000000",
                    "equity": "23000000",
                    "audited": True,
                },
            )
        ],
    ),
)
class StatementListCreateView(CreateMixin, generics.ListAPIView):
    serializer_class = output_serializer = serializers.StatementOutput
    filterset_class = filters.StatementFilter

    def get_queryset(self) -> QuerySet:
        return FinancialStatement.objects.select_related("buyer")

    def post(self, request: Request) -> Response:
        record = parse_record("financial_statements", request.data)
        statement = services.statement_save(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=services.buyer_by_reference(record["buyer_erp_reference"]),
            record=record,
        )
        return self.created(statement)


@extend_schema_view(
    get=extend_schema(summary="Get a financial statement", tags=["financial statements"]),
    patch=extend_schema(
        summary="Correct a financial statement",
        tags=["financial statements"],
        request=serializers.StatementInput(partial=True),
    ),
)
class StatementDetailView(generics.GenericAPIView):
    serializer_class = serializers.StatementOutput

    def get_queryset(self) -> QuerySet:
        return FinancialStatement.objects.select_related("buyer")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request: Request, pk: int) -> Response:
        statement = self.get_object()
        changes = {**request.data, "buyer_erp_reference": statement.buyer.erp_reference}
        statement = services.statement_save(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=statement.buyer,
            record=parse_record("financial_statements", {**statement_record(statement), **changes}),
            statement=statement,
        )
        return Response(self.get_serializer(statement).data)


# --- Invoices --------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List invoices", tags=["invoices"]),
    post=extend_schema(
        summary="Create one invoice (use /invoices/bulk for many)",
        tags=["invoices"],
        request=serializers.InvoiceInput,
        responses={201: serializers.InvoiceOutput},
        examples=[OpenApiExample("Invoice", value=INVOICE_EXAMPLE, request_only=True)],
    ),
)
class InvoiceListCreateView(CreateMixin, generics.ListAPIView):
    serializer_class = output_serializer = serializers.InvoiceOutput
    filterset_class = filters.InvoiceFilter

    def get_queryset(self) -> QuerySet:
        return Invoice.objects.select_related("buyer")

    def post(self, request: Request) -> Response:
        invoice = services.invoice_save(
            tenant=request_tenant(request),
            actor=request_actor(request),
            record=parse_record("invoices", request.data),
        )
        return self.created(invoice)


@extend_schema_view(
    get=extend_schema(summary="Get an invoice", tags=["invoices"]),
    patch=extend_schema(
        summary="Update an invoice",
        tags=["invoices"],
        request=serializers.InvoiceInput(partial=True),
        examples=[OpenApiExample("Write off", value={"status": "written_off"}, request_only=True)],
    ),
)
class InvoiceDetailView(generics.GenericAPIView):
    serializer_class = serializers.InvoiceOutput

    def get_queryset(self) -> QuerySet:
        return Invoice.objects.select_related("buyer")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request: Request, pk: int) -> Response:
        invoice = self.get_object()
        invoice = services.invoice_save(
            tenant=request_tenant(request),
            actor=request_actor(request),
            record=parse_record("invoices", {**invoice_record(invoice), **request.data}),
            invoice=invoice,
        )
        return Response(self.get_serializer(invoice).data)


# --- Payments --------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List payments", tags=["payments"]),
    post=extend_schema(
        summary="Record a payment and allocate it to invoices",
        tags=["payments"],
        request=serializers.PaymentInput,
        responses={201: serializers.PaymentOutput},
        examples=[
            OpenApiExample(
                "Payment",
                request_only=True,
                value={
                    "erp_reference": "PAY-88121",
                    "buyer_erp_reference": "C-10042",
                    "received_date": "2026-11-28",
                    "amount": "48250.00",
                    "currency": "EUR",
                    "allocations": [
                        {"invoice_erp_reference": "INV-2026-000931", "amount": "48250.00"}
                    ],
                },
            )
        ],
    ),
)
class PaymentListCreateView(CreateMixin, generics.ListAPIView):
    serializer_class = output_serializer = serializers.PaymentOutput
    filterset_class = filters.PaymentFilter

    def get_queryset(self) -> QuerySet:
        return Payment.objects.select_related("buyer").prefetch_related("allocations__invoice")

    def post(self, request: Request) -> Response:
        payment = services.payment_record(
            tenant=request_tenant(request),
            actor=request_actor(request),
            record=parse_record("payments", request.data),
        )
        return self.created(payment)


@extend_schema(summary="Get a payment", tags=["payments"])
class PaymentDetailView(generics.RetrieveAPIView):
    serializer_class = serializers.PaymentOutput

    def get_queryset(self) -> QuerySet:
        return Payment.objects.select_related("buyer").prefetch_related("allocations__invoice")


# --- Disputes --------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List disputes", tags=["disputes"]),
    post=extend_schema(
        summary="Open a dispute (the invoice becomes disputed, hence uninsured)",
        tags=["disputes"],
        request=serializers.DisputeInput,
        responses={201: serializers.DisputeOutput},
        examples=[
            OpenApiExample(
                "Quality claim",
                request_only=True,
                value={
                    "erp_reference": "DSP-311",
                    "buyer_erp_reference": "C-10042",
                    "invoice_erp_reference": "INV-2026-000931",
                    "reason": "quality",
                    "amount": "12000.00",
                    "currency": "EUR",
                    "opened_date": "2026-11-20",
                },
            )
        ],
    ),
)
class DisputeListCreateView(CreateMixin, generics.ListAPIView):
    serializer_class = output_serializer = serializers.DisputeOutput
    filterset_class = filters.DisputeFilter

    def get_queryset(self) -> QuerySet:
        return Dispute.objects.select_related("buyer", "invoice")

    def post(self, request: Request) -> Response:
        data = serializers.DisputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        buyer = services.buyer_by_reference(values.pop("buyer_erp_reference"))
        invoice_reference = values.pop("invoice_erp_reference", "")
        invoice = None
        if invoice_reference:
            invoice = get_object_or_404(Invoice.objects, erp_reference=invoice_reference)
        dispute = services.dispute_open(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=buyer,
            invoice=invoice,
            **values,
        )
        return self.created(dispute)


@extend_schema(summary="Get a dispute", tags=["disputes"])
class DisputeDetailView(generics.RetrieveAPIView):
    serializer_class = serializers.DisputeOutput

    def get_queryset(self) -> QuerySet:
        return Dispute.objects.select_related("buyer", "invoice")


class DisputeResolveView(APIView):
    @extend_schema(
        summary="Resolve a dispute",
        tags=["disputes"],
        request=serializers.DisputeResolveInput,
        responses=serializers.DisputeOutput,
    )
    def post(self, request: Request, pk: int) -> Response:
        dispute = get_object_or_404(Dispute.objects.select_related("invoice"), pk=pk)
        data = serializers.DisputeResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = services.dispute_resolve(
            tenant=request_tenant(request),
            actor=request_actor(request),
            dispute=dispute,
            **data.validated_data,
        )
        return Response(serializers.DisputeOutput(dispute).data)


# --- Payment plans ---------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List payment plans", tags=["payment plans"]),
    post=extend_schema(
        summary="Agree a payment plan",
        tags=["payment plans"],
        request=serializers.PaymentPlanInput,
        responses={201: serializers.PaymentPlanOutput},
        examples=[
            OpenApiExample(
                "Three instalments",
                request_only=True,
                value={
                    "erp_reference": "PP-77",
                    "buyer_erp_reference": "C-10042",
                    "agreed_date": "2026-11-15",
                    "currency": "EUR",
                    "instalments": [
                        {"due_date": "2026-12-15", "amount": "10000.00"},
                        {"due_date": "2027-01-15", "amount": "10000.00"},
                        {"due_date": "2027-02-15", "amount": "8250.00"},
                    ],
                },
            )
        ],
    ),
)
class PaymentPlanListCreateView(CreateMixin, generics.ListAPIView):
    serializer_class = output_serializer = serializers.PaymentPlanOutput
    filterset_class = filters.PaymentPlanFilter

    def get_queryset(self) -> QuerySet:
        return PaymentPlan.objects.select_related("buyer").prefetch_related("instalments")

    def post(self, request: Request) -> Response:
        data = serializers.PaymentPlanInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        plan = services.payment_plan_create(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=services.buyer_by_reference(values.pop("buyer_erp_reference")),
            instalments=[(i["due_date"], i["amount"]) for i in values.pop("instalments")],
            as_of=timezone.localdate(),
            **values,
        )
        return self.created(plan)


@extend_schema(summary="Get a payment plan", tags=["payment plans"])
class PaymentPlanDetailView(generics.RetrieveAPIView):
    serializer_class = serializers.PaymentPlanOutput

    def get_queryset(self) -> QuerySet:
        return PaymentPlan.objects.select_related("buyer").prefetch_related("instalments")


class InstalmentPaymentView(APIView):
    @extend_schema(
        summary="Record a payment against an instalment",
        tags=["payment plans"],
        request=serializers.InstalmentPaymentInput,
        responses=serializers.PaymentPlanOutput,
    )
    def post(self, request: Request, pk: int, instalment_id: int) -> Response:
        instalment = get_object_or_404(
            Instalment.objects.select_related("plan"), pk=instalment_id, plan_id=pk
        )
        data = serializers.InstalmentPaymentInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.instalment_record_payment(
            tenant=request_tenant(request),
            actor=request_actor(request),
            instalment=instalment,
            as_of=timezone.localdate(),
            **data.validated_data,
        )
        plan = (
            PaymentPlan.objects.prefetch_related("instalments").select_related("buyer").get(pk=pk)
        )
        return Response(serializers.PaymentPlanOutput(plan).data)
