"""Activity-feed describers for the actions of the creditguard layer itself: memberships, two-
factor settings and API keys. Administration events: only administrators see them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditguard.accounts.roles import Permission, Role

from .activity import Happening, register_action, register_object


def _member(happening: Happening) -> str:
    membership = happening.obj
    if membership is not None:
        return str(membership.user.get_full_name() or membership.user.email)
    return str(happening.after("email") or _("a member"))


def _role(code: str | None) -> str:
    return str(Role(code).label) if code in Role.values else _("another role")


def _membership_add(happening: Happening) -> str:
    return _("%(actor)s added %(member)s as %(role)s") % {
        "actor": happening.actor,
        "member": _member(happening),
        "role": _role(happening.after("role")),
    }


def _membership_update(happening: Happening) -> str:
    if "is_active" in happening.changed and happening.after("is_active") is False:
        template = _("%(actor)s deactivated %(member)s")
    elif "role" in happening.changed:
        template = _("%(actor)s made %(member)s %(role)s")
    else:
        template = _("%(actor)s changed the access of %(member)s")
    return template % {
        "actor": happening.actor,
        "member": _member(happening),
        "role": _role(happening.after("role")),
    }


def _membership_unlock(happening: Happening) -> str:
    return _("%(actor)s let %(member)s sign in again") % {
        "actor": happening.actor,
        "member": _member(happening),
    }


def _two_factor_enable(happening: Happening) -> str:
    return _("%(actor)s turned on two-factor sign-in") % {"actor": happening.actor}


def _two_factor_disable(happening: Happening) -> str:
    return _("%(actor)s turned off two-factor sign-in") % {"actor": happening.actor}


def _tenant_two_factor(happening: Happening) -> str:
    if happening.after("require_admin_two_factor"):
        template = _("%(actor)s required two-factor sign-in for administrators")
    else:
        template = _("%(actor)s no longer requires two-factor sign-in for administrators")
    return template % {"actor": happening.actor}


def _api_key_create(happening: Happening) -> str:
    return _("%(actor)s created the API key %(name)s") % {
        "actor": happening.actor,
        "name": happening.after("name") or happening.event.object_label,
    }


def _api_key_revoke(happening: Happening) -> str:
    return _("%(actor)s revoked the API key %(name)s") % {
        "actor": happening.actor,
        "name": happening.obj.name if happening.obj is not None else happening.event.object_label,
    }


def _memberships() -> Any:
    from creditguard.accounts.models import Membership

    return Membership.objects.select_related("user")


def _api_keys() -> Any:
    from creditguard.api.models import ApiKey

    return ApiKey.objects.all()


def register() -> None:
    register_object(
        "accounts.membership",
        label=gettext_lazy("Membership"),
        objects=_memberships,
        url=lambda object_id, obj: reverse("member-edit", args=[object_id]),
    )
    register_object(
        "api.apikey",
        label=gettext_lazy("API key"),
        objects=_api_keys,
        url=lambda object_id, obj: reverse("api-keys"),
    )
    users = Permission.MANAGE_USERS
    register_action("membership.add", _membership_add, audience=users)
    register_action("membership.update", _membership_update, audience=users)
    register_action("membership.unlock", _membership_unlock, audience=users)
    register_action("user.two_factor_enable", _two_factor_enable, audience=users)
    register_action("user.two_factor_disable", _two_factor_disable, audience=users)
    register_action("tenant.require_admin_two_factor", _tenant_two_factor, audience=users)
    keys = Permission.MANAGE_API_KEYS
    register_action("api_key.create", _api_key_create, audience=keys)
    register_action("api_key.revoke", _api_key_revoke, audience=keys)
