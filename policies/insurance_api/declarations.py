"""REST API for declarations and premium: list and detail (with the breakdown and the
adjustments), review and submit as POST sub-resources, corrections, and closing a policy year.
Thin over `policies.services.declarations`; a step the state does not allow is a 409 problem."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creditguard.accounts.roles import Permission
from creditguard.api.problems import problem, problem_response
from creditguard.api.request import request_actor, request_tenant

from ..models import Declaration, DeclarationAdjustment, InsurancePolicy
from ..services import declarations as services
from ..services.transitions import TransitionNotAllowed
from .notification_serializers import BoundedDate

TAG = "declarations"


class DeclarationAdjustmentOutput(serializers.ModelSerializer[DeclarationAdjustment]):
    kind = serializers.CharField(help_text="correction or year_end")

    class Meta:
        model = DeclarationAdjustment
        fields = [
            "id",
            "kind",
            "amount_change",
            "premium_change",
            "reason",
            "created_by_label",
            "created_at",
        ]


class DeclarationDetailOutput(serializers.ModelSerializer[Declaration]):
    policy = serializers.IntegerField(source="policy_id")
    basis = serializers.CharField(help_text="turnover or balances")
    adjustments = DeclarationAdjustmentOutput(many=True, read_only=True)

    class Meta:
        model = Declaration
        fields = [
            "id",
            "policy",
            "period_start",
            "period_end",
            "due_date",
            "basis",
            "declared_amount",
            "premium",
            "currency",
            "status",
            "breakdown",
            "reviewed_at",
            "submitted_at",
            "adjustments",
        ]


class DeclarationAdjustInput(serializers.Serializer[Any]):
    amount_change = serializers.DecimalField(max_digits=18, decimal_places=2)
    premium_change = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True, default=None
    )
    reason = serializers.CharField(max_length=2000)


class PolicyYearCloseInput(serializers.Serializer[Any]):
    year_start = BoundedDate()


class DeclarationFilter(django_filters.FilterSet):
    policy = django_filters.NumberFilter(field_name="policy_id")
    status = django_filters.ChoiceFilter(choices=Declaration.Status.choices)

    class Meta:
        model = Declaration
        fields = ["policy", "status"]


def _queryset() -> QuerySet[Declaration]:
    return Declaration.objects.prefetch_related("adjustments")


def _declaration(pk: int) -> Declaration:
    declaration = _queryset().filter(pk=pk).first()
    if declaration is None:
        raise NotFound()
    return declaration


def _conflict(error: TransitionNotAllowed) -> Response:
    return problem_response(409, problem(409, _("Not allowed now"), " ".join(error.messages)))


_ACTION_RESPONSES = {
    200: DeclarationDetailOutput,
    400: OpenApiResponse(description="Invalid input"),
    409: OpenApiResponse(description="Not allowed in the declaration's state"),
}


@extend_schema(summary="List declarations, latest period first", tags=[TAG])
class DeclarationListView(generics.ListAPIView[Declaration]):
    serializer_class = DeclarationDetailOutput
    filterset_class = DeclarationFilter

    def get_queryset(self) -> QuerySet[Declaration]:
        return _queryset()


class DeclarationDetailView(APIView):
    @extend_schema(
        summary="A declaration with its premium breakdown and adjustments",
        tags=[TAG],
        responses={200: DeclarationDetailOutput, 404: OpenApiResponse(description="Not found")},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(DeclarationDetailOutput(_declaration(pk)).data)


class _StepView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    def step(self, request: Request, declaration: Declaration) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        declaration = _declaration(pk)
        try:
            self.step(request, declaration)
        except TransitionNotAllowed as error:
            return _conflict(error)
        return Response(DeclarationDetailOutput(_declaration(pk)).data)


class DeclarationReviewView(_StepView):
    @extend_schema(
        summary="Mark a draft declaration reviewed", tags=[TAG], request=None,
        responses=_ACTION_RESPONSES,
    )  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, declaration: Declaration) -> None:
        services.declaration_review(
            tenant=request_tenant(request), actor=request_actor(request), declaration=declaration
        )


class DeclarationSubmitView(_StepView):
    @extend_schema(
        summary="Submit a reviewed declaration (locked afterwards)", tags=[TAG], request=None,
        responses=_ACTION_RESPONSES,
    )  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, declaration: Declaration) -> None:
        services.declaration_submit(
            tenant=request_tenant(request), actor=request_actor(request), declaration=declaration
        )


class DeclarationAdjustView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    @extend_schema(
        summary="Correct a submitted declaration",
        description="Without `premium_change` the premium changes at the declaration's "
        "average rate.",
        tags=[TAG],
        request=DeclarationAdjustInput,
        responses={**_ACTION_RESPONSES, 201: DeclarationAdjustmentOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        declaration = _declaration(pk)
        typed = DeclarationAdjustInput(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            adjustment = services.declaration_adjust(
                tenant=request_tenant(request),
                actor=request_actor(request),
                declaration=declaration,
                **typed.validated_data,
            )
        except TransitionNotAllowed as error:
            return _conflict(error)
        return Response(
            DeclarationAdjustmentOutput(adjustment).data, status=status.HTTP_201_CREATED
        )


class PolicyYearCloseView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    @extend_schema(
        summary="Close an ended policy year: top up the premiums charged to the minimum premium",
        tags=[TAG],
        request=PolicyYearCloseInput,
        responses={
            201: DeclarationAdjustmentOutput,
            400: OpenApiResponse(description="Periods not submitted"),
            409: OpenApiResponse(description="Already closed"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        policy = InsurancePolicy.objects.filter(pk=pk).first()
        if policy is None:
            raise NotFound()
        typed = PolicyYearCloseInput(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            adjustment = services.policy_year_close(
                tenant=request_tenant(request),
                actor=request_actor(request),
                policy=policy,
                year_start=typed.validated_data["year_start"],
            )
        except TransitionNotAllowed as error:
            return _conflict(error)
        return Response(
            DeclarationAdjustmentOutput(adjustment).data, status=status.HTTP_201_CREATED
        )
