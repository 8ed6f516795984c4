from django.db import migrations


def load(apps, schema_editor):
    from referrals.agencies import AGENCIES

    Agency = apps.get_model("referrals", "Agency")
    for code, name, kind, country, days, notes in AGENCIES:
        Agency.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "country": country,
                "expected_response_days": days,
                "contact_notes": notes,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
