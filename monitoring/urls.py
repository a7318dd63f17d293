from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [
    path("", views.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert-resolve"),
    path("rules/", views.rule_list, name="rules"),
    path("countries/", views.country_risk, name="countries"),
    path("rescore/", views.rescore, name="rescore"),
    path("rescore/<int:run_id>/progress.json", views.rescore_progress, name="rescore-progress"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:endpoint_id>/", views.webhook_detail, name="webhook-detail"),
    path(
        "webhooks/<int:endpoint_id>/rotate-secret/",
        views.webhook_rotate_secret,
        name="webhook-rotate-secret",
    ),
    path("webhooks/<int:endpoint_id>/active/", views.webhook_set_active, name="webhook-set-active"),
    path("backtest/", views.backtest, name="backtest"),
]
