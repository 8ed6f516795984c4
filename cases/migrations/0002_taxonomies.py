from django.db import migrations


def load(apps, schema_editor):
    from cases.taxonomies import STEPS, TERMS

    Term = apps.get_model("cases", "Term")
    StepType = apps.get_model("cases", "StepType")
    for vocabulary, entries in TERMS.items():
        for position, (code, label) in enumerate(entries):
            Term.objects.get_or_create(
                vocabulary=vocabulary, code=code, defaults={"label": label, "position": position * 10}
            )
    for position, (code, label, guidance) in enumerate(STEPS):
        StepType.objects.get_or_create(
            code=code, defaults={"label": label, "guidance": guidance, "position": position * 10}
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
