from django.urls import path

app_name = "insurance"

# Each area appends its routes here: policies (list, detail, forms), deadlines, notifications,
# declarations.
urlpatterns: list = []

# Overdue notifications (policies.insurance_web.notifications).
from . import notifications as notification_views  # noqa: E402

urlpatterns += [
    path("<int:pk>/notifications/", notification_views.policy_notifications, name="notifications"),
    path("notifications/", notification_views.all_notifications, name="notifications-all"),
    path(
        "notifications/<int:pk>/",
        notification_views.notification_detail,
        name="notification-detail",
    ),
    path(
        "notifications/<int:pk>/review/",
        notification_views.notification_review,
        name="notification-review",
    ),
    path(
        "notifications/<int:pk>/send/",
        notification_views.notification_send,
        name="notification-send",
    ),
    path(
        "notifications/<int:pk>/withdraw/",
        notification_views.notification_withdraw,
        name="notification-withdraw",
    ),
    path(
        "notifications/<int:pk>/extensions/",
        notification_views.extension_create,
        name="notification-extension",
    ),
    path(
        "notifications/extensions/<int:pk>/decide/",
        notification_views.extension_decide,
        name="extension-decide",
    ),
    path(
        "notifications/<int:pk>/pdf/", notification_views.notification_pdf, name="notification-pdf"
    ),
    path(
        "notifications/<int:pk>/csv/", notification_views.notification_csv, name="notification-csv"
    ),
]

# Insurance policies, named buyers and cover (policies.insurance_web.policies).
from . import policies as policy_views  # noqa: E402

urlpatterns += [
    path("", policy_views.policy_list, name="list"),
    path("new/", policy_views.policy_create, name="create"),
    path("<int:pk>/", policy_views.policy_detail, name="detail"),
    path("<int:pk>/endorse/", policy_views.policy_endorse, name="endorse"),
    path("<int:pk>/buyers/", policy_views.policy_buyers, name="buyers"),
    path("<int:pk>/covers/<int:buyer_pk>/decide/", policy_views.cover_decide, name="cover-decide"),
    path(
        "<int:pk>/covers/<int:buyer_pk>/history/",
        policy_views.cover_history,
        name="cover-history",
    ),
]

# Declarations (policies.insurance_web.declarations).
from . import declarations as declaration_views  # noqa: E402

urlpatterns += [
    path("<int:pk>/declarations/", declaration_views.policy_declarations, name="declarations"),
    path("declarations/<int:pk>/", declaration_views.declaration_detail, name="declaration-detail"),
    path(
        "declarations/<int:pk>/review/",
        declaration_views.declaration_review,
        name="declaration-review",
    ),
    path(
        "declarations/<int:pk>/submit/",
        declaration_views.declaration_submit,
        name="declaration-submit",
    ),
    path(
        "declarations/<int:pk>/adjust/",
        declaration_views.declaration_adjust,
        name="declaration-adjust",
    ),
    path("<int:pk>/declarations/close-year/", declaration_views.year_close, name="year-close"),
]

# Deadline calendar (policies.insurance_web.deadlines).
from . import deadlines as deadline_views  # noqa: E402

urlpatterns += [
    path("<int:pk>/deadlines/", deadline_views.policy_deadlines, name="deadlines"),
    path("deadlines/", deadline_views.deadline_calendar_page, name="calendar"),
]
