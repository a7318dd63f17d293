"""Memberships look-up at sign-in and tenant switch, before the tenant is known: a SECURITY
DEFINER function returns one user's memberships, and the policy on accounts_membership loses its
`app.user_id` branch (the runtime role could set that variable itself and read anyone's)."""

from django.db import migrations

from creditguard.tenancy.db import definer_lookup_function, tenant_policy_only


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_citus_primary_key'),
    ]

    operations = [
        definer_lookup_function(
            "app_memberships_of_user(bigint)",
            returns="SETOF public.accounts_membership",
            body="SELECT m.* FROM public.accounts_membership m WHERE m.user_id = $1",
        ),
        tenant_policy_only(
            "accounts_membership",
            previous_read_predicate=(
                "user_id = NULLIF(current_setting('app.user_id', true), '')::bigint"
            ),
        ),
    ]
