from django.urls import path

from . import views

app_name = "limits"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("queue/", views.queue, name="queue"),
    path("requests/new/", views.request_create, name="request-create"),
    path("requests/<int:request_id>/", views.request_detail, name="request-detail"),
    path("requests/<int:request_id>/decide/", views.request_decide, name="request-decide"),
    path("requests/<int:request_id>/resubmit/", views.request_resubmit, name="request-resubmit"),
    path("requests/<int:request_id>/withdraw/", views.request_withdraw, name="request-withdraw"),
    path("buyers/<int:buyer_id>/", views.buyer_limit, name="buyer"),
    path("buyers/<int:buyer_id>/block/", views.limit_block, name="limit-block"),
    path("buyers/<int:buyer_id>/unblock/", views.limit_unblock, name="limit-unblock"),
    path("buyers/<int:buyer_id>/covers/new/", views.cover_create, name="cover-create"),
    path("covers/<int:cover_id>/edit/", views.cover_edit, name="cover-edit"),
    path("policy/", views.policy, name="policy"),
    path("policy/new/", views.policy_edit, name="policy-edit"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/<int:notification_id>/open/",
        views.notification_open,
        name="notification-open",
    ),
]
