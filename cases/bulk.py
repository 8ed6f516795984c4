"""Writing cases in bulk, for the import of historical cases and the synthetic data of devtools."""

from django.db import connection


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
