import django_filters

from ..models import CreditLimit, InsurerCover, LimitRequest


class LimitRequestFilter(django_filters.FilterSet):
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")

    class Meta:
        model = LimitRequest
        fields = ["status"]


class CreditLimitFilter(django_filters.FilterSet):
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")

    class Meta:
        model = CreditLimit
        fields = ["status"]


class InsurerCoverFilter(django_filters.FilterSet):
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")

    class Meta:
        model = InsurerCover
        fields = ["status"]
