"""REST API for back-fills of the score history: start one, follow its progress, list them.

The same service as the back-test page's button (`monitoring.backfill.backfill_start`): one
back-fill at a time per tenant, so a start while one is queued or running answers that one
(200) instead of starting another (202). Retries with the same `Idempotency-Key` replay the
first answer (`creditguard.api.idempotency`). Starting needs a write key or MANAGE_MONITORING
(as on the page); reading needs any key or membership. Another tenant's run is "not found".
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
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.request import Request

from creditguard.accounts.roles import Permission
from creditguard.api.idempotency import SCHEMA_PARAMETER, start_idempotently
from creditguard.api.problems import flatten_errors, problem
from creditguard.api.request import request_actor, request_tenant

from ..backfill import MAX_PERIODS, backfill_progress, backfill_start, pending_backfill
from ..models import BackfillRun

TAG = "back-fills"

BACKFILL_EXAMPLE = {
    "id": 27,
    "url": "/api/v1/backfills/27/",
    "first_period": "2022-01-01",
    "last_period": "2026-11-01",
    "model_version": "cg-2026.2",
    "status": "running",
    "status_label": "Running",
    "done": False,
    "percent": 40,
    "done_periods": 24,
    "total_periods": 59,
    "scores_written": 1_180_442,
    "error": "",
    "requested_by": None,
    "created_at": "2026-12-07T09:15:02Z",
    "started_at": "2026-12-07T09:15:03Z",
    "finished_at": None,
}
FINISHED_EXAMPLE = BACKFILL_EXAMPLE | {
    "status": "succeeded",
    "status_label": "Finished",
    "done": True,
    "percent": 100,
    "done_periods": 59,
    "scores_written": 2_904_118,
    "finished_at": "2026-12-07T09:41:40Z",
}


class BackfillInput(serializers.Serializer):
    first_period = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Any day of the first month to score. Default: the first month whose first "
        "day knows an invoice or a financial statement, at most "
        f"{MAX_PERIODS} months before the last.",
    )
    last_period = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Any day of the last month to score, at the latest the month before the "
        "current one (the default).",
    )


class BackfillOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where to poll the run.")
    status = serializers.ChoiceField(choices=BackfillRun.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    model_version = serializers.CharField(help_text="The model that scored the history.")
    done = serializers.SerializerMethodField(help_text="Succeeded or failed.")
    percent = serializers.SerializerMethodField(help_text="0–100; 100 only once succeeded.")
    done_periods = serializers.SerializerMethodField(help_text="Months scored so far.")
    total_periods = serializers.IntegerField(help_text="Months to score.")
    scores_written = serializers.IntegerField(
        help_text="Scores written so far; months that already had a buyer's score keep it."
    )
    error = serializers.CharField(help_text="Why the run failed; empty otherwise.")
    requested_by = serializers.SerializerMethodField(
        help_text="The member who started it; null for API keys."
    )

    class Meta:
        model = BackfillRun
        fields = [
            "id",
            "url",
            "first_period",
            "last_period",
            "model_version",
            "status",
            "status_label",
            "done",
            "percent",
            "done_periods",
            "total_periods",
            "scores_written",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_url(self, run: BackfillRun) -> str:
        return reverse("api:backfill-detail", args=[run.pk])

    def get_done(self, run: BackfillRun) -> bool:
        return bool(backfill_progress(run)["done"])

    def get_percent(self, run: BackfillRun) -> int:
        return int(backfill_progress(run)["percent"])

    def get_done_periods(self, run: BackfillRun) -> int:
        return int(backfill_progress(run)["done_periods"])

    def get_requested_by(self, run: BackfillRun) -> str | None:
        user: AbstractBaseUser | None = run.requested_by
        return user.get_username() if user is not None else None


def _runs() -> QuerySet[BackfillRun]:
    return BackfillRun.objects.select_related("requested_by")


def _invalid(errors: Any) -> dict[str, Any]:
    return problem(
        400, _("Invalid input"), _("One or more fields are invalid."), errors=flatten_errors(errors)
    )


@extend_schema_view(
    get=extend_schema(
        summary="List back-fills of the score history, newest first",
        description="Each back-fill scored a window of past months as of each month's first "
        "day, with its progress.",
        tags=[TAG],
        examples=[OpenApiExample("A back-fill", value=FINISHED_EXAMPLE, response_only=True)],
    ),
    post=extend_schema(
        summary="Score the history month by month (one back-fill at a time)",
        description="Starts scoring every month of the window as of its first day, from what "
        "was known then: statements known, invoices, payments, disputes and legal events up to "
        "that day (202, `Location` is the run to poll). Months that already have a buyer's "
        "score keep it; no alerts are raised. The scores feed the back-tests "
        "(`/api/v1/backtests/`). While a back-fill is queued or running, that one is answered "
        "instead (200), whatever the window asked for. Retries with the same "
        "`Idempotency-Key` replay the first answer. An impossible window (the current month or "
        f"later, more than {MAX_PERIODS} months, first after last) is a 400 problem naming the "
        "field. Needs a write key, or MANAGE_MONITORING for members.",
        tags=[TAG],
        request=BackfillInput,
        parameters=[SCHEMA_PARAMETER],
        responses={
            202: OpenApiResponse(BackfillOutput, description="A new back-fill was started."),
            200: OpenApiResponse(BackfillOutput, description="A back-fill is already going."),
            403: OpenApiResponse(description="Read-only key, or a member who may not start it"),
        },
        examples=[
            OpenApiExample(
                "Last three years",
                value={"first_period": "2023-12-01", "last_period": "2026-11-01"},
                request_only=True,
            ),
            OpenApiExample(
                "Started",
                value=BACKFILL_EXAMPLE
                | {"status": "queued", "status_label": "Queued", "percent": 0}
                | {"done_periods": 0, "scores_written": 0, "started_at": None},
                response_only=True,
                status_codes=["202"],
            ),
            OpenApiExample(
                "Already running", value=BACKFILL_EXAMPLE, response_only=True, status_codes=["200"]
            ),
        ],
    ),
)
class BackfillListView(generics.ListAPIView[BackfillRun]):
    serializer_class = BackfillOutput
    required_permissions = {"POST": Permission.MANAGE_MONITORING}

    def get_queryset(self) -> QuerySet[BackfillRun]:
        return _runs()

    def post(self, request: Request) -> HttpResponse:
        return start_idempotently(request, handler=lambda: self._start(request), located=(200, 202))

    def _start(self, request: Request) -> tuple[int, dict[str, Any]]:
        typed = BackfillInput(data=request.data)
        if not typed.is_valid():
            return 400, _invalid(typed.errors)
        # The service returns the pending run rather than start another; which one it was
        # decides the status code (after a concurrent start both name the same run).
        before = pending_backfill()
        try:
            run = backfill_start(
                tenant=request_tenant(request),
                actor=request_actor(request),
                first_period=typed.validated_data.get("first_period"),
                last_period=typed.validated_data.get("last_period"),
            )
        except ValidationError as error:
            return 400, _invalid(
                error.message_dict
                if hasattr(error, "error_dict")
                else {"non_field_errors": error.messages}
            )
        body = BackfillOutput(_runs().get(pk=run.pk)).data
        return (200 if before is not None and before.pk == run.pk else 202), body


@extend_schema(
    summary="A back-fill: status, progress and outcome",
    tags=[TAG],
    responses={200: BackfillOutput, 404: OpenApiResponse(description="Not found")},
    examples=[OpenApiExample("Finished", value=FINISHED_EXAMPLE, response_only=True)],
)
class BackfillDetailView(generics.RetrieveAPIView[BackfillRun]):
    serializer_class = BackfillOutput

    def get_object(self) -> BackfillRun:
        return get_object_or_404(_runs(), pk=self.kwargs["pk"])
