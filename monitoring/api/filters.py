import django_filters

from creditguard.api import filters as api_filters

from ..models import Alert, WebhookDelivery
from ..webhooks import EVENT_TYPES


class AlertFilter(django_filters.FilterSet):
    buyer = django_filters.NumberFilter(field_name="buyer_id")
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")
    created_after = api_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Alert
        fields = ["status", "severity", "rule"]


class WebhookDeliveryFilter(django_filters.FilterSet):
    event_type = django_filters.ChoiceFilter(choices=[(kind, kind) for kind in EVENT_TYPES])

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type"]
