"""REST API for PD calibrations: list and read them, calibrate a model version, activate an
older version (roll back).

The same services as the page (`monitoring.calibration`). Calibrating and activating need a
write key or MANAGE_MONITORING (as on the page); reading needs any key or membership. Retries
of a calibration with the same `Idempotency-Key` replay the first answer
(`creditguard.api.idempotency`). Another tenant's calibration is "not found".
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creditguard.accounts.roles import Permission
from creditguard.api.idempotency import SCHEMA_PARAMETER, start_idempotently
from creditguard.api.problems import flatten_errors, problem
from creditguard.api.request import request_actor, request_tenant

from ..calibration import (
    DEFAULT_PRIOR_STRENGTH,
    calibrate,
    calibration_activate,
    calibration_model_versions,
    calibrations,
)
from ..calibration.services import MAX_PRIOR_STRENGTH, MIN_PRIOR_STRENGTH
from ..models import PdCalibration

TAG = "calibrations"

EVIDENCE_EXAMPLE = [
    {
        "grade": grade,
        "observations": observations,
        "defaults": defaults,
        "observed_rate": observed,
        "prior_pd": prior,
        "pd": calibrated,
        "low": low,
        "high": high,
    }
    for grade, observations, defaults, observed, prior, calibrated, low, high in (
        (1, 1210, 0, "0.00000", "0.00050", "0.00030", "0.00000", "0.00035"),
        (2, 2480, 2, "0.00081", "0.00100", "0.00083", "0.00012", "0.00230"),
        (3, 3105, 5, "0.00161", "0.00200", "0.00162", "0.00060", "0.00320"),
        (4, 2890, 11, "0.00381", "0.00400", "0.00381", "0.00200", "0.00620"),
        (5, 2250, 21, "0.00933", "0.00800", "0.00930", "0.00580", "0.01360"),
        (6, 1470, 322, "0.21905", "0.01600", "0.21231", "0.19200", "0.23330"),
        (7, 640, 151, "0.23594", "0.03500", "0.22282", "0.19200", "0.25510"),
        (8, 320, 96, "0.30000", "0.08000", "0.27027", "0.22700", "0.31600"),
        (9, 120, 52, "0.43333", "0.20000", "0.35294", "0.27800", "0.43200"),
        (10, 40, 27, "0.67500", "0.50000", "0.59333", "0.48400", "0.69800"),
    )
]
CALIBRATION_EXAMPLE = {
    "id": 12,
    "url": "/api/v1/calibrations/12/",
    "model_version": "cg-2026.2",
    "version": 3,
    "active": True,
    "pd_by_grade": {str(row["grade"]): row["pd"] for row in EVIDENCE_EXAMPLE},
    "evidence": EVIDENCE_EXAMPLE,
    "prior_strength": "50.00",
    "window_from": "2022-01-01",
    "window_to": "2025-11-01",
    "observations": 14525,
    "defaults": 687,
    "created_by": None,
    "created_at": "2026-12-07T09:15:02Z",
}
INVALID_EXAMPLE = {
    "type": "https://docs.creditguard.app/problems/validation-error",
    "title": "Invalid input",
    "status": 400,
    "detail": "One or more fields are invalid.",
    "errors": [
        {
            "field": "model_version",
            "message": "No score of model cg-2026.2 in this window has a known outcome yet: a "
            "score counts once its 12-month window is over or the buyer defaulted within it. "
            "Score the history month by month on the back-test page first.",
        }
    ],
}


class CalibrationInput(serializers.Serializer):
    model_version = serializers.CharField(
        max_length=20, help_text="The model version to calibrate, e.g. `cg-2026.2`."
    )
    first_period = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Any day of the first scored month to count. Default: the first.",
    )
    last_period = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Any day of the last scored month to count. Default: the last.",
    )
    prior_strength = serializers.DecimalField(
        max_digits=9,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=MIN_PRIOR_STRENGTH,
        max_value=MAX_PRIOR_STRENGTH,
        help_text="How many observations the model's own PD counts as (the Beta prior). "
        f"Default {DEFAULT_PRIOR_STRENGTH:g}.",
    )


class GradeEvidence(serializers.Serializer):
    grade = serializers.IntegerField()
    observations = serializers.IntegerField(help_text="Scores with a known 12-month outcome.")
    defaults = serializers.IntegerField()
    observed_rate = serializers.CharField(
        allow_null=True, help_text="defaults / observations; null without observations."
    )
    prior_pd = serializers.CharField(help_text="The model's own PD (the prior's mean).")
    pd = serializers.CharField(help_text="The calibrated PD.")
    low = serializers.CharField(help_text="Lower end of the 95 % posterior interval.")
    high = serializers.CharField(help_text="Upper end of the 95 % posterior interval.")


class CalibrationOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    pd_by_grade = serializers.DictField(
        child=serializers.CharField(), help_text='Grade ("1".."10") → 12-month PD, a fraction.'
    )
    evidence = GradeEvidence(many=True, help_text="Per grade, the counts and rates behind it.")
    active = serializers.BooleanField(
        help_text="The version whose PDs the model's scores use; one per model version."
    )
    created_by = serializers.SerializerMethodField(
        help_text="The member who calibrated it; null for API keys."
    )

    class Meta:
        model = PdCalibration
        fields = [
            "id",
            "url",
            "model_version",
            "version",
            "active",
            "pd_by_grade",
            "evidence",
            "prior_strength",
            "window_from",
            "window_to",
            "observations",
            "defaults",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_url(self, calibration: PdCalibration) -> str:
        return reverse("api:calibration-detail", args=[calibration.pk])

    def get_created_by(self, calibration: PdCalibration) -> str | None:
        user: AbstractBaseUser | None = calibration.created_by
        return user.get_username() if user is not None else None


def _invalid(errors: Any) -> dict[str, Any]:
    return problem(
        400, _("Invalid input"), _("One or more fields are invalid."), errors=flatten_errors(errors)
    )


@extend_schema_view(
    get=extend_schema(
        summary="List PD calibrations, by model version and newest version first",
        description="Every calibration of the tenant, with the evidence per grade. The active "
        "one of a model version gives its scores' PDs.",
        tags=[TAG],
        parameters=[
            OpenApiParameter(
                "model_version",
                OpenApiTypes.STR,
                description="Only this model version's calibrations.",
            )
        ],
        examples=[OpenApiExample("A calibration", value=CALIBRATION_EXAMPLE, response_only=True)],
    ),
    post=extend_schema(
        summary="Calibrate a model version's PD per grade on the tenant's defaults",
        description="Counts the model version's scores with a known 12-month outcome in the "
        "window per grade (defaults: insolvency, legal events, written-off invoices, paid "
        "claims), calibrates each grade's PD with a Beta prior centred on the model's own PD "
        "and worth `prior_strength` observations, keeps the PDs non-decreasing in grade, "
        "stores the result as the next version and makes it active (201). The current "
        "month's scores of that model take the new PDs at once. Refused (400) when no score "
        "in the window has a known outcome. Retries with the same `Idempotency-Key` replay "
        "the first answer. Needs a write key, or MANAGE_MONITORING for members.",
        tags=[TAG],
        request=CalibrationInput,
        parameters=[SCHEMA_PARAMETER],
        responses={
            201: OpenApiResponse(CalibrationOutput, description="Calibrated and active."),
            400: OpenApiResponse(description="Invalid input or no outcome (problem+json)"),
            403: OpenApiResponse(description="Read-only key, or a member who may not calibrate"),
        },
        examples=[
            OpenApiExample(
                "Calibrate on 2022–2025",
                value={
                    "model_version": "cg-2026.2",
                    "first_period": "2022-01-01",
                    "last_period": "2025-11-01",
                    "prior_strength": "50",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Calibrated", value=CALIBRATION_EXAMPLE, response_only=True, status_codes=["201"]
            ),
            OpenApiExample(
                "No outcome yet", value=INVALID_EXAMPLE, response_only=True, status_codes=["400"]
            ),
        ],
    ),
)
class CalibrationListView(generics.ListAPIView[PdCalibration]):
    serializer_class = CalibrationOutput
    required_permissions = {"POST": Permission.MANAGE_MONITORING}

    def get_queryset(self) -> QuerySet[PdCalibration]:
        return calibrations(model_version=self.request.query_params.get("model_version") or None)

    def post(self, request: Request) -> HttpResponse:
        return start_idempotently(request, handler=lambda: self._calibrate(request), located=(201,))

    def _calibrate(self, request: Request) -> tuple[int, dict[str, Any]]:
        typed = CalibrationInput(data=request.data)
        if not typed.is_valid():
            return 400, _invalid(typed.errors)
        data = typed.validated_data
        if data["model_version"] not in calibration_model_versions():
            return 400, _invalid({"model_version": [_("There are no scores of this model.")]})
        try:
            created = calibrate(
                tenant=request_tenant(request),
                actor=request_actor(request),
                model_version=data["model_version"],
                first_period=data.get("first_period"),
                last_period=data.get("last_period"),
                prior_strength=data.get("prior_strength"),
            )
        except ValidationError as error:
            return 400, _invalid(
                error.message_dict
                if hasattr(error, "error_dict")
                else {"non_field_errors": error.messages}
            )
        return 201, CalibrationOutput(calibrations().get(pk=created.pk)).data


@extend_schema(
    summary="A PD calibration with its evidence per grade",
    tags=[TAG],
    responses={200: CalibrationOutput, 404: OpenApiResponse(description="Not found")},
    examples=[OpenApiExample("Active", value=CALIBRATION_EXAMPLE, response_only=True)],
)
class CalibrationDetailView(generics.RetrieveAPIView[PdCalibration]):
    serializer_class = CalibrationOutput

    def get_object(self) -> PdCalibration:
        return get_object_or_404(calibrations(), pk=self.kwargs["pk"])


@extend_schema(
    summary="Make this calibration the active one of its model version (roll back)",
    description="The previous active version becomes inactive; the current month's scores of "
    "the model take this version's PDs. Activating the active one changes nothing. Needs a "
    "write key, or MANAGE_MONITORING for members.",
    tags=[TAG],
    request=None,
    responses={
        200: CalibrationOutput,
        403: OpenApiResponse(description="Read-only key, or a member who may not activate"),
        404: OpenApiResponse(description="Not found"),
    },
    examples=[
        OpenApiExample(
            "Version 2 active again",
            value=CALIBRATION_EXAMPLE | {"id": 9, "url": "/api/v1/calibrations/9/", "version": 2},
            response_only=True,
        )
    ],
)
class CalibrationActivateView(APIView):
    required_permissions = {"POST": Permission.MANAGE_MONITORING}

    def post(self, request: Request, pk: int) -> Response:
        calibration = get_object_or_404(calibrations(), pk=pk)
        calibration_activate(
            tenant=request_tenant(request), actor=request_actor(request), calibration=calibration
        )
        return Response(CalibrationOutput(calibrations().get(pk=pk)).data)
