from django.urls import path

from ..modellab import api as models_api
from . import backfills, calibrations, rescore_runs, views

urlpatterns = [
    path("legal-events/", views.LegalEventListCreateView.as_view(), name="legal-event-list"),
    path("alerts/", views.AlertListView.as_view(), name="alert-list"),
    path("alerts/<int:pk>/", views.AlertDetailView.as_view(), name="alert-detail"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
    path("alerts/<int:pk>/resolve/", views.AlertResolveView.as_view(), name="alert-resolve"),
    path("rescore-runs/", rescore_runs.RescoreRunListView.as_view(), name="rescore-run-list"),
    path(
        "rescore-runs/<int:pk>/",
        rescore_runs.RescoreRunDetailView.as_view(),
        name="rescore-run-detail",
    ),
    path("backfills/", backfills.BackfillListView.as_view(), name="backfill-list"),
    path("backfills/<int:pk>/", backfills.BackfillDetailView.as_view(), name="backfill-detail"),
    path("calibrations/", calibrations.CalibrationListView.as_view(), name="calibration-list"),
    path(
        "calibrations/<int:pk>/",
        calibrations.CalibrationDetailView.as_view(),
        name="calibration-detail",
    ),
    path(
        "calibrations/<int:pk>/activate/",
        calibrations.CalibrationActivateView.as_view(),
        name="calibration-activate",
    ),
    path("models/", models_api.ModelListView.as_view(), name="model-list"),
    path("models/<int:pk>/", models_api.ModelDetailView.as_view(), name="model-detail"),
    path("models/<int:pk>/shadow/", models_api.ModelShadowView.as_view(), name="model-shadow"),
    path(
        "models/<int:pk>/request-promotion/",
        models_api.ModelRequestPromotionView.as_view(),
        name="model-request-promotion",
    ),
    path(
        "models/<int:pk>/request-retirement/",
        models_api.ModelRequestRetirementView.as_view(),
        name="model-request-retirement",
    ),
    path("models/<int:pk>/approve/", models_api.ModelApproveView.as_view(), name="model-approve"),
    path("models/<int:pk>/reject/", models_api.ModelRejectView.as_view(), name="model-reject"),
    path("alert-rules/", views.AlertRuleListView.as_view(), name="alert-rule-list"),
    path("alert-rules/<str:kind>/", views.AlertRuleDetailView.as_view(), name="alert-rule-detail"),
    path(
        "webhook-endpoints/",
        views.WebhookEndpointListCreateView.as_view(),
        name="webhook-endpoint-list",
    ),
    path(
        "webhook-endpoints/<int:pk>/",
        views.WebhookEndpointDetailView.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhook-endpoints/<int:pk>/rotate-secret/",
        views.WebhookEndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<int:pk>/deliveries/",
        views.WebhookDeliveryListView.as_view(),
        name="webhook-endpoint-deliveries",
    ),
]
