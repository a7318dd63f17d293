import django_filters

from creditguard.api import filters as api_filters

from ..models import Buyer, Dispute, FinancialStatement, Invoice, Payment, PaymentPlan
from ..records import CURRENCIES

CURRENCY_CHOICES = [(code, code) for code in sorted(CURRENCIES)]


class BuyerFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="legal_name", lookup_expr="icontains")
    country = django_filters.CharFilter(field_name="country_id")
    sector = django_filters.CharFilter(field_name="nace_section")
    erp_reference = django_filters.CharFilter()
    parent_erp_reference = django_filters.CharFilter(field_name="parent__erp_reference")
    updated_since = api_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Buyer
        fields = ["status"]


class ByBuyerFilter(django_filters.FilterSet):
    buyer = django_filters.NumberFilter(field_name="buyer_id")
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")


class StatementFilter(ByBuyerFilter):
    class Meta:
        model = FinancialStatement
        fields: list[str] = []


class InvoiceFilter(ByBuyerFilter):
    due_before = api_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    due_after = api_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    issued_after = api_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    updated_since = api_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    erp_reference = django_filters.CharFilter()
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)

    class Meta:
        model = Invoice
        fields = ["status", "currency"]


class PaymentFilter(ByBuyerFilter):
    received_after = api_filters.DateFilter(field_name="received_date", lookup_expr="gte")

    class Meta:
        model = Payment
        fields: list[str] = []


class DisputeFilter(ByBuyerFilter):
    class Meta:
        model = Dispute
        fields = ["status", "reason"]


class PaymentPlanFilter(ByBuyerFilter):
    class Meta:
        model = PaymentPlan
        fields = ["status"]
