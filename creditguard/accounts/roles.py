"""Who may do what: the one place that maps roles to permissions."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    CREDIT_MANAGER = "credit_manager", _("Credit manager")
    ANALYST = "analyst", _("Analyst")
    VIEWER = "viewer", _("Viewer")


class Permission(StrEnum):
    VIEW = "view"  # read the portfolio, buyer files, reports
    EDIT_RECEIVABLES = "edit_receivables"  # buyers, financials, invoices, imports
    REQUEST_LIMIT = "request_limit"
    DECIDE_LIMIT = "decide_limit"  # further bounded by the membership's approval authority
    MANAGE_INSURANCE = "manage_insurance"  # policies, cover, notifications, claims
    MANAGE_MONITORING = "manage_monitoring"  # early-warning rules, webhooks, rescoring
    MANAGE_CREDIT_POLICY = "manage_credit_policy"
    MANAGE_USERS = "manage_users"
    MANAGE_API_KEYS = "manage_api_keys"
    VIEW_AUDIT = "view_audit"
    REQUEST_REPORT = "request_report"  # have PDF reports generated (viewers may download them)


_ANALYST = {
    Permission.VIEW,
    Permission.EDIT_RECEIVABLES,
    Permission.REQUEST_LIMIT,
    Permission.MANAGE_INSURANCE,
    Permission.REQUEST_REPORT,
}
_CREDIT_MANAGER = _ANALYST | {
    Permission.DECIDE_LIMIT,
    Permission.MANAGE_MONITORING,
    Permission.VIEW_AUDIT,
}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.ANALYST: frozenset(_ANALYST),
    Role.CREDIT_MANAGER: frozenset(_CREDIT_MANAGER),
    Role.ADMIN: frozenset(Permission),
}


def role_allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
