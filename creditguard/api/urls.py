from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

app_name = "api"

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="root"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", permission_classes=[]),
        name="docs",
    ),
    path("audit-events/", views.AuditEventListView.as_view(), name="audit-event-list"),
    path("", include("buyers.api.urls")),
    path("", include("policies.api.urls")),
    path("", include("policies.insurance_api.urls")),
    path("", include("claims.api.urls")),
    path("", include("portfolio.reports.api_urls")),
    path("", include("monitoring.api.urls")),
    path("", include("monitoring.scores_api_urls")),
]
