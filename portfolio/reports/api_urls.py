"""Routes of the reports API (included under /api/v1/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("reports/", api.ReportListView.as_view(), name="report-list"),
    path("reports/<int:pk>/", api.ReportDetailView.as_view(), name="report-detail"),
    path("reports/<int:pk>/download/", api.ReportDownloadView.as_view(), name="report-download"),
]
