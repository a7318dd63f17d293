import gettext
from decimal import Decimal

from django.db import migrations, models


def load_countries(apps, schema_editor):
    import pycountry

    chinese = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    Country = apps.get_model("reference", "Country")
    Country.objects.bulk_create(
        [
            Country(
                code=country.alpha_2,
                alpha3=country.alpha_3,
                numeric=country.numeric,
                name=getattr(country, "common_name", country.name),
                name_zh=chinese.gettext(country.name),
            )
            for country in pycountry.countries
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Country",
            fields=[
                ("code", models.CharField(max_length=2, primary_key=True, serialize=False, verbose_name="code")),
                ("alpha3", models.CharField(max_length=3, unique=True)),
                ("numeric", models.CharField(max_length=3)),
                ("name", models.CharField(max_length=120, verbose_name="name")),
                ("name_zh", models.CharField(blank=True, max_length=120, verbose_name="Chinese name")),
            ],
            options={"ordering": ["name"], "verbose_name_plural": "countries"},
        ),
        migrations.CreateModel(
            name="FxRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                ("rate_date", models.DateField(verbose_name="date")),
                ("units_per_eur", models.DecimalField(decimal_places=8, max_digits=20)),
                ("source", models.CharField(default="ECB", max_length=40)),
            ],
            options={
                "indexes": [models.Index(fields=["currency", "-rate_date"], name="fxrate_latest_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("currency", "rate_date"), name="fxrate_unique_day"),
                    models.CheckConstraint(condition=models.Q(units_per_eur__gt=Decimal("0")), name="fxrate_positive"),
                ],
            },
        ),
        migrations.RunPython(load_countries, migrations.RunPython.noop),
    ]
