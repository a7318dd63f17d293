"""REST API for claims: list (filters) and create (from invoices or an overdue notification),
detail with the invoices and their checks, the calculation and the timeline, the workflow steps
as POST sub-resources (a step the status does not allow is a 409 problem), comments,
recoveries, write-offs, the claims KPIs and a CSV export. Thin over `claims.services` and
`claims.selectors`. Reading needs VIEW, writing MANAGE_INSURANCE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buyers.exports import csv_bytes
from buyers.models import Buyer
from creditguard.accounts.roles import Permission
from creditguard.api.problems import problem, problem_response
from creditguard.api.request import request_actor, request_tenant
from creditguard.dates import today
from policies.insurance_api.notifications import CsvRenderer
from policies.models import InsurancePolicy, OverdueNotification
from policies.services.transitions import TransitionNotAllowed

from .. import selectors, services
from ..models import Claim
from .filters import ClaimFilter
from .serializers import (
    ClaimCommentInput,
    ClaimCreateInput,
    ClaimDecisionInput,
    ClaimDetailOutput,
    ClaimEventOutput,
    ClaimOutput,
    ClaimPaymentInput,
    ClaimRecoveryInput,
    ClaimRecoveryOutput,
    ClaimRequiredCommentInput,
    ClaimsKpisOutput,
    ClaimWriteOffInput,
    ClaimWriteOffOutput,
)

TAG = "claims"
F = TypeVar("F", bound=Callable[..., Any])
EXPORT_MAX_ROWS = 50_000
EXPORT_COLUMNS = (
    "number",
    "status",
    "cause",
    "policy",
    "buyer_erp_reference",
    "buyer_name",
    "loss_date",
    "currency",
    "claimed_amount",
    "eligible_amount",
    "indemnity_amount",
    "approved_amount",
    "paid_amount",
    "paid_on",
    "insurer_reference",
    "submitted_at",
    "paid_at",
)


def _claim(pk: int) -> Claim:
    claim = (
        selectors.claims()
        .prefetch_related("invoices__invoice", "events", "recoveries", "write_offs")
        .filter(pk=pk)
        .first()
    )
    if claim is None:
        raise NotFound()
    return claim


def _conflict(error: TransitionNotAllowed) -> Response:
    return problem_response(409, problem(409, _("Not allowed now"), " ".join(error.messages)))


def _detail(pk: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(ClaimDetailOutput(_claim(pk)).data, status=code)


_ACTION_RESPONSES: dict[int, Any] = {
    200: ClaimDetailOutput,
    400: OpenApiResponse(description="Invalid input"),
    404: OpenApiResponse(description="Not found"),
    409: OpenApiResponse(description="Not allowed in the claim's status"),
}


def _object(model: Any, pk: int, field: str) -> Any:
    found = model.objects.filter(pk=pk).first()
    if found is None:
        from rest_framework.exceptions import ValidationError

        raise ValidationError({field: [_("Not found.")]})
    return found


class ClaimListView(generics.ListAPIView[Claim]):
    serializer_class = ClaimOutput
    filterset_class = ClaimFilter
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    def get_queryset(self) -> QuerySet[Claim]:
        return selectors.claims()

    @extend_schema(summary="List claims, newest first", tags=[TAG])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a draft claim from invoices, or from a sent overdue notification",
        tags=[TAG],
        request=ClaimCreateInput,
        responses={201: ClaimDetailOutput, 400: OpenApiResponse(description="Invalid input")},
    )
    def post(self, request: Request) -> Response:
        typed = ClaimCreateInput(data=request.data)
        typed.is_valid(raise_exception=True)
        data = typed.validated_data
        tenant, actor = request_tenant(request), request_actor(request)
        if data.get("notification") is not None:
            notification = _object(OverdueNotification, data["notification"], "notification")
            claim = services.claim_from_notification(
                tenant=tenant,
                actor=actor,
                notification=notification,
                cause=data["cause"],
                loss_date=data["loss_date"],
            )
        else:
            claim = services.claim_create(
                tenant=tenant,
                actor=actor,
                policy=_object(InsurancePolicy, data["policy"], "policy"),
                buyer=_object(Buyer, data["buyer"], "buyer"),
                cause=data["cause"],
                loss_date=data["loss_date"],
                invoice_ids=data["invoice_ids"],
                notes=data["notes"],
            )
        return _detail(claim.pk, status.HTTP_201_CREATED)


class ClaimDetailView(APIView):
    @extend_schema(
        summary="A claim with its invoices and checks, calculation, timeline and recoveries",
        tags=[TAG],
        responses={200: ClaimDetailOutput, 404: OpenApiResponse(description="Not found")},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _detail(pk)


class _StepView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}
    input_class: Any = ClaimCommentInput

    def step(self, request: Request, claim: Claim, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        claim = _claim(pk)
        typed = self.input_class(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            self.step(request, claim, dict(typed.validated_data))
        except TransitionNotAllowed as error:
            return _conflict(error)
        return _detail(pk)


def _step_schema(summary: str, request: Any = ClaimCommentInput) -> Callable[[F], F]:
    return extend_schema(summary=summary, tags=[TAG], request=request, responses=_ACTION_RESPONSES)


class ClaimSubmitView(_StepView):
    @_step_schema("Submit a draft claim to the insurer (checks re-run for today's filing)")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, claim: Claim, data: dict[str, Any]) -> None:
        services.claim_submit(
            tenant=request_tenant(request), actor=request_actor(request), claim=claim, **data
        )


class ClaimStartReviewView(_StepView):
    @_step_schema("Record that the insurer started reviewing a submitted claim")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, claim: Claim, data: dict[str, Any]) -> None:
        services.claim_start_review(
            tenant=request_tenant(request), actor=request_actor(request), claim=claim, **data
        )


class ClaimDecisionView(_StepView):
    input_class = ClaimDecisionInput

    @_step_schema("Record the insurer's decision", ClaimDecisionInput)
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, claim: Claim, data: dict[str, Any]) -> None:
        services.claim_decide(
            tenant=request_tenant(request), actor=request_actor(request), claim=claim, **data
        )


class ClaimPaymentView(_StepView):
    input_class = ClaimPaymentInput

    @_step_schema("Record the insurer's payment of an approved claim", ClaimPaymentInput)
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, claim: Claim, data: dict[str, Any]) -> None:
        services.claim_mark_paid(
            tenant=request_tenant(request), actor=request_actor(request), claim=claim, **data
        )


class ClaimWithdrawView(_StepView):
    @_step_schema("Withdraw a claim before the insurer's decision")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, claim: Claim, data: dict[str, Any]) -> None:
        services.claim_withdraw(
            tenant=request_tenant(request), actor=request_actor(request), claim=claim, **data
        )


class ClaimCommentView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    @extend_schema(
        summary="Comment on a claim (added to its timeline)",
        tags=[TAG],
        request=ClaimRequiredCommentInput,
        responses={201: ClaimEventOutput, 400: OpenApiResponse(description="Invalid input")},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim = _claim(pk)
        typed = ClaimRequiredCommentInput(data=request.data)
        typed.is_valid(raise_exception=True)
        event = services.claim_comment(
            tenant=request_tenant(request),
            actor=request_actor(request),
            claim=claim,
            comment=typed.validated_data["comment"],
        )
        return Response(ClaimEventOutput(event).data, status=status.HTTP_201_CREATED)


class ClaimRecoveryView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    @extend_schema(
        summary="Record a recovery on a paid claim (split between insurer and insured)",
        tags=[TAG],
        request=ClaimRecoveryInput,
        responses={**_ACTION_RESPONSES, 201: ClaimRecoveryOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim = _claim(pk)
        typed = ClaimRecoveryInput(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            recovery = services.recovery_record(
                tenant=request_tenant(request),
                actor=request_actor(request),
                claim=claim,
                **typed.validated_data,
            )
        except TransitionNotAllowed as error:
            return _conflict(error)
        return Response(ClaimRecoveryOutput(recovery).data, status=status.HTTP_201_CREATED)


class ClaimWriteOffView(APIView):
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    @extend_schema(
        summary="Write off the uninsured rest of a paid or rejected claim",
        tags=[TAG],
        request=ClaimWriteOffInput,
        responses={**_ACTION_RESPONSES, 201: ClaimWriteOffOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim = _claim(pk)
        typed = ClaimWriteOffInput(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            write_off = services.write_off_record(
                tenant=request_tenant(request),
                actor=request_actor(request),
                claim=claim,
                **typed.validated_data,
            )
        except TransitionNotAllowed as error:
            return _conflict(error)
        return Response(ClaimWriteOffOutput(write_off).data, status=status.HTTP_201_CREATED)


class ClaimsKpisView(APIView):
    @extend_schema(
        summary="Claims KPIs: handling time, loss recovery rate, bad-debt ratio",
        tags=[TAG],
        responses=ClaimsKpisOutput,
    )
    def get(self, request: Request) -> Response:
        as_of = today()
        kpis = selectors.claims_kpis(tenant=request_tenant(request), as_of=as_of)
        return Response(ClaimsKpisOutput({**kpis.__dict__, "as_of": as_of}).data)


class ClaimExportView(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        summary="Export the claims (same filters as the list) as CSV",
        tags=[TAG],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request) -> HttpResponse:
        filtered = ClaimFilter(request.query_params, queryset=selectors.claims())
        if not filtered.is_valid():
            from rest_framework.exceptions import ValidationError

            raise ValidationError(filtered.errors)
        rows = [
            (
                claim.number,
                claim.status,
                claim.cause,
                claim.policy.number,
                claim.buyer.erp_reference,
                claim.buyer.legal_name,
                claim.loss_date,
                claim.currency,
                claim.claimed_amount,
                claim.eligible_amount,
                claim.indemnity_amount,
                claim.approved_amount,
                claim.paid_amount,
                claim.paid_on,
                claim.insurer_reference,
                claim.submitted_at.isoformat() if claim.submitted_at else None,
                claim.paid_at.isoformat() if claim.paid_at else None,
            )
            for claim in filtered.qs[: EXPORT_MAX_ROWS + 1]
        ]
        if len(rows) > EXPORT_MAX_ROWS:
            return problem_response(
                400,
                problem(
                    400,
                    _("Too many rows"),
                    _("Narrow the filters: at most %(max)s claims per export.")
                    % {"max": EXPORT_MAX_ROWS},
                ),
            )
        response = HttpResponse(
            csv_bytes(EXPORT_COLUMNS, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="claims.csv"'
        return response
