"""The statistics store is cut by blocks of 20,000 case ids instead of months of first contact.

New cases take new ids, so an import of cases spread over years touches a few new blocks, not every
month. The triggers mark the organisation and block of a changed case; the parts are written again
in full after this migration (``manage.py refresh_rollups``, or the next refresh, which writes
everything when there is no part). The SQL is written out here.
"""

from django.db import migrations

BLOCK = 20_000  # reports/store.py: BLOCK

FORWARD = f"""
DELETE FROM reports_store_part;
DELETE FROM reports_store_dirty;
ALTER TABLE reports_store_dirty DROP CONSTRAINT reports_store_dirty_pkey, DROP COLUMN month,
    ADD COLUMN block integer NOT NULL, ADD PRIMARY KEY (org, block);
ALTER TABLE reports_store_part DROP CONSTRAINT reports_store_part_pkey, DROP COLUMN month,
    ADD COLUMN block integer NOT NULL, ADD PRIMARY KEY (family, org, block);
CREATE OR REPLACE FUNCTION reports_store_mark() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    path text := TG_ARGV[0];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format(
            'INSERT INTO reports_store_dirty (org, block) SELECT DISTINCT c.organisation_id, c.id / {BLOCK}'
            ' FROM new_rows changed %s ON CONFLICT DO NOTHING', path);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format(
            'INSERT INTO reports_store_dirty (org, block) SELECT DISTINCT c.organisation_id, c.id / {BLOCK}'
            ' FROM old_rows changed %s ON CONFLICT DO NOTHING', path);
    END IF;
    RETURN NULL;
END
$$;
"""

# The case's own triggers pass the changed row itself as "c" (it needs its id now).
CASE_TRIGGERS = [
    f"DROP TRIGGER reports_store_{event.lower()} ON cases_case;"
    f" CREATE TRIGGER reports_store_{event.lower()} AFTER {event} ON cases_case REFERENCING {referencing}"
    " FOR EACH STATEMENT EXECUTE FUNCTION reports_store_mark("
    "'JOIN LATERAL (SELECT changed.id, changed.organisation_id) c ON TRUE')"
    for event, referencing in [
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ]
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0008_statistics_store")]

    operations = [migrations.RunSQL((FORWARD, *CASE_TRIGGERS), migrations.RunSQL.noop)]
