urlpatterns: list = []

# Overdue notifications (policies.insurance_api.notifications).
from django.urls import path  # noqa: E402

from . import notifications as notification_api  # noqa: E402

urlpatterns += [
    path(
        "overdue-notifications/",
        notification_api.NotificationListView.as_view(),
        name="overdue-notification-list",
    ),
    path(
        "overdue-notifications/<int:pk>/",
        notification_api.NotificationDetailView.as_view(),
        name="overdue-notification-detail",
    ),
    path(
        "overdue-notifications/<int:pk>/review/",
        notification_api.NotificationReviewView.as_view(),
        name="overdue-notification-review",
    ),
    path(
        "overdue-notifications/<int:pk>/send/",
        notification_api.NotificationSendView.as_view(),
        name="overdue-notification-send",
    ),
    path(
        "overdue-notifications/<int:pk>/withdraw/",
        notification_api.NotificationWithdrawView.as_view(),
        name="overdue-notification-withdraw",
    ),
    path(
        "overdue-notifications/<int:pk>/extension-requests/",
        notification_api.ExtensionCreateView.as_view(),
        name="overdue-notification-extension",
    ),
    path(
        "extension-requests/<int:pk>/decision/",
        notification_api.ExtensionDecisionView.as_view(),
        name="extension-request-decision",
    ),
    path(
        "overdue-notifications/<int:pk>/pdf",
        notification_api.NotificationPdfView.as_view(),
        name="overdue-notification-pdf",
    ),
    path(
        "overdue-notifications/<int:pk>/csv",
        notification_api.NotificationCsvView.as_view(),
        name="overdue-notification-csv",
    ),
]

# Insurance policies, named buyers, cover decisions (policies.insurance_api.policies).
from . import policies as policy_api  # noqa: E402

urlpatterns += [
    path(
        "insurance-policies/",
        policy_api.InsurancePolicyListCreateView.as_view(),
        name="insurance-policy-list",
    ),
    path(
        "insurance-policies/<int:pk>/",
        policy_api.InsurancePolicyDetailView.as_view(),
        name="insurance-policy-detail",
    ),
    path(
        "insurance-policies/<int:pk>/versions/",
        policy_api.InsurancePolicyVersionView.as_view(),
        name="insurance-policy-versions",
    ),
    path(
        "insurance-policies/<int:pk>/buyers/",
        policy_api.PolicyBuyersView.as_view(),
        name="insurance-policy-buyers",
    ),
    path(
        "insurance-policies/<int:pk>/covers/",
        policy_api.PolicyCoversView.as_view(),
        name="insurance-policy-covers",
    ),
    path(
        "covers/<int:pk>/decisions/",
        policy_api.CoverDecisionsView.as_view(),
        name="cover-decisions",
    ),
]

# Insurance KPIs, deadline calendar and invoice coverage (policies.insurance_api.kpis,
# policies.insurance_api.deadlines).
from . import deadlines as deadline_api  # noqa: E402
from . import kpis as kpi_api  # noqa: E402

urlpatterns += [
    path("insurance-kpis/", kpi_api.InsuranceKpisView.as_view(), name="insurance-kpis"),
    path(
        "insurance-deadlines/", deadline_api.DeadlineListView.as_view(), name="insurance-deadlines"
    ),
    path(
        "invoice-coverage/",
        deadline_api.InvoiceCoverageListView.as_view(),
        name="invoice-coverage-list",
    ),
]

# Declarations and premium (policies.insurance_api.declarations).
from . import declarations as declaration_api  # noqa: E402

urlpatterns += [
    path("declarations/", declaration_api.DeclarationListView.as_view(), name="declaration-list"),
    path(
        "declarations/<int:pk>/",
        declaration_api.DeclarationDetailView.as_view(),
        name="declaration-detail",
    ),
    path(
        "declarations/<int:pk>/review/",
        declaration_api.DeclarationReviewView.as_view(),
        name="declaration-review",
    ),
    path(
        "declarations/<int:pk>/submit/",
        declaration_api.DeclarationSubmitView.as_view(),
        name="declaration-submit",
    ),
    path(
        "declarations/<int:pk>/adjustments/",
        declaration_api.DeclarationAdjustView.as_view(),
        name="declaration-adjust",
    ),
    path(
        "insurance-policies/<int:pk>/year-close/",
        declaration_api.PolicyYearCloseView.as_view(),
        name="policy-year-close",
    ),
]
