from django.urls import path

from . import rescore_runs, views

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
