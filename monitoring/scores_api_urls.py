from django.urls import path

from . import scores_api

urlpatterns = [
    path("scores/", scores_api.ScoreListView.as_view(), name="score-list"),
    path(
        "buyers/<int:pk>/scores/",
        scores_api.BuyerScoreHistoryView.as_view(),
        name="buyer-score-history",
    ),
    path("country-risk/", scores_api.CountryRiskListView.as_view(), name="country-risk-list"),
    path(
        "country-risk/<str:code>/history/",
        scores_api.CountryRiskHistoryView.as_view(),
        name="country-risk-history",
    ),
    path("backtests/", scores_api.BacktestListView.as_view(), name="backtest-list"),
]
