"""REST API for insurance policies: the policies and their terms (versions, endorsements), the
buyers they name, the cover under them and each cover's decisions. Thin over
`policies.services.insurance`, `policies.services.covers` and the insurance selectors.

Objects are looked up through the tenant-scoped managers: another tenant's policy, buyer or
cover is "not found", exactly like a missing one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buyers.models import Buyer
from buyers.services import buyer_by_reference
from creditguard.accounts.roles import Permission
from creditguard.api.request import request_actor, request_tenant
from creditguard.dates import today

from ..insurance.policy_selectors import (
    MONEY_FIELD,
    cover_history,
    in_force_amount,
    insurance_policies,
    policy_versions,
)
from ..insurance.scope import versions_in_force
from ..insurance.terms import PolicyTerms
from ..models import CoverDecision, InsurancePolicy, InsurerCover, PolicyBuyer
from ..services import covers as cover_services
from ..services import insurance as insurance_services
from . import policy_serializers as serializers

TAG = "insurance policies"
WRITES = {"POST": Permission.MANAGE_INSURANCE, "DELETE": Permission.MANAGE_INSURANCE}

TERMS_EXAMPLE = {
    "period_start": "2027-01-01",
    "period_end": "2027-12-31",
    "indemnity_commercial_pct": "90",
    "indemnity_political_pct": "95",
    "max_liability": "5000000",
    "covered_risks": ["insolvency", "protracted_default", "political"],
    "covered_countries": ["DE", "FR", "NL", "AT"],
    "waiting_period_days": 180,
    "max_extension_days": 60,
    "notification_days": 30,
    "claim_filing_days": 90,
    "cover_notice_days": 30,
    "non_qualifying_loss": "500",
    "deductible_per_buyer": "0",
    "aggregate_first_loss": "25000",
    "dcl_max_amount": "25000",
    "dcl_report_max_age_days": 365,
    "dcl_min_on_time_payments": 2,
    "dcl_payment_lookback_days": 365,
    "premium_basis": "turnover",
    "premium_rate_pct": "0.18",
    "country_group_rates": [{"name": "Benelux", "countries": ["NL"], "rate_pct": "0.21"}],
    "premium_tiers": [
        {"up_to": "5000000", "rate_pct": "0.25"},
        {"up_to": None, "rate_pct": "0.15"},
    ],
    "minimum_premium": "12000",
    "declaration_frequency": "monthly",
    "declaration_due_days": 15,
}
POLICY_EXAMPLE = {
    "insurer": "Allianz Trade",
    "number": "TCI-518233",
    "name": "Domestic and EU whole turnover",
    "currency": "EUR",
    **TERMS_EXAMPLE,
}
DECISION_EXAMPLE = {
    "buyer_erp_reference": "C-10042",
    "kind": "reduction",
    "amount": "120000.00",
    "decision_date": "2027-03-02",
    "reference": "CL-7734120/2",
}


def _policy(pk: int) -> InsurancePolicy:
    return get_object_or_404(InsurancePolicy.objects.all(), pk=pk)


def _with_terms(policies: list[InsurancePolicy], *, on: date) -> list[InsurancePolicy]:
    versions = versions_in_force(on=on)
    for policy in policies:
        policy.terms_in_force = versions.get(policy.pk)  # type: ignore[attr-defined]
    return policies


def _detail(policy: InsurancePolicy) -> dict[str, Any]:
    _with_terms([policy], on=today())
    policy.version_history = list(policy_versions(policy))  # type: ignore[attr-defined]
    return serializers.PolicyDetailOutput(policy).data


def _buyer(values: dict[str, Any]) -> Buyer:
    if "buyer_id" in values:
        buyer = Buyer.objects.filter(pk=values["buyer_id"]).first()
        if buyer is None:
            raise ValidationError({"buyer_id": [_("No buyer with this id.")]})
        return buyer
    return buyer_by_reference(str(values["buyer_erp_reference"]))


# --- Policies --------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="List insurance policies with the terms in force today",
        tags=[TAG],
    ),
    post=extend_schema(
        summary="Record an insurance policy with its terms (version 1)",
        description="The terms are validated as a whole; errors name the field, e.g. "
        "`premium_tiers[1].up_to`.",
        tags=[TAG],
        request=serializers.PolicyCreateInput,
        responses={201: serializers.PolicyDetailOutput},
        examples=[OpenApiExample("Policy", value=POLICY_EXAMPLE, request_only=True)],
    ),
)
class InsurancePolicyListCreateView(generics.ListAPIView):
    serializer_class = serializers.PolicyOutput
    required_permissions = WRITES

    def get_queryset(self) -> QuerySet[InsurancePolicy]:
        return insurance_policies()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        policies = _with_terms(list(page or []), on=today())
        return self.get_paginated_response(self.get_serializer(policies, many=True).data)

    def post(self, request: Request) -> Response:
        typed = serializers.PolicyCreateInput(data=request.data)
        typed.is_valid(raise_exception=True)
        values = dict(typed.validated_data)
        terms = serializers.typed_terms(values)
        terms.setdefault("covered_countries", ())
        policy = insurance_services.insurance_policy_create(
            tenant=request_tenant(request),
            actor=request_actor(request),
            insurer=values["insurer"],
            number=values["number"],
            name=values.get("name", ""),
            currency=values["currency"],
            effective_from=values.get("effective_from"),
            terms=PolicyTerms(**terms),
        )
        return Response(_detail(policy), status=status.HTTP_201_CREATED)


class InsurancePolicyDetailView(APIView):
    @extend_schema(
        summary="Get a policy: the terms in force today and every version",
        tags=[TAG],
        responses=serializers.PolicyDetailOutput,
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(_policy(pk)))


class InsurancePolicyVersionView(APIView):
    required_permissions = WRITES

    @extend_schema(
        summary="Endorse a policy: a new version of its terms from a date",
        description="Send the terms that change (any subset); the others are copied from the "
        "terms in force on `effective_from`. Earlier versions are kept.",
        tags=[TAG],
        request=serializers.EndorsementInput,
        responses={201: serializers.PolicyDetailOutput},
        examples=[
            OpenApiExample(
                "Endorsement",
                value={
                    "effective_from": "2027-07-01",
                    "endorsement_reference": "END-04",
                    "change_note": "Poland added at the Benelux rate.",
                    "covered_countries": ["DE", "FR", "NL", "AT", "PL"],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        policy = _policy(pk)
        typed = serializers.EndorsementInput(data=request.data)
        typed.is_valid(raise_exception=True)
        values = dict(typed.validated_data)
        insurance_services.insurance_policy_endorse(
            tenant=request_tenant(request),
            actor=request_actor(request),
            policy=policy,
            effective_from=values["effective_from"],
            endorsement_reference=values.get("endorsement_reference", ""),
            change_note=values.get("change_note", ""),
            changes=serializers.typed_terms(values),
        )
        return Response(_detail(policy), status=status.HTTP_201_CREATED)


# --- Named buyers ----------------------------------------------------------------------------

BUYER_PARAMETERS = [
    OpenApiParameter("buyer_id", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False),
    OpenApiParameter(
        "buyer_erp_reference", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False
    ),
]


@extend_schema_view(
    get=extend_schema(summary="List the buyers a policy names (included or excluded)", tags=[TAG]),
    post=extend_schema(
        summary="Name a buyer on a policy as included or excluded",
        tags=[TAG],
        request=serializers.PolicyBuyerInput,
        responses={201: serializers.PolicyBuyerOutput},
        examples=[
            OpenApiExample(
                "Include",
                value={"buyer_erp_reference": "C-10042", "kind": "included"},
                request_only=True,
            )
        ],
    ),
    delete=extend_schema(
        summary="Stop naming a buyer on a policy (its country decides again)",
        tags=[TAG],
        parameters=BUYER_PARAMETERS,
        responses={204: None, 404: OpenApiResponse(description="Not named on this policy")},
    ),
)
class PolicyBuyersView(generics.ListAPIView):
    serializer_class = serializers.PolicyBuyerOutput
    required_permissions = WRITES

    def get_queryset(self) -> QuerySet[PolicyBuyer]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no pk
            return PolicyBuyer.objects.none()
        policy = _policy(self.kwargs["pk"])
        return PolicyBuyer.objects.filter(policy=policy).select_related("buyer")

    def post(self, request: Request, pk: int) -> Response:
        policy = _policy(pk)
        typed = serializers.PolicyBuyerInput(data=request.data)
        typed.is_valid(raise_exception=True)
        values = dict(typed.validated_data)
        entry = insurance_services.policy_buyer_set(
            tenant=request_tenant(request),
            actor=request_actor(request),
            policy=policy,
            buyer=_buyer(values),
            kind=values["kind"],
        )
        return Response(serializers.PolicyBuyerOutput(entry).data, status=status.HTTP_201_CREATED)

    def delete(self, request: Request, pk: int) -> Response:
        policy = _policy(pk)
        source = request.data if isinstance(request.data, dict) and request.data else request.GET
        given = {key: source[key] for key in ("buyer_id", "buyer_erp_reference") if source.get(key)}
        typed = serializers.PolicyBuyerInput(data={**given, "kind": PolicyBuyer.Kind.INCLUDED})
        typed.is_valid(raise_exception=True)
        removed = insurance_services.policy_buyer_remove(
            tenant=request_tenant(request),
            actor=request_actor(request),
            policy=policy,
            buyer=_buyer(dict(typed.validated_data)),
        )
        if not removed:
            raise NotFound(_("The policy does not name this buyer."))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Cover -----------------------------------------------------------------------------------


def covers_with_figures(policy: InsurancePolicy, *, as_of: date) -> QuerySet[InsurerCover]:
    """The covers under `policy` with the amount in force on `as_of` and the next change."""
    pending = CoverDecision.objects.filter(
        cover_id=OuterRef("pk"), effective_date__gt=as_of
    ).order_by("effective_date", "id")
    return (
        InsurerCover.objects.filter(policy=policy)
        .select_related("buyer")
        .annotate(
            amount_in_force=Coalesce(
                in_force_amount(as_of=as_of), Value(0), output_field=MONEY_FIELD
            ),
            pending_kind=Subquery(pending.values("kind")[:1]),
            pending_amount=Subquery(pending.values("amount")[:1]),
            pending_effective_date=Subquery(pending.values("effective_date")[:1]),
        )
    )


def _with_pending(covers: list[InsurerCover]) -> list[InsurerCover]:
    for cover in covers:
        kind = getattr(cover, "pending_kind", None)
        cover.pending = (  # type: ignore[attr-defined]
            {
                "kind": kind,
                "amount": getattr(cover, "pending_amount", None),
                "effective_date": getattr(cover, "pending_effective_date", None),
            }
            if kind
            else None
        )
    return covers


@extend_schema_view(
    get=extend_schema(
        summary="List the covers under a policy, with the amount in force today",
        tags=[TAG],
    ),
    post=extend_schema(
        summary="Record an insurer's decision on a buyer under a policy",
        description="Grants and increases take effect on the decision date; reductions and "
        "withdrawals after the policy's notice period (`cover_notice_days`). Publishes the "
        "webhook event `cover.changed`.",
        tags=[TAG],
        request=serializers.CoverDecisionInput,
        responses={201: serializers.RecordedDecisionOutput},
        examples=[OpenApiExample("Reduction", value=DECISION_EXAMPLE, request_only=True)],
    ),
)
class PolicyCoversView(generics.ListAPIView):
    serializer_class = serializers.PolicyCoverOutput
    required_permissions = WRITES

    def get_queryset(self) -> QuerySet[InsurerCover]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no pk
            return InsurerCover.objects.none()
        return covers_with_figures(_policy(self.kwargs["pk"]), as_of=today())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            self.get_serializer(_with_pending(list(page or [])), many=True).data
        )

    def post(self, request: Request, pk: int) -> Response:
        policy = _policy(pk)
        typed = serializers.CoverDecisionInput(data=request.data)
        typed.is_valid(raise_exception=True)
        values = dict(typed.validated_data)
        decision = cover_services.cover_decision_record(
            tenant=request_tenant(request),
            actor=request_actor(request),
            buyer=_buyer(values),
            policy=policy,
            kind=values["kind"],
            amount=values.get("amount") or cover_services.ZERO,
            currency=values.get("currency") or policy.currency,
            decision_date=values["decision_date"],
            expiry_date=values.get("expiry_date"),
            conditions=values.get("conditions", ""),
            reference=values.get("reference", ""),
        )
        cover = _with_pending(
            [covers_with_figures(policy, as_of=today()).get(pk=decision.cover_id)]
        )[0]
        return Response(
            serializers.RecordedDecisionOutput({"decision": decision, "cover": cover}).data,
            status=status.HTTP_201_CREATED,
        )


class CoverDecisionsView(APIView):
    @extend_schema(
        summary="The decisions on a cover, newest effective first",
        tags=[TAG],
        responses=serializers.CoverDecisionOutput(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        cover = get_object_or_404(InsurerCover.objects.all(), pk=pk)
        return Response(serializers.CoverDecisionOutput(cover_history(cover), many=True).data)
