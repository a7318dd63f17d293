from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    """Credit policy, credit limits and approvals, insurer cover (and, later, insurance policies)."""

    name = "policies"
    verbose_name = _("Limits and insurance")
