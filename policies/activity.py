"""Activity-feed describers for the policies app's audited actions: credit limits and their
requests, insurer cover, insurance policies, declarations and overdue notifications
(see creditguard.audit.activity)."""

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

from .models import (
    CoverDecision,
    CreditLimit,
    DeclarationAdjustment,
    ExtensionRequest,
    InsurerCover,
    LimitRequest,
    OverdueNotification,
)
from .services.coverage import SWEEP_ACTION
from .services.overdue_notifications import PROPOSE_ACTION, UPDATE_ACTION


def _buyer(happening: Happening) -> str:
    buyer = getattr(happening.obj, "buyer", None)
    if buyer is None and isinstance(happening.obj, ExtensionRequest):
        buyer = happening.obj.notification.buyer
    if buyer is not None:
        return str(buyer.legal_name)
    return str(happening.after("buyer_name") or happening.after("buyer") or _("a buyer"))


def _policy(happening: Happening) -> str:
    policy = getattr(happening.obj, "policy", None)
    if policy is not None:
        return str(policy)
    return happening.event.object_label or _("an insurance policy")


def _currency(happening: Happening) -> str:
    return str(happening.after("currency") or getattr(happening.obj, "currency", "") or "")


def _amount(field: str) -> Callable[[Happening], str]:
    return lambda happening: money(happening.after(field), _currency(happening))


def _on_buyer(template: Any, **values: Callable[[Happening], Any]) -> Describe:
    return says(template, buyer=_buyer, **values)


def _cover_decision(happening: Happening) -> str:
    decision = happening.after("decision") or {}
    kind = decision.get("kind")
    values = {
        "actor": happening.actor,
        "buyer": _buyer(happening),
        "insurer": happening.after("insurer") or _("the insurer"),
        "amount": money(decision.get("amount"), decision.get("currency")),
    }
    templates: dict[str, str] = {
        CoverDecision.Kind.GRANT: _(
            "%(actor)s recorded cover of %(amount)s by %(insurer)s for %(buyer)s"
        ),
        CoverDecision.Kind.INCREASE: _(
            "%(actor)s recorded cover raised to %(amount)s by %(insurer)s for %(buyer)s"
        ),
        CoverDecision.Kind.REDUCTION: _(
            "%(actor)s recorded cover cut to %(amount)s by %(insurer)s for %(buyer)s"
        ),
        CoverDecision.Kind.WITHDRAWAL: _(
            "%(actor)s recorded that %(insurer)s withdrew the cover for %(buyer)s"
        ),
        CoverDecision.Kind.REFUSAL: _(
            "%(actor)s recorded that %(insurer)s refused cover for %(buyer)s"
        ),
        CoverDecision.Kind.EXPIRY: _("%(actor)s recorded that the cover for %(buyer)s expired"),
    }
    template = templates.get(str(kind), _("%(actor)s recorded an insurer decision on %(buyer)s"))
    return template % values


def _limit_change(happening: Happening) -> str:
    values = {
        "actor": happening.actor,
        "buyer": _buyer(happening),
        "amount": money(happening.after("amount"), _currency(happening)),
    }
    if "amount" in happening.changed:
        return _("%(actor)s changed the credit limit of %(buyer)s to %(amount)s") % values
    return _("%(actor)s changed the terms of the credit limit of %(buyer)s") % values


def _request_currency(happening: Happening) -> str:
    obj = happening.obj
    return str(getattr(obj, "currency", "") or happening.after("currency") or "")


def _decided(happening: Happening) -> str:
    amount = happening.after("decided_amount") or happening.after("granted_amount")
    return money(amount, _request_currency(happening))


def _requested(happening: Happening) -> str:
    return money(happening.after("amount"), _request_currency(happening))


def _extension_decide(happening: Happening) -> str:
    values = {"actor": happening.actor, "buyer": _buyer(happening)}
    if happening.after("status") == ExtensionRequest.Status.GRANTED:
        return _("%(actor)s recorded that the insurer granted more time for %(buyer)s") % values
    if happening.after("status") == ExtensionRequest.Status.REFUSED:
        return _("%(actor)s recorded that the insurer refused more time for %(buyer)s") % values
    return _("%(actor)s updated a request for more time for %(buyer)s") % values


def register() -> None:
    limit_page: Callable[[str, Any], str] = lambda object_id, obj: reverse(  # noqa: E731
        "limits:buyer", args=[obj.buyer_id]
    )
    register_object(
        "policies.limitrequest",
        label=gettext_lazy("Limit request"),
        objects=lambda: LimitRequest.objects.select_related("buyer"),
        url=lambda object_id, obj: reverse("limits:request-detail", args=[object_id]),
    )
    register_object(
        "policies.creditlimit",
        label=gettext_lazy("Credit limit"),
        objects=lambda: CreditLimit.objects.select_related("buyer"),
        url=limit_page,
    )
    register_object(
        "policies.insurercover",
        label=gettext_lazy("Insurer cover"),
        objects=lambda: InsurerCover.objects.select_related("buyer"),
        url=limit_page,
    )
    register_object(
        "policies.insurancepolicy",
        label=gettext_lazy("Insurance policy"),
        url=lambda object_id, obj: reverse("insurance:detail", args=[object_id]),
    )
    register_object(
        "policies.declaration",
        label=gettext_lazy("Declaration"),
        url=lambda object_id, obj: reverse("insurance:declaration-detail", args=[object_id]),
    )
    register_object(
        "policies.declarationadjustment",
        label=gettext_lazy("Declaration correction"),
        objects=lambda: DeclarationAdjustment.objects.select_related("declaration__policy"),
        url=lambda object_id, obj: reverse(
            "insurance:declaration-detail", args=[obj.declaration_id]
        ),
    )
    register_object(
        "policies.creditpolicy",
        label=gettext_lazy("Credit policy"),
        url=lambda object_id, obj: reverse("limits:policy"),
    )
    register_object(
        "policies.overduenotification",
        label=gettext_lazy("Overdue notification"),
        objects=lambda: OverdueNotification.objects.select_related("buyer", "policy"),
        url=lambda object_id, obj: reverse("insurance:notification-detail", args=[object_id]),
    )
    register_object(
        "policies.extensionrequest",
        label=gettext_lazy("Request for more time"),
        objects=lambda: ExtensionRequest.objects.select_related("notification__buyer"),
        url=lambda object_id, obj: reverse(
            "insurance:notification-detail", args=[obj.notification_id]
        ),
    )

    # Credit limits and their requests
    register_action(
        "limit_request.create",
        _on_buyer(
            gettext_lazy("%(actor)s requested a credit limit of %(amount)s for %(buyer)s"),
            amount=_requested,
        ),
    )
    register_action(
        "limit_request.approve",
        _on_buyer(
            gettext_lazy("%(actor)s approved a credit limit of %(amount)s for %(buyer)s"),
            amount=_decided,
        ),
    )
    register_action(
        "limit_request.approve_partially",
        _on_buyer(
            gettext_lazy(
                "%(actor)s approved a credit limit of %(amount)s for %(buyer)s (partially)"
            ),
            amount=_decided,
        ),
    )
    register_action(
        "limit_request.refuse",
        _on_buyer(gettext_lazy("%(actor)s refused the credit limit requested for %(buyer)s")),
    )
    register_action(
        "limit_request.request_information",
        _on_buyer(gettext_lazy("%(actor)s asked for more information on the limit for %(buyer)s")),
    )
    register_action(
        "limit_request.resubmit",
        _on_buyer(gettext_lazy("%(actor)s answered the questions on the limit for %(buyer)s")),
    )
    register_action(
        "limit_request.withdraw",
        _on_buyer(gettext_lazy("%(actor)s withdrew the limit request for %(buyer)s")),
    )
    register_action(
        "credit_limit.grant",
        _on_buyer(
            gettext_lazy("%(actor)s set a credit limit of %(amount)s for %(buyer)s"),
            amount=_amount("amount"),
        ),
    )
    register_action("credit_limit.change", _limit_change)
    register_action(
        "credit_limit.block",
        _on_buyer(gettext_lazy("%(actor)s blocked the credit limit of %(buyer)s")),
    )
    register_action(
        "credit_limit.unblock",
        _on_buyer(gettext_lazy("%(actor)s unblocked the credit limit of %(buyer)s")),
    )
    register_action(
        "credit_limit.expire",
        _on_buyer(gettext_lazy("The credit limit of %(buyer)s expired")),
    )
    register_action(
        "credit_policy.create",
        says(
            gettext_lazy("%(actor)s put version %(version)s of the credit policy in force"),
            version=lambda happening: happening.after("version") or "",
        ),
    )

    # Insurer cover
    register_action(
        "insurer_cover.create",
        _on_buyer(
            gettext_lazy("%(actor)s recorded cover of %(amount)s for %(buyer)s"),
            amount=_amount("amount"),
        ),
    )
    register_action(
        "insurer_cover.update",
        _on_buyer(gettext_lazy("%(actor)s updated the insurer cover of %(buyer)s")),
    )
    register_action("insurer_cover.decision", _cover_decision)
    register_action(
        "insurer_cover.dcl",
        _on_buyer(
            gettext_lazy("%(actor)s set a discretionary limit of %(amount)s for %(buyer)s"),
            amount=lambda h: money(
                (h.after("decision") or {}).get("amount"),
                (h.after("decision") or {}).get("currency"),
            ),
        ),
    )
    register_action(
        "insurer_cover.expire",
        _on_buyer(gettext_lazy("The insurer cover of %(buyer)s expired")),
    )

    # Insurance policies and declarations
    policy_label: Callable[[Happening], str] = lambda h: h.event.object_label  # noqa: E731
    register_action(
        "insurance_policy.create",
        says(gettext_lazy("%(actor)s added the insurance policy %(policy)s"), policy=policy_label),
    )
    register_action(
        "insurance_policy.endorse",
        says(
            gettext_lazy("%(actor)s recorded an endorsement of the insurance policy %(policy)s"),
            policy=policy_label,
        ),
    )
    register_action(
        "insurance_policy.buyer_set",
        says(
            gettext_lazy("%(actor)s named %(buyer)s on the insurance policy %(policy)s"),
            buyer=_buyer,
            policy=policy_label,
        ),
    )
    register_action(
        "insurance_policy.buyer_remove",
        says(
            gettext_lazy("%(actor)s removed a buyer from the insurance policy %(policy)s"),
            policy=policy_label,
        ),
    )
    register_action(
        "declaration.prepare",
        says(
            gettext_lazy("%(actor)s prepared a declaration of %(amount)s"),
            amount=_amount("declared_amount"),
        ),
    )
    register_action("declaration.review", says(gettext_lazy("%(actor)s reviewed a declaration")))
    register_action(
        "declaration.submit",
        says(
            gettext_lazy("%(actor)s submitted a declaration of %(amount)s"),
            amount=_amount("declared_amount"),
        ),
    )
    register_action(
        "declaration.adjust", says(gettext_lazy("%(actor)s corrected a submitted declaration"))
    )
    register_action(
        "declaration.year_close",
        says(gettext_lazy("%(actor)s closed a policy year of declarations")),
    )

    # Overdue notifications to the insurer
    register_action(
        PROPOSE_ACTION,
        _on_buyer(
            gettext_lazy("%(actor)s proposed an overdue notification of %(amount)s for %(buyer)s"),
            amount=_amount("overdue_amount"),
        ),
    )
    register_action(
        "overdue_notification.review",
        _on_buyer(gettext_lazy("%(actor)s reviewed the overdue notification for %(buyer)s")),
    )
    register_action(
        "overdue_notification.send",
        _on_buyer(gettext_lazy("%(actor)s sent the overdue notification for %(buyer)s")),
    )
    register_action(
        "overdue_notification.withdraw",
        _on_buyer(gettext_lazy("%(actor)s withdrew the overdue notification for %(buyer)s")),
    )
    register_action(
        "extension_request.create",
        _on_buyer(gettext_lazy("%(actor)s asked the insurer for more time for %(buyer)s")),
    )
    register_action("extension_request.decide", _extension_decide)

    # Recomputations and the nightly coverage sweep: in the audit trail, not in the feed.
    register_quiet(SWEEP_ACTION, UPDATE_ACTION, "declaration.recompute")
