from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, UsernameField
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from creditguard.accounts.roles import Role
from creditguard.accounts.security import reset_mail_allowed
from creditguard.api.models import ApiKey

from .links import absolute_url


class MembershipAddForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    approval_authority = forms.DecimalField(
        label=_("Approval authority"), min_value=0, max_digits=18, decimal_places=2, initial=0
    )


class MembershipEditForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    approval_authority = forms.DecimalField(
        label=_("Approval authority"), min_value=0, max_digits=18, decimal_places=2
    )
    approval_currency = forms.RegexField(
        label=_("Currency"),
        regex=r"^[A-Z]{3}$",
        max_length=3,
        error_messages={"invalid": _("Use a three-letter ISO 4217 code, e.g. EUR.")},
    )
    is_active = forms.BooleanField(label=_("Active"), required=False)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scope = forms.ChoiceField(label=_("Scope"), choices=ApiKey.Scope.choices)


class EmailAuthenticationForm(AuthenticationForm):
    """Users sign in with their email address, which is also their username."""

    username = UsernameField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()  # stored lower-case (membership_add)


class InvitationPasswordResetForm(PasswordResetForm):
    """Also reaches users an administrator added, who have no password yet: the emailed link
    is how they choose their first one."""

    def get_users(self, email: str):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (user for user in users if _email_matches(user, email))

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        # The link is built on SITE_URL, never on the Host header of the request that asked.
        context["reset_url"] = absolute_url(
            reverse(
                "password_reset_confirm",
                kwargs={"uidb64": context["uid"], "token": context["token"]},
            )
        )
        super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Over the limit the page answers as usual and no mail leaves (see accounts.security).
        if reset_mail_allowed(email=self.cleaned_data["email"], request=kwargs.get("request")):
            super().save(*args, **kwargs)


def _email_matches(user, email: str) -> bool:
    return user.email.casefold() == email.casefold()


class TwoFactorCodeForm(forms.Form):
    """The six-digit code an authenticator app shows (spaces ignored)."""

    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
            }
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError(_("Enter the six digits your app shows."))
        return code


class TenantTwoFactorForm(forms.Form):
    required = forms.BooleanField(label=_("Require two-factor for administrators"), required=False)
