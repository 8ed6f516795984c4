from django.db import migrations

# Lowest age of each band after the first.
SCHEMES = [
    ("guidance", "Guidance (12 and under, 13 to 17, 18 and over)", [13, 18]),
    ("postal_police", "Italian postal police (0 to 9, 10 to 13, 14 to 17, 18 and over)", [10, 14, 18]),
    ("iwf", "IWF (10 and under, 11 to 13, 14 to 15, 16 to 17, 18 and over)", [11, 14, 16, 18]),
    ("esafety", "eSafety (under 18, 18 to 24, 25 to 34, 35 and over)", [18, 25, 35]),
]


def load(apps, schema_editor):
    AgeScheme = apps.get_model("reports", "AgeScheme")
    for position, (code, label, limits) in enumerate(SCHEMES, start=1):
        AgeScheme.objects.update_or_create(code=code, defaults={"label": label, "limits": limits, "position": position})


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
