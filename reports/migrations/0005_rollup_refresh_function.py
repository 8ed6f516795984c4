"""Refreshing a rollup needs its owner; the app's database role owns nothing (audit/database_roles.py).

This function refreshes one materialized view of schema public with its owner's rights and does
nothing else. The runtime role is granted EXECUTE after every migrate; PUBLIC never is.
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION public.reports_rollup_refresh(view_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_matviews WHERE schemaname = 'public' AND matviewname = view_name) THEN
        RAISE EXCEPTION 'reports_rollup_refresh: no rollup %', view_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY public.%I', view_name);
END
$$;
REVOKE ALL ON FUNCTION public.reports_rollup_refresh(text) FROM PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_export_attempts")]

    operations = [migrations.RunSQL(FUNCTION, "DROP FUNCTION public.reports_rollup_refresh(text)")]
