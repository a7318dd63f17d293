from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("new/", views.report_create, name="create"),
    path("buyer/<int:buyer_id>/", views.buyer_credit_report, name="buyer"),
    path("<int:pk>/progress.json", views.report_progress, name="progress"),
    path("<int:pk>/download/", views.report_download, name="download"),
]
