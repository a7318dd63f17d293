"""Load the shipped country and sector risk ratings, so every environment has them.

Later quarterly files are imported with `manage.py import_country_risk` / `import_sector_risk`.
Reads the CSV files with the historical models (not the import service, which may change).
"""

import csv
from datetime import date
from pathlib import Path

from django.db import migrations

RISK_DATA = Path(__file__).resolve().parent.parent / "risk_data"


def _rows(name):
    with (RISK_DATA / name).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def load(apps, schema_editor):
    CountryRisk = apps.get_model("monitoring", "CountryRisk")
    SectorRisk = apps.get_model("monitoring", "SectorRisk")
    CountryRisk.objects.bulk_create(
        [
            CountryRisk(
                country_id=row["country"],
                rating=int(row["rating"]),
                effective_date=date.fromisoformat(row["effective_date"]),
                source=row["source"],
                data_version=row["data_version"],
            )
            for row in _rows("country_risk.csv")
        ],
        ignore_conflicts=True,
    )
    SectorRisk.objects.bulk_create(
        [
            SectorRisk(
                nace_section=row["nace_section"],
                rating=int(row["rating"]),
                effective_date=date.fromisoformat(row["effective_date"]),
                source=row["source"],
            )
            for row in _rows("sector_risk.csv")
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial"), ("reference", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
