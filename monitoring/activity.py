"""Activity-feed describers for the monitoring app's audited actions: alerts, legal events,
rescoring, early-warning rules and webhooks (see creditguard.audit.activity)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditguard.accounts.roles import Permission
from creditguard.audit.activity import Happening, register_action, register_object, says

from .models import Alert, AlertRule, LegalEvent, WebhookEndpoint


def _buyer(happening: Happening) -> str:
    buyer = getattr(happening.obj, "buyer", None)
    if buyer is not None:
        return str(buyer.legal_name)
    return _("a buyer")


def _alert_rule(happening: Happening) -> str:
    kind = getattr(happening.obj, "rule", None) or getattr(happening.obj, "kind", None)
    if kind in AlertRule.Kind.values:
        return str(AlertRule.Kind(kind).label)
    return _("early warning")


def _legal_kind(happening: Happening) -> str:
    kind = happening.after("kind")
    return str(LegalEvent.Kind(kind).label) if kind in LegalEvent.Kind.values else _("Other")


def _webhook(happening: Happening) -> str:
    endpoint = happening.obj
    if endpoint is not None:
        return str(endpoint.description or endpoint.url)
    return str(happening.before("url") or happening.after("url") or _("a webhook"))


def register() -> None:
    buyer_page: Callable[[str, Any], str] = lambda object_id, obj: reverse(  # noqa: E731
        "buyers:detail", args=[obj.buyer_id]
    )
    register_object(
        "monitoring.alert",
        label=gettext_lazy("Alert"),
        objects=lambda: Alert.objects.select_related("buyer"),
        url=buyer_page,
    )
    register_object(
        "monitoring.legalevent",
        label=gettext_lazy("Legal event"),
        objects=lambda: LegalEvent.objects.select_related("buyer"),
        url=buyer_page,
    )
    register_object(
        "monitoring.alertrule",
        label=gettext_lazy("Early-warning rule"),
        objects=lambda: AlertRule.objects.all(),
        url=lambda object_id, obj: reverse("monitoring:rules"),
    )
    register_object(
        "monitoring.webhookendpoint",
        label=gettext_lazy("Webhook"),
        objects=lambda: WebhookEndpoint.objects.all(),
        url=lambda object_id, obj: reverse("monitoring:webhook-detail", args=[object_id]),
    )
    register_object(
        "monitoring.rescorerun",
        label=gettext_lazy("Rescoring"),
        url=lambda object_id, obj: reverse("monitoring:rescore"),
    )
    register_object(
        "monitoring.pdcalibration",
        label=gettext_lazy("PD calibration"),
        url=lambda object_id, obj: reverse("monitoring:calibration"),
    )
    register_object(
        "monitoring.backfillrun",
        label=gettext_lazy("Score history back-fill"),
        url=lambda object_id, obj: reverse("monitoring:backtest"),
    )
    register_object(
        "monitoring.scoringmodel",
        label=gettext_lazy("Scoring model"),
        url=lambda object_id, obj: reverse("monitoring:model-detail", args=[object_id]),
    )

    register_action(
        "alert.acknowledge",
        says(
            gettext_lazy("%(actor)s acknowledged the alert “%(rule)s” on %(buyer)s"),
            rule=_alert_rule,
            buyer=_buyer,
        ),
    )
    register_action(
        "alert.resolve",
        says(
            gettext_lazy("%(actor)s resolved the alert “%(rule)s” on %(buyer)s"),
            rule=_alert_rule,
            buyer=_buyer,
        ),
    )
    register_action(
        "legal_event.record",
        says(
            gettext_lazy("%(actor)s recorded a legal event on %(buyer)s: %(kind)s"),
            kind=_legal_kind,
            buyer=_buyer,
        ),
    )
    register_action(
        "monitoring.rescore_now", says(gettext_lazy("%(actor)s started a rescoring of all buyers"))
    )
    register_action(
        "monitoring.backfill_start",
        says(gettext_lazy("%(actor)s started scoring the history month by month")),
    )
    register_action(
        "monitoring.calibrate",
        says(
            gettext_lazy("%(actor)s calibrated the PDs of model %(model)s (version %(version)s)"),
            model=lambda happening: str(happening.after("model_version") or ""),
            version=lambda happening: str(happening.after("version") or ""),
        ),
    )
    register_action(
        "monitoring.calibration_activate",
        says(
            gettext_lazy(
                "%(actor)s made version %(version)s of the PDs of model %(model)s the active one"
            ),
            model=lambda happening: str(happening.after("model_version") or ""),
            version=lambda happening: str(happening.after("active_version") or ""),
        ),
    )
    for action, template in (
        (
            "scoring_model.train_started",  # monitoring.modellab.training
            gettext_lazy("%(actor)s started training model %(version)s"),
        ),
        (
            "scoring_model.shadow_start",
            gettext_lazy("%(actor)s started running model %(version)s in shadow mode"),
        ),
        (
            "scoring_model.shadow_stop",
            gettext_lazy("%(actor)s stopped the shadow run of model %(version)s"),
        ),
        (
            "scoring_model.promotion_request",
            gettext_lazy("%(actor)s asked for model %(version)s to become the official model"),
        ),
        (
            "scoring_model.promote",
            gettext_lazy("%(actor)s approved model %(version)s: it is now the official model"),
        ),
        (
            "scoring_model.promotion_reject",
            gettext_lazy("%(actor)s turned down the request on model %(version)s"),
        ),
        (
            "scoring_model.retirement_request",
            gettext_lazy("%(actor)s asked for model %(version)s to be retired"),
        ),
        ("scoring_model.retire", gettext_lazy("%(actor)s retired model %(version)s")),
    ):
        register_action(
            action, says(template, version=lambda happening: str(happening.after("version", "")))
        )
    manage = Permission.MANAGE_MONITORING
    register_action(
        "alert_rule.update",
        says(gettext_lazy("%(actor)s changed the early-warning rule “%(rule)s”"), rule=_alert_rule),
        audience=manage,
    )
    for action, template in (
        ("webhook_endpoint.create", gettext_lazy("%(actor)s added the webhook %(webhook)s")),
        ("webhook_endpoint.update", gettext_lazy("%(actor)s changed the webhook %(webhook)s")),
        (
            "webhook_endpoint.rotate_secret",
            gettext_lazy("%(actor)s renewed the secret of the webhook %(webhook)s"),
        ),
        ("webhook_endpoint.delete", gettext_lazy("%(actor)s deleted the webhook %(webhook)s")),
    ):
        register_action(action, says(template, webhook=_webhook), audience=manage)
