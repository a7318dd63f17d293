"""Signals sent by the buyer credit file, so that the layers above (monitoring, policies) can
react without `buyers` importing them.

- `buyer_risk_changed`: a service recorded information that may change buyers' risk (a new
  financial statement, a status change, a broken payment plan, a legal event). Sent inside
  the service's transaction with ``tenant_id``, ``buyer_ids`` and ``reason`` (a short code for
  the logs, e.g. "statement"); receivers must only act after commit.
- `buyer_file_panels`: the buyer's credit file page is being rendered, with ``tenant`` and
  ``buyer``; a receiver returns a `BuyerFilePanel` to show (or None).
- `buyer_list_policies`: the buyer list builds its insurance-policy filter, with ``tenant``; a
  receiver returns the tenant's policies as (id, name) choices (`BuyerFigures.policy_id`).
- `figures_refreshed`: a background refresh of the tenant's `BuyerFigures` (the daily job, a
  refresh too large for a request) is done, inside its transaction, with ``tenant``; receivers
  may warm what they cache on the figures, after commit (`transaction.on_commit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

if TYPE_CHECKING:
    from creditguard.tenancy.models import Tenant

    from .models import Buyer

buyer_risk_changed = Signal()
buyer_file_panels = Signal()
buyer_list_policies = Signal()
figures_refreshed = Signal()


@dataclass(frozen=True)
class BuyerFilePanel:
    """A section of the credit file page: a template included with this extra context."""

    template_name: str
    context: dict[str, Any] = field(default_factory=dict)


def buyer_file_panel_context(*, tenant: Tenant, buyer: Buyer) -> dict[str, Any]:
    """Template context of the panels other apps add to the credit file: their own keys, and
    ``buyer_file_panels``, the template names to include in order."""
    from .models import Buyer

    context: dict[str, Any] = {}
    templates = []
    for _receiver, panel in buyer_file_panels.send(sender=Buyer, tenant=tenant, buyer=buyer):
        if panel is not None:
            context.update(panel.context)
            templates.append(panel.template_name)
    return {**context, "buyer_file_panels": templates}


def buyer_list_policy_choices(*, tenant: Tenant) -> list[tuple[int, str]]:
    """The insurance policies the buyer list can filter by (from the app that owns them)."""
    from .models import Buyer

    choices: list[tuple[int, str]] = []
    for _receiver, policies in buyer_list_policies.send(sender=Buyer, tenant=tenant):
        choices.extend(policies or [])
    return choices
