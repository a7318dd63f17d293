from django.urls import path

from . import views

app_name = "claims"

urlpatterns = [
    path("", views.claim_list, name="list"),
    path("new/", views.claim_create, name="create"),
    path("<int:pk>/", views.claim_detail, name="detail"),
    path("<int:pk>/submit/", views.claim_submit, name="submit"),
    path("<int:pk>/review/", views.claim_start_review, name="review"),
    path("<int:pk>/decide/", views.claim_decide, name="decide"),
    path("<int:pk>/paid/", views.claim_mark_paid, name="paid"),
    path("<int:pk>/withdraw/", views.claim_withdraw, name="withdraw"),
    path("<int:pk>/assign/", views.claim_assign, name="assign"),
    path("<int:pk>/comment/", views.claim_comment, name="comment"),
    path("<int:pk>/documents/", views.claim_document_add, name="document-add"),
    path("<int:pk>/recoveries/", views.recovery_create, name="recovery-add"),
    path("<int:pk>/write-offs/", views.write_off_create, name="write-off-add"),
    path("<int:pk>/dossier.pdf", views.claim_pdf, name="pdf"),
    path("documents/<int:pk>/", views.claim_document, name="document"),
]
