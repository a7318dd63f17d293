"""REST API for overdue (threat-of-loss) notifications: list and detail, the workflow steps as
POST sub-resources, extension requests, and the PDF and CSV documents. Thin over
`policies.services.overdue_notifications` and `policies.insurance.notification_sheets`.

A step the notification's state does not allow (reviewing a sent notification, answering a
decided request) is a 409 problem; invalid input a 400 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creditguard.accounts.roles import Permission
from creditguard.api.problems import problem, problem_response
from creditguard.api.request import request_actor, request_tenant
from creditguard.dates import today

from ..insurance import notification_documents as documents
from ..insurance import notification_sheets as sheets
from ..models import ExtensionRequest, OverdueNotification
from ..services import overdue_notifications as services
from . import notification_serializers as io

TAG = "overdue notifications"
LANGUAGES = ("en", "zh-hans")


class NotificationFilter(django_filters.FilterSet):
    policy = django_filters.NumberFilter(field_name="policy_id")
    buyer = django_filters.NumberFilter(field_name="buyer_id")
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")
    status = django_filters.ChoiceFilter(choices=OverdueNotification.Status.choices)

    class Meta:
        model = OverdueNotification
        fields = ["policy", "buyer", "buyer_erp_reference", "status"]


def _notification(pk: int) -> OverdueNotification:
    notification = sheets.notification_or_none(pk)
    if notification is None:
        raise NotFound()
    return notification


def _sheet_response(pk: int) -> Response:
    notification = _notification(pk)
    sheet = sheets.notification_sheet(
        notification, as_of=today(), max_extension_days=services.max_extension_days(notification)
    )
    return Response(io.sheet_data(sheet))


def _conflict(error: services.TransitionNotAllowed) -> Response:
    return problem_response(409, problem(409, _("Not allowed now"), " ".join(error.messages)))


@extend_schema(
    summary="List overdue notifications, most urgent first",
    tags=[TAG],
    responses=io.OverdueNotificationOutput(many=True),
)
class NotificationListView(generics.ListAPIView[OverdueNotification]):
    serializer_class = io.OverdueNotificationOutput
    filterset_class = NotificationFilter

    def get_queryset(self) -> QuerySet[OverdueNotification]:
        return sheets.notifications()


class NotificationDetailView(APIView):
    @extend_schema(
        summary="An overdue notification with its invoices, cover lost, FX rates and "
        "extension requests",
        tags=[TAG],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="Not found")},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _sheet_response(pk)


class _ActionView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}
    input_class: type[Any]

    def act(
        self, request: Request, notification: OverdueNotification, data: dict[str, Any]
    ) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        notification = _notification(pk)
        typed = self.input_class(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            self.act(request, notification, dict(typed.validated_data))
        except services.TransitionNotAllowed as error:
            return _conflict(error)
        return _sheet_response(pk)


_ACTION_RESPONSES = {
    200: OpenApiTypes.OBJECT,
    400: OpenApiResponse(description="Invalid input"),
    409: OpenApiResponse(description="Not allowed in the notification's state"),
}


class NotificationReviewView(_ActionView):
    input_class = io.NotificationReviewInput

    @extend_schema(
        summary="Mark a proposed notification reviewed", tags=[TAG], request=io.NotificationReviewInput,
        responses=_ACTION_RESPONSES,
    )  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(
        self, request: Request, notification: OverdueNotification, data: dict[str, Any]
    ) -> None:
        services.notification_review(
            tenant=request_tenant(request),
            actor=request_actor(request),
            notification=notification,
            notes=data.get("notes"),
        )


class NotificationSendView(_ActionView):
    input_class = io.NotificationSendInput

    @extend_schema(
        summary="Mark a reviewed notification sent to the insurer (final); late items show as "
        "cover lost",
        tags=[TAG],
        request=io.NotificationSendInput,
        responses=_ACTION_RESPONSES,
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(
        self, request: Request, notification: OverdueNotification, data: dict[str, Any]
    ) -> None:
        services.notification_mark_sent(
            tenant=request_tenant(request),
            actor=request_actor(request),
            notification=notification,
            sent_on=data["sent_on"],
            insurer_reference=data["insurer_reference"],
        )


class NotificationWithdrawView(_ActionView):
    input_class = io.NotificationWithdrawInput

    @extend_schema(
        summary="Withdraw a notification that is not sent", tags=[TAG], request=io.NotificationWithdrawInput,
        responses=_ACTION_RESPONSES,
    )  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(
        self, request: Request, notification: OverdueNotification, data: dict[str, Any]
    ) -> None:
        services.notification_withdraw(
            tenant=request_tenant(request),
            actor=request_actor(request),
            notification=notification,
            reason=data["reason"],
        )


class ExtensionCreateView(_ActionView):
    input_class = io.ExtensionRequestInput

    @extend_schema(
        summary="Record an extension request or a payment plan asked of the insurer",
        description="`requested_until` must be after the invoices' due dates; beyond the "
        "policy's maximum extension period it needs `beyond_maximum: true`.",
        tags=[TAG],
        request=io.ExtensionRequestInput,
        responses=_ACTION_RESPONSES,
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(
        self, request: Request, notification: OverdueNotification, data: dict[str, Any]
    ) -> None:
        services.extension_request_create(
            tenant=request_tenant(request),
            actor=request_actor(request),
            notification=notification,
            kind=data["kind"],
            requested_until=data["requested_until"],
            payment_plan=data["payment_plan"],
            notes=data["notes"],
            beyond_maximum=data["beyond_maximum"],
        )


class ExtensionDecisionView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    @extend_schema(
        summary="Record the insurer's answer to an extension request",
        tags=[TAG],
        request=io.ExtensionDecisionInput,
        responses=_ACTION_RESPONSES,
    )
    def post(self, request: Request, pk: int) -> Response:
        extension = ExtensionRequest.objects.filter(pk=pk).first()
        if extension is None:
            raise NotFound()
        typed = io.ExtensionDecisionInput(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            services.extension_request_decide(
                tenant=request_tenant(request),
                actor=request_actor(request),
                extension=extension,
                decision=typed.validated_data["decision"],
                decided_on=typed.validated_data["decided_on"],
                notes=typed.validated_data.get("notes"),
            )
        except services.TransitionNotAllowed as error:
            return _conflict(error)
        return _sheet_response(extension.notification_id)


class _DocumentRenderer(BaseRenderer):
    """Lets a client ask for the document's media type; errors are still JSON problems."""

    format = "document"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data, default=str).encode("utf-8")


class PdfRenderer(_DocumentRenderer):
    media_type = "application/pdf"


class CsvRenderer(_DocumentRenderer):
    media_type = "text/csv"


LANGUAGE_PARAMETER = OpenApiParameter(
    "lang", OpenApiTypes.STR, enum=list(LANGUAGES), description="Language of the document"
)


def _language(request: Request) -> str:
    asked = request.query_params.get("lang", "en")
    if asked not in LANGUAGES:
        from rest_framework.exceptions import ValidationError

        raise ValidationError({"lang": [_("Choose en or zh-hans.")]})
    return asked


class NotificationPdfView(APIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="The notification as a PDF in the insurer's usual layout",
        tags=[TAG],
        parameters=[LANGUAGE_PARAMETER],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        notification = _notification(pk)
        language = _language(request)
        sheet = sheets.notification_sheet(
            notification,
            as_of=today(),
            max_extension_days=services.max_extension_days(notification),
        )
        response = HttpResponse(
            documents.notification_pdf(sheet, language=language), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{documents.document_name(sheet, "pdf")}"'
        )
        return response


class NotificationCsvView(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        summary="The notification's invoices as CSV (same columns as the PDF)",
        tags=[TAG],
        parameters=[LANGUAGE_PARAMETER],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        notification = _notification(pk)
        language = _language(request)
        sheet = sheets.notification_sheet(notification, as_of=today())
        response = HttpResponse(
            documents.notification_csv(sheet, language=language),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{documents.document_name(sheet, "csv")}"'
        )
        return response
