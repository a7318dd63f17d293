"""Model lab pages: the tenant's scoring models beside the built-in one, training with
progress, each model's out-of-time back-test, scorecard and shadow comparison, and the
four-eyes promotion panel.

Views parse input, call one service (`training`, `lifecycle`) and render. Every member reads;
training, shadow runs and retiring a model nothing depends on need MANAGE_MONITORING (credit
managers and administrators), as do the promotion steps, which the services check themselves
(four eyes: the approver is not the requester). Another tenant's model is "not found".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from creditguard.accounts.roles import Permission
from creditguard.audit.models import AuditEvent
from creditguard.tenancy.http import TenantHttpRequest
from creditguard.tenancy.models import Tenant
from creditguard.web.decorators import tenant_view

from .. import scoring
from ..models import ScoringModel
from . import lifecycle, registry

MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]
MONTH_INPUT = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
_DECIMAL_KEYS = (
    "auc",
    "auc_low",
    "auc_high",
    "gini",
    "gini_low",
    "gini_high",
    "default_rate",
    "default_rate_low",
    "default_rate_high",
    "mean_pd",
)
# What each audited step is called in the model's history.
HISTORY_LABELS = {
    "scoring_model.train_started": gettext_lazy("Training started"),
    "scoring_model.shadow_start": gettext_lazy("Shadow run started"),
    "scoring_model.shadow_stop": gettext_lazy("Shadow run stopped"),
    "scoring_model.promotion_request": gettext_lazy("Promotion requested"),
    "scoring_model.promote": gettext_lazy("Promotion approved"),
    "scoring_model.promotion_reject": gettext_lazy("Request turned down"),
    "scoring_model.retirement_request": gettext_lazy("Retirement requested"),
    "scoring_model.retire": gettext_lazy("Retired"),
}


class TrainingForm(forms.Form):
    """The windows of a training, each optional (`training.training_windows` fills in and
    checks them): months as YYYY-MM."""

    train_from = forms.DateField(
        label=gettext_lazy("Training from"),
        required=False,
        input_formats=MONTH_FORMATS,
        widget=MONTH_INPUT,
    )
    train_to = forms.DateField(
        label=gettext_lazy("Training to"),
        required=False,
        input_formats=MONTH_FORMATS,
        widget=MONTH_INPUT,
    )
    test_from = forms.DateField(
        label=gettext_lazy("Test from"),
        required=False,
        input_formats=MONTH_FORMATS,
        widget=MONTH_INPUT,
    )
    test_to = forms.DateField(
        label=gettext_lazy("Test to"),
        required=False,
        input_formats=MONTH_FORMATS,
        widget=MONTH_INPUT,
    )


class NoteForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Why?"), widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


def model_page_urls(versions: Iterable[str]) -> dict[str, str]:
    """The page of each model version (a scorecard's own page; the list for the built-in)."""
    versions = set(versions)
    ids = registry.model_ids_by_version(versions)
    return {
        version: (
            reverse("monitoring:model-detail", args=[ids[version]])
            if version in ids
            else reverse("monitoring:models")
        )
        for version in versions
    }


def _model_or_404(model_id: int) -> ScoringModel:
    model = (
        ScoringModel.objects.select_related("trained_by", "promoted_by", "promotion_requested_by")
        .filter(pk=model_id)
        .first()
    )
    if model is None:
        raise Http404
    return model


def _add_service_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            for message in messages_:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _member(request: TenantHttpRequest) -> tuple[Tenant, User, bool]:
    """The tenant, the signed-in member and whether they hold MANAGE_MONITORING (`tenant_view`
    has checked there is a membership)."""
    assert request.tenant is not None and request.membership is not None
    assert isinstance(request.user, User)
    return request.tenant, request.user, request.membership.allows(Permission.MANAGE_MONITORING)


# --- The list and training ---------------------------------------------------------------------


@tenant_view()
def model_list(request: TenantHttpRequest) -> HttpResponse:
    """The built-in model and the tenant's scorecards; for MANAGE_MONITORING the training form
    (POST starts a training and opens the new model's page)."""
    tenant, user, can_manage = _member(request)
    form = TrainingForm()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        form = TrainingForm(request.POST)
        if form.is_valid():
            # Imported here: training loads scikit-learn, which pages need not wait for.
            from . import training

            try:
                model = training.training_start(tenant=tenant, actor=user, **form.cleaned_data)
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Training of model %(version)s has started.") % {"version": model.version},
                )
                return redirect("monitoring:model-detail", model_id=model.pk)
    models = list(
        ScoringModel.objects.select_related("trained_by", "promoted_by", "promotion_requested_by")
    )
    rows = [
        {
            "model": model,
            "pending": lifecycle.pending_request(model),
            "auc": _decimal(((model.metrics or {}).get("test") or {}).get("model", {}).get("auc")),
        }
        for model in models
    ]
    active = next((model for model in models if model.status == ScoringModel.Status.ACTIVE), None)
    in_training = next(
        (model for model in models if model.status == ScoringModel.Status.TRAINING), None
    )
    return render(
        request,
        "monitoring/models.html",
        {
            "rows": rows,
            "active_model": active,
            "training_model": in_training,
            "training_progress": lifecycle.training_progress(in_training) if in_training else None,
            "builtin_version": scoring.MODEL_VERSION,
            "form": form,
            "can_manage": can_manage,
        },
    )


@tenant_view()
def model_progress(request: TenantHttpRequest, model_id: int) -> JsonResponse:
    progress = lifecycle.training_progress(_model_or_404(model_id))
    # static/js/import_progress.js moves the bar; it reads the import job's names for the counts.
    progress.update(processed_rows=progress["done_steps"], total_rows=progress["total_steps"])
    return JsonResponse(progress, headers={"Cache-Control": "no-store"})


# --- One model ---------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _report(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not report:
        return None
    shown = dict(report)
    for key in _DECIMAL_KEYS:
        shown[key] = _decimal(report.get(key))
    shown["by_grade"] = {
        int(row["grade"]): {**row, **{key: _decimal(row.get(key)) for key in _DECIMAL_KEYS}}
        for row in report.get("by_grade", [])
    }
    return shown


def backtest_side_by_side(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """The out-of-time back-test of the scorecard and of the built-in model on the same buyers
    (``metrics["test"]`` of `training`), with numbers as Decimals and the grades side by side."""
    test = metrics.get("test") or {}
    model, builtin = _report(test.get("model")), _report(test.get("builtin"))
    if model is None or builtin is None:
        return None
    grades = [
        {
            "grade": grade,
            "model": model["by_grade"].get(grade),
            "builtin": builtin["by_grade"].get(grade),
        }
        for grade in range(1, 11)
    ]
    return {"window": test, "model": model, "builtin": builtin, "grades": grades}


def _bin_range(splits: Sequence[float], index: int) -> str:
    if not splits:
        return _("all values")
    if index == 0:
        return _("under %(high)s") % {"high": f"{splits[0]:g}"}
    if index == len(splits):
        return _("%(low)s and above") % {"low": f"{splits[-1]:g}"}
    return _("%(low)s to under %(high)s") % {
        "low": f"{splits[index - 1]:g}",
        "high": f"{splits[index]:g}",
    }


def scorecard_features(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each feature of the scorecard with its information value and, per bin, the range, the
    points and the training buyer-months and defaults in it."""
    shown = []
    for feature in spec.get("features") or []:
        splits = [float(split) for split in feature.get("splits", [])]
        counts, defaults = feature.get("counts", []), feature.get("defaults", [])
        bins = []
        for index, points in enumerate(feature.get("points", [])):
            count = counts[index] if index < len(counts) else None
            defaulted = defaults[index] if index < len(defaults) else None
            bins.append(
                {
                    "range": _bin_range(splits, index),
                    "points": _decimal(points),
                    "count": count,
                    "defaults": defaulted,
                    "default_rate": (
                        Decimal(defaulted) / Decimal(count)
                        if count and defaulted is not None
                        else None
                    ),
                }
            )
        label = feature.get("label") or feature.get("name")
        shown.append(
            {
                "name": feature.get("name"),
                "label": _(label) if label else "",
                "description": _(feature["description"]) if feature.get("description") else "",
                "iv": _decimal(feature.get("iv")),
                "bins": bins,
            }
        )
    return shown


def promotion_history(model: ScoringModel) -> list[dict[str, Any]]:
    """The audited steps of ``model``, oldest first: what, who, when, and the note or reason."""
    events = AuditEvent.objects.filter(
        object_type=ScoringModel._meta.label_lower, object_id=str(model.pk)
    ).order_by("created_at", "pk")
    return [
        {
            "when": event.created_at,
            "what": HISTORY_LABELS.get(event.action, event.action),
            "who": event.actor_label,
            "text": (event.after or {}).get("reason") or (event.after or {}).get("note") or "",
        }
        for event in events
    ]


@tenant_view()
def model_detail(request: TenantHttpRequest, model_id: int) -> HttpResponse:
    model = _model_or_404(model_id)
    _tenant, user, can_manage = _member(request)
    pending = lifecycle.pending_request(model)
    metrics = model.metrics or {}
    return render(
        request,
        "monitoring/models_detail.html",
        {
            "model": model,
            "builtin_version": scoring.MODEL_VERSION,
            "progress": lifecycle.training_progress(model),
            "metrics": metrics,
            "backtest": backtest_side_by_side(metrics),
            "features": scorecard_features(model.spec or {}),
            "dropped": metrics.get("dropped") or [],
            "shadow": registry.shadow_comparison(model),
            "pending": pending,
            "can_manage": can_manage,
            "may_decide": can_manage and lifecycle.may_decide(model, user),
            "history": promotion_history(model),
            "note_form": NoteForm(),
            "reason_form": ReasonForm(),
            "grades": range(1, 11),
        },
    )


def _lifecycle_step(
    request: TenantHttpRequest, model_id: int, step: Any, success: str
) -> HttpResponse:
    model = _model_or_404(model_id)
    try:
        step(model)
    except lifecycle.ModelLabError as error:
        messages.error(request, error.message)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success % {"version": model.version})
    return redirect("monitoring:model-detail", model_id=model.pk)


@tenant_view(Permission.MANAGE_MONITORING)
@require_POST
def model_shadow(request: TenantHttpRequest, model_id: int) -> HttpResponse:
    """POST ``action=start`` runs the model in shadow mode, ``action=stop`` ends it."""
    tenant, user, _can_manage = _member(request)
    if request.POST.get("action") == "stop":
        return _lifecycle_step(
            request,
            model_id,
            lambda model: lifecycle.shadow_stop(tenant=tenant, actor=user, model=model),
            _("The shadow run of model %(version)s has stopped."),
        )
    return _lifecycle_step(
        request,
        model_id,
        lambda model: lifecycle.shadow_start(tenant=tenant, actor=user, model=model),
        _("Model %(version)s now scores every buyer in shadow mode, beside the official model."),
    )


@tenant_view(Permission.MANAGE_MONITORING)
@require_POST
def model_request(request: TenantHttpRequest, model_id: int) -> HttpResponse:
    """Ask a second person to promote the model (trained, in shadow) or to retire it (active)."""
    tenant, user, _can_manage = _member(request)
    note = request.POST.get("note", "")

    def ask(model: ScoringModel) -> None:
        service = (
            lifecycle.retirement_request
            if model.status == ScoringModel.Status.ACTIVE
            else lifecycle.promotion_request
        )
        service(tenant=tenant, actor=user, model=model, note=note)

    return _lifecycle_step(
        request,
        model_id,
        ask,
        _("Your request on model %(version)s waits for a second person's approval."),
    )


@tenant_view(Permission.MANAGE_MONITORING)
@require_POST
def model_approve(request: TenantHttpRequest, model_id: int) -> HttpResponse:
    tenant, user, _can_manage = _member(request)
    return _lifecycle_step(
        request,
        model_id,
        lambda model: lifecycle.request_approve(tenant=tenant, actor=user, model=model),
        _("Approved: the official model has changed and every buyer is being re-scored now."),
    )


@tenant_view(Permission.MANAGE_MONITORING)
@require_POST
def model_reject(request: TenantHttpRequest, model_id: int) -> HttpResponse:
    tenant, user, _can_manage = _member(request)
    reason = request.POST.get("reason", "")
    return _lifecycle_step(
        request,
        model_id,
        lambda model: lifecycle.promotion_reject(
            tenant=tenant, actor=user, model=model, reason=reason
        ),
        _("The request on model %(version)s was turned down."),
    )


@tenant_view(Permission.MANAGE_MONITORING)
@require_POST
def model_retire(request: TenantHttpRequest, model_id: int) -> HttpResponse:
    """Retire a model no official score depends on (the active one goes by request)."""
    tenant, user, _can_manage = _member(request)
    return _lifecycle_step(
        request,
        model_id,
        lambda model: lifecycle.model_retire(tenant=tenant, actor=user, model=model),
        _("Model %(version)s is retired."),
    )
