"""API-key look-up before the tenant is known: a SECURITY DEFINER function returns the one key
with the presented prefix, and the policy on api_apikey loses its `app.api_key_prefix` branch
(the runtime role could set that variable itself and read any tenant's keys)."""

from django.db import migrations

from creditguard.tenancy.db import definer_lookup_function, tenant_policy_only


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0003_citus_primary_key'),
    ]

    operations = [
        definer_lookup_function(
            "app_api_key_by_prefix(text)",
            returns="SETOF public.api_apikey ROWS 1",
            body="SELECT k.* FROM public.api_apikey k WHERE k.prefix = $1",
        ),
        tenant_policy_only(
            "api_apikey",
            previous_read_predicate="prefix = NULLIF(current_setting('app.api_key_prefix', true), '')",
        ),
    ]
