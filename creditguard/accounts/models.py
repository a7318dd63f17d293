from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditguard.tenancy.models import TenantOwnedModel

from .roles import Permission, Role, role_allows


class Membership(TenantOwnedModel):
    """A user's place in one tenant: role and approval authority."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    approval_authority = models.DecimalField(
        _("approval authority"),
        max_digits=18,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Largest credit limit this user may approve."),
    )
    approval_currency = models.CharField(_("approval currency"), max_length=3, default="EUR")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
        ]
        ordering = ["tenant_id", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"

    def allows(self, permission: Permission) -> bool:
        return self.is_active and role_allows(self.role, permission)
