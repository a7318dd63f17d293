from django.urls import path, re_path

from . import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.import_list, name="list"),
    path("<int:job_id>/", import_views.import_detail, name="detail"),
    path("<int:job_id>/map", import_views.import_map, name="map"),
    path("<int:job_id>/preview", import_views.import_preview, name="preview"),
    path("<int:job_id>/run", import_views.import_start, name="run"),
    path("<int:job_id>/progress.json", import_views.import_progress_json, name="progress"),
    path("<int:job_id>/errors.csv", import_views.import_errors_csv, name="errors"),
    path("<int:job_id>/delete", import_views.import_delete, name="delete"),
    re_path(
        r"^template/(?P<kind>buyers|invoices|payments|financial_statements)\.(?P<file_format>csv|xlsx)$",
        import_views.import_template,
        name="template",
    ),
    re_path(
        r"^export/(?P<kind>buyers|invoices)\.(?P<file_format>csv|xlsx)$",
        import_views.export_download,
        name="export",
    ),
]
