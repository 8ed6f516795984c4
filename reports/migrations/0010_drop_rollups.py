"""Reports read the statistics store (reports/store.py); the monthly rollups and the function that refreshed
them are dropped. Migrating back makes them again, as 0005 and 0006 wrote them."""

import importlib

from django.db import migrations

refresh = importlib.import_module("reports.migrations.0005_rollup_refresh_function")
rollups = importlib.import_module("reports.migrations.0006_rollup_record_keys")
_create, _drop = rollups._create, rollups._drop


class Migration(migrations.Migration):
    dependencies = [("reports", "0009_statistics_store_blocks")]

    operations = [
        migrations.RunPython(_drop(rollups.VIEWS), _create(rollups.VIEWS)),
        migrations.RunSQL("DROP FUNCTION public.reports_rollup_refresh(text)", refresh.FUNCTION),
    ]
