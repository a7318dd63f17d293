"""REST API for credit policy, limit requests and decisions, limits, insurer cover and the
credit check. Thin over `policies.services` and `policies.selectors`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buyers.models import Buyer
from buyers.services import buyer_by_reference
from creditguard.accounts.roles import Permission
from creditguard.api.idempotency import (
    SCHEMA_PARAMETER,
    json_response,
    respond_idempotently,
)
from creditguard.api.models import ApiKey
from creditguard.api.permissions import TenantPermission
from creditguard.api.problems import flatten_errors, problem, problem_response
from creditguard.api.request import request_actor, request_tenant
from creditguard.reference.fx import MissingRate

from .. import selectors, services
from ..approval import Objection
from ..models import CreditLimit, InsurerCover, LimitRequest
from ..texts import breach_text, reason_text, step_text
from . import filters, serializers

TAG_POLICY = "credit policy"
TAG_REQUESTS = "limit requests"
TAG_LIMITS = "limits"
TAG_COVER = "insurer cover"
TAG_CHECK = "credit checks"

BANDS_EXAMPLE = [
    {"grade_from": 1, "grade_to": 4, "max_payment_terms_days": 90, "max_limit": "1000000",
     "max_limit_equity_pct": "15", "max_limit_revenue_pct": "8",
     "insurance_required_above": "400000", "approval_level": "standard"},
    {"grade_from": 5, "grade_to": 7, "max_payment_terms_days": 60, "max_limit": "300000",
     "max_limit_equity_pct": "10", "max_limit_revenue_pct": "5",
     "insurance_required_above": "100000", "approval_level": "standard"},
    {"grade_from": 8, "grade_to": 10, "max_payment_terms_days": 30, "max_limit": "25000",
     "insurance_required_above": "0", "approval_level": "four_eyes"},
]  # fmt: skip
POLICY_EXAMPLE = {
    "effective_from": "2027-01-01",
    "four_eyes_threshold": "250000",
    "lowest_acceptable_grade": 8,
    "overdue_hold_days": 60,
    "overdue_hold_amount": "5000",
    "limit_without_financials": "50000",
    "notes": "Tighter limits for grades 8–10.",
    "bands": BANDS_EXAMPLE,
}
LIMIT_REQUEST_EXAMPLE = {
    "buyer_erp_reference": "C-10042",
    "amount": "250000.00",
    "payment_terms_days": 60,
    "justification": "Framework agreement for 2027; expected orders of 40,000 EUR a month.",
}
COVER_EXAMPLE = {
    "buyer_erp_reference": "C-10042",
    "insurer": "Allianz Trade",
    "policy_number": "TCI-518233",
    "decision_reference": "CL-7734120",
    "amount": "200000.00",
    "currency": "EUR",
    "decision_date": "2026-10-14",
    "expiry_date": None,
    "status": "granted",
}
CREDIT_CHECK_EXAMPLE = {
    "buyer_erp_reference": "C-10042",
    "order_amount": "48250.00",
    "currency": "EUR",
    "payment_terms_days": 60,
}
CREDIT_CHECK_HOLD = {
    "decision": "hold",
    "reasons": [
        {
            "code": "over_limit",
            "message": "Exposure 212,400 EUR plus this order 48,250 EUR exceeds the limit "
            "250,000 EUR by 10,650 EUR.",
            "values": {
                "limit": "250000.00",
                "exposure": "212400.00",
                "order_amount": "48250.00",
                "excess": "10650.00",
            },
        }
    ],
    "buyer": {"id": 42, "erp_reference": "C-10042", "legal_name": "Nordlicht Maschinenbau GmbH"},
    "grade": 4,
    "limit": "250000.00",
    "exposure": "212400.00",
    "available": "37600.00",
    "order_amount": "48250.00",
    "currency": "EUR",
}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _money(value)
        if isinstance(value, Decimal)
        else (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in values.items()
    }


def _buyer(reference: Any, *, field: str = "buyer_erp_reference") -> Buyer:
    return buyer_by_reference(str(reference or ""), field=field)


class MembersOnly(TenantPermission):
    """Only a signed-in member may do this: decisions need a person, never an API key."""

    message = "Decisions on limits need a signed-in member with approval authority."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            return request.method in SAFE_METHODS
        return super().has_permission(request, view)


# --- Credit policy ---------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List credit policy versions, newest first", tags=[TAG_POLICY]),
    post=extend_schema(
        summary="Create a new credit policy version (administrators)",
        tags=[TAG_POLICY],
        request=serializers.CreditPolicyInput,
        responses={201: serializers.CreditPolicyOutput},
        examples=[OpenApiExample("New version", value=POLICY_EXAMPLE, request_only=True)],
    ),
)
class CreditPolicyListCreateView(generics.ListAPIView):
    serializer_class = serializers.CreditPolicyOutput
    permission_classes = [MembersOnly]
    required_permissions = {"POST": Permission.MANAGE_CREDIT_POLICY}

    def get_queryset(self) -> QuerySet:
        return selectors.policy_versions()

    def post(self, request: Request) -> Response:
        typed = serializers.CreditPolicyInput(data=request.data)
        typed.is_valid(raise_exception=True)
        policy = services.credit_policy_create(
            tenant=request_tenant(request), actor=request_actor(request), **typed.validated_data
        )
        return Response(
            serializers.CreditPolicyOutput(selectors.policy_versions().get(pk=policy.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class CreditPolicyCurrentView(APIView):
    @extend_schema(
        summary="The credit policy in force today",
        tags=[TAG_POLICY],
        responses={
            200: serializers.CreditPolicyOutput,
            404: OpenApiResponse(description="None yet"),
        },
        examples=[
            OpenApiExample(
                "In force",
                value={"id": 3, "version": 3, "currency": "EUR", **POLICY_EXAMPLE},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        policy = selectors.policy_in_force(on=selectors.today())
        if policy is None:
            raise NotFound(_("No credit policy is in force yet."))
        return Response(serializers.CreditPolicyOutput(policy).data)


@extend_schema_view(get=extend_schema(summary="Get a credit policy version", tags=[TAG_POLICY]))
class CreditPolicyDetailView(generics.RetrieveAPIView):
    serializer_class = serializers.CreditPolicyOutput

    def get_queryset(self) -> QuerySet:
        return selectors.policy_versions()


# --- Limit requests --------------------------------------------------------------------------


def _request_detail(request: Request, limit_request: LimitRequest) -> dict[str, Any]:
    tenant = request_tenant(request)
    item = selectors.request_items(tenant=tenant, requests=[limit_request])[0]
    recommendation = None
    if item.recommendation is not None:
        recommendation = {
            "amount": item.recommendation.amount,
            "payment_terms_days": item.recommendation.payment_terms_days,
            "binding": item.recommendation.binding,
            "steps": [
                {"code": s.code, "amount": s.amount, "message": step_text(s, tenant.base_currency)}
                for s in item.recommendation.steps
            ],
            "warnings": [
                {"code": s.code, "amount": s.amount, "message": step_text(s, tenant.base_currency)}
                for s in item.recommendation.warnings
            ],
        }
    limit_request.recommendation = recommendation
    limit_request.approvals_needed = item.approvals_needed
    return serializers.LimitRequestDetailOutput(limit_request).data


def _open_request(pk: int) -> LimitRequest:
    return get_object_or_404(selectors.limit_requests().prefetch_related("decisions"), pk=pk)


@extend_schema_view(
    get=extend_schema(
        summary="List limit requests",
        tags=[TAG_REQUESTS],
    ),
    post=extend_schema(
        summary="Request a credit limit (ERPs with a write key, or members)",
        description="The approvers whose authority covers the amount are notified. One open "
        "request per buyer. Retries with the same `Idempotency-Key` are answered, not redone.",
        tags=[TAG_REQUESTS],
        request=serializers.LimitRequestInput,
        parameters=[SCHEMA_PARAMETER],
        responses={201: serializers.LimitRequestOutput},
        examples=[OpenApiExample("Request", value=LIMIT_REQUEST_EXAMPLE, request_only=True)],
    ),
)
class LimitRequestListCreateView(generics.ListAPIView):
    serializer_class = serializers.LimitRequestOutput
    filterset_class = filters.LimitRequestFilter
    required_permissions = {"POST": Permission.REQUEST_LIMIT}

    def get_queryset(self) -> QuerySet:
        return selectors.limit_requests().prefetch_related("decisions")

    def post(self, request: Request) -> HttpResponse:
        body = request.body
        return respond_idempotently(
            request,
            tenant=request_tenant(request),
            body=body,
            handler=lambda: self._create(request),
        )

    def _create(self, request: Request) -> tuple[int, dict[str, Any]]:
        typed = serializers.LimitRequestInput(data=request.data)
        if not typed.is_valid():
            return 400, _invalid(typed.errors)
        values = dict(typed.validated_data)
        try:
            created = services.limit_request_create(
                tenant=request_tenant(request),
                actor=request_actor(request),
                buyer=_buyer(values.pop("buyer_erp_reference")),
                **values,
            )
        except ValidationError as error:
            return 400, _invalid(
                error.message_dict
                if hasattr(error, "error_dict")
                else {"non_field_errors": error.messages}
            )
        return 201, serializers.LimitRequestOutput(_open_request(created.pk)).data


def _invalid(errors: Any) -> dict[str, Any]:
    return problem(
        400, _("Invalid input"), _("One or more fields are invalid."), errors=flatten_errors(errors)
    )


class LimitRequestDetailView(APIView):
    @extend_schema(
        summary="Get a limit request with its decisions and the current recommendation",
        tags=[TAG_REQUESTS],
        responses=serializers.LimitRequestDetailOutput,
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_request_detail(request, _open_request(pk)))


class LimitRequestDecisionView(APIView):
    permission_classes = [MembersOnly]
    required_permissions = {"POST": Permission.DECIDE_LIMIT}

    @extend_schema(
        summary="Decide on a limit request (members with approval authority only)",
        description="Approve (the amount on the table), approve partially (a lower `amount`), "
        "refuse or ask for information (`comment` required). Nobody decides on their own "
        "request; the amount must be within the approver's authority; above the policy's "
        "four-eyes threshold two distinct approvers are needed. An API key cannot decide (403). "
        "An approval outside the credit policy (terms above the band's maximum — empty terms "
        "take the requested terms within it —, an amount above the recommendation or one of "
        "the band's caps, a grade below the policy's minimum) is refused with 400 naming each "
        "breach, unless `override_reason` is given by a member who may change the credit "
        "policy (otherwise 403): it is then recorded as an override.",
        tags=[TAG_REQUESTS],
        request=serializers.DecisionInput,
        responses={
            200: serializers.LimitRequestDetailOutput,
            400: OpenApiResponse(
                description="Invalid input, or outside the credit policy without "
                "`override_reason` (`breaches`: code, field, value, limit, message)"
            ),
            403: OpenApiResponse(
                description="Own request, above authority, already approved, or an override "
                "by a role that may not override the credit policy"
            ),
            409: OpenApiResponse(description="The request is not pending"),
        },
        examples=[
            OpenApiExample(
                "Approve",
                value={"decision": "approve", "comment": "Good payer."},
                request_only=True,
            ),
            OpenApiExample(
                "Approve partially",
                value={
                    "decision": "approve_partially",
                    "amount": "150000",
                    "comment": "Start lower.",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Override the credit policy",
                value={
                    "decision": "approve",
                    "override_reason": "Parent company guarantee signed on 2026-11-30.",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Ask for information",
                value={"decision": "request_information", "comment": "Latest accounts, please."},
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        limit_request = _open_request(pk)
        typed = serializers.DecisionInput(data=request.data)
        typed.is_valid(raise_exception=True)
        data = typed.validated_data
        try:
            services.limit_request_decide(
                tenant=request_tenant(request),
                actor=request.user,
                membership=request._request.membership,
                request=limit_request,
                kind=data["decision"],
                amount=data.get("amount"),
                payment_terms_days=data.get("payment_terms_days"),
                comment=data.get("comment", ""),
                override_reason=data.get("override_reason", ""),
            )
        except services.PolicyOverrideRequired as breached:
            return problem_response(
                400,
                problem(
                    400,
                    _("Outside the credit policy"),
                    _("The approval breaks the credit policy; override it with a reason."),
                    errors=flatten_errors(breached.message_dict),
                    breaches=[
                        {
                            **breach.as_json(),
                            "field": breach.field,
                            "message": breach_text(breach, breached.currency),
                        }
                        for breach in breached.breaches
                    ],
                ),
            )
        except services.DecisionNotAllowed as refusal:
            status_code = 409 if refusal.objections == [Objection.NOT_PENDING] else 403
            body = problem(
                status_code,
                _("Decision not allowed"),
                " ".join(refusal.messages),
                objections=[objection.value for objection in refusal.objections],
            )
            return problem_response(status_code, body)
        return Response(_request_detail(request, _open_request(pk)))


class LimitRequestInformationView(APIView):
    required_permissions = {"POST": Permission.REQUEST_LIMIT}

    @extend_schema(
        summary="Answer a request for information; a new round of approvals starts",
        tags=[TAG_REQUESTS],
        request=serializers.InformationInput,
        responses={200: serializers.LimitRequestDetailOutput},
        examples=[
            OpenApiExample(
                "Information",
                value={"justification": "Management accounts Q3 attached in the credit file."},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        limit_request = _open_request(pk)
        typed = serializers.InformationInput(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            services.limit_request_resubmit(
                tenant=request_tenant(request),
                actor=request_actor(request),
                request=limit_request,
                **typed.validated_data,
            )
        except services.DecisionNotAllowed as refusal:
            raise PermissionDenied(" ".join(refusal.messages)) from refusal
        return Response(_request_detail(request, _open_request(pk)))


# --- Limits ----------------------------------------------------------------------------------


def _with_figures(request: Request, limits: list[CreditLimit]) -> list[CreditLimit]:
    figures = selectors.buyer_figures(
        tenant=request_tenant(request), buyer_ids=[limit.buyer_id for limit in limits]
    )
    for limit in limits:
        buyer_figures = figures[limit.buyer_id]
        limit.exposure = buyer_figures.exposure
        limit.available = buyer_figures.available
        limit.utilisation = buyer_figures.utilisation
        limit.insurer_cover = buyer_figures.insurer_cover
        limit.over_limit = buyer_figures.over_limit
        limit.blocked = buyer_figures.blocked
    return limits


@extend_schema_view(
    get=extend_schema(
        summary="List credit limits with exposure, utilisation and insurer cover",
        tags=[TAG_LIMITS],
    )
)
class CreditLimitListView(generics.ListAPIView):
    serializer_class = serializers.CreditLimitOutput
    filterset_class = filters.CreditLimitFilter

    def get_queryset(self) -> QuerySet:
        return CreditLimit.objects.select_related("buyer")

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            self.get_serializer(_with_figures(request, list(page)), many=True).data
        )


class CreditLimitDetailView(APIView):
    @extend_schema(
        summary="Get a credit limit", tags=[TAG_LIMITS], responses=serializers.CreditLimitOutput
    )
    def get(self, request: Request, pk: int) -> Response:
        limit = get_object_or_404(CreditLimit.objects.select_related("buyer"), pk=pk)
        return Response(serializers.CreditLimitOutput(_with_figures(request, [limit])[0]).data)


class CreditLimitByBuyerView(APIView):
    @extend_schema(
        summary="Get a buyer's credit limit by the buyer's ERP reference",
        tags=[TAG_LIMITS],
        responses=serializers.CreditLimitOutput,
    )
    def get(self, request: Request, erp_reference: str) -> Response:
        limit = get_object_or_404(
            CreditLimit.objects.select_related("buyer"), buyer__erp_reference=erp_reference
        )
        return Response(serializers.CreditLimitOutput(_with_figures(request, [limit])[0]).data)


# --- Insurer cover ---------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="List insurer covers",
        tags=[TAG_COVER],
    ),
    post=extend_schema(
        summary="Record an insurer's credit limit decision on a buyer",
        tags=[TAG_COVER],
        request=serializers.InsurerCoverInput,
        responses={201: serializers.InsurerCoverOutput},
        examples=[OpenApiExample("Cover", value=COVER_EXAMPLE, request_only=True)],
    ),
)
class InsurerCoverListCreateView(generics.ListAPIView):
    serializer_class = serializers.InsurerCoverOutput
    filterset_class = filters.InsurerCoverFilter
    required_permissions = {"POST": Permission.MANAGE_INSURANCE}

    def get_queryset(self) -> QuerySet:
        return InsurerCover.objects.select_related("buyer").order_by("-id")

    def post(self, request: Request) -> Response:
        typed = serializers.InsurerCoverInput(data=request.data)
        typed.is_valid(raise_exception=True)
        values = dict(typed.validated_data)
        cover = services.insurer_cover_save(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=_buyer(values.pop("buyer_erp_reference")),
            terms=services.CoverTerms(**values),
        )
        return Response(serializers.InsurerCoverOutput(cover).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get an insurer cover", tags=[TAG_COVER]),
    patch=extend_schema(
        summary="Change an insurer cover (reduction, withdrawal, renewal)",
        tags=[TAG_COVER],
        request=serializers.InsurerCoverPatch,
        examples=[
            OpenApiExample(
                "Reduction",
                value={"amount": "120000.00", "status": "reduced", "decision_date": "2026-11-20"},
                request_only=True,
            )
        ],
    ),
)
class InsurerCoverDetailView(generics.GenericAPIView):
    serializer_class = serializers.InsurerCoverOutput
    required_permissions = {"PATCH": Permission.MANAGE_INSURANCE}

    def get_queryset(self) -> QuerySet:
        return InsurerCover.objects.select_related("buyer")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request: Request, pk: int) -> Response:
        cover = self.get_object()
        typed = serializers.InsurerCoverPatch(data=request.data)
        typed.is_valid(raise_exception=True)
        cover = services.insurer_cover_save(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=cover.buyer,
            terms=services.CoverTerms.of(cover, **typed.validated_data),
            cover=cover,
        )
        return Response(self.get_serializer(cover).data)


# --- Credit check ----------------------------------------------------------------------------


class CreditCheckPermission(TenantPermission):
    """A credit check changes nothing: read-only API keys and every member may run it."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            return True
        membership = getattr(request._request, "membership", None)
        return bool(
            request.user.is_authenticated and membership and membership.allows(Permission.VIEW)
        )


class CreditCheckView(APIView):
    permission_classes = [CreditCheckPermission]

    @extend_schema(
        summary="May I ship this order? Approve or hold, with reasons",
        description="Reasons to hold: `blocked`, `no_limit`, `over_limit` (exposure + order > "
        "limit), `overdue_beyond_threshold`, `grade_below_minimum`, `terms_beyond_policy`. "
        "Amounts in the tenant's base currency. Nothing is written; read-only keys may call it.",
        tags=[TAG_CHECK],
        request=serializers.CreditCheckInput,
        responses={200: serializers.CreditCheckOutput},
        examples=[
            OpenApiExample("Order", value=CREDIT_CHECK_EXAMPLE, request_only=True),
            OpenApiExample("Hold", value=CREDIT_CHECK_HOLD, response_only=True),
        ],
    )
    def post(self, request: Request) -> HttpResponse:
        typed = serializers.CreditCheckInput(data=request.data)
        typed.is_valid(raise_exception=True)
        data = typed.validated_data
        tenant = request_tenant(request)
        currency = (data.get("currency") or tenant.base_currency).upper()
        try:
            outcome = selectors.credit_check_buyer(
                tenant=tenant,
                buyer_erp_reference=data["buyer_erp_reference"],
                order_amount=data["order_amount"],
                order_currency=currency,
                order_terms_days=data.get("payment_terms_days"),
            )
        except MissingRate as missing:
            raise ValidationError(
                {"currency": [_("No exchange rate is known for %s.") % missing]}
            ) from missing
        if outcome is None:
            raise ValidationError({"buyer_erp_reference": [_("No buyer with this ERP reference.")]})
        result, buyer = outcome.result, outcome.buyer
        # Rendered by hand with orjson: this is the hot path ERPs call for every order.
        return json_response(
            200,
            {
                "decision": result.decision.value,
                "reasons": [
                    {
                        "code": reason.code.value,
                        "message": reason_text(reason, outcome.currency),
                        "values": _jsonable(reason.values),
                    }
                    for reason in result.reasons
                ],
                "buyer": {
                    "id": buyer.pk,
                    "erp_reference": buyer.erp_reference,
                    "legal_name": buyer.legal_name,
                },
                "grade": outcome.grade,
                "limit": _money(result.limit),
                "exposure": _money(result.exposure),
                "available": _money(result.available),
                "order_amount": _money(outcome.order_amount),
                "currency": outcome.currency,
            },
        )
