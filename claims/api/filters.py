"""Filters of the claim list; unknown choices are refused with a 400."""

from __future__ import annotations

import django_filters

from ..models import Claim


class ClaimFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Claim.Status.choices)
    cause = django_filters.ChoiceFilter(choices=Claim.Cause.choices)
    policy = django_filters.NumberFilter(field_name="policy_id", min_value=1)
    buyer = django_filters.NumberFilter(field_name="buyer_id", min_value=1)
    buyer_erp_reference = django_filters.CharFilter(field_name="buyer__erp_reference")

    class Meta:
        model = Claim
        fields = ["status", "cause", "policy", "buyer", "buyer_erp_reference"]
