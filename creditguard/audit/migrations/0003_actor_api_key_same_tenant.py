"""The key that acted must belong to the event's tenant: the single-column foreign key to
api_apikey becomes the composite same-tenant key (tenant_id, actor_api_key_id) → (tenant_id, id).
api_apikey stays a reference table for Citus; a distributed table may point at one."""

import django.db.models.deletion
from django.db import migrations, models

from creditguard.tenancy.db import same_tenant_foreign_key


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0004_api_key_by_prefix_function'),
        ('audit', '0002_citus_primary_key'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='actor_api_key',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='api.apikey'),
        ),
        *same_tenant_foreign_key("audit_auditevent", "actor_api_key_id", "api_apikey"),
    ]
