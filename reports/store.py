"""The statistics store: the facts of every case in columnar files, read by DuckDB, fresh within a minute.

Each family of ``reports/rollups.py`` is kept per case (one row per case and value of the family's
dimensions, with its count and record-key sum), plus a ``cases`` family with every filter dimension of
a case. One Parquet file holds one family for the cases of one organisation in one block of 20,000 case
ids (``BLOCK``): a *part*.
PostgreSQL stays the record and carries the parts too (``reports_store_part``), so every web and
worker process, on one machine or many, reads the same figures without a shared disk: each process
keeps its own DuckDB database (a file in ``STATISTICS_CACHE_DIR``, written by that process alone, so
DuckDB's one-writer rule always holds), takes in the parts written since it last looked, and runs the
engine's SQL on it in-process. Where reports read from a replica (reports/replica.py), the parts are taken in
from the replica; they are always written on the primary.

Triggers (reports/migrations/0009_statistics_store_blocks.py) mark the organisation and block of any case
whose facts change in ``reports_store_dirty``; ``store_refresh`` (Celery beat, every
``STATISTICS_REFRESH_SECONDS``) writes the parts of those blocks again. One writer at a time, by an
advisory lock; readers are never blocked, since a part is replaced whole.
"""

import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from reports.models import RollupRefresh
from reports.replica import figures_connection, reading_replica
from reports.rollups import BY_NAME, FAMILIES, Family, month

STORE_LOCK = 7_301_002  # advisory lock key: one writer at a time
# Cases per part: new cases take new ids, so an import touches a few new blocks whatever its dates.
BLOCK = 20_000  # as in reports/migrations/0009_statistics_store_blocks.py

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
    """The family's rows for the cases of some blocks, one group per case; ``part`` is the case's block."""
    dims = "".join(f", {expression} AS {name}" for name, expression in family.dims)
    measures = ", ".join(f"{expression} AS {name}" for name, expression in family.measures)
    group = ", ".join(str(position) for position in range(1, len(family.dims) + 5))
    return (
        f"SELECT c.id / {BLOCK} AS part, c.id AS case_id, c.organisation_id AS org, {month(family.time)} AS month"
        f"{dims}, {measures} FROM cases_case c {family.joins} WHERE {family.where}"
        " AND c.id >= %(first_id)s AND c.id < %(end_id)s"
        f" AND (c.organisation_id, c.id / {BLOCK}) IN (SELECT * FROM unnest(%(orgs)s::int[], %(blocks)s::int[]))"
        f" GROUP BY {group}"
    )


# --- writing ---------------------------------------------------------------------------------------------------------


def store_refresh(*, full: bool = False) -> bool:
    """Write again the parts of every block marked since the last run (of every block, when ``full`` or when
    nothing has been written yet).

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
                cursor.execute("DELETE FROM reports_store_dirty RETURNING org, block")
                claimed = cursor.fetchall()
                cursor.execute("SELECT DISTINCT org, block FROM reports_store_part")
                written = cursor.fetchall()
                full = full or not written
                blocks = dict.fromkeys(claimed + (written if full else []), 0)  # block: its cases, for batches
                chosen = f"(organisation_id, id / {BLOCK}) IN (SELECT * FROM unnest(%s::int[], %s::int[]))"
                cursor.execute(
                    f"SELECT organisation_id, id / {BLOCK}, count(*) FROM cases_case"
                    f" WHERE {'TRUE' if full else chosen} GROUP BY 1, 2",
                    [] if full else [[org for org, _ in blocks], [block for _, block in blocks]],
                )
                blocks |= {(org, block): count for org, block, count in cursor.fetchall()}
            for batch in _batches(blocks):
                _write_blocks(batch)
            RollupRefresh.objects.create(started_at=started)
            RollupRefresh.objects.filter(started_at__lt=started).delete()  # one row, not one every 30 seconds
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [STORE_LOCK])
    return True


def _batches(blocks: dict[tuple[int, int], int]) -> list[set[tuple[int, int]]]:
    """The blocks in batches of about ``STATISTICS_BATCH_CASES`` cases, so that memory stays bounded."""
    batches: list[set[tuple[int, int]]] = [set()]
    size = 0
    for key, count in sorted(blocks.items()):
        if batches[-1] and size + count > settings.STATISTICS_BATCH_CASES:
            batches.append(set())
            size = 0
        batches[-1].add(key)
        size += count
    return [batch for batch in batches if batch]


def _tz() -> dict[str, str]:
    return {"tz": settings.TIME_ZONE}


def _write_blocks(blocks: set[tuple[int, int]]) -> None:
    """Export each family once for all the blocks, then cut it into parts; a block with no case has none."""
    ordered = sorted(blocks)
    orgs, numbers = [org for org, _ in ordered], [block for _, block in ordered]
    args = {
        **_tz(),
        "orgs": orgs,
        "blocks": numbers,
        "first_id": min(numbers) * BLOCK,
        "end_id": (max(numbers) + 1) * BLOCK,
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
                "DELETE FROM reports_store_part WHERE (org, block) IN (SELECT * FROM unnest(%s::int[], %s::int[]))",
                [orgs, numbers],
            )
        present = set(duck.execute("SELECT DISTINCT org, part FROM cases").fetchall())
        for org, block in ordered:
            if (org, block) not in present:
                continue
            for family in STORED:
                parquet = Path(folder) / f"{family.name}-{org}-{block}.parquet"
                duck.execute(
                    f"COPY (SELECT * FROM {family.name} WHERE org = $org AND part = $part ORDER BY month)"
                    f" TO '{parquet}' (FORMAT parquet)",
                    {"org": org, "part": block},
                )
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO reports_store_part (family, org, block, data) VALUES (%s, %s, %s, %s)",
                        [family.name, org, block, parquet.read_bytes()],
                    )
                parquet.unlink()


# --- reading ---------------------------------------------------------------------------------------------------------


def store_ready() -> bool:
    """The store has been written at least once (otherwise reports read the live tables)."""
    with figures_connection().cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM reports_store_part WHERE family = 'cases')")
        return bool(cursor.fetchone()[0])


def store_connection(organisations: Iterable[int]) -> duckdb.DuckDBPyConnection | None:
    """A DuckDB cursor on this process's copy of the organisations' parts, brought up to date first.

    Each process keeps its own DuckDB database file (so no two processes ever write one), with one table
    per family, and takes in the parts written since it last looked. None when the organisations have no
    part: no case, nothing to read. The parts are read where report figures are (reports/replica.py).
    """
    with figures_connection().cursor() as cursor:
        cursor.execute(
            "SELECT family, org, block, version::text FROM reports_store_part WHERE org = ANY(%s)",
            [list(organisations)],
        )
        wanted = set(cursor.fetchall())
        with _lock:
            duck = _process_database()
            held = set(
                duck.execute(
                    "SELECT family, org, block, version FROM parts WHERE list_contains($orgs, org)",
                    {"orgs": list(organisations)},
                ).fetchall()
            )
            if wanted != held:  # parts gone (cases deleted) are dropped here too
                _take_in(duck, cursor, new=wanted - held, old=held - wanted)
    return duck.cursor() if wanted else None


_lock = threading.Lock()
_databases: dict[str, duckdb.DuckDBPyConnection] = {}


def warm_up() -> None:
    """Take in the parts of every organisation now: a web process does so as it starts (gunicorn.conf.py), so that
    its first report does not wait for them, holding threads that pages need. At a million cases it takes about
    half a minute; a report asked for meanwhile waits for it, as it would have."""
    from accounts.models import Organisation

    with reading_replica():
        if store_ready():
            store_connection(Organisation.objects.values_list("pk", flat=True))


def _process_database() -> duckdb.DuckDBPyConnection:
    name = str(figures_connection().settings_dict["NAME"])
    if name not in _databases:
        folder = _private_folder()
        _forget_dead_processes(folder)
        path = folder / f"{name}-{os.getpid()}.duckdb"
        for leftover in (path, path.with_suffix(".duckdb.wal")):
            leftover.unlink(missing_ok=True)
        duck = duckdb.connect(str(path))
        duck.execute(f"SET threads = {settings.STATISTICS_THREADS}")
        duck.execute(f"SET memory_limit = '{settings.STATISTICS_READER_MEMORY_MB}MB'")
        duck.execute("CREATE MACRO width_bucket(x, bounds) AS len(list_filter(bounds, b -> b <= x))")
        duck.execute("CREATE TABLE parts (family VARCHAR, org INTEGER, block INTEGER, version VARCHAR)")
        _databases[name] = duck
    return _databases[name]


def _take_in(duck: duckdb.DuckDBPyConnection, cursor: Any, *, new: set[Any], old: set[Any]) -> None:
    """Replace the rows of parts written again, add new parts, drop parts gone; readers see all or nothing."""
    data: list[tuple[str, int, int, str, bytes]] = []
    if new:
        cursor.execute(
            "SELECT family, org, block, version::text, data FROM reports_store_part"
            " WHERE (family, org, block, version)"
            " IN (SELECT * FROM unnest(%s::text[], %s::int[], %s::int[], %s::uuid[]))"
            " ORDER BY block",
            [list(column) for column in zip(*new, strict=True)],
        )
        data = cursor.fetchall()
    tables = {row[0] for row in duck.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    folder = _private_folder()
    duck.execute("BEGIN")
    try:
        for family, org, block, version in old:
            if f"f_{family}" in tables:
                duck.execute(f"DELETE FROM f_{family} WHERE org = $org AND part = $part", {"org": org, "part": block})
            duck.execute(
                "DELETE FROM parts WHERE family = $f AND org = $o AND block = $b AND version = $v",
                {"f": family, "o": org, "b": block, "v": version},
            )
        for family, org, block, version, content in data:
            path = folder / f"{os.getpid()}-{family}-{org}-{block}.parquet"
            try:
                path.write_bytes(content)
                rows = f"read_parquet('{path}')"
                if f"f_{family}" not in tables:
                    duck.execute(f"CREATE TABLE f_{family} AS SELECT * FROM {rows} LIMIT 0")
                    tables.add(f"f_{family}")
                duck.execute(f"INSERT INTO f_{family} SELECT * FROM {rows}")
            finally:
                path.unlink(missing_ok=True)
            duck.execute("INSERT INTO parts VALUES ($f, $o, $b, $v)", {"f": family, "o": org, "b": block, "v": version})
        duck.execute("COMMIT")
    except BaseException:
        duck.execute("ROLLBACK")
        raise


def _private_folder() -> Path:
    """The cache folder, readable by this system user alone: its files hold facts of every case (record keys
    included, which would undo the perturbation), as sensitive as the database itself."""
    folder = Path(settings.STATISTICS_CACHE_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _forget_dead_processes(folder: Path) -> None:
    """The copies of processes that are gone, and any part a killed process was taking in."""
    for path in folder.glob("*.duckdb*"):
        pid = path.name.split(".duckdb")[0].rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)
    for path in folder.glob("*.parquet"):
        pid = path.name.split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


def store_rows(duck: duckdb.DuckDBPyConnection, sql: str, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run the engine's SQL (``%(name)s`` parameters) on the store."""
    import re

    names = set(re.findall(r"%\((\w+)\)s", sql))
    return duck.execute(re.sub(r"%\((\w+)\)s", r"$\1", sql), {name: args[name] for name in names}).fetchall()


__all__ = ["BY_NAME", "STORED", "store_connection", "store_ready", "store_refresh", "store_rows"]
