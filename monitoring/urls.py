from django.urls import path

from . import views
from .calibration import views as calibration_views
from .modellab import views as modellab_views

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
    path("models/", modellab_views.model_list, name="models"),
    path("models/<int:model_id>/", modellab_views.model_detail, name="model-detail"),
    path(
        "models/<int:model_id>/progress.json",
        modellab_views.model_progress,
        name="model-progress",
    ),
    path("models/<int:model_id>/shadow/", modellab_views.model_shadow, name="model-shadow"),
    path("models/<int:model_id>/request/", modellab_views.model_request, name="model-request"),
    path("models/<int:model_id>/approve/", modellab_views.model_approve, name="model-approve"),
    path("models/<int:model_id>/reject/", modellab_views.model_reject, name="model-reject"),
    path("models/<int:model_id>/retire/", modellab_views.model_retire, name="model-retire"),
    path("calibration/", calibration_views.calibration_page, name="calibration"),
    path(
        "calibration/<int:calibration_id>/activate/",
        calibration_views.calibration_activate_view,
        name="calibration-activate",
    ),
    path(
        "backtest/backfills/<int:run_id>/progress.json",
        views.backfill_progress,
        name="backfill-progress",
    ),
]
