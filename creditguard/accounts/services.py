from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from creditguard.audit.services import audit_record, snapshot
from creditguard.tenancy.models import Tenant

from .models import Membership
from .roles import Role

MEMBERSHIP_FIELDS = ["role", "approval_authority", "approval_currency", "is_active"]


@transaction.atomic
def membership_add(
    *,
    tenant: Tenant,
    actor: User | None,
    email: str,
    role: str,
    approval_authority: Decimal = Decimal("0"),
    approval_currency: str | None = None,
    full_name: str = "",
) -> Membership:
    """Add a user (created without a usable password if new) to the tenant."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        first_name, _sep, last_name = full_name.strip().partition(" ")
        user = User.objects.create_user(
            username=email, email=email, first_name=first_name, last_name=last_name
        )
    if Membership.objects.filter(user=user).exists():
        raise ValidationError({"email": _("This user is already a member of this tenant.")})
    membership = Membership.objects.create(
        tenant=tenant,
        user=user,
        role=role,
        approval_authority=approval_authority,
        approval_currency=approval_currency or tenant.base_currency,
    )
    membership.refresh_from_db(fields=MEMBERSHIP_FIELDS)  # audit the stored values (0.00, not 0)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="membership.add",
        obj=membership,
        after={"email": email, **snapshot(membership, MEMBERSHIP_FIELDS)},
    )
    return membership


@transaction.atomic
def membership_update(
    *,
    tenant: Tenant,
    actor: User,
    membership: Membership,
    role: str,
    approval_authority: Decimal,
    approval_currency: str,
    is_active: bool,
) -> Membership:
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    removes_admin = membership.role == Role.ADMIN and (role != Role.ADMIN or not is_active)
    # Lock the active admins so two admins demoting each other cannot both succeed.
    active_admins = list(
        Membership.objects.select_for_update().filter(role=Role.ADMIN, is_active=True)
    )
    if removes_admin and not any(admin.pk != membership.pk for admin in active_admins):
        raise ValidationError({"role": _("A tenant needs at least one active administrator.")})
    membership.role = role
    membership.approval_authority = approval_authority
    membership.approval_currency = approval_currency
    membership.is_active = is_active
    membership.save(update_fields=MEMBERSHIP_FIELDS)
    membership.refresh_from_db(fields=MEMBERSHIP_FIELDS)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="membership.update",
        obj=membership,
        before=before,
        after=snapshot(membership, MEMBERSHIP_FIELDS),
    )
    return membership
