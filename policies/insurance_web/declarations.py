"""Declaration pages: a policy's declarations, one declaration with its premium breakdown and
adjustments, and the review / submit / correct / close-the-year actions. Parse → call one
service (`policies.services.declarations`) → redirect or render."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from creditguard.accounts.roles import Permission
from creditguard.api.filters import BoundedDateField
from creditguard.web.decorators import tenant_view

from ..models import Declaration, InsurancePolicy
from ..services import declarations as services
from ..services.transitions import TransitionNotAllowed


class AdjustForm(forms.Form):
    amount_change = forms.DecimalField(
        label=gettext_lazy("Change in declared amount"), max_digits=18, decimal_places=2
    )
    premium_change = forms.DecimalField(
        label=gettext_lazy("Change in premium"),
        max_digits=18,
        decimal_places=2,
        required=False,
        help_text=gettext_lazy("Leave empty to apply the declaration's average rate."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000)


class YearCloseForm(forms.Form):
    year_start = BoundedDateField(
        label=gettext_lazy("Policy year starting"), widget=forms.DateInput(attrs={"type": "date"})
    )


def _member(request: HttpRequest) -> User:
    """The signed-in member (`tenant_view` let only them in)."""
    return cast(User, request.user)


def _policy_or_404(pk: int) -> InsurancePolicy:
    policy = InsurancePolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise Http404
    return policy


def _declaration_or_404(pk: int) -> Declaration:
    declaration = (
        Declaration.objects.select_related("policy")
        .prefetch_related("adjustments")
        .filter(pk=pk)
        .first()
    )
    if declaration is None:
        raise Http404
    return declaration


def _can_manage(request: HttpRequest) -> bool:
    return bool(request.membership.allows(Permission.MANAGE_INSURANCE))  # type: ignore[attr-defined]


@tenant_view()
def policy_declarations(request: HttpRequest, pk: int) -> HttpResponse:
    policy = _policy_or_404(pk)
    declarations = list(
        Declaration.objects.filter(policy=policy)
        .prefetch_related("adjustments")
        .order_by("-period_start")
    )
    return render(
        request,
        "policies/insurance/declarations.html",
        {
            "policy": policy,
            "declarations": declarations,
            "close_form": YearCloseForm(),
            "can_manage": _can_manage(request),
        },
    )


def _detail(request: HttpRequest, declaration: Declaration, **extra: Any) -> HttpResponse:
    status = extra.pop("status", 200)
    context = {
        "declaration": declaration,
        "policy": declaration.policy,
        "breakdown": declaration.breakdown or {},
        "adjustments": list(declaration.adjustments.all()),
        "adjust_form": AdjustForm(),
        "can_manage": _can_manage(request),
        **extra,
    }
    return render(request, "policies/insurance/declaration_detail.html", context, status=status)


@tenant_view()
def declaration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _declaration_or_404(pk))


def _step(request: HttpRequest, pk: int, step: Any, done: str) -> HttpResponse:
    declaration = _declaration_or_404(pk)
    try:
        step(
            tenant=request.tenant,  # type: ignore[attr-defined]
            actor=_member(request),
            declaration=declaration,
        )
    except TransitionNotAllowed as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("insurance:declaration-detail", declaration.pk)


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def declaration_review(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, services.declaration_review, _("Declaration reviewed."))


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def declaration_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request, pk, services.declaration_submit, _("Declaration submitted: it is locked now.")
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def declaration_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = _declaration_or_404(pk)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.declaration_adjust(
                tenant=request.tenant,  # type: ignore[attr-defined]
                actor=_member(request),
                declaration=declaration,
                amount_change=form.cleaned_data["amount_change"],
                premium_change=form.cleaned_data["premium_change"],
                reason=form.cleaned_data["reason"],
            )
        except TransitionNotAllowed as error:
            messages.error(request, " ".join(error.messages))
            return redirect("insurance:declaration-detail", declaration.pk)
        except ValidationError as error:
            for key, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(key if key in form.fields else None, message)
        else:
            messages.success(request, _("Correction recorded."))
            return redirect("insurance:declaration-detail", declaration.pk)
    return _detail(request, declaration, adjust_form=form, status=400)


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def year_close(request: HttpRequest, pk: int) -> HttpResponse:
    policy = _policy_or_404(pk)
    form = YearCloseForm(request.POST)
    if form.is_valid():
        try:
            adjustment = services.policy_year_close(
                tenant=request.tenant,  # type: ignore[attr-defined]
                actor=_member(request),
                policy=policy,
                year_start=form.cleaned_data["year_start"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, adjustment.reason)
    else:
        messages.error(request, _("Enter the first day of the policy year."))
    return redirect("insurance:declarations", policy.pk)
