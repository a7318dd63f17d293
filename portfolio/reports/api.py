"""REST API for reports: request one (202 with the URL to follow), list the archive, read one
with its progress, download its PDF. Reading needs VIEW; requesting needs REQUEST_REPORT (an
API key needs write scope). Thin over `portfolio.reports.services`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buyers.models import Buyer
from creditguard.accounts.roles import Permission
from creditguard.api.problems import problem, problem_response
from creditguard.api.request import request_actor, request_tenant
from policies.insurance_api.notifications import PdfRenderer

from ..models import Report
from . import services

TAG = "reports"


class ReportOutput(serializers.ModelSerializer[Report]):
    buyer_erp_reference = serializers.CharField(
        source="buyer.erp_reference", default=None, read_only=True
    )
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "kind",
            "period",
            "buyer",
            "buyer_erp_reference",
            "language",
            "scheduled",
            "status",
            "progress",
            "size",
            "error",
            "requested_by_label",
            "created_at",
            "started_at",
            "finished_at",
            "status_url",
            "download_url",
        ]
        read_only_fields = fields

    def get_status_url(self, report: Report) -> str:
        return reverse("api:report-detail", args=[report.pk])

    def get_download_url(self, report: Report) -> str | None:
        if report.status != Report.Status.DONE:
            return None
        return reverse("api:report-download", args=[report.pk])


class ReportCreateInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    period = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=7,
        help_text="YYYY-MM for portfolio_risk, YYYY for health_check; not for credit_report",
    )
    buyer = serializers.IntegerField(
        required=False, allow_null=True, help_text="Buyer id, for credit_report"
    )
    language = serializers.ChoiceField(choices=list(services.LANGUAGES), default="en")


def _reports() -> QuerySet[Report]:
    return Report.objects.select_related("buyer").order_by("-created_at", "-id")


class ReportListView(generics.ListAPIView[Report]):
    serializer_class = ReportOutput
    required_permissions = {"POST": Permission.REQUEST_REPORT}

    def get_queryset(self) -> QuerySet[Report]:
        reports = _reports()
        kind = self.request.query_params.get("kind", "")
        return reports.filter(kind=kind) if kind else reports

    @extend_schema(summary="List the reports, newest first", tags=[TAG])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Request a report; it is generated in the background",
        tags=[TAG],
        request=ReportCreateInput,
        responses={202: ReportOutput, 400: OpenApiResponse(description="Invalid input")},
    )
    def post(self, request: Request) -> Response:
        typed = ReportCreateInput(data=request.data)
        typed.is_valid(raise_exception=True)
        data = typed.validated_data
        buyer = None
        if data.get("buyer") is not None:
            buyer = Buyer.objects.filter(pk=data["buyer"]).first()
            if buyer is None:
                raise serializers.ValidationError({"buyer": [_("Not found.")]})
        report = services.report_request(
            tenant=request_tenant(request),
            actor=request_actor(request),
            kind=data["kind"],
            language=data["language"],
            period=data.get("period") or "",
            buyer=buyer,
        )
        body = ReportOutput(report).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]}
        )


def _report(pk: int) -> Report:
    report = _reports().filter(pk=pk).first()
    if report is None:
        raise NotFound()
    return report


class ReportDetailView(APIView):
    @extend_schema(
        summary="A report with its status and progress (0–100)",
        tags=[TAG],
        responses={200: ReportOutput, 404: OpenApiResponse(description="Not found")},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ReportOutput(_report(pk)).data)


class ReportDownloadView(APIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="The report's PDF (409 until it is done)",
        tags=[TAG],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="Not found"),
            409: OpenApiResponse(description="Not ready"),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        report = _report(pk)
        if report.status != Report.Status.DONE or not report.file:
            return problem_response(
                409,
                problem(
                    409,
                    _("Not ready"),
                    _("The report is %(status)s.") % {"status": report.get_status_display()},
                ),
            )
        try:
            handle = report.file.open("rb")
        except FileNotFoundError as missing:
            raise NotFound() from missing
        return FileResponse(
            handle,
            as_attachment=True,
            filename=(report.file.name or "").rsplit("/", 1)[-1],
            content_type="application/pdf",
        )
