"""REST API for the insurance KPIs: the portfolio's, or one policy's with ``?policy=<id>``.
Thin over `policies.insurance.kpis`; the figures are as of the last coverage sweep."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creditguard.api.request import request_tenant
from creditguard.dates import today

from ..insurance.kpis import InsuranceKpis, policy_kpis, portfolio_insurance_kpis
from ..models import InsurancePolicy

TAG = "insurance KPIs"


class KpiQuery(serializers.Serializer):
    policy = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class InsuranceKpisOutput(serializers.Serializer):
    as_of = serializers.DateField()
    last_sweep = serializers.DateField(
        allow_null=True, help_text="The day of the coverage sweep the figures come from."
    )
    currency = serializers.CharField(help_text="The tenant's base currency.")
    policy = serializers.IntegerField(source="policy_id", allow_null=True)
    total_exposure = serializers.DecimalField(max_digits=24, decimal_places=2)
    insured = serializers.DecimalField(max_digits=24, decimal_places=2)
    uninsured = serializers.DecimalField(max_digits=24, decimal_places=2)
    over_cover = serializers.DecimalField(max_digits=24, decimal_places=2)
    cover_lost = serializers.DecimalField(max_digits=24, decimal_places=2)
    protected_share = serializers.DecimalField(
        max_digits=9, decimal_places=4, allow_null=True, help_text="Insured ÷ total exposure."
    )
    premium = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)
    insured_turnover = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)
    premium_share_of_turnover = serializers.DecimalField(
        max_digits=12,
        decimal_places=6,
        allow_null=True,
        help_text="Premium of the policy year ÷ insured turnover declared (None: not computable).",
    )
    invoices = serializers.IntegerField(help_text="Open invoices under a policy.")


class InsuranceKpisView(APIView):
    @extend_schema(
        summary="Insurance KPIs: protected share, uninsured and over-cover exposure, premium",
        tags=[TAG],
        parameters=[
            OpenApiParameter(
                "policy",
                OpenApiTypes.INT,
                description="One policy's KPIs instead of the portfolio's.",
            )
        ],
        responses=InsuranceKpisOutput,
    )
    def get(self, request: Request) -> Response:
        query = KpiQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        tenant = request_tenant(request)
        policy_id: Any = query.validated_data.get("policy")
        kpis: InsuranceKpis
        if policy_id is None:
            kpis = portfolio_insurance_kpis(tenant=tenant, as_of=today())
        else:
            policy = InsurancePolicy.objects.filter(pk=policy_id).first()
            if policy is None:
                raise NotFound()
            kpis = policy_kpis(tenant=tenant, policy=policy, as_of=today())
        return Response(InsuranceKpisOutput(kpis).data)
