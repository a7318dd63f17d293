"""REST API for alerts, alert rules and webhook endpoints: thin views over the services.

Permissions (members; API keys need write scope for anything but GET):
- alerts: read with VIEW, acknowledge/resolve with EDIT_RECEIVABLES (analysts work alerts);
- alert rules: read with VIEW, change with MANAGE_MONITORING;
- webhook endpoints and their delivery logs: MANAGE_MONITORING.
"""

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buyers.figures import figures_fresh
from buyers.services import buyer_by_reference
from creditguard.accounts.roles import Permission
from creditguard.api import filters as api_filters
from creditguard.api.request import request_actor, request_tenant

from .. import alerts, rules, webhooks
from ..models import Alert, LegalEvent, WebhookDelivery, WebhookEndpoint
from ..services import legal_event_record
from . import filters, serializers

ALERT_EXAMPLE = {
    "id": 4711,
    "buyer": {"id": 42, "erp_reference": "C-10042", "legal_name": "Nordlicht Maschinenbau GmbH"},
    "rule": "overdue",
    "condition_key": "overdue:61",
    "severity": "medium",
    "status": "open",
    "title": "12,400.00 EUR more than 61 days overdue",
    "evidence": {
        "days": 61,
        "amount": "12400.00",
        "currency": "EUR",
        "invoices": 2,
        "oldest_due_date": "2026-09-15",
        "min_amount": "1000.00",
        "as_of": "2026-11-29",
    },
    "risk_event_at": "2026-11-15T00:00:00Z",
    "created_at": "2026-11-16T02:10:04Z",
    "lead_time_days": "1.1",
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "resolved_by": None,
    "resolved_automatically": False,
    "resolution_note": "",
}
ENDPOINT_EXAMPLE = {
    "url": "https://erp.example.com/hooks/creditguard",
    "description": "ERP alert inbox",
    "event_types": ["alert.created", "alert.resolved"],
}


def _alerts() -> QuerySet:
    return Alert.objects.select_related("buyer", "acknowledged_by", "resolved_by")


# --- Alerts ----------------------------------------------------------------------------------


@extend_schema(
    summary="List alerts, newest first",
    tags=["alerts"],
    examples=[OpenApiExample("Overdue alert", value=ALERT_EXAMPLE, response_only=True)],
)
class AlertListView(generics.ListAPIView):
    serializer_class = serializers.AlertOutput
    filterset_class = filters.AlertFilter

    def get_queryset(self) -> QuerySet:
        if set(filters.FIGURES_FILTERS) & set(self.request.query_params):
            figures_fresh(tenant=request_tenant(self.request))
        return _alerts()


@extend_schema(summary="Get an alert", tags=["alerts"])
class AlertDetailView(generics.RetrieveAPIView):
    serializer_class = serializers.AlertOutput

    def get_queryset(self) -> QuerySet:
        return _alerts()


class AlertAcknowledgeView(APIView):
    required_write_permission = Permission.EDIT_RECEIVABLES

    @extend_schema(
        summary="Acknowledge an alert (someone is on it); resolved alerts cannot be",
        tags=["alerts"],
        request=None,
        responses=serializers.AlertOutput,
    )
    def post(self, request: Request, pk: int) -> Response:
        alert = alerts.alert_acknowledge(
            tenant=request_tenant(request),
            actor=request_actor(request),
            alert=get_object_or_404(Alert.objects, pk=pk),
        )
        return Response(serializers.AlertOutput(_alerts().get(pk=alert.pk)).data)


class AlertResolveView(APIView):
    required_write_permission = Permission.EDIT_RECEIVABLES

    @extend_schema(
        summary="Resolve an alert, with an optional note",
        tags=["alerts"],
        request=serializers.AlertResolveInput,
        responses=serializers.AlertOutput,
        examples=[
            OpenApiExample(
                "Paid", value={"note": "Buyer paid after a reminder call."}, request_only=True
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        alert = get_object_or_404(Alert.objects, pk=pk)
        data = serializers.AlertResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alerts.alert_resolve(
            tenant=request_tenant(request),
            actor=request_actor(request),
            alert=alert,
            note=data.validated_data.get("note", ""),
        )
        return Response(serializers.AlertOutput(_alerts().get(pk=alert.pk)).data)


# --- Alert rules -----------------------------------------------------------------------------


class AlertRuleListView(APIView):
    @extend_schema(
        summary="List the early-warning rules with this tenant's settings",
        tags=["alert rules"],
        responses=serializers.AlertRuleOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        settings = rules.rule_settings(tenant=request_tenant(request))
        return Response(serializers.AlertRuleOutput(settings, many=True).data)


def _kind(kind: str) -> str:
    if kind not in rules.RULES:
        raise Http404
    return kind


class AlertRuleDetailView(APIView):
    required_write_permission = Permission.MANAGE_MONITORING

    @extend_schema(
        summary="Get one rule's settings",
        tags=["alert rules"],
        responses=serializers.AlertRuleOutput,
    )
    def get(self, request: Request, kind: str) -> Response:
        setting = rules.rule_setting(tenant=request_tenant(request), kind=_kind(kind))
        return Response(serializers.AlertRuleOutput(setting).data)

    @extend_schema(
        summary="Turn a rule on or off, or change some of its thresholds",
        tags=["alert rules"],
        request=serializers.AlertRuleUpdateInput,
        responses=serializers.AlertRuleOutput,
        examples=[
            OpenApiExample(
                "Overdue buckets",
                value={"enabled": True, "thresholds": {"days": [15, 45, 90], "min_amount": "500"}},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request, kind: str) -> Response:
        kind = _kind(kind)
        data = serializers.AlertRuleUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        setting = rules.rule_update(
            tenant=request_tenant(request),
            actor=request_actor(request),
            kind=kind,
            enabled=data.validated_data.get("enabled"),
            thresholds=data.validated_data.get("thresholds"),
        )
        return Response(serializers.AlertRuleOutput(setting).data)


# --- Webhook endpoints -----------------------------------------------------------------------


class ManageMonitoring:
    required_permission = Permission.MANAGE_MONITORING
    required_write_permission = Permission.MANAGE_MONITORING


@extend_schema_view(
    get=extend_schema(summary="List webhook endpoints", tags=["webhooks"]),
    post=extend_schema(
        summary="Add a webhook endpoint; the response shows its signing secret once",
        tags=["webhooks"],
        request=serializers.WebhookEndpointInput,
        responses={201: serializers.WebhookEndpointSecretOutput},
        examples=[OpenApiExample("ERP inbox", value=ENDPOINT_EXAMPLE, request_only=True)],
    ),
)
class WebhookEndpointListCreateView(ManageMonitoring, generics.ListAPIView):
    serializer_class = serializers.WebhookEndpointOutput

    def get_queryset(self) -> QuerySet:
        return WebhookEndpoint.objects.all()

    def post(self, request: Request) -> Response:
        data = serializers.WebhookEndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, _secret = webhooks.webhook_endpoint_create(
            tenant=request_tenant(request), actor=request_actor(request), **data.validated_data
        )
        return Response(
            serializers.WebhookEndpointSecretOutput(endpoint).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    get=extend_schema(summary="Get a webhook endpoint", tags=["webhooks"]),
    patch=extend_schema(
        summary="Change a webhook endpoint's URL, description, event types or active flag",
        tags=["webhooks"],
        request=serializers.WebhookEndpointInput(partial=True),
        examples=[OpenApiExample("Pause", value={"is_active": False}, request_only=True)],
    ),
    delete=extend_schema(
        summary="Delete a webhook endpoint and its delivery log", tags=["webhooks"]
    ),
)
class WebhookEndpointDetailView(ManageMonitoring, generics.GenericAPIView):
    serializer_class = serializers.WebhookEndpointOutput

    def get_queryset(self) -> QuerySet:
        return WebhookEndpoint.objects.all()

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request: Request, pk: int) -> Response:
        endpoint = self.get_object()
        data = serializers.WebhookEndpointInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_endpoint_update(
            tenant=request_tenant(request),
            actor=request_actor(request),
            endpoint=endpoint,
            data=data.validated_data,
        )
        return Response(self.get_serializer(endpoint).data)

    def delete(self, request: Request, pk: int) -> Response:
        webhooks.webhook_endpoint_delete(
            tenant=request_tenant(request), actor=request_actor(request), endpoint=self.get_object()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretView(ManageMonitoring, APIView):
    @extend_schema(
        summary="Rotate the signing secret; the old one keeps signing for 24 hours",
        tags=["webhooks"],
        request=None,
        responses=serializers.WebhookEndpointSecretOutput,
    )
    def post(self, request: Request, pk: int) -> Response:
        endpoint, _secret = webhooks.webhook_endpoint_rotate_secret(
            tenant=request_tenant(request),
            actor=request_actor(request),
            endpoint=get_object_or_404(WebhookEndpoint.objects, pk=pk),
        )
        return Response(serializers.WebhookEndpointSecretOutput(endpoint).data)


@extend_schema(summary="An endpoint's delivery log, newest first", tags=["webhooks"])
class WebhookDeliveryListView(ManageMonitoring, generics.ListAPIView):
    serializer_class = serializers.WebhookDeliveryOutput
    filterset_class = filters.WebhookDeliveryFilter

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no endpoint
            return WebhookDelivery.objects.none()
        endpoint = get_object_or_404(WebhookEndpoint.objects, pk=self.kwargs["pk"])
        return WebhookDelivery.objects.filter(endpoint=endpoint)


class LegalEventFilter(django_filters.FilterSet):
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")
    since = api_filters.DateFilter(field_name="event_date", lookup_expr="gte")

    class Meta:
        model = LegalEvent
        fields = ["kind"]


@extend_schema_view(
    get=extend_schema(summary="List legal and insolvency events", tags=["legal events"]),
    post=extend_schema(
        summary="Record a legal or insolvency event (the buyer is re-scored at once)",
        tags=["legal events"],
        request=serializers.LegalEventInput,
        responses={201: serializers.LegalEventOutput},
        examples=[
            OpenApiExample(
                "Insolvency filing",
                request_only=True,
                value={
                    "buyer_erp_reference": "C-10042",
                    "kind": "insolvency_filing",
                    "event_date": "2026-11-25",
                    "source": "Insolvenzbekanntmachungen",
                    "description": "Application for insolvency proceedings, AG Hamburg",
                },
            )
        ],
    ),
)
class LegalEventListCreateView(generics.ListAPIView):
    serializer_class = serializers.LegalEventOutput
    filterset_class = LegalEventFilter

    def get_queryset(self) -> QuerySet:
        return LegalEvent.objects.select_related("buyer")

    def post(self, request: Request) -> Response:
        data = serializers.LegalEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        event = legal_event_record(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=buyer_by_reference(values.pop("buyer_erp_reference")),
            **values,
        )
        return Response(serializers.LegalEventOutput(event).data, status=status.HTTP_201_CREATED)
