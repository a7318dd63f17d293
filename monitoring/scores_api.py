"""REST API for scores, country risk and back-testing: thin views over `monitoring.selectors`.

Reads only (VIEW, any API key). Another tenant's buyer is "not found", like a missing one.
Explanations are rendered in English, whatever the caller's language: the factor list carries
the message template and its parameters for clients that translate themselves.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buyers.models import Buyer
from creditguard.api.pagination import CursorPagination
from creditguard.reference.models import Country

from . import backtest, selectors
from .models import BuyerScore, CountryRisk

FACTOR_EXAMPLE = {
    "factor": "payment_behaviour",
    "label": "Days beyond terms",
    "points": -4.5,
    "weight": 18.0,
    "value": 24.0,
    "message": "Pays on average %(days)s days beyond terms (last 12 months).",
    "params": {"days": 24.0},
    "explanation": "Pays on average 24.0 days beyond terms (last 12 months).",
}
SCORE_EXAMPLE = {
    "id": 981,
    "buyer": {"id": 42, "erp_reference": "C-10042", "legal_name": "Nordlicht Maschinenbau GmbH"},
    "period": "2026-11-01",
    "model_version": "cg-2026.2",
    "score": "58.40",
    "grade": 5,
    "probability_of_default": "0.00800",
    "trigger": "monthly",
    "computed_at": "2026-11-01T02:04:11Z",
}


# --- Scores ------------------------------------------------------------------------------------


class ScoreBuyerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    erp_reference = serializers.CharField()
    legal_name = serializers.CharField()


class ScoreOutput(serializers.ModelSerializer):
    buyer = ScoreBuyerOutput()

    class Meta:
        model = BuyerScore
        fields = [
            "id",
            "buyer",
            "period",
            "model_version",
            "score",
            "grade",
            "probability_of_default",
            "trigger",
            "computed_at",
        ]


class FactorOutput(serializers.Serializer):
    factor = serializers.CharField(help_text="Stable key, e.g. financial_strength.")
    label = serializers.CharField()
    points = serializers.FloatField(help_text="Contribution to the 0–100 score (+ safer).")
    weight = serializers.FloatField(allow_null=True)
    value = serializers.JSONField(help_text="The measurement the message quotes, or null.")
    message = serializers.CharField(help_text="English template with %(name)s placeholders.")
    params = serializers.DictField()
    explanation = serializers.CharField(help_text="The message with its parameters, in English.")


class ScoreHistoryOutput(serializers.ModelSerializer):
    factors = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField(
        help_text="Why this grade, in English: the factors weighing most first."
    )

    class Meta:
        model = BuyerScore
        fields = [
            "id",
            "period",
            "model_version",
            "score",
            "grade",
            "probability_of_default",
            "trigger",
            "computed_at",
            "factors",
            "explanation",
        ]

    @extend_schema_field(FactorOutput(many=True))
    def get_factors(self, score: BuyerScore) -> list[dict[str, Any]]:
        with translation.override("en"):
            texts = [item.text for item in selectors.explain_factors(score.factors)]
        factors = [factor for factor in score.factors if isinstance(factor, dict)]
        return [
            {**factor, "explanation": text} for factor, text in zip(factors, texts, strict=True)
        ]

    def get_explanation(self, score: BuyerScore) -> str:
        with translation.override("en"):
            items = selectors.explain_factors(score.factors)
        ordered = sorted(items, key=lambda item: item.points)
        return " ".join(item.text for item in ordered if item.text)


class ScoreFilter(django_filters.FilterSet):
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")
    grade_min = django_filters.NumberFilter(
        field_name="grade",
        lookup_expr="gte",
        min_value=1,
        max_value=10,
        help_text="Only grades from this one (1 = best).",
    )
    grade_max = django_filters.NumberFilter(
        field_name="grade",
        lookup_expr="lte",
        min_value=1,
        max_value=10,
        help_text="Only grades up to this one (10 = worst).",
    )


class ScoreListView(generics.ListAPIView):
    serializer_class = ScoreOutput
    filterset_class = ScoreFilter

    @extend_schema(
        summary="Current score of every buyer",
        description=(
            "One score per buyer: its latest, or the one of `period` (the first day of a "
            "month). Grades run from 1 (lowest risk) to 10 (default)."
        ),
        tags=["scores"],
        parameters=[
            OpenApiParameter(
                "period",
                OpenApiTypes.DATE,
                description="The scores of this period (YYYY-MM-01) instead of the latest.",
            )
        ],
        examples=[OpenApiExample("Score", value=SCORE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        period = self.request.query_params.get("period")
        if period:
            field = serializers.DateField()
            try:
                period = field.to_internal_value(period)
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"period": error.detail}) from error
        return selectors.current_scores(period=period or None)


class ScoreHistoryPagination(CursorPagination):
    ordering = "-period"


class BuyerScoreHistoryView(generics.ListAPIView):
    serializer_class = ScoreHistoryOutput
    pagination_class = ScoreHistoryPagination
    filterset_class = None

    @extend_schema(
        summary="A buyer's score history with factor contributions, newest first",
        tags=["scores"],
        examples=[
            OpenApiExample(
                "Score with factors",
                value={
                    **{k: v for k, v in SCORE_EXAMPLE.items() if k != "buyer"},
                    "factors": [FACTOR_EXAMPLE],
                    "explanation": FACTOR_EXAMPLE["explanation"],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no buyer
            return BuyerScore.objects.none()
        buyer = get_object_or_404(Buyer.objects, pk=self.kwargs["pk"])
        return BuyerScore.objects.filter(buyer=buyer)


# --- Country risk ------------------------------------------------------------------------------


class CountryRiskOutput(serializers.Serializer):
    country = serializers.CharField(source="code", help_text="ISO 3166-1 alpha-2.")
    name = serializers.CharField(help_text="English name.")
    rating = serializers.IntegerField(allow_null=True, help_text="1 (very low) … 10 (extreme).")
    effective_date = serializers.DateField(allow_null=True)
    source = serializers.CharField()
    data_version = serializers.CharField()
    previous_rating = serializers.IntegerField(allow_null=True)
    previous_effective_date = serializers.DateField(source="previous_date", allow_null=True)
    change = serializers.ChoiceField(
        choices=["downgrade", "upgrade"],
        allow_null=True,
        help_text="Against the previous rating: downgrade = higher risk; null = no change.",
    )

    def to_representation(self, row: selectors.CountryRiskRow) -> dict[str, Any]:
        data = super().to_representation(row)
        data["change"] = data["change"] or None
        return data


class CountryRiskListView(APIView):
    @extend_schema(
        summary="Current country risk ratings (all countries in one response)",
        tags=["country risk"],
        parameters=[
            OpenApiParameter(
                "country", OpenApiTypes.STR, description="Only this ISO 3166 code, e.g. DE."
            )
        ],
        responses=CountryRiskOutput(many=True),
        examples=[
            OpenApiExample(
                "Germany",
                value=[
                    {
                        "country": "DE",
                        "name": "Germany",
                        "rating": 1,
                        "effective_date": "2026-10-01",
                        "source": "CreditGuard country risk assessment 2026Q4",
                        "data_version": "2026Q4",
                        "previous_rating": None,
                        "previous_effective_date": None,
                        "change": None,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        code = request.query_params.get("country", "").strip().upper()
        with translation.override("en"):
            rows = selectors.country_risk_table(ordering="code")
        if code:
            rows = [row for row in rows if row.code == code]
        return Response(CountryRiskOutput(rows, many=True).data)


class CountryRiskHistoryOutput(serializers.ModelSerializer):
    country = serializers.CharField(source="country_id")

    class Meta:
        model = CountryRisk
        fields = ["country", "rating", "effective_date", "source", "data_version"]


class CountryRiskHistoryView(APIView):
    @extend_schema(
        summary="A country's rating history, newest first",
        tags=["country risk"],
        responses=CountryRiskHistoryOutput(many=True),
    )
    def get(self, request: Request, code: str) -> Response:
        if not Country.objects.filter(code=code.upper()).exists():
            raise Http404
        history = selectors.country_risk_history(code=code)
        return Response(CountryRiskHistoryOutput(history, many=True).data)


# --- Back-testing ------------------------------------------------------------------------------

RATE = {"max_digits": 7, "decimal_places": 5, "allow_null": True}
INDEX = {"max_digits": 5, "decimal_places": 4, "allow_null": True}
BACKTEST_EXAMPLE = {
    "model_version": "cg-2026.2",
    "observations": 41230,
    "defaults": 611,
    "performing": 40619,
    "pending": 52000,
    "already_in_default": 230,
    "sufficient": True,
    "assessment": "",
    "auc": "0.7912",
    "auc_low": "0.7731",
    "auc_high": "0.8093",
    "gini": "0.5824",
    "gini_low": "0.5462",
    "gini_high": "0.6186",
    "default_rate": "0.01482",
    "default_rate_low": "0.01367",
    "default_rate_high": "0.01604",
    "mean_pd": "0.00951",
    "grades_off": [6],
    "first_period": "2022-01-01",
    "last_period": "2026-11-01",
    "by_grade": [
        {
            "grade": 6,
            "observations": 3120,
            "defaults": 69,
            "default_rate": "0.02212",
            "default_rate_low": "0.01725",
            "default_rate_high": "0.02790",
            "mean_pd": "0.01600",
            "pd_check": "understated",
            "pd_outside": True,
        }
    ],
}


class GradeRowOutput(serializers.Serializer):
    grade = serializers.IntegerField()
    observations = serializers.IntegerField()
    defaults = serializers.IntegerField()
    default_rate = serializers.DecimalField(**RATE)
    default_rate_low = serializers.DecimalField(
        **RATE, help_text="95 % exact (Clopper–Pearson) interval of the default rate."
    )
    default_rate_high = serializers.DecimalField(**RATE)
    mean_pd = serializers.DecimalField(**RATE, help_text="Predicted by the model.")
    pd_check = serializers.ChoiceField(
        choices=[(check.value, check.value) for check in backtest.PdCheck],
        allow_null=True,
        help_text="The model's PD against the interval: within it, understated (below: more "
        "defaults than predicted) or overstated (above); null without observations.",
    )
    pd_outside = serializers.BooleanField(
        help_text="The model's PD lies outside the 95 % interval of the observed default rate."
    )


class BacktestOutput(serializers.Serializer):
    model_version = serializers.CharField()
    observations = serializers.IntegerField(help_text="Scores with a known 12-month outcome.")
    defaults = serializers.IntegerField()
    performing = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Scores whose 12-month window is still open.")
    already_in_default = serializers.IntegerField(
        help_text="Scores of buyers already in default on the day whose knowledge they reflect "
        "(left out)."
    )
    sufficient = serializers.BooleanField(
        help_text=f"At least {backtest.MIN_DEFAULTS} defaults and {backtest.MIN_PERFORMING} "
        "performing observations; otherwise auc and gini are null."
    )
    assessment = serializers.SerializerMethodField()
    auc = serializers.DecimalField(**INDEX)
    auc_low = serializers.DecimalField(
        **INDEX, help_text="95 % interval (Hanley & McNeil), clipped to [0, 1]."
    )
    auc_high = serializers.DecimalField(**INDEX)
    gini = serializers.DecimalField(**INDEX)
    gini_low = serializers.DecimalField(**INDEX, help_text="The AUC interval as 2·AUC − 1.")
    gini_high = serializers.DecimalField(**INDEX)
    default_rate = serializers.DecimalField(**RATE)
    default_rate_low = serializers.DecimalField(
        **RATE, help_text="95 % exact (Clopper–Pearson) interval of the default rate."
    )
    default_rate_high = serializers.DecimalField(**RATE)
    mean_pd = serializers.DecimalField(**RATE)
    grades_off = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Grades whose PD lies outside the interval of their observed default rate.",
    )
    first_period = serializers.DateField(allow_null=True)
    last_period = serializers.DateField(allow_null=True)
    by_grade = GradeRowOutput(many=True)

    def get_assessment(self, result: backtest.BacktestResult) -> str:
        return "" if result.sufficient else "not enough defaults to judge"


class BacktestQuery(serializers.Serializer):
    model_version = serializers.CharField(required=False, allow_blank=True, max_length=20)
    first_period = serializers.DateField(required=False)
    last_period = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs.get("first_period"), attrs.get("last_period")
        if first and last and first > last:
            raise serializers.ValidationError(
                {
                    "first_period": translation.gettext(
                        "The first month must not come after the last month."
                    )
                }
            )
        return attrs


class BacktestListView(APIView):
    @extend_schema(
        summary="Back-test of each scoring model: AUC, Gini, default rate and PD by grade, "
        "with 95 % intervals",
        description=(
            "Every score is compared with whether the buyer defaulted (insolvency, a written-off "
            "invoice, a paid claim) within 12 months after its period. Scores still inside their "
            "window and scores of buyers already in default on the day whose knowledge they "
            "reflect are left out, so back-filled history (`/api/v1/backfills/`) counts as real "
            "predictions. Intervals: AUC by Hanley & McNeil (Gini the same mapped through "
            "2·AUC − 1), default rates exact (Clopper–Pearson); each grade's PD is flagged when "
            "it lies outside its interval. Observations of the same buyer in several months are "
            "treated as independent, so the intervals are somewhat narrow."
        ),
        tags=["scores"],
        parameters=[
            OpenApiParameter(
                "model_version", OpenApiTypes.STR, description="Only this model, e.g. cg-2026.1."
            ),
            OpenApiParameter(
                "first_period",
                OpenApiTypes.DATE,
                description="Only scores of this month or later (any day of the month).",
            ),
            OpenApiParameter(
                "last_period",
                OpenApiTypes.DATE,
                description="Only scores of this month or earlier (any day of the month).",
            ),
        ],
        responses=BacktestOutput(many=True),
        examples=[OpenApiExample("A model", value=[BACKTEST_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        query = BacktestQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        first, last = (
            query.validated_data.get("first_period"),
            query.validated_data.get("last_period"),
        )
        reports = selectors.backtest_reports(
            model_version=query.validated_data.get("model_version", "").strip() or None,
            first_period=first.replace(day=1) if first else None,
            last_period=last.replace(day=1) if last else None,
        )
        return Response(BacktestOutput(reports, many=True).data)
