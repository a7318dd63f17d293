"""REST API for re-scoring runs: start a "Rescore now" run, follow its progress, list the runs.

The same service as the page's button (`monitoring.rescoring.rescore_now`): one manual run at a
time per tenant, so a start while a run is queued or running answers that run (200) instead
of starting another (202). Retries with the same `Idempotency-Key` replay the first answer
(`creditguard.api.idempotency`). Starting needs a write key or MANAGE_MONITORING (as on the
page); reading needs any key or membership. Another tenant's run is "not found".
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
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
from creditguard.api.request import request_actor, request_tenant

from ..models import BuyerScore, RescoreRun
from ..rescoring import rescore_now, rescore_progress

TAG = "rescore runs"
PENDING = (RescoreRun.Status.QUEUED, RescoreRun.Status.RUNNING)

RESCORE_RUN_EXAMPLE = {
    "id": 318,
    "url": "/api/v1/rescore-runs/318/",
    "trigger": "manual",
    "period": "2026-12-01",
    "status": "running",
    "status_label": "Running",
    "done": False,
    "percent": 42,
    "scored": 2100,
    "total": 5000,
    "alerts_raised": 7,
    "upgraded": 31,
    "downgraded": 44,
    "model_version": "cg-2026.2",
    "error": "",
    "requested_by": None,
    "created_at": "2026-12-07T09:15:02Z",
    "started_at": "2026-12-07T09:15:03Z",
    "finished_at": None,
}
FINISHED_EXAMPLE = RESCORE_RUN_EXAMPLE | {
    "status": "succeeded",
    "status_label": "Finished",
    "done": True,
    "percent": 100,
    "scored": 5000,
    "alerts_raised": 19,
    "upgraded": 83,
    "downgraded": 102,
    "finished_at": "2026-12-07T09:17:41Z",
}


class RescoreRunOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where to poll the run.")
    status = serializers.ChoiceField(choices=RescoreRun.Status.choices)
    trigger = serializers.ChoiceField(choices=BuyerScore.Trigger.choices)
    status_label = serializers.CharField(source="get_status_display")
    done = serializers.SerializerMethodField(help_text="Succeeded or failed.")
    percent = serializers.SerializerMethodField(help_text="0–100; 100 only once succeeded.")
    scored = serializers.SerializerMethodField(help_text="Buyers scored so far.")
    total = serializers.SerializerMethodField(help_text="Buyers of the tenant to score.")
    alerts_raised = serializers.IntegerField(help_text="Alerts the new scores raised.")
    upgraded = serializers.IntegerField(
        help_text="Buyers scored so far whose grade got better than their previous score's "
        "(the latest of an earlier period)."
    )
    downgraded = serializers.IntegerField(
        help_text="Buyers scored so far whose grade got worse than their previous score's."
    )
    model_version = serializers.CharField(
        help_text="The model the run scores with: the tenant's official model (its active "
        "scorecard, or the built-in one); empty until the first buyers are scored. "
        "See /api/v1/models/."
    )
    error = serializers.CharField(help_text="Why the run failed; empty otherwise.")
    requested_by = serializers.SerializerMethodField(
        help_text="The member who started it; null for API keys and the monthly run."
    )

    class Meta:
        model = RescoreRun
        fields = [
            "id",
            "url",
            "trigger",
            "period",
            "status",
            "status_label",
            "done",
            "percent",
            "scored",
            "total",
            "alerts_raised",
            "upgraded",
            "downgraded",
            "model_version",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _progress(self, run: RescoreRun) -> dict[str, Any]:
        return rescore_progress(run)  # arithmetic on the row: no query

    def get_url(self, run: RescoreRun) -> str:
        return reverse("api:rescore-run-detail", args=[run.pk])

    def get_done(self, run: RescoreRun) -> bool:
        return bool(self._progress(run)["done"])

    def get_percent(self, run: RescoreRun) -> int:
        return int(self._progress(run)["percent"])

    def get_scored(self, run: RescoreRun) -> int:
        return int(self._progress(run)["scored"])

    def get_total(self, run: RescoreRun) -> int:
        return int(self._progress(run)["total"])

    def get_requested_by(self, run: RescoreRun) -> str | None:
        user: AbstractBaseUser | None = run.requested_by
        return user.get_username() if user is not None else None


def _runs() -> QuerySet[RescoreRun]:
    return RescoreRun.objects.select_related("requested_by")


@extend_schema_view(
    get=extend_schema(
        summary="List re-scoring runs, newest first",
        description="Manual runs (`Rescore now`) and the monthly runs, with their progress.",
        tags=[TAG],
        examples=[OpenApiExample("A run", value=FINISHED_EXAMPLE, response_only=True)],
    ),
    post=extend_schema(
        summary="Re-score every buyer now (one run at a time)",
        description="Starts a re-scoring of all the tenant's buyers for the current period "
        "(202, `Location` is the run to poll). While a manual run is queued or running, that "
        "run is answered instead (200). Retries with the same `Idempotency-Key` replay the "
        "first answer. Needs a write key, or MANAGE_MONITORING for members.",
        tags=[TAG],
        request=None,
        parameters=[SCHEMA_PARAMETER],
        responses={
            202: OpenApiResponse(RescoreRunOutput, description="A new run was started."),
            200: OpenApiResponse(RescoreRunOutput, description="A run is already going."),
            403: OpenApiResponse(description="Read-only key, or a member who may not rescore"),
        },
        examples=[
            OpenApiExample(
                "Started",
                value=RESCORE_RUN_EXAMPLE
                | {"status": "queued", "status_label": "Queued", "percent": 0, "scored": 0}
                | {"total": 0, "alerts_raised": 0, "started_at": None}
                | {"upgraded": 0, "downgraded": 0, "model_version": ""},
                response_only=True,
                status_codes=["202"],
            ),
            OpenApiExample(
                "Already running",
                value=RESCORE_RUN_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            ),
        ],
    ),
)
class RescoreRunListView(generics.ListAPIView[RescoreRun]):
    serializer_class = RescoreRunOutput
    required_permissions = {"POST": Permission.MANAGE_MONITORING}

    def get_queryset(self) -> QuerySet[RescoreRun]:
        return _runs()

    def post(self, request: Request) -> HttpResponse:
        return start_idempotently(request, handler=lambda: self._start(request), located=(200, 202))

    def _start(self, request: Request) -> tuple[int, dict[str, Any]]:
        # The service returns the pending run rather than start another; which one it was
        # decides the status code (after a concurrent start both name the same run).
        pending = RescoreRun.objects.filter(
            trigger=BuyerScore.Trigger.MANUAL, status__in=PENDING
        ).values_list("pk", flat=True)
        before = set(pending)
        run = rescore_now(tenant=request_tenant(request), actor=request_actor(request))
        body = RescoreRunOutput(_runs().get(pk=run.pk)).data
        return (200 if run.pk in before else 202), body


@extend_schema(
    summary="A re-scoring run: status, progress and outcome",
    tags=[TAG],
    responses={200: RescoreRunOutput, 404: OpenApiResponse(description="Not found")},
    examples=[OpenApiExample("Finished", value=FINISHED_EXAMPLE, response_only=True)],
)
class RescoreRunDetailView(generics.RetrieveAPIView[RescoreRun]):
    serializer_class = RescoreRunOutput

    def get_object(self) -> RescoreRun:
        return get_object_or_404(_runs(), pk=self.kwargs["pk"])
