"""The statistics store: the facts of every case in columnar files, read by DuckDB, fresh within a minute.

Each family of ``reports/rollups.py`` is kept per case (one row per case and value of the family's
dimensions, with its count and record-key sum), plus a ``cases`` family with every filter dimension of
a case. One Parquet file holds one family for one organisation and month of first contact: a *part*.
PostgreSQL stays the record and carries the parts too (``reports_store_part``), so every web and
worker process, on one machine or many, reads the same figures without a shared disk: each process
keeps its own DuckDB database (a file in ``STATISTICS_CACHE_DIR``, written by that process alone, so
DuckDB's one-writer rule always holds), takes in the parts written since it last looked, and runs the
engine's SQL on it in-process.

Triggers (reports/migrations/0008_statistics_store.py) mark the organisation and month of any case
whose facts change in ``reports_store_dirty``; ``store_refresh`` (Celery beat, every
``STATISTICS_REFRESH_SECONDS``) writes the parts of those months again. One writer at a time, by an
advisory lock; readers are never blocked, since a part is replaced whole.
"""

import os
import tempfile
import threading
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from reports.models import RollupRefresh
from reports.rollups import BY_NAME, FAMILIES, Family, month

STORE_LOCK = 7_301_002  # advisory lock key: one writer at a time
MONTH = month("c.first_contact_at")

# The filter dimensions of a case. Every row of every family carries them, so that a filter is a condition on
# the row itself: DuckDB then reads each family once, with no join.
CASES = Family(
    "cases",
    "",
    "c.first_contact_at",
    (
        ("x_age", "coalesce(c.victim_age, -1)"),
        ("x_age_unknown", "c.victim_age_unknown"),
        ("x_gender", "c.victim_gender"),
        ("x_risk", "c.risk_level"),
        ("x_channel", "coalesce(c.channel_id, 0)"),
        ("x_reporter", "coalesce(c.reporter_type_id, 0)"),
        ("x_type", "coalesce(c.sextortion_type_id, 0)"),
        ("x_region", "c.victim_region"),
        (
            "x_platforms",
            "array_to_string(ARRAY(SELECT DISTINCT p.platform_id FROM cases_caseplatform p"
            " WHERE p.case_id = c.id ORDER BY 1), ',')",
        ),
        (
            "x_agencies",
            "array_to_string(ARRAY(SELECT DISTINCT r.agency_id FROM referrals_referral r"
            " WHERE r.case_id = c.id AND r.sent_at IS NOT NULL ORDER BY 1), ',')",
        ),
    ),
    (("n", "count(*)"),),
)
DIMENSIONS = [name for name, _ in CASES.dims]
LISTS = ("x_platforms", "x_agencies")
STORED = [CASES, *FAMILIES]

# PostgreSQL type oids of the exported columns, as DuckDB types.
# Every sum is of one case's rows: INTEGER holds it.
TYPES = {16: "BOOLEAN", 20: "INTEGER", 21: "INTEGER", 23: "INTEGER", 25: "VARCHAR", 1043: "VARCHAR", 1082: "DATE"}


def per_case_sql(family: Family) -> str:
    """The family's rows for the cases of some organisations and months of first contact, one group per case.

    ``part``: the month of first contact, which names the part a row goes to (a contact's ``month`` is its own).
    """
    dims = "".join(f", {expression} AS {name}" for name, expression in family.dims)
    measures = ", ".join(f"{expression} AS {name}" for name, expression in family.measures)
    group = ", ".join(str(position) for position in range(1, len(family.dims) + 5))
    return (
        f"SELECT {MONTH} AS part, c.id AS case_id, c.organisation_id AS org, {month(family.time)} AS month{dims},"
        f" {measures} FROM cases_case c {family.joins} WHERE {family.where}"
        + " AND c.first_contact_at >= %(from)s AND c.first_contact_at < %(to)s"
        f" AND (c.organisation_id, {MONTH}) IN (SELECT * FROM unnest(%(orgs)s::int[], %(months)s::date[]))"
        f" GROUP BY {group}"
    )


# --- writing ---------------------------------------------------------------------------------------------------------


def store_refresh(*, full: bool = False) -> bool:
    """Write again the parts of every month marked since the last run (of every month, when ``full``).

    Returns False, doing nothing, when another refresh is running.
    """
    started = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [STORE_LOCK])
        if not cursor.fetchone()[0]:
            return False
    try:
        with transaction.atomic():
            # Claimed and written in one transaction: a failed run leaves the marks for the next one.
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM reports_store_dirty RETURNING org, month")
                claimed = cursor.fetchall()
                if full:
                    cursor.execute("SELECT DISTINCT org, month FROM reports_store_part")
                    claimed += cursor.fetchall()
                months = dict.fromkeys(claimed, 0)  # how many cases each month has, to cut the work in batches
                chosen = f"(c.organisation_id, {MONTH}) IN (SELECT * FROM unnest(%(orgs)s::int[], %(months)s::date[]))"
                cursor.execute(
                    f"SELECT c.organisation_id, {MONTH}, count(*) FROM cases_case c"
                    f" WHERE {'TRUE' if full else chosen} GROUP BY 1, 2",
                    {**_tz(), "orgs": [org for org, _ in months], "months": [first for _, first in months]},
                )
                months |= {(org, first): count for org, first, count in cursor.fetchall()}
            for batch in _batches(months):
                _write_months(batch)
            RollupRefresh.objects.create(started_at=started)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [STORE_LOCK])
    return True


def _batches(months: dict[tuple[int, date], int]) -> list[set[tuple[int, date]]]:
    """The months in batches of about ``STATISTICS_BATCH_CASES`` cases, so that memory stays bounded."""
    batches: list[set[tuple[int, date]]] = [set()]
    size = 0
    for key, count in sorted(months.items()):
        if batches[-1] and size + count > settings.STATISTICS_BATCH_CASES:
            batches.append(set())
            size = 0
        batches[-1].add(key)
        size += count
    return [batch for batch in batches if batch]


def _tz() -> dict[str, str]:
    return {"tz": settings.TIME_ZONE}


def _write_months(months: set[tuple[int, date]]) -> None:
    """Export each family once for all the months, then cut it into parts; a month with no case has none."""
    from reports.engine import add_months

    zone = timezone.get_default_timezone()
    ordered = sorted(months)
    orgs, firsts = [org for org, _ in ordered], [first for _, first in ordered]
    args = {
        **_tz(),
        "orgs": orgs,
        "months": firsts,
        "from": datetime.combine(min(first for _, first in ordered), time(), tzinfo=zone),
        "to": datetime.combine(add_months(max(first for _, first in ordered), 1), time(), tzinfo=zone),
    }
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with tempfile.TemporaryDirectory() as folder, duckdb.connect() as duck:
        # A worker's memory is bounded (WORKER_MAX_MEMORY_MB): what does not fit goes to disk.
        duck.execute(f"SET memory_limit = '{settings.STATISTICS_WRITER_MEMORY_MB}MB'")
        duck.execute(f"SET temp_directory = '{folder}'")
        duck.execute("SET preserve_insertion_order = false")
        for family in STORED:
            sql = psycopg.ClientCursor(raw).mogrify(per_case_sql(family), args)
            csv = Path(folder) / f"{family.name}.csv"
            with raw.cursor() as cursor:
                cursor.execute(f"{sql} LIMIT 0")
                assert cursor.description is not None
                columns = {column.name: TYPES[column.type_code] for column in cursor.description}
                columns["case_id"] = "BIGINT"
                with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy, csv.open("wb") as out:
                    for block in copy:
                        out.write(block)
            select = ", ".join(
                f"CASE WHEN {name} = '' THEN []::INTEGER[] ELSE string_split({name}, ',')::INTEGER[] END AS {name}"
                if name in LISTS
                else name
                for name in columns
            )
            rows = (
                f"SELECT {select} FROM read_csv($csv, header = false, delim = ',', quote = '\"', escape = '\"',"
                " columns = $columns, allow_quoted_nulls = false, auto_detect = false)"
            )
            if family is not CASES:
                dimensions = ", ".join(f"c.{name}" for name in DIMENSIONS)
                rows = f"SELECT f.*, {dimensions} FROM ({rows}) f JOIN cases c ON c.case_id = f.case_id"
            duck.execute(
                f"CREATE TABLE {family.name} AS {rows}",
                {"csv": str(csv), "columns": columns},
            )
            csv.unlink()
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM reports_store_part WHERE (org, month) IN (SELECT * FROM unnest(%s::int[], %s::date[]))",
                [orgs, firsts],
            )
        present = set(duck.execute("SELECT DISTINCT org, part FROM cases").fetchall())
        for org, first in ordered:
            if (org, first) not in present:
                continue
            for family in STORED:
                parquet = Path(folder) / f"{family.name}-{org}-{first}.parquet"
                duck.execute(
                    f"COPY (SELECT * FROM {family.name} WHERE org = $org AND part = $part ORDER BY month)"
                    f" TO '{parquet}' (FORMAT parquet)",
                    {"org": org, "part": first},
                )
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO reports_store_part (family, org, month, data) VALUES (%s, %s, %s, %s)",
                        [family.name, org, first, parquet.read_bytes()],
                    )
                parquet.unlink()


# --- reading ---------------------------------------------------------------------------------------------------------


def store_ready() -> bool:
    """The store has been written at least once (otherwise reports read the live tables)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM reports_store_part WHERE family = 'cases')")
        return bool(cursor.fetchone()[0])


def store_connection(organisations: Iterable[int]) -> duckdb.DuckDBPyConnection | None:
    """A DuckDB cursor on this process's copy of the organisations' parts, brought up to date first.

    Each process keeps its own DuckDB database file (so no two processes ever write one), with one table
    per family, and takes in the parts written since it last looked. None when the organisations have no
    part: no case, nothing to read.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT family, org, month, version::text FROM reports_store_part WHERE org = ANY(%s)",
            [list(organisations)],
        )
        wanted = set(cursor.fetchall())
        if not wanted:
            return None
        with _lock:
            duck = _process_database()
            held = set(
                duck.execute(
                    "SELECT family, org, month, version FROM parts WHERE list_contains($orgs, org)",
                    {"orgs": list(organisations)},
                ).fetchall()
            )
            if wanted != held:
                _take_in(duck, cursor, new=wanted - held, old=held - wanted)
    return duck.cursor()


_lock = threading.Lock()
_databases: dict[str, duckdb.DuckDBPyConnection] = {}


def _process_database() -> duckdb.DuckDBPyConnection:
    name = str(connection.settings_dict["NAME"])
    if name not in _databases:
        folder = Path(settings.STATISTICS_CACHE_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        _forget_dead_processes(folder)
        path = folder / f"{name}-{os.getpid()}.duckdb"
        for leftover in (path, path.with_suffix(".duckdb.wal")):
            leftover.unlink(missing_ok=True)
        duck = duckdb.connect(str(path))
        duck.execute(f"SET threads = {settings.STATISTICS_THREADS}")
        duck.execute(f"SET memory_limit = '{settings.STATISTICS_READER_MEMORY_MB}MB'")
        duck.execute("CREATE MACRO width_bucket(x, bounds) AS len(list_filter(bounds, b -> b <= x))")
        duck.execute("CREATE TABLE parts (family VARCHAR, org INTEGER, month DATE, version VARCHAR)")
        _databases[name] = duck
    return _databases[name]


def _take_in(duck: duckdb.DuckDBPyConnection, cursor: Any, *, new: set[Any], old: set[Any]) -> None:
    """Replace the rows of parts written again, add new parts, drop parts gone; readers see all or nothing."""
    data: list[tuple[str, int, date, str, bytes]] = []
    if new:
        cursor.execute(
            "SELECT family, org, month, version::text, data FROM reports_store_part"
            " WHERE (family, org, month, version)"
            " IN (SELECT * FROM unnest(%s::text[], %s::int[], %s::date[], %s::uuid[]))"
            " ORDER BY month",
            [list(column) for column in zip(*new, strict=True)],
        )
        data = cursor.fetchall()
    tables = {row[0] for row in duck.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    folder = Path(settings.STATISTICS_CACHE_DIR)
    duck.execute("BEGIN")
    try:
        for family, org, first, version in old:
            if f"f_{family}" in tables:
                duck.execute(f"DELETE FROM f_{family} WHERE org = $org AND part = $part", {"org": org, "part": first})
            duck.execute(
                "DELETE FROM parts WHERE family = $f AND org = $o AND month = $m AND version = $v",
                {"f": family, "o": org, "m": first, "v": version},
            )
        for family, org, first, version, content in data:
            path = folder / f"{os.getpid()}-{family}-{org}-{first}.parquet"
            path.write_bytes(content)
            rows = f"read_parquet('{path}')"
            if f"f_{family}" not in tables:
                duck.execute(f"CREATE TABLE f_{family} AS SELECT * FROM {rows} LIMIT 0")
                tables.add(f"f_{family}")
            duck.execute(f"INSERT INTO f_{family} SELECT * FROM {rows}")
            duck.execute("INSERT INTO parts VALUES ($f, $o, $m, $v)", {"f": family, "o": org, "m": first, "v": version})
            path.unlink()
        duck.execute("COMMIT")
    except BaseException:
        duck.execute("ROLLBACK")
        raise


def _forget_dead_processes(folder: Path) -> None:
    """The copies of processes that are gone."""
    for path in folder.glob("*.duckdb*"):
        pid = path.name.split(".duckdb")[0].rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


def store_rows(duck: duckdb.DuckDBPyConnection, sql: str, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run the engine's SQL (``%(name)s`` parameters) on the store."""
    import re

    names = set(re.findall(r"%\((\w+)\)s", sql))
    return duck.execute(re.sub(r"%\((\w+)\)s", r"$\1", sql), {name: args[name] for name in names}).fetchall()


__all__ = ["BY_NAME", "STORED", "store_connection", "store_ready", "store_refresh", "store_rows"]
