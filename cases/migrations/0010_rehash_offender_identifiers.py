"""Offender identifiers hashed again in the one normal form (cases.identifiers), so that old and new cases link."""

from typing import Any

from django.db import migrations

BATCH = 2_000


def rehash(apps: Any, schema_editor: Any) -> None:
    from cases.identifiers import case_region, identifier_hash

    OffenderIdentifier = apps.get_model("cases", "OffenderIdentifier")
    rows = OffenderIdentifier.objects.using(schema_editor.connection.alias).order_by("pk")
    rows = rows.select_related("case__organisation").only(
        "kind", "value", "value_hash", "case__victim_country", "case__organisation__country"
    )
    changed = []
    for identifier in rows.iterator(chunk_size=BATCH):
        region = case_region(identifier.case.victim_country, identifier.case.organisation.country)
        value_hash = identifier_hash(identifier.kind, identifier.value, region)
        if value_hash != identifier.value_hash:
            identifier.value_hash = value_hash
            changed.append(identifier)
        if len(changed) >= BATCH:
            OffenderIdentifier.objects.bulk_update(changed, ["value_hash"])
            changed = []
    OffenderIdentifier.objects.bulk_update(changed, ["value_hash"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_closure_needs_approval")]

    # The old hashes cannot be recomputed from the new ones, and need not be: going back leaves the new ones.
    operations = [migrations.RunPython(rehash, migrations.RunPython.noop, elidable=True)]
