from django.db import migrations

from reports.rollups import create_sql, drop_sql


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_age_schemes"), ("cases", "0004_referral_activity"), ("referrals", "0002_agencies")]
    operations = [migrations.RunSQL(create_sql(), drop_sql())]
