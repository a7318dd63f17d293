from decimal import Decimal

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Country(models.Model):
    """ISO 3166-1: all 249 countries and territories, loaded by migration from pycountry."""

    code = models.CharField(_("code"), max_length=2, primary_key=True)
    alpha3 = models.CharField(max_length=3, unique=True)
    numeric = models.CharField(max_length=3)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("Chinese name"), max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("countries")

    def __str__(self) -> str:
        return self.localized_name

    @property
    def localized_name(self) -> str:
        language = get_language() or "en"
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name


class FxRate(models.Model):
    """Units of `currency` per 1 EUR on `rate_date` (the ECB quotes rates this way)."""

    currency = models.CharField(_("currency"), max_length=3)
    rate_date = models.DateField(_("date"))
    units_per_eur = models.DecimalField(max_digits=20, decimal_places=8)
    source = models.CharField(max_length=40, default="ECB")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date"], name="fxrate_unique_day"),
            models.CheckConstraint(
                condition=models.Q(units_per_eur__gt=Decimal("0")), name="fxrate_positive"
            ),
        ]
        indexes = [models.Index(fields=["currency", "-rate_date"], name="fxrate_latest_idx")]

    def __str__(self) -> str:
        return f"{self.currency} {self.units_per_eur} per EUR on {self.rate_date}"
