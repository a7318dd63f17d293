from django.urls import path
from drf_spectacular.utils import extend_schema

from . import views


@extend_schema(exclude=True)
class CreditCheckWithoutSlashView(views.CreditCheckView):
    """`POST /api/v1/credit-checks` as ERPs write it (a POST cannot follow a slash redirect)."""


urlpatterns = [
    path("credit-policies/", views.CreditPolicyListCreateView.as_view(), name="credit-policy-list"),
    path(
        "credit-policies/current/",
        views.CreditPolicyCurrentView.as_view(),
        name="credit-policy-current",
    ),
    path(
        "credit-policies/<int:pk>/",
        views.CreditPolicyDetailView.as_view(),
        name="credit-policy-detail",
    ),
    path("limit-requests/", views.LimitRequestListCreateView.as_view(), name="limit-request-list"),
    path(
        "limit-requests/<int:pk>/",
        views.LimitRequestDetailView.as_view(),
        name="limit-request-detail",
    ),
    path(
        "limit-requests/<int:pk>/decisions/",
        views.LimitRequestDecisionView.as_view(),
        name="limit-request-decision",
    ),
    path(
        "limit-requests/<int:pk>/information/",
        views.LimitRequestInformationView.as_view(),
        name="limit-request-information",
    ),
    path("limits/", views.CreditLimitListView.as_view(), name="credit-limit-list"),
    path("limits/<int:pk>/", views.CreditLimitDetailView.as_view(), name="credit-limit-detail"),
    path(
        "limits/by-buyer/<str:erp_reference>/",
        views.CreditLimitByBuyerView.as_view(),
        name="credit-limit-by-buyer",
    ),
    path("insurer-covers/", views.InsurerCoverListCreateView.as_view(), name="insurer-cover-list"),
    path(
        "insurer-covers/<int:pk>/",
        views.InsurerCoverDetailView.as_view(),
        name="insurer-cover-detail",
    ),
    path("credit-checks/", views.CreditCheckView.as_view(), name="credit-check"),
    path("credit-checks", CreditCheckWithoutSlashView.as_view()),
]
