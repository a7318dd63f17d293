from django.urls import include, path

from . import bulk_urls, views

urlpatterns = [
    path("", include(bulk_urls)),
    path("buyers/", views.BuyerListCreateView.as_view(), name="buyer-list"),
    path("buyers/<int:pk>/", views.BuyerDetailView.as_view(), name="buyer-detail"),
    path(
        "buyers/<int:pk>/credit-file/",
        views.BuyerCreditFileView.as_view(),
        name="buyer-credit-file",
    ),
    path(
        "buyers/by-reference/<str:erp_reference>/",
        views.BuyerByReferenceView.as_view(),
        name="buyer-by-reference",
    ),
    path("financial-statements/", views.StatementListCreateView.as_view(), name="statement-list"),
    path(
        "financial-statements/<int:pk>/",
        views.StatementDetailView.as_view(),
        name="statement-detail",
    ),
    path("invoices/", views.InvoiceListCreateView.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice-detail"),
    path("payments/", views.PaymentListCreateView.as_view(), name="payment-list"),
    path("payments/<int:pk>/", views.PaymentDetailView.as_view(), name="payment-detail"),
    path("disputes/", views.DisputeListCreateView.as_view(), name="dispute-list"),
    path("disputes/<int:pk>/", views.DisputeDetailView.as_view(), name="dispute-detail"),
    path("disputes/<int:pk>/resolve/", views.DisputeResolveView.as_view(), name="dispute-resolve"),
    path("payment-plans/", views.PaymentPlanListCreateView.as_view(), name="payment-plan-list"),
    path(
        "payment-plans/<int:pk>/", views.PaymentPlanDetailView.as_view(), name="payment-plan-detail"
    ),
    path(
        "payment-plans/<int:pk>/instalments/<int:instalment_id>/payments/",
        views.InstalmentPaymentView.as_view(),
        name="instalment-payment",
    ),
]
