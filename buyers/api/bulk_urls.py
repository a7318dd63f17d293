from django.urls import path

from . import bulk

urlpatterns: list = [
    path("buyers/bulk", bulk.BuyerBulkView.as_view(), name="buyer-bulk"),
    path("invoices/bulk", bulk.InvoiceBulkView.as_view(), name="invoice-bulk"),
    path("payments/bulk", bulk.PaymentBulkView.as_view(), name="payment-bulk"),
    path(
        "financial-statements/bulk",
        bulk.FinancialStatementBulkView.as_view(),
        name="financial-statement-bulk",
    ),
]
