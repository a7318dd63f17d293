from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    """Credit policy, credit limits and approvals, insurer cover and insurance policies."""

    name = "policies"
    verbose_name = _("Limits and insurance")

    def ready(self) -> None:
        # Monitoring's over-limit, cover-reduced and policy-deadline rules read the limits,
        # cover decisions and deadlines this app owns; the dependency points from policies to
        # monitoring, never back.
        from monitoring.alerts import (
            register_cover_change_source,
            register_deadline_source,
            register_limit_source,
        )

        from .insurance.alert_sources import cover_changes_for_monitoring, deadlines_for_monitoring
        from .selectors import active_limits_for_monitoring

        register_limit_source(active_limits_for_monitoring)
        register_cover_change_source(cover_changes_for_monitoring)
        register_deadline_source(deadlines_for_monitoring)

        from . import activity

        activity.register()  # the activity feed's words for this app's audited actions

        from buyers.signals import buyer_list_policies

        from .insurance.policy_selectors import policy_choices_for_buyer_list

        buyer_list_policies.connect(
            policy_choices_for_buyer_list, dispatch_uid="buyer-list-policies"
        )

        # The limit and cover columns of the buyers' maintained figures.
        from buyers.figures import register_figure_source

        from .figures import figures_from_policies

        register_figure_source(figures_from_policies)
