from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditguard.tenancy.models import AppendOnly, TenantOwnedModel


class AuditEvent(AppendOnly, TenantOwnedModel):
    """One recorded change. Append-only: the runtime role has no UPDATE or DELETE on it."""

    # Indexed with the tenant (audit_time_idx): every query runs inside one tenant.
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Checked by the composite same-tenant key (tenant_id, actor_api_key_id) of migration 0003.
    actor_api_key = models.ForeignKey(
        "api.ApiKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(_("actor"), max_length=200)
    action = models.CharField(_("action"), max_length=80)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=300, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]  # read backwards along the primary key (tenant_id, id)
        # The audit trail's filters (migration 0004): each reads one tenant's rows newest first,
        # so each index ends with the id, and a page of 50 stops after 51 index entries.
        indexes = [
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["tenant", "actor_user", "-id"], name="audit_user_idx"),
            models.Index(fields=["tenant", "actor_api_key", "-id"], name="audit_api_key_idx"),
            models.Index(fields=["tenant", "action", "-id"], name="audit_action_idx"),
            models.Index(fields=["tenant", "created_at"], name="audit_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
