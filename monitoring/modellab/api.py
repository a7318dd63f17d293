"""REST API of the model lab: the model versions (the built-in one and the tenant's
scorecards), training, shadow mode and the four-eyes promotion.

The same services as the pages (`training`, `lifecycle`). Reading needs any key or
membership. Starting a training and shadow runs need a write key or MANAGE_MONITORING; a
training start is idempotent with `Idempotency-Key` and answers 202 with the model to poll.
Promotion steps (request, approve, reject, request retirement) need a signed-in person with
MANAGE_MONITORING: an API key is not a person (403), and the approver must not be the
requester (four eyes, 403). A step the model's status does not allow answers 409. Another
tenant's model is "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creditguard.accounts.roles import Permission
from creditguard.api.idempotency import SCHEMA_PARAMETER, start_idempotently
from creditguard.api.models import ApiKey
from creditguard.api.permissions import TenantPermission
from creditguard.api.problems import problem, problem_response
from creditguard.api.request import request_actor, request_tenant

from .. import scoring
from ..models import RescoreRun, ScoringModel
from . import lifecycle

TAG = "models"
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]

BUILTIN_EXAMPLE = {
    "id": None,
    "url": None,
    "version": "cg-2026.2",
    "builtin": True,
    "official": False,
    "status": "builtin",
    "status_label": "Built-in",
    "train_from": None,
    "train_to": None,
    "test_from": None,
    "test_to": None,
    "progress": None,
    "error": "",
    "auc": None,
    "trained_by": None,
    "trained_at": None,
    "promotion": None,
    "promoted_by": None,
    "promoted_at": None,
    "retired_at": None,
}
MODEL_EXAMPLE = {
    "id": 7,
    "url": "/api/v1/models/7/",
    "version": "sc-2026.12-1",
    "builtin": False,
    "official": True,
    "status": "active",
    "status_label": "Active",
    "train_from": "2021-11-01",
    "train_to": "2024-10-01",
    "test_from": "2024-11-01",
    "test_to": "2025-10-01",
    "progress": {"percent": 100, "done_steps": 52, "total_steps": 52, "done": True},
    "error": "",
    "auc": "0.8912",
    "trained_by": "anna@seller.example",
    "trained_at": "2026-12-07T09:15:02Z",
    "promotion": {
        "pending": None,
        "requested_by": "anna@seller.example",
        "requested_at": "2026-12-07T10:02:11Z",
        "note": "Out-of-time AUC 0.89 against 0.74; one month in shadow, grades stable.",
    },
    "promoted_by": "ben@seller.example",
    "promoted_at": "2026-12-07T11:40:57Z",
    "retired_at": None,
}
DETAIL_EXAMPLE = MODEL_EXAMPLE | {
    "metrics": {
        "training": {"observations": 48210, "defaults": 1630, "auc": 0.9104, "gini": 0.8208},
        "test": {
            "observations": 15022,
            "defaults": 497,
            "model": {"auc": "0.8912", "auc_low": "0.8760", "auc_high": "0.9064", "by_grade": []},
            "builtin": {
                "auc": "0.7406",
                "auc_low": "0.7190",
                "auc_high": "0.7622",
                "by_grade": [],
            },
        },
        "features": [],
        "dropped": [],
    },
    "features": [
        {
            "name": "interest_coverage",
            "label": "Interest coverage",
            "iv": 0.412,
            "splits": [1.2, 3.5],
            "points": [-11.3, 1.9, 8.4],
        }
    ],
    "spec": {"format": 1, "base_score": 50.0, "features": ["…"], "pd_by_grade": {"1": "0.0006"}},
}


class ProgressOutput(serializers.Serializer):
    percent = serializers.IntegerField(help_text="0–100; 100 once the training ended.")
    done_steps = serializers.IntegerField()
    total_steps = serializers.IntegerField()
    done = serializers.BooleanField(help_text="Trained or failed.")


class PromotionOutput(serializers.Serializer):
    pending = serializers.ChoiceField(
        choices=[(kind.value, kind.value) for kind in lifecycle.PendingRequest],
        allow_null=True,
        help_text="What waits for a second person's approval: a promotion, a retirement of "
        "the active model, or nothing.",
    )
    requested_by = serializers.CharField(allow_null=True)
    requested_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField(help_text="Why the request was made.")


MODEL_STATUSES = ["builtin", *ScoringModel.Status.values]


# ScoringModel.Status plus "builtin", kept inline: drf-spectacular moves every top-level enum
# of a property into a component named after the property ("StatusEnum"), which would clash
# with the other `status` enums; one wrapped in `oneOf` stays where it is.
@extend_schema_field({"oneOf": [{"type": "string", "enum": MODEL_STATUSES}]})
class ModelStatusField(serializers.CharField):
    pass


class ModelOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null for the built-in model.")
    url = serializers.CharField(allow_null=True)
    version = serializers.CharField(help_text="What every score names as `model_version`.")
    builtin = serializers.BooleanField()
    official = serializers.BooleanField(help_text="The model the tenant's scores are made with.")
    status = ModelStatusField(help_text="`builtin` for the built-in model.")
    status_label = serializers.CharField()
    train_from = serializers.DateField(allow_null=True)
    train_to = serializers.DateField(allow_null=True)
    test_from = serializers.DateField(allow_null=True)
    test_to = serializers.DateField(allow_null=True)
    progress = ProgressOutput(allow_null=True)
    error = serializers.CharField(help_text="Why the training failed; empty otherwise.")
    auc = serializers.CharField(
        allow_null=True, help_text="Out-of-time AUC on the test window (a decimal string)."
    )
    trained_by = serializers.CharField(allow_null=True)
    trained_at = serializers.DateTimeField(allow_null=True)
    promotion = PromotionOutput(allow_null=True)
    promoted_by = serializers.CharField(allow_null=True)
    promoted_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)


class ModelDetailOutput(ModelOutput):
    metrics = serializers.JSONField(
        help_text="Training and out-of-time test figures: `test.model` and `test.builtin` are "
        "the back-tests (AUC with its 95 % interval, Gini, default rate, PD per grade) of this "
        "scorecard and of the built-in model on the same buyers."
    )
    features = serializers.JSONField(
        help_text="The scorecard's features: information value, bins (splits) and points."
    )
    spec = serializers.JSONField(help_text="The fitted scorecard as stored.")


class ModelListOutput(serializers.Serializer):
    results = ModelOutput(many=True)


class TrainingInput(serializers.Serializer):
    train_from = serializers.DateField(required=False, allow_null=True, input_formats=MONTH_FORMATS)
    train_to = serializers.DateField(required=False, allow_null=True, input_formats=MONTH_FORMATS)
    test_from = serializers.DateField(required=False, allow_null=True, input_formats=MONTH_FORMATS)
    test_to = serializers.DateField(required=False, allow_null=True, input_formats=MONTH_FORMATS)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(help_text="Why: required.", allow_blank=True)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(help_text="Why: required.", allow_blank=True)


class ApprovalOutput(ModelOutput):
    rescore_run = serializers.CharField(help_text="The re-scoring run started: poll it.")


def _user(user: AbstractBaseUser | None) -> str | None:
    return user.get_username() if user is not None else None


def builtin_json(*, official: bool) -> dict[str, Any]:
    return BUILTIN_EXAMPLE | {
        "version": scoring.MODEL_VERSION,
        "official": official,
        "status_label": _("Built-in"),
    }


def model_json(model: ScoringModel, *, detail: bool = False) -> dict[str, Any]:
    progress = lifecycle.training_progress(model)
    pending = lifecycle.pending_request(model)
    test = (model.metrics or {}).get("test") or {}
    body: dict[str, Any] = {
        "id": model.pk,
        "url": reverse("api:model-detail", args=[model.pk]),
        "version": model.version,
        "builtin": False,
        "official": model.status == ScoringModel.Status.ACTIVE,
        "status": model.status,
        "status_label": str(model.get_status_display()),
        "train_from": model.train_from,
        "train_to": model.train_to,
        "test_from": model.test_from,
        "test_to": model.test_to,
        "progress": {
            key: progress[key] for key in ("percent", "done_steps", "total_steps", "done")
        },
        "error": model.error,
        "auc": (test.get("model") or {}).get("auc"),
        "trained_by": _user(model.trained_by),
        "trained_at": model.trained_at,
        "promotion": {
            "pending": pending.value if pending else None,
            "requested_by": _user(model.promotion_requested_by),
            "requested_at": model.promotion_requested_at,
            "note": model.promotion_note,
        },
        "promoted_by": _user(model.promoted_by),
        "promoted_at": model.promoted_at,
        "retired_at": model.retired_at,
    }
    if detail:
        spec = model.spec or {}
        body["metrics"] = model.metrics or {}
        body["features"] = [
            {
                key: feature.get(key)
                for key in ("name", "label", "description", "iv", "splits", "points", "counts")
            }
            | {"defaults": feature.get("defaults")}
            for feature in spec.get("features") or []
        ]
        body["spec"] = spec
    return body


def _models() -> Any:
    return ScoringModel.objects.select_related(
        "trained_by", "promoted_by", "promotion_requested_by"
    )


def _model_or_404(pk: int) -> ScoringModel:
    model: ScoringModel = get_object_or_404(_models(), pk=pk)
    return model


def _detail(pk: int) -> dict[str, Any]:
    return dict(ModelDetailOutput(model_json(_model_or_404(pk), detail=True)).data)


class PeopleOnly(TenantPermission):
    """Promotion steps need a signed-in person: an API key may read, never decide."""

    message = gettext_lazy("Promotion steps need a signed-in person; an API key is not a person.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            return request.method in SAFE_METHODS
        return super().has_permission(request, view)


def _step(call: Callable[[], Any], answer: Callable[[Any], dict[str, Any]]) -> Response:
    """Run a lifecycle step; its refusals as problem+json (403 who, 409 status)."""
    try:
        result = call()
    except lifecycle.StepNotAllowed as refusal:
        return problem_response(403, problem(403, _("Not allowed"), refusal.message))
    except lifecycle.WrongStatus as refusal:
        return problem_response(409, problem(409, _("Conflict"), refusal.message))
    return Response(answer(result))


PROBLEMS = {
    403: OpenApiResponse(description="Not allowed (an API key, a role, or the requester)"),
    404: OpenApiResponse(description="Not found"),
    409: OpenApiResponse(description="The model's status does not allow the step"),
}


class ModelListView(APIView):
    required_permissions = {"POST": Permission.MANAGE_MONITORING}

    @extend_schema(
        operation_id="models_list",
        summary="Model versions: the built-in model and the tenant's scorecards",
        description="The built-in model comes first (`builtin`: true, no id); `official` marks "
        "the model the tenant's scores are made with now. Scorecards newest first.",
        tags=[TAG],
        responses=ModelListOutput,
        examples=[
            OpenApiExample(
                "Models", value={"results": [BUILTIN_EXAMPLE, MODEL_EXAMPLE]}, response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        models = list(_models())
        official = not any(model.status == ScoringModel.Status.ACTIVE for model in models)
        results = [builtin_json(official=official), *(model_json(model) for model in models)]
        return Response({"results": ModelOutput(results, many=True).data})

    @extend_schema(
        summary="Train a scorecard on the tenant's history (202; poll the model)",
        description="Optional windows as months (`YYYY-MM`): by default the test window is the "
        "latest 12 months with a complete 12-month outcome and the training window the up to "
        "48 months before it. Invalid windows answer 400 naming the field. Training runs in "
        "the background; `Location` is the model, whose `progress` moves until `status` is "
        "`trained` or `failed`. Retries with the same `Idempotency-Key` replay the first "
        "answer. Needs a write key, or MANAGE_MONITORING for members.",
        tags=[TAG],
        request=TrainingInput,
        parameters=[SCHEMA_PARAMETER],
        responses={
            202: OpenApiResponse(ModelOutput, description="Training started."),
            400: OpenApiResponse(description="Invalid windows (`errors`: field, message)"),
            403: OpenApiResponse(description="Read-only key, or a member who may not train"),
        },
        examples=[
            OpenApiExample(
                "Windows", value={"train_from": "2021-01", "test_to": "2025-10"}, request_only=True
            ),
            OpenApiExample(
                "Started",
                value=MODEL_EXAMPLE
                | {"official": False, "status": "training", "status_label": "Training"}
                | {"progress": {"percent": 0, "done_steps": 0, "total_steps": 0, "done": False}}
                | {"auc": None, "trained_at": None, "promoted_by": None, "promoted_at": None}
                | {"promotion": {"pending": None, "requested_by": None, "requested_at": None}},
                response_only=True,
                status_codes=["202"],
            ),
        ],
    )
    def post(self, request: Request) -> HttpResponse:
        return start_idempotently(request, handler=lambda: self._start(request), located=(202,))

    def _start(self, request: Request) -> tuple[int, dict[str, Any]]:
        # Imported here: training loads scikit-learn, which the other endpoints need not wait for.
        from . import training

        typed = TrainingInput(data=request.data)
        typed.is_valid(raise_exception=True)
        model = training.training_start(
            tenant=request_tenant(request),
            actor=request_actor(request),
            **{key: value for key, value in typed.validated_data.items() if value is not None},
        )
        return 202, dict(ModelOutput(model_json(_model_or_404(model.pk))).data)


class ModelDetailView(APIView):
    @extend_schema(
        summary="A model version: status, progress, out-of-time back-test and scorecard",
        tags=[TAG],
        responses={200: ModelDetailOutput, 404: PROBLEMS[404]},
        examples=[OpenApiExample("A scorecard", value=DETAIL_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(pk))


class ModelShadowView(APIView):
    required_permissions = {
        "POST": Permission.MANAGE_MONITORING,
        "DELETE": Permission.MANAGE_MONITORING,
    }

    @extend_schema(
        summary="Run a trained model in shadow mode",
        description="From the next re-scoring on, the model scores every buyer beside the "
        "official model (its scores are not official). Another model in shadow goes back to "
        "trained. Needs a write key, or MANAGE_MONITORING for members.",
        tags=[TAG],
        request=None,
        responses={200: ModelDetailOutput, **PROBLEMS},
    )
    def post(self, request: Request, pk: int) -> Response:
        model = _model_or_404(pk)
        return _step(
            lambda: lifecycle.shadow_start(
                tenant=request_tenant(request), actor=request_actor(request), model=model
            ),
            lambda result: _detail(pk),
        )

    @extend_schema(
        summary="Stop a model's shadow run",
        tags=[TAG],
        request=None,
        responses={200: ModelDetailOutput, **PROBLEMS},
    )
    def delete(self, request: Request, pk: int) -> Response:
        model = _model_or_404(pk)
        return _step(
            lambda: lifecycle.shadow_stop(
                tenant=request_tenant(request), actor=request_actor(request), model=model
            ),
            lambda result: _detail(pk),
        )


class _PersonStepView(APIView):
    permission_classes = [PeopleOnly]
    required_permissions = {"POST": Permission.MANAGE_MONITORING}


class ModelRequestPromotionView(_PersonStepView):
    @extend_schema(
        summary="Ask for a model to become the official one (four eyes: step 1)",
        description="A trained model or one in shadow mode; `note` says why (required). A "
        "second person approves it. Needs a signed-in member with MANAGE_MONITORING: an API "
        "key is not a person (403).",
        tags=[TAG],
        request=NoteInput,
        responses={200: ModelDetailOutput, 400: OpenApiResponse(description="No note"), **PROBLEMS},
        examples=[
            OpenApiExample(
                "Request",
                value={"note": "Out-of-time AUC 0.89 against 0.74; stable in shadow."},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        model = _model_or_404(pk)
        typed = NoteInput(data=request.data)
        typed.is_valid(raise_exception=True)
        return _step(
            lambda: lifecycle.promotion_request(
                tenant=request_tenant(request),
                actor=request_actor(request),
                model=model,
                note=typed.validated_data["note"],
            ),
            lambda result: _detail(pk),
        )


class ModelRequestRetirementView(_PersonStepView):
    @extend_schema(
        summary="Ask for the active model to be retired (back to the built-in model)",
        description="Like a promotion, a second person approves it (`approve/`). `note` says "
        "why (required). Needs a signed-in member with MANAGE_MONITORING.",
        tags=[TAG],
        request=NoteInput,
        responses={200: ModelDetailOutput, 400: OpenApiResponse(description="No note"), **PROBLEMS},
    )
    def post(self, request: Request, pk: int) -> Response:
        model = _model_or_404(pk)
        typed = NoteInput(data=request.data)
        typed.is_valid(raise_exception=True)
        return _step(
            lambda: lifecycle.retirement_request(
                tenant=request_tenant(request),
                actor=request_actor(request),
                model=model,
                note=typed.validated_data["note"],
            ),
            lambda result: _detail(pk),
        )


class ModelApproveView(_PersonStepView):
    @extend_schema(
        summary="Approve the request waiting on a model (four eyes: step 2)",
        description="A promotion: the previous active model is retired, this one becomes the "
        "official model and every buyer is re-scored (`rescore_run`). A retirement: the tenant "
        "goes back to the built-in model, re-scored too. The approver must be a signed-in "
        "member with MANAGE_MONITORING other than the requester (403 otherwise).",
        tags=[TAG],
        request=None,
        responses={200: ApprovalOutput, **PROBLEMS},
        examples=[
            OpenApiExample(
                "Approved",
                value=MODEL_EXAMPLE | {"rescore_run": "/api/v1/rescore-runs/318/"},
                response_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        model = _model_or_404(pk)

        def answer(run: RescoreRun) -> dict[str, Any]:
            body = dict(ModelOutput(model_json(_model_or_404(pk))).data)
            return body | {"rescore_run": reverse("api:rescore-run-detail", args=[run.pk])}

        return _step(
            lambda: lifecycle.request_approve(
                tenant=request_tenant(request), actor=request_actor(request), model=model
            ),
            answer,
        )


class ModelRejectView(_PersonStepView):
    @extend_schema(
        summary="Turn down (or withdraw) the request waiting on a model",
        description="`reason` is required. Any member with MANAGE_MONITORING, the requester "
        "included; not an API key.",
        tags=[TAG],
        request=ReasonInput,
        responses={
            200: ModelDetailOutput,
            400: OpenApiResponse(description="No reason"),
            **PROBLEMS,
        },
        examples=[
            OpenApiExample(
                "Reject", value={"reason": "One more month in shadow first."}, request_only=True
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        model = _model_or_404(pk)
        typed = ReasonInput(data=request.data)
        typed.is_valid(raise_exception=True)
        return _step(
            lambda: lifecycle.promotion_reject(
                tenant=request_tenant(request),
                actor=request_actor(request),
                model=model,
                reason=typed.validated_data["reason"],
            ),
            lambda result: _detail(pk),
        )
