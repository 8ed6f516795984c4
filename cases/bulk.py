"""Writing cases in bulk: the import of historical cases, and the synthetic cases of devtools.

Both number their cases from the organisation's counters, as case_open does one at a time, take the ids
from the sequences so that child rows can point at their case before it is written, give cases the steps of
the playbook, and write every row with binary COPY in the caller's transaction.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from django.db import connection, models
from django.db.models import F
from django.db.models.functions import Greatest
from psycopg.types.json import Jsonb

from cases.models import Case, CaseCounter, StepType
from cases.playbook import FACTS_READ, playbook_steps

# A reference kept in this format moves the counter past it (counters_move_past), so new cases never take it.
OWN_REFERENCE_RE = re.compile(r"^SX-(\d{4})-(\d{5,9})$")
# The columns in which both write response steps and timeline entries.
STEP_COLUMNS = ["case_id", "step_type_id", "status", "due_at", "done_by_id", "done_at", "reason"]
ACTIVITY_COLUMNS = ["case_id", "at", "actor_id", "kind", "detail"]


def references_take(*, organisation_id: int, years: Sequence[int]) -> list[str]:
    """The next reference of each year given, in order: SX-YYYY-NNNNN from the organisation's counters.

    The counters are locked until the transaction ends, so that cases numbered at the same moment get other
    numbers, and left at the last number taken.
    """
    if not years:
        return []
    for year in dict.fromkeys(years):
        CaseCounter.objects.get_or_create(organisation_id=organisation_id, year=year)
    counters = {
        counter.year: counter
        for counter in CaseCounter.objects.select_for_update()
        .filter(organisation_id=organisation_id, year__in=set(years))
        .order_by("year")
    }
    last = {year: counter.last for year, counter in counters.items()}
    references = []
    for year in years:
        last[year] += 1
        references.append(f"SX-{year}-{last[year]:05d}")
    for year, number in last.items():
        CaseCounter.objects.filter(pk=counters[year].pk).update(last=number)
    return references


def own_reference(reference: str) -> tuple[int, int] | None:
    """(year, number) of a reference in the SX-YYYY-NNNNN format, else None."""
    match = OWN_REFERENCE_RE.match(reference)
    return (int(match.group(1)), int(match.group(2))) if match else None


def counters_move_past(*, organisation_id: int, highest: Mapping[int, int]) -> None:
    """Move the counters past the highest numbers of references in our format kept as they came ({year: number}),
    so that new cases never take them."""
    for year, number in highest.items():
        CaseCounter.objects.get_or_create(organisation_id=organisation_id, year=year)
        CaseCounter.objects.filter(organisation_id=organisation_id, year=year).update(last=Greatest(F("last"), number))


def ids_take(model: type[models.Model], count: int) -> list[int]:
    """Ids for as many new rows of the model, from its sequence."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


class Playbook:
    """The steps of the playbook for cases with given facts, as (step type id, reason, due after), active types only.

    Remembered per combination of the facts the playbook reads: a few thousand exist, and a batch has many cases of
    each. The reasons are in the language active at the first call for a combination.
    """

    def __init__(self) -> None:
        self.step_types: dict[str, int] = dict(StepType.objects.filter(active=True).values_list("code", "pk"))
        self._known: dict[tuple[Any, ...], list[tuple[int, str, timedelta | None]]] = {}

    def steps(self, facts: Mapping[str, Any]) -> list[tuple[int, str, timedelta | None]]:
        """For facts by field name; those not given are as on a new case."""
        return self.steps_of(*(facts.get(name, default) for name, default in FACTS_READ.items()))

    def steps_of(self, *facts: Any) -> list[tuple[int, str, timedelta | None]]:
        """For the values of the facts in the order of FACTS_READ."""
        steps = self._known.get(facts)
        if steps is None:
            case = cast(Case, SimpleNamespace(**dict(zip(FACTS_READ, facts, strict=True))))
            steps = self._known[facts] = [
                (self.step_types[code], reason, due)
                for code, reason, due in playbook_steps(case)
                if code in self.step_types
            ]
        return steps


class CopyWriter:
    """Writes rows with binary COPY, in the current transaction; the columns' types are read once.

    The client encodes a row several times faster in binary than in text. Columns not given get their model
    default, as a save would give them (``now`` for auto_now and auto_now_add), except the primary key and the
    columns the database fills (db_default: a record key); built from the model's fields, so a column added
    later with a default needs nothing here.
    """

    def __init__(self, tables: Iterable[type[models.Model]]) -> None:
        self.types = column_types([model._meta.db_table for model in tables])

    def rows(
        self,
        cursor: Any,
        model: type[models.Model],
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        now: datetime,
    ) -> None:
        """Rows given as values of ``columns`` (field attnames), in that order, as COPY takes them (JSON as Jsonb)."""
        if not rows:
            return
        rest = [f for f in model._meta.concrete_fields if f.attname not in columns and not _filled_by_database(f)]
        defaults = tuple(Jsonb(_default(f, now)) if isinstance(f, models.JSONField) else _default(f, now) for f in rest)
        column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
        names = [column_of[name] for name in columns] + [str(f.column) for f in rest]
        self._copy(cursor, model._meta.db_table, names, ((*row, *defaults) for row in rows) if rest else rows)

    def records(
        self, cursor: Any, model: type[models.Model], records: Sequence[Mapping[str, Any]], now: datetime
    ) -> None:
        """Rows given as {attname: value}, the values those the fields store (ids for foreign keys, JSON for JSON
        fields). The primary key, and the columns the database fills, only if the first row gives them."""
        if not records:
            return
        given = records[0]
        fields = [f for f in model._meta.concrete_fields if f.attname in given or not _filled_by_database(f)]
        defaults = {f.attname: _default(f, now) for f in fields}
        json_fields = [index for index, f in enumerate(fields) if isinstance(f, models.JSONField)]
        names = [f.attname for f in fields]

        def values(record: Mapping[str, Any]) -> list[Any]:
            line = [record[name] if name in record else defaults[name] for name in names]
            for index in json_fields:
                line[index] = Jsonb(line[index])
            return line

        self._copy(cursor, model._meta.db_table, [str(f.column) for f in fields], map(values, records))

    def _copy(self, cursor: Any, table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(connection.ops.quote_name(column) for column in columns)
        with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([self.types[table][column] for column in columns])
            write = copy.write_row
            for row in rows:
                write(row)


def _filled_by_database(field: models.Field[Any, Any]) -> bool:
    return bool(field.primary_key or field.db_default is not models.NOT_PROVIDED)


def _default(field: models.Field[Any, Any], now: datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return None if field.primary_key else field.get_default()


def column_types(tables: list[str]) -> dict[str, dict[str, int]]:
    """The type (oid) of every column of the tables, for binary COPY."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname, a.atttypid::int FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.oid = ANY(%s::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped",
            [tables],
        )
        types: dict[str, dict[str, int]] = {}
        for table, column, oid in cursor.fetchall():
            types.setdefault(table, {})[column] = oid
    return types
