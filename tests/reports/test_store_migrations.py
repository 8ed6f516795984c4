"""The statistics store's SQL lives in migrations, written out; the migrated database must mark what the code reads."""

import re

import pytest
from django.db import connection

from reports import store
from reports.rollups import FAMILIES

pytestmark = pytest.mark.django_db


def rows(sql: str) -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_every_table_the_statistics_count_marks_its_cases_for_the_next_refresh() -> None:
    read = {"cases_case"} | {
        table for family in FAMILIES for table in re.findall(r"(?:JOIN|FROM) ([a-z_]+)", family.joins)
    }
    marked = rows(
        "SELECT c.relname, array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'reports_store_%%' GROUP BY c.relname"
    )
    assert {table: events for table, events in marked if table in read} == {
        table: ["reports_store_delete", "reports_store_insert", "reports_store_update"] for table in read
    }, "a family of reports/rollups.py reads a table without the store's triggers: write a migration that adds them"


def test_the_database_marks_the_blocks_the_code_writes() -> None:
    [(definition,)] = rows("SELECT pg_get_functiondef('reports_store_mark()'::regprocedure)")
    assert set(re.findall(r"c\.id / (\d+)", definition)) == {str(store.BLOCK)}


def test_no_materialised_view_is_left_of_the_old_monthly_rollups() -> None:
    assert rows("SELECT matviewname FROM pg_matviews WHERE schemaname = 'public'") == []
    assert rows("SELECT proname FROM pg_proc WHERE proname = 'reports_rollup_refresh'") == []
