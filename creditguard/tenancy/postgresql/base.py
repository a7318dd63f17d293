"""Django's PostgreSQL backend, aware that tenant tables have primary keys (tenant_id, id).

Django knows only `id` as the primary key (creditguard.tenancy.db.tenant_primary_key), so by
default it would shorten `GROUP BY` to `id` when a query aggregates over whole model rows
(`Buyer.objects.annotate(n=Count("invoices"))`). PostgreSQL accepts the other columns as
functionally dependent only on the complete primary key and would refuse that query; Django
therefore lists every selected column, as it does on databases without that shortcut.
"""

from django.db.backends.postgresql import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    allows_group_by_selected_pks = False


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
