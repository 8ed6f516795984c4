"""Snapshots say how their analysts' tables were disclosure-controlled.

The rows stored so far were made by cell suppression. Snapshots cannot be updated (a trigger refuses
it), so the column is added with "suppression" as its default, which PostgreSQL gives the existing
rows without an UPDATE; new snapshots then default to the cell key.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_rollup_record_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="snapshot",
            name="method",
            field=models.CharField(
                choices=[("cell_key", "Cell-key perturbation"), ("suppression", "Cell suppression")],
                default="suppression",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="snapshot",
            name="method",
            field=models.CharField(
                choices=[("cell_key", "Cell-key perturbation"), ("suppression", "Cell suppression")],
                default="cell_key",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="snapshot",
            name="perturbation",
            field=models.PositiveSmallIntegerField(
                blank=True, help_text="D of the cell-key method: the largest change of a count of k or more.", null=True
            ),
        ),
    ]
