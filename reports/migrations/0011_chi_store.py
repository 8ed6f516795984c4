"""The statistics store gains the figures for Child Helpline International (the ``chi`` family of
reports/rollups.py), which read the mapping of cases to CHI reasons for contact.

A change of that mapping changes the reasons of any case: it marks every block for the next refresh. The parts
written so far lack the new family, so they are dropped, and reports read the live tables until the next
refresh writes everything again (as after 0009).
"""

from django.db import migrations

BLOCK = 20_000  # reports/store.py: BLOCK

FUNCTION = f"""
CREATE FUNCTION reports_store_mark_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_store_dirty (org, block)
        SELECT DISTINCT organisation_id, id / {BLOCK} FROM cases_case ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
"""

TRIGGERS = [
    f"CREATE TRIGGER reports_store_{event.lower()} AFTER {event} ON cases_chimapping"
    " FOR EACH STATEMENT EXECUTE FUNCTION reports_store_mark_all()"
    for event in ("INSERT", "UPDATE", "DELETE")
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0010_drop_rollups"), ("cases", "0012_contact_type_chi")]

    operations = [
        migrations.RunSQL(
            (FUNCTION, *TRIGGERS, "DELETE FROM reports_store_part", "DELETE FROM reports_store_dirty"),
            (
                *(
                    f"DROP TRIGGER reports_store_{event} ON cases_chimapping"
                    for event in ("insert", "update", "delete")
                ),
                "DROP FUNCTION reports_store_mark_all()",
                "DELETE FROM reports_store_part",
            ),
        )
    ]
