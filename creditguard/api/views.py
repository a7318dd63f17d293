from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from creditguard.accounts.roles import Permission
from creditguard.audit.models import AuditEvent
from creditguard.audit.selectors import audit_events

from .models import ApiKey
from .request import request_tenant


class ApiRootView(APIView):
    """Entry point: who you are, which tenant, and where the resources live."""

    @extend_schema(
        summary="API root",
        responses=inline_serializer(
            "ApiRoot",
            {
                "tenant": serializers.DictField(),
                "authenticated_as": serializers.CharField(),
                "links": serializers.DictField(child=serializers.URLField()),
            },
        ),
        examples=[
            OpenApiExample(
                "Root",
                value={
                    "tenant": {"slug": "acme", "name": "Acme Industrial Supplies GmbH"},
                    "authenticated_as": "api-key:1a2b3c4d",
                    "links": {"schema": "https://creditguard.example/api/v1/schema/"},
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        tenant = request_tenant(request)
        who = (
            f"api-key:{request.auth.prefix}"
            if isinstance(request.auth, ApiKey)
            else request.user.get_username()
        )
        return Response(
            {
                "tenant": {
                    "slug": tenant.slug,
                    "name": tenant.name,
                    "base_currency": tenant.base_currency,
                },
                "authenticated_as": who,
                "links": {
                    "schema": reverse("api:schema", request=request),
                    "docs": reverse("api:docs", request=request),
                    "audit_events": reverse("api:audit-event-list", request=request),
                },
            }
        )


class AuditEventListView(generics.ListAPIView[AuditEvent]):
    """The tenant's audit trail, newest first; filter by object type and id."""

    required_permission = Permission.VIEW_AUDIT

    class OutputSerializer(serializers.Serializer[AuditEvent]):
        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        actor = serializers.CharField(source="actor_label")
        action = serializers.CharField()
        object_type = serializers.CharField()
        object_id = serializers.CharField()
        object_label = serializers.CharField()
        before = serializers.JSONField()
        after = serializers.JSONField()

    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[AuditEvent]:
        params = self.request.query_params
        return audit_events(
            object_type=params.get("object_type", ""), object_id=params.get("object_id", "")
        )

    @extend_schema(summary=str(_("List audit events")))
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
