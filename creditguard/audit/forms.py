"""The audit trail's filters: who, what object, which action, when, and free text."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from creditguard.accounts.models import Membership
from creditguard.api.models import ApiKey

from .activity import object_types, registered_actions
from .selectors import AuditFilters


class AuditFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, action or value")}),
    )
    user = forms.TypedChoiceField(label=_("User"), required=False, coerce=int, empty_value=None)
    api_key = forms.TypedChoiceField(
        label=_("API key"), required=False, coerce=int, empty_value=None
    )
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object = forms.CharField(
        label=_("Object id or name"),
        required=False,
        max_length=100,
        help_text=_("The number shown in the object's address, or part of its name."),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everyone = [("", _("Anyone"))]
        self._choices(
            "user",
            everyone
            + [
                (membership.user_id, membership.user.get_full_name() or membership.user.email)
                for membership in Membership.objects.select_related("user").order_by("user__email")
            ],
        )
        self._choices(
            "api_key",
            everyone
            + [(key.pk, f"{key.name} ({key.prefix})") for key in ApiKey.objects.order_by("name")],
        )
        self._choices("object_type", [("", _("Any object")), *object_types()])
        self._choices(
            "action",
            [("", _("Any action"))] + [(code, code) for code in sorted(registered_actions())],
        )

    def _choices(self, name: str, choices: list[tuple[Any, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("“To” must be on or after “From”."))
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            q=data.get("q") or "",
            user_id=data.get("user"),
            api_key_id=data.get("api_key"),
            object_type=data.get("object_type") or "",
            object=data.get("object") or "",
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
