"""The one way the app's database role may change history rows: blank the text retention erases.

History tables are append-only for the runtime role (audit/database_roles.py). This function runs
with its owner's rights (SECURITY DEFINER), for closed cases not on legal hold only, and writes what
retention/selectors.py TARGETS say: empty text (a sent-back closure request keeps "(erased)" as its
reason), no kinds of identifier kept. Nothing else of a history row changes. The runtime role is
granted EXECUTE after every migrate; PUBLIC never is.
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION public.retention_erase_history(history text, case_ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    erasable bigint[];
    erased bigint;
BEGIN
    SELECT coalesce(array_agg(c.id), '{}') INTO erasable FROM public.cases_case c
     WHERE c.id = ANY(case_ids) AND c.status = 'closed'
       AND NOT EXISTS (SELECT 1 FROM public.retention_legalhold h WHERE h.case_id = c.id);
    CASE history
    WHEN 'cases_noteevent' THEN
        UPDATE public.cases_noteevent SET text = '', identifiers_kept = '[]'
         WHERE case_id = ANY(erasable) AND text NOT IN ('', '(erased)');
    WHEN 'cases_closurerequestevent' THEN
        UPDATE public.cases_closurerequestevent
           SET comment = '', decision_comment = CASE WHEN decision_comment = '' THEN '' ELSE '(erased)' END
         WHERE case_id = ANY(erasable)
           AND (comment NOT IN ('', '(erased)') OR decision_comment NOT IN ('', '(erased)'));
    WHEN 'cases_caseevent' THEN
        UPDATE public.cases_caseevent SET incident_description = ''
         WHERE pgh_obj_id = ANY(erasable) AND incident_description NOT IN ('', '(erased)');
    WHEN 'cases_offenderidentifierevent' THEN
        UPDATE public.cases_offenderidentifierevent SET value = '', value_hash = ''
         WHERE case_id = ANY(erasable)
           AND (value NOT IN ('', '(erased)') OR value_hash NOT IN ('', '(erased)'));
    WHEN 'referrals_takedownitemevent' THEN
        UPDATE public.referrals_takedownitemevent SET link = ''
         WHERE referral_id IN (SELECT r.id FROM public.referrals_referral r WHERE r.case_id = ANY(erasable))
           AND link NOT IN ('', '(erased)');
    ELSE
        RAISE EXCEPTION 'retention_erase_history: no history table %', history USING ERRCODE = 'invalid_parameter_value';
    END CASE;
    GET DIAGNOSTICS erased = ROW_COUNT;
    RETURN erased;
END
$$;
REVOKE ALL ON FUNCTION public.retention_erase_history(text, bigint[]) FROM PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0001_initial"),
        ("cases", "0007_verbose_names"),
        ("referrals", "0003_verbose_names"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION public.retention_erase_history(text, bigint[])"),
    ]
