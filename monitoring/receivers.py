"""Receivers of the `buyers` signals, connected in `MonitoringConfig.ready` (buyers sits below
monitoring and never imports it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from buyers.signals import BuyerFilePanel

from . import events
from .selectors import buyer_risk_context

if TYPE_CHECKING:
    from buyers.models import Buyer
    from creditguard.tenancy.models import Tenant


def rescore_on_buyer_risk_changed(
    sender: Any, *, tenant_id: int, buyer_ids: Iterable[int], reason: str, **kwargs: Any
) -> None:
    """`buyer_risk_changed` → re-score those buyers after commit."""
    events.buyer_risk_changed(tenant_id=tenant_id, buyer_ids=buyer_ids, reason=reason)


def buyer_risk_panel(sender: Any, *, tenant: Tenant, buyer: Buyer, **kwargs: Any) -> BuyerFilePanel:
    """The grade, its history, the factors and the open alerts on the buyer's credit file."""
    return BuyerFilePanel(
        "monitoring/_buyer_risk.html", buyer_risk_context(tenant=tenant, buyer=buyer)
    )
