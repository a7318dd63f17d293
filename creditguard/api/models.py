import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditguard.tenancy.models import TenantOwnedModel

KEY_PREFIX = "cg_"


def hash_secret(raw_key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is safe and keeps auth cheap.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_raw_key() -> tuple[str, str]:
    """A new key `cg_<prefix>_<secret>` and its public prefix."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


class ApiKey(TenantOwnedModel):
    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.name} ({KEY_PREFIX}{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE


class IdempotencyRecord(TenantOwnedModel):
    """The stored outcome of a request sent with an `Idempotency-Key` header.

    A retry with the same key and the same request gets this response again instead of being
    processed twice (see `creditguard.api.idempotency`). Records older than
    `idempotency.RETENTION` are ignored and deleted.
    """

    key = models.CharField(_("idempotency key"), max_length=255)
    request_fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_unique_key"),
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="idempotency_created_idx"),
        ]
        verbose_name = _("idempotency record")

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status}"
