"""The PD calibration page: per model version the active calibration with its evidence, its
history, "Recalibrate" and "Activate" (an older version, to roll back).

Every member reads; recalibrating and activating need MANAGE_MONITORING (credit managers and
admins), as in the API (`monitoring.api.calibrations`). Another tenant's calibration is "not
found", exactly like a missing one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from creditguard.accounts.roles import Permission
from creditguard.tenancy.http import TenantHttpRequest
from creditguard.tenancy.models import Tenant
from creditguard.web.decorators import tenant_view
from monitoring.models import PdCalibration
from monitoring.views import BacktestWindowForm, _interval_bar, _log_position

from .maths import DEFAULT_PRIOR_STRENGTH
from .selectors import calibration_model_versions, calibrations, prior_pd_table
from .services import MAX_PRIOR_STRENGTH, MIN_PRIOR_STRENGTH, calibrate, calibration_activate

MANAGE = Permission.MANAGE_MONITORING


class CalibrationForm(BacktestWindowForm):
    """The "Recalibrate" form: the window of scored months (both optional) and the prior strength."""

    model_version = forms.CharField(max_length=20, widget=forms.HiddenInput)
    prior_strength = forms.DecimalField(
        label=gettext_lazy("Prior strength"),
        help_text=gettext_lazy("Observations the model’s own PD counts as"),
        min_value=MIN_PRIOR_STRENGTH,
        max_value=MAX_PRIOR_STRENGTH,
        decimal_places=2,
        initial=Decimal(f"{DEFAULT_PRIOR_STRENGTH:g}"),
    )


def _page(model_version: str) -> str:
    return reverse("monitoring:calibration") + "?" + urlencode({"model_version": model_version})


def _grade_rows(calibration: PdCalibration) -> list[dict[str, Any]]:
    """The evidence of each grade with the positions of its marks on the log-scale strip."""
    rows = []
    for evidence in calibration.evidence:
        values = {
            key: Decimal(evidence[key]) if evidence.get(key) is not None else None
            for key in ("observed_rate", "prior_pd", "pd", "low", "high")
        }
        rows.append(
            {
                "grade": evidence["grade"],
                "observations": evidence["observations"],
                "defaults": evidence["defaults"],
                **values,
                "observed_at": _log_position(values["observed_rate"]),
                "calibrated_at": _log_position(values["pd"]),
                "interval": _interval_bar(values["low"], values["high"]),
            }
        )
    return rows


def _member(request: TenantHttpRequest) -> tuple[Tenant, User, bool]:
    """The tenant, the signed-in member and whether they may recalibrate (`tenant_view`
    has checked there is a membership)."""
    assert request.tenant is not None and request.membership is not None
    assert isinstance(request.user, User)
    return request.tenant, request.user, request.membership.allows(MANAGE)


@tenant_view()
def calibration_page(request: TenantHttpRequest) -> HttpResponse:
    tenant, user, can_manage = _member(request)
    versions = calibration_model_versions()
    form = None
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        form = CalibrationForm(request.POST)
        if form.is_valid() and form.cleaned_data["model_version"] in versions:
            try:
                created = calibrate(
                    tenant=tenant,
                    actor=user,
                    model_version=form.cleaned_data["model_version"],
                    first_period=form.cleaned_data.get("first_period"),
                    last_period=form.cleaned_data.get("last_period"),
                    prior_strength=form.cleaned_data["prior_strength"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request,
                    _("Version %(version)s of the PDs of model %(model)s is now active.")
                    % {"version": created.version, "model": created.model_version},
                )
                return redirect(_page(created.model_version))
        elif form.is_valid():
            form.add_error(None, _("There are no scores of this model."))
    chosen = request.GET.get("model_version") or request.POST.get("model_version") or ""
    if chosen not in versions:
        chosen = versions[0] if versions else ""
    history = list(calibrations(model_version=chosen)) if chosen else []
    active = next((row for row in history if row.active), None)
    if form is None or (not form.errors and form.data.get("model_version") != chosen):
        form = CalibrationForm(initial={"model_version": chosen})
    return render(
        request,
        "monitoring/calibration.html",
        {
            "versions": versions,
            "chosen": chosen,
            "active": active,
            "grades": _grade_rows(active) if active else [],
            "history": history,
            "prior": sorted(prior_pd_table(chosen).items()) if chosen else [],
            "form": form,
            "can_manage": can_manage,
            "default_prior_strength": Decimal(f"{DEFAULT_PRIOR_STRENGTH:g}"),
            "rate_ticks": ["0.01%", "0.1%", "1%", "10%", "100%"],
        },
    )


@tenant_view(MANAGE)
@require_POST
def calibration_activate_view(request: TenantHttpRequest, calibration_id: int) -> HttpResponse:
    tenant, user, _can_manage = _member(request)
    calibration = PdCalibration.objects.filter(pk=calibration_id).first()
    if calibration is None:
        raise Http404
    calibration_activate(tenant=tenant, actor=user, calibration=calibration)
    messages.success(
        request,
        _("Version %(version)s of the PDs of model %(model)s is now active.")
        % {"version": calibration.version, "model": calibration.model_version},
    )
    return redirect(_page(calibration.model_version))
