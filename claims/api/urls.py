"""Routes of the claims API (included under /api/v1/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("claims/", views.ClaimListView.as_view(), name="claim-list"),
    path("claims/export.csv", views.ClaimExportView.as_view(), name="claim-export"),
    path("claims-kpis/", views.ClaimsKpisView.as_view(), name="claims-kpis"),
    path("claims/<int:pk>/", views.ClaimDetailView.as_view(), name="claim-detail"),
    path("claims/<int:pk>/submit/", views.ClaimSubmitView.as_view(), name="claim-submit"),
    path(
        "claims/<int:pk>/start-review/",
        views.ClaimStartReviewView.as_view(),
        name="claim-start-review",
    ),
    path("claims/<int:pk>/decision/", views.ClaimDecisionView.as_view(), name="claim-decision"),
    path("claims/<int:pk>/payment/", views.ClaimPaymentView.as_view(), name="claim-payment"),
    path("claims/<int:pk>/withdraw/", views.ClaimWithdrawView.as_view(), name="claim-withdraw"),
    path("claims/<int:pk>/comments/", views.ClaimCommentView.as_view(), name="claim-comments"),
    path("claims/<int:pk>/recoveries/", views.ClaimRecoveryView.as_view(), name="claim-recoveries"),
    path("claims/<int:pk>/write-offs/", views.ClaimWriteOffView.as_view(), name="claim-write-offs"),
]
