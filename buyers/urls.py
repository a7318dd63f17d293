from django.urls import path

from . import views

app_name = "buyers"

urlpatterns = [
    path("", views.buyer_list, name="list"),
    path("export.csv", views.buyer_export, name="export"),
    path("new/", views.buyer_create, name="create"),
    path("<int:buyer_id>/", views.buyer_detail, name="detail"),
    path("<int:buyer_id>/edit/", views.buyer_edit, name="edit"),
    path("<int:buyer_id>/statements/new/", views.statement_create, name="statement-create"),
    path("<int:buyer_id>/disputes/new/", views.dispute_open, name="dispute-open"),
    path(
        "<int:buyer_id>/disputes/<int:dispute_id>/resolve/",
        views.dispute_resolve,
        name="dispute-resolve",
    ),
    path(
        "<int:buyer_id>/payment-plans/new/",
        views.payment_plan_create,
        name="payment-plan-create",
    ),
    path(
        "<int:buyer_id>/instalments/<int:instalment_id>/pay/",
        views.instalment_pay,
        name="instalment-pay",
    ),
    path("<int:buyer_id>/notes/", views.note_add, name="note-add"),
    path("<int:buyer_id>/documents/", views.document_upload, name="document-upload"),
    path(
        "<int:buyer_id>/documents/<int:document_id>/",
        views.document_download,
        name="document-download",
    ),
]
