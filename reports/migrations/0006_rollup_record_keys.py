"""Every count of the rollups comes with the sum of its cases' record keys (``k``, and ``k_<fact>`` for the
outcome facts), from which the cell-key method perturbs published figures. The SQL is written out here."""

import importlib

from django.db import migrations

# The views as first made, and the same helpers: written once, in 0003.
first = importlib.import_module("reports.migrations.0003_rollups")
OLD_VIEWS = first.VIEWS
_create, _drop = first._create, first._drop


VIEWS = [
    (
        'reports_rollup_victims',
        "CREATE MATERIALIZED VIEW reports_rollup_victims AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, coalesce(c.victim_age, -1) AS age, c.victim_age_unknown AS age_unknown, c.victim_gender AS gender, count(*) AS n, sum(c.record_key) AS k FROM cases_case c  WHERE TRUE AND TRUE GROUP BY 1, 2, 3, 4, 5",
        'CREATE UNIQUE INDEX reports_rollup_victims_key ON reports_rollup_victims (org, month, age, age_unknown, gender)',
    ),
    (
        'reports_rollup_types',
        "CREATE MATERIALIZED VIEW reports_rollup_types AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, coalesce(c.sextortion_type_id, 0) AS type, count(*) AS n, sum(c.record_key) AS k FROM cases_case c  WHERE TRUE AND TRUE GROUP BY 1, 2, 3",
        'CREATE UNIQUE INDEX reports_rollup_types_key ON reports_rollup_types (org, month, type)',
    ),
    (
        'reports_rollup_regions',
        "CREATE MATERIALIZED VIEW reports_rollup_regions AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, c.victim_region AS region, CASE WHEN c.victim_age IS NOT NULL THEN (CASE WHEN c.victim_age < 18 THEN 'minor' ELSE 'adult' END) ELSE c.victim_age_unknown END AS minor, count(*) AS n, sum(c.record_key) AS k FROM cases_case c  WHERE TRUE AND TRUE GROUP BY 1, 2, 3, 4",
        'CREATE UNIQUE INDEX reports_rollup_regions_key ON reports_rollup_regions (org, month, region, minor)',
    ),
    (
        'reports_rollup_facts',
        "CREATE MATERIALIZED VIEW reports_rollup_facts AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, count(*) AS n, sum(c.record_key) AS k, count(*) FILTER (WHERE c.victim_paid = 'yes') AS paid, coalesce(sum(c.record_key) FILTER (WHERE c.victim_paid = 'yes'), 0) AS k_paid, count(*) FILTER (WHERE c.victim_complied = 'yes') AS complied, coalesce(sum(c.record_key) FILTER (WHERE c.victim_complied = 'yes'), 0) AS k_complied, count(*) FILTER (WHERE c.content_distributed = 'yes') AS distributed, coalesce(sum(c.record_key) FILTER (WHERE c.content_distributed = 'yes'), 0) AS k_distributed, count(*) FILTER (WHERE c.extorted_again = 'yes') AS extorted_again, coalesce(sum(c.record_key) FILTER (WHERE c.extorted_again = 'yes'), 0) AS k_extorted_again, count(*) FILTER (WHERE c.self_harm) AS self_harm, coalesce(sum(c.record_key) FILTER (WHERE c.self_harm), 0) AS k_self_harm, count(*) FILTER (WHERE c.immediate_danger) AS immediate_danger, coalesce(sum(c.record_key) FILTER (WHERE c.immediate_danger), 0) AS k_immediate_danger, count(*) FILTER (WHERE c.victim_age < 13) AS under_13, coalesce(sum(c.record_key) FILTER (WHERE c.victim_age < 13), 0) AS k_under_13, count(*) FILTER (WHERE c.risk_level IN ('high', 'critical')) AS high_risk, coalesce(sum(c.record_key) FILTER (WHERE c.risk_level IN ('high', 'critical')), 0) AS k_high_risk FROM cases_case c  WHERE TRUE AND TRUE GROUP BY 1, 2",
        'CREATE UNIQUE INDEX reports_rollup_facts_key ON reports_rollup_facts (org, month)',
    ),
    (
        'reports_rollup_terms',
        "CREATE MATERIALIZED VIEW reports_rollup_terms AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, m.term_id AS term, count(*) AS n, sum(c.record_key) AS k FROM cases_case c JOIN (SELECT case_id, term_id FROM cases_case_demands UNION ALL SELECT case_id, term_id FROM cases_case_approaches UNION ALL SELECT case_id, term_id FROM cases_case_content_types UNION ALL SELECT case_id, term_id FROM cases_case_threats) m ON m.case_id = c.id WHERE TRUE AND TRUE GROUP BY 1, 2, 3",
        'CREATE UNIQUE INDEX reports_rollup_terms_key ON reports_rollup_terms (org, month, term)',
    ),
    (
        'reports_rollup_platforms',
        "CREATE MATERIALIZED VIEW reports_rollup_platforms AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, p.platform_id AS platform, p.role AS role, count(*) AS n, sum(c.record_key) AS k FROM cases_case c JOIN cases_caseplatform p ON p.case_id = c.id WHERE TRUE AND TRUE GROUP BY 1, 2, 3, 4",
        'CREATE UNIQUE INDEX reports_rollup_platforms_key ON reports_rollup_platforms (org, month, platform, role)',
    ),
    (
        'reports_rollup_steps',
        "CREATE MATERIALIZED VIEW reports_rollup_steps AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, s.step_type_id AS step, CASE WHEN s.status <> 'done' THEN -1 WHEN s.done_at IS NULL THEN -2 ELSE greatest(0, floor(extract(epoch FROM s.done_at - c.first_contact_at) / 8640)::int) END AS tenths, count(*) AS n, sum(c.record_key) AS k FROM cases_case c JOIN cases_responsestep s ON s.case_id = c.id WHERE TRUE AND TRUE GROUP BY 1, 2, 3, 4",
        'CREATE UNIQUE INDEX reports_rollup_steps_key ON reports_rollup_steps (org, month, step, tenths)',
    ),
    (
        'reports_rollup_contacts',
        "CREATE MATERIALIZED VIEW reports_rollup_contacts AS SELECT c.organisation_id AS org, date_trunc('month', k.at AT TIME ZONE %(tz)s)::date AS month, count(*) AS contacts, sum(c.record_key) AS k, count(k.duration_minutes) AS timed, sum(k.duration_minutes) AS minutes FROM cases_case c JOIN cases_contact k ON k.case_id = c.id WHERE TRUE AND TRUE GROUP BY 1, 2",
        'CREATE UNIQUE INDEX reports_rollup_contacts_key ON reports_rollup_contacts (org, month)',
    ),
    (
        'reports_rollup_referrals',
        "CREATE MATERIALIZED VIEW reports_rollup_referrals AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, r.agency_id AS agency, CASE WHEN r.acknowledged_at IS NULL THEN -1 ELSE greatest(0, floor(extract(epoch FROM r.acknowledged_at - r.sent_at) / 8640)::int) END AS tenths, count(*) AS n, sum(c.record_key) AS k FROM cases_case c JOIN referrals_referral r ON r.case_id = c.id WHERE r.sent_at IS NOT NULL AND TRUE GROUP BY 1, 2, 3, 4",
        'CREATE UNIQUE INDEX reports_rollup_referrals_key ON reports_rollup_referrals (org, month, agency, tenths)',
    ),
    (
        'reports_rollup_outcomes',
        "CREATE MATERIALIZED VIEW reports_rollup_outcomes AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, r.agency_id AS agency, r.outcome AS outcome, CASE WHEN r.closed_at IS NULL THEN -2 ELSE greatest(0, floor(extract(epoch FROM r.closed_at - r.sent_at) / 8640)::int) END AS tenths, count(*) AS n, sum(c.record_key) AS k FROM cases_case c JOIN referrals_referral r ON r.case_id = c.id WHERE r.status = 'completed' AND r.sent_at IS NOT NULL AND TRUE GROUP BY 1, 2, 3, 4, 5",
        'CREATE UNIQUE INDEX reports_rollup_outcomes_key ON reports_rollup_outcomes (org, month, agency, outcome, tenths)',
    ),
    (
        'reports_rollup_items',
        "CREATE MATERIALIZED VIEW reports_rollup_items AS SELECT c.organisation_id AS org, date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)::date AS month, i.platform_id AS platform, CASE WHEN i.status <> 'removed' THEN -1 WHEN i.removed_at IS NULL THEN -2 ELSE greatest(0, floor(extract(epoch FROM i.removed_at - r.sent_at) / 8640)::int) END AS tenths, count(*) AS n, sum(c.record_key) AS k FROM cases_case c JOIN referrals_referral r ON r.case_id = c.id JOIN referrals_takedownitem i ON i.referral_id = r.id WHERE r.sent_at IS NOT NULL AND TRUE GROUP BY 1, 2, 3, 4",
        'CREATE UNIQUE INDEX reports_rollup_items_key ON reports_rollup_items (org, month, platform, tenths)',
    ),
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_rollup_refresh_function"), ("cases", "0011_record_key")]
    operations = [
        migrations.RunPython(_drop(OLD_VIEWS), _create(OLD_VIEWS)),
        migrations.RunPython(_create(VIEWS), _drop(VIEWS)),
    ]
