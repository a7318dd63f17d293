import django_filters

from creditguard.api import filters as api_filters
from creditguard.reference.models import Country
from creditguard.reference.nace import SECTIONS

from ..models import Alert, WebhookDelivery
from ..webhooks import EVENT_TYPES

# The buyers in scope, as on the dashboard (`buyers.selectors.scope_q`): the figures' grade and
# covering policy, the buyer's country and NACE section.
FIGURES_FILTERS = ("policy", "grade_min", "grade_max")


class AlertFilter(django_filters.FilterSet):
    buyer = django_filters.NumberFilter(field_name="buyer_id")
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")
    created_after = api_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    policy = django_filters.NumberFilter(
        field_name="buyer__figures__policy_id",
        help_text="Only buyers this insurance policy covers (its id).",
    )
    country = django_filters.ModelChoiceFilter(
        field_name="buyer__country",
        queryset=Country.objects.all(),
        to_field_name="code",
        help_text="Only buyers in this country (ISO 3166 alpha-2, e.g. DE).",
    )
    sector = django_filters.ChoiceFilter(
        field_name="buyer__nace_section",
        choices=[(letter, letter) for letter in SECTIONS],
        help_text="Only buyers in this NACE section (A to U).",
    )
    grade_min = django_filters.NumberFilter(
        field_name="buyer__figures__grade",
        lookup_expr="gte",
        min_value=1,
        max_value=10,
        help_text="Only buyers whose current grade is this one or worse (1 = best).",
    )
    grade_max = django_filters.NumberFilter(
        field_name="buyer__figures__grade",
        lookup_expr="lte",
        min_value=1,
        max_value=10,
        help_text="Only buyers whose current grade is this one or better (10 = worst).",
    )

    class Meta:
        model = Alert
        fields = ["status", "severity", "rule"]


class WebhookDeliveryFilter(django_filters.FilterSet):
    event_type = django_filters.ChoiceFilter(choices=[(kind, kind) for kind in EVENT_TYPES])

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type"]
