"""The buyer table's primary key becomes (tenant_id, id) once no single-column foreign key from
monitoring or policies points at buyers_buyer.id any more (docs/scale-out.md)."""

from django.db import migrations

from creditguard.tenancy.db import tenant_primary_key


class Migration(migrations.Migration):
    dependencies = [
        ("buyers", "0003_citus_primary_key"),
        ("monitoring", "0003_citus_primary_key"),
        ("policies", "0002_citus_primary_key"),
    ]

    operations = [
        tenant_primary_key("buyers_buyer"),
    ]
