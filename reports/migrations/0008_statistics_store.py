"""The statistics store (reports/store.py): its parts, the months to write again, and the triggers that mark them.

Any change to a case or to the rows the statistics count of it (steps, contacts, platforms, terms,
referrals, takedown items) marks the organisation and month of first contact of the case, once per
statement whatever the number of rows, so a bulk import costs one small insert per table. The SQL is
written out here; the month is counted in the deployment's time zone, as the rollups are.
"""

from django.conf import settings
from django.db import migrations

TABLES = """
CREATE TABLE reports_store_part (
    family text NOT NULL,
    org integer NOT NULL,
    month date NOT NULL,
    -- New with every write, and never the same in two databases: it names the copies in the readers' caches.
    version uuid NOT NULL DEFAULT gen_random_uuid(),
    data bytea NOT NULL,
    PRIMARY KEY (family, org, month)
);
CREATE TABLE reports_store_dirty (org integer NOT NULL, month date NOT NULL, PRIMARY KEY (org, month));
"""

# TG_ARGV[0]: how a changed row leads to its case, as the FROM clause after the transition table "changed".
FUNCTION = """
CREATE FUNCTION reports_store_mark() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    path text := TG_ARGV[0];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format(
            'INSERT INTO reports_store_dirty (org, month) SELECT DISTINCT c.organisation_id,'
            ' date_trunc(''month'', c.first_contact_at AT TIME ZONE %L)::date FROM new_rows changed %s'
            ' ON CONFLICT DO NOTHING', %(tz)s, path);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format(
            'INSERT INTO reports_store_dirty (org, month) SELECT DISTINCT c.organisation_id,'
            ' date_trunc(''month'', c.first_contact_at AT TIME ZONE %L)::date FROM old_rows changed %s'
            ' ON CONFLICT DO NOTHING', %(tz)s, path);
    END IF;
    RETURN NULL;
END
$$;
"""

# The changed rows of each table, and how they lead to their case "c".
PATHS = {
    "cases_case": "JOIN LATERAL (SELECT changed.organisation_id, changed.first_contact_at) c ON TRUE",
    "cases_responsestep": "JOIN cases_case c ON c.id = changed.case_id",
    "cases_contact": "JOIN cases_case c ON c.id = changed.case_id",
    "cases_caseplatform": "JOIN cases_case c ON c.id = changed.case_id",
    "cases_case_demands": "JOIN cases_case c ON c.id = changed.case_id",
    "cases_case_approaches": "JOIN cases_case c ON c.id = changed.case_id",
    "cases_case_content_types": "JOIN cases_case c ON c.id = changed.case_id",
    "cases_case_threats": "JOIN cases_case c ON c.id = changed.case_id",
    "referrals_referral": "JOIN cases_case c ON c.id = changed.case_id",
    "referrals_takedownitem": (
        "JOIN referrals_referral r ON r.id = changed.referral_id JOIN cases_case c ON c.id = r.case_id"
    ),
}


def triggers() -> list[str]:
    statements: list[str] = []
    for table, path in PATHS.items():
        literal = "'" + path.replace("'", "''") + "'"
        for event, referencing in [
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ]:
            statements.append(
                f"CREATE TRIGGER reports_store_{event.lower()} AFTER {event} ON {table}"
                f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION reports_store_mark({literal})"
            )
    return statements


def drop_triggers() -> list[str]:
    return [
        f"DROP TRIGGER reports_store_{event} ON {table}" for table in PATHS for event in ("insert", "update", "delete")
    ]


def forward_sql() -> list[str]:
    zone = "'" + settings.TIME_ZONE.replace("'", "''") + "'"
    return [TABLES, FUNCTION.replace("%(tz)s", zone), *triggers()]


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_snapshot_method"), ("cases", "0011_record_key"), ("referrals", "0002_agencies")]

    operations = [
        migrations.RunSQL(
            tuple(forward_sql()),
            (
                *drop_triggers(),
                "DROP FUNCTION reports_store_mark()",
                "DROP TABLE reports_store_dirty, reports_store_part",
            ),
        )
    ]
