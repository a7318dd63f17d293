"""Activity-feed describers for the claims app's audited actions (see
creditguard.audit.activity)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditguard.audit.activity import (
    Describe,
    Happening,
    money,
    register_action,
    register_object,
    register_quiet,
    says,
)

from . import workflow
from .models import Claim


def _buyer(happening: Happening) -> str:
    claim = happening.obj
    return str(claim.buyer.legal_name) if claim is not None else _("a buyer")


def _number(happening: Happening) -> str:
    return str(happening.after("number") or getattr(happening.obj, "number", "") or "")


def _money(field: str) -> Callable[[Happening], str]:
    return lambda happening: money(happening.after(field), getattr(happening.obj, "currency", ""))


def _on_claim(template: Any, **values: Callable[[Happening], Any]) -> Describe:
    return says(template, buyer=_buyer, number=_number, **values)


def register() -> None:
    register_object(
        "claims.claim",
        label=gettext_lazy("Claim"),
        objects=lambda: Claim.objects.select_related("buyer"),
        url=lambda object_id, obj: reverse("claims:detail", args=[object_id]),
    )
    register_action(
        "claim.create",
        _on_claim(
            gettext_lazy("%(actor)s opened claim %(number)s of %(amount)s on %(buyer)s"),
            amount=_money("claimed_amount"),
        ),
    )
    register_action(
        f"claim.{workflow.SUBMITTED}",
        _on_claim(gettext_lazy("%(actor)s submitted claim %(number)s on %(buyer)s to the insurer")),
    )
    register_action(
        f"claim.{workflow.UNDER_REVIEW}",
        _on_claim(
            gettext_lazy(
                "%(actor)s recorded that the insurer is reviewing claim %(number)s on %(buyer)s"
            )
        ),
    )
    register_action(
        f"claim.{workflow.APPROVED}",
        _on_claim(
            gettext_lazy(
                "%(actor)s recorded that the insurer approved claim %(number)s on %(buyer)s: %(amount)s"
            ),
            amount=_money("approved_amount"),
        ),
    )
    register_action(
        f"claim.{workflow.PARTIALLY_APPROVED}",
        _on_claim(
            gettext_lazy(
                "%(actor)s recorded that the insurer approved claim %(number)s on %(buyer)s in part: %(amount)s"
            ),
            amount=_money("approved_amount"),
        ),
    )
    register_action(
        f"claim.{workflow.REJECTED}",
        _on_claim(
            gettext_lazy(
                "%(actor)s recorded that the insurer rejected claim %(number)s on %(buyer)s"
            )
        ),
    )
    register_action(
        f"claim.{workflow.PAID}",
        _on_claim(
            gettext_lazy(
                "%(actor)s recorded the payment of %(amount)s on claim %(number)s for %(buyer)s"
            ),
            amount=_money("paid_amount"),
        ),
    )
    register_action(
        f"claim.{workflow.WITHDRAWN}",
        _on_claim(gettext_lazy("%(actor)s withdrew claim %(number)s on %(buyer)s")),
    )
    register_action(
        "claim.assign",
        _on_claim(gettext_lazy("%(actor)s reassigned claim %(number)s on %(buyer)s")),
    )
    register_action(
        "claim.document_add",
        _on_claim(gettext_lazy("%(actor)s added a document to claim %(number)s on %(buyer)s")),
    )
    register_action(
        "claim.recovery",
        _on_claim(
            gettext_lazy(
                "%(actor)s recorded a recovery of %(amount)s on claim %(number)s for %(buyer)s"
            ),
            amount=_money("amount"),
        ),
    )
    register_action(
        "claim.write_off",
        _on_claim(
            gettext_lazy("%(actor)s wrote off %(amount)s on claim %(number)s for %(buyer)s"),
            amount=_money("amount"),
        ),
    )
    register_quiet("claim.recompute")
