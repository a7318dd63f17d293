"""Pages for two-factor sign-in: the code step after the password, and the settings page."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from creditguard.accounts.roles import Permission
from creditguard.accounts.two_factor import (
    code_refused_reason,
    tenant_two_factor_update,
    totp_device_confirm,
    totp_device_of,
    totp_device_remove,
    totp_device_start,
    totp_device_verify,
    totp_manual_key,
    totp_qr_svg,
)
from creditguard.tenancy.http import TenantHttpRequest

from .decorators import tenant_view
from .forms import TenantTwoFactorForm, TwoFactorCodeForm

WRONG_CODE = gettext_lazy("That code is not right. Enter the newest code your app shows.")


def _user(request: HttpRequest) -> User:
    # Behind login_required, and wrapped by OTPMiddleware (which adds `is_verified`).
    return cast(User, request.user)


def _next_url(request: HttpRequest, default: str = "dashboard") -> str:
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return default


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second sign-in step: a code from the user's authenticator app."""
    user: Any = _user(request)
    device = totp_device_of(user=user)
    if device is None or user.is_verified():
        return redirect(_next_url(request))
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refused = code_refused_reason(device)
        if refused:
            form.add_error("code", refused)
        else:
            verified = totp_device_verify(user=user, token=form.cleaned_data["code"])
            if verified is not None:
                otp_login(request, verified)
                return redirect(_next_url(request))
            form.add_error("code", WRONG_CODE)
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": _next_url(request, default=""), "standalone_page": True},
    )


@login_required
def two_factor(request: TenantHttpRequest) -> HttpResponse:
    """Settings → Two-factor authentication: set up with a QR code, or turn off with a code."""
    user = _user(request)
    device = totp_device_of(user=user)
    form = TwoFactorCodeForm(request.POST or None)
    if device is not None:
        if request.method == "POST" and form.is_valid():
            refused = code_refused_reason(device)
            try:
                removed = not refused and totp_device_remove(
                    user=user, token=form.cleaned_data["code"]
                )
            except ValidationError as error:
                form.add_error(None, error.messages[0])
            else:
                if removed:
                    messages.success(request, _("Two-factor authentication is off."))
                    return redirect("two-factor")
                form.add_error("code", refused or WRONG_CODE)
        context = {"form": form, "enabled": True}
    else:
        pending = totp_device_start(user=user)
        if request.method == "POST" and form.is_valid():
            refused = code_refused_reason(pending)
            confirmed = (
                None if refused else totp_device_confirm(user=user, token=form.cleaned_data["code"])
            )
            if confirmed is not None:
                otp_login(request, confirmed)  # this session has just proven the device
                messages.success(request, _("Two-factor authentication is on."))
                return redirect(_next_url(request, default="two-factor"))
            form.add_error("code", refused or WRONG_CODE)
        context = {
            "form": form,
            "enabled": False,
            "qr_svg": totp_qr_svg(pending),
            "manual_key": totp_manual_key(pending),
        }
    membership = request.membership
    if request.tenant is not None and membership and membership.allows(Permission.MANAGE_USERS):
        context["tenant_form"] = TenantTwoFactorForm(
            initial={"required": request.tenant.require_admin_two_factor}
        )
    context["next"] = _next_url(request, default="")
    return render(request, "web/two_factor.html", context)


@require_POST
@tenant_view(Permission.MANAGE_USERS)
def tenant_two_factor(request: TenantHttpRequest) -> HttpResponse:
    """The active tenant's requirement of 2FA for its administrators."""
    form = TenantTwoFactorForm(request.POST)
    if form.is_valid():
        assert request.tenant is not None  # tenant_view
        tenant = tenant_two_factor_update(
            tenant=request.tenant, actor=_user(request), required=form.cleaned_data["required"]
        )
        if tenant.require_admin_two_factor:
            messages.success(request, _("Administrators must now use two-factor authentication."))
        else:
            messages.success(
                request, _("Two-factor authentication is optional for administrators.")
            )
    return redirect("two-factor")
