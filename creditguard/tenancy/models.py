from django.db import models
from django.utils.translation import gettext_lazy as _

from .context import current_tenant


class Tenant(models.Model):
    """A customer company: the seller that keeps credit files on its buyers (the policyholder)."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    base_currency = models.CharField(_("base currency"), max_length=3, default="EUR")
    is_active = models.BooleanField(_("active"), default=True)
    require_admin_two_factor = models.BooleanField(
        _("require two-factor for administrators"),
        default=False,
        help_text=_("Administrators must sign in with a code from an authenticator app."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tenant")

    def __str__(self) -> str:
        return self.name


class CurrentTenantId(models.Expression):
    """The active tenant's id, read when the query is compiled (not when it is built).

    Querysets are often built at import time (form fields, filter sets); they must pick up the
    tenant of the request or task that finally runs them.
    """

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection):
        return "%s", [current_tenant().pk]


class TenantScopedManager(models.Manager):
    """Returns only the active tenant's rows; running a query with no tenant active raises."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(tenant_id=CurrentTenantId())


class TenantOwnedModel(models.Model):
    """Base for every tenant-owned table.

    Each concrete table must also get row-level security in its migration
    (`creditguard.tenancy.db.enable_row_level_security`); tests/tenancy/test_row_level_security.py
    fails for a table with a tenant_id column that lacks it.
    """

    # No index of its own: the primary key (tenant_id, id) starts with it.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", editable=False, db_index=False
    )

    objects = TenantScopedManager()
    # Still filtered by row-level security; for code that sets the tenant in SQL itself
    # (authentication, tasks that fan out over tenants).
    unscoped = models.Manager()  # noqa: DJ012

    class Meta:
        abstract = True
        base_manager_name = "unscoped"


class AppendOnly:
    """Marker: the runtime database role may only SELECT and INSERT this model's table."""
