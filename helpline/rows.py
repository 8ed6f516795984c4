"""Model instances read without compiling and planning a query on every request: for the few queries of the pages
open during a call where that took longer than running them.

A written-out query (``cases.selectors._detail_sql``) selects each model's columns as ``columns`` writes them, one
model after the other; ``split`` reads the row back into the instances, as the ORM's ``select_related`` would, with
the values that follow them. A queryset whose only varying parameters are a few ids or texts is compiled once and
run again with other values (``compiled_once``). Both run on a cursor whose statements PostgreSQL keeps prepared
(``prepared_cursor``).
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, models
from django.db.backends.utils import CursorDebugWrapper
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=models.Model)

# Values no query of ours is ever given, to find where each varying value goes among a compiled query's parameters
# (within a 32-bit integer column, which the ORM checks a value against; a text column gets them as text).
_STAND_IN = -1_987_654_321


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A cursor whose statements PostgreSQL keeps prepared for the connection (``DATABASE_PREPARED_STATEMENTS``):
    parsed and planned once, then only run. For our written-out reads, one statement each; Django's other cursors
    bind their parameters in Python and are never prepared. Its queries are Django's like any other: counted,
    logged, timed."""
    # As Django opens its own cursors: a connection kept from an earlier request that fails its health check
    # (CONN_HEALTH_CHECKS) is replaced, and a connection is never shared between threads.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    binding: Any = psycopg.Cursor(connection.connection)  # parameters bound on the server, which preparing needs
    cursor = _LoggedAsWritten(binding, connection) if connection.queries_logged else connection.make_cursor(binding)
    with cursor:
        yield cursor


# How Django's query log begins a prepared read.
LOGGED_PREPARED = "/* prepared */ "


class _LoggedAsWritten(CursorDebugWrapper):
    """Django's query log, with each statement as written (psycopg keeps no text of a prepared one), marked as
    prepared: its values are not in it."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(LOGGED_PREPARED + sql, params):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


def compiled_once(build: Callable[..., models.QuerySet[M]]) -> Callable[..., list[M]]:
    """``build(*values)``'s rows, for any values: the queryset is compiled once, the first time, with stand-ins for
    the values, and afterwards run with the values in their places among the parameters, its rows read back as the
    ORM reads them (``select_related`` and annotations included). Each value is an id or a text, compared in the
    query as it is (``field=value``)."""

    @cache
    def compile(count: int) -> tuple[SQLCompiler, str, list[Any], list[list[int]], list[Any]]:
        stand_ins = [_STAND_IN - number for number in range(count)]
        queryset = build(*stand_ins)
        compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        sql, parameters = compiler.as_sql()  # which sets what the rows are read back with (compiler.select...)
        places = [
            [place for place, parameter in enumerate(parameters) if parameter in (stand_in, str(stand_in))]
            for stand_in in stand_ins
        ]
        if not all(places) or queryset.query.deferred_loading[0] or compiler.klass_info is None:
            raise ValueError("compiled_once takes a queryset of model instances that compares each value")
        # Django 5.2's signature (the type stubs follow a later one).
        related = get_related_populators(compiler.klass_info, compiler.select, DEFAULT_DB_ALIAS)  # type: ignore[call-arg]
        return compiler, sql, list(parameters), places, related

    def run(*values: int | str) -> list[M]:
        compiler, sql, parameters, places, related = compile(len(values))
        parameters = parameters.copy()
        for value, its_places in zip(values, places, strict=True):
            for place in its_places:
                parameters[place] = value
        with prepared_cursor() as cursor:
            cursor.execute(sql, parameters)
            rows: Iterable[Sequence[Any]] = cursor.fetchall()
        # As django.db.models.query.ModelIterable reads them.
        klass_info, select = compiler.klass_info, compiler.select
        converters = compiler.get_converters([column[0] for column in select])
        if converters:
            rows = compiler.apply_converters(rows, converters)
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        names = [column[0].target.attname for column in select[first:last]]
        found = []
        for row in rows:
            instance = klass_info["model"].from_db(DEFAULT_DB_ALIAS, names, row[first:last])
            for populator in related:
                populator.populate(row, instance)
            for name, position in compiler.annotation_col_map.items():
                setattr(instance, name, row[position])
            found.append(instance)
        return found

    return run


@cache
def _reading(model: type[models.Model]) -> tuple[list[str], list[tuple[int, Any]]]:
    """The attribute names of the model's columns, in order, and the converters Django applies to them."""
    fields = model._meta.concrete_fields
    converters = [
        (position, converter)
        for position, field in enumerate(fields)
        for converter in [*connection.ops.get_db_converters(field.cached_col), *field.get_db_converters(connection)]
    ]
    return [field.attname for field in fields], converters


def columns(model: type[models.Model], alias: str) -> str:
    """The model's columns from the table named ``alias``, in the order ``split`` reads them."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def split(row: Sequence[Any], *models_in_order: type[models.Model]) -> list[Any]:
    """The instances of the models whose columns the row holds in this order (None for one an outer join did not
    find: its primary key is null), followed by the row's other values."""
    values: list[Any] = []
    start = 0
    for model in models_in_order:
        names, converters = _reading(model)
        own = list(row[start : start + len(names)])
        start += len(names)
        if own[names.index(model._meta.pk.attname)] is None:
            values.append(None)
            continue
        for position, converter in converters:
            own[position] = converter(own[position], model._meta.concrete_fields[position].cached_col, connection)
        values.append(model.from_db(DEFAULT_DB_ALIAS, names, own))
    return [*values, *row[start:]]
