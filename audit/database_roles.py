"""The two database roles, so that the application cannot rewrite or switch off its own audit trail.

Web, worker and beat connect as the runtime role (``DATABASE_URL``): it reads and writes the ordinary
tables but owns nothing, may create nothing, and may only read and append to the access log, the
history (pghistory event) tables and the report snapshots. Whoever owns a table can bypass the
triggers that refuse UPDATE and DELETE there (``pgtrigger.ignore``, DISABLE TRIGGER, DROP TRIGGER);
the runtime role does not get that far, since PostgreSQL checks privileges first.

Migrations, backup and restore connect as the owner (``DATABASE_OWNER_URL``). After every migrate the
runtime role's privileges are set again from here, so tables added by new migrations are covered.
Its only ways to change protected rows are the SECURITY DEFINER functions in schema public, owned by
the owner, each doing one narrow thing (today one: retention's erasure of text in history rows); the
runtime role may execute them, nobody else.
"""

import logging
from typing import Any, cast

import environ
import pgtrigger
import psycopg
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from pghistory.models import Context, Event

logger = logging.getLogger(__name__)

SCHEMA = "public"


def append_only_tables() -> list[str]:
    """Read and append, never rewrite: every history table, and every table whose own trigger refuses UPDATE and
    DELETE (the access log, the report snapshots), since the triggers alone do not bind the owner."""
    history = [model for model in apps.get_models() if issubclass(model, Event) and model._meta.managed]
    protected = [cast(type[Model], model) for model, trigger in pgtrigger.registered() if _refuses_rewrites(trigger)]
    return sorted({model._meta.db_table for model in [*history, *protected]})


def _refuses_rewrites(trigger: pgtrigger.Trigger) -> bool:
    operation = trigger.operation
    if not isinstance(trigger, pgtrigger.Protect) or operation is None:
        return False
    return pgtrigger.Update in operation and pgtrigger.Delete in operation


def quote(name: str) -> str:
    """An SQL identifier (Django's quote_name does not double the quotes inside a name)."""
    return '"' + name.replace('"', '""') + '"'


def runtime_credentials() -> tuple[str, str]:
    """The user name and password of the runtime role, from DATABASE_URL."""
    config = environ.Env.db_url_config(settings.DATABASE_URL)
    return str(config.get("USER") or ""), str(config.get("PASSWORD") or "")


def runtime_role_grant(cursor: Any, *, role: str | None, password: str = "") -> None:
    """Create the runtime role if it is missing, then set its privileges from scratch. Safe to repeat.

    Run it as the owner of the tables, in a transaction: sessions of the runtime role then see the old
    privileges or the new ones, never none. ``cursor`` is Django's or psycopg's ClientCursor (CREATE ROLE
    takes its password as a literal, not as a server-side parameter). With no role (the app connects as
    the owner) only PUBLIC's right to execute the SECURITY DEFINER functions is taken away.
    """
    cursor.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.prosecdef",
        [SCHEMA],
    )
    functions = [row[0] for row in cursor.fetchall()]
    for function in functions:
        cursor.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    if role is None:
        return
    _create_role(cursor, role, password)
    name = quote(role)
    cursor.execute("SELECT current_database()")
    database = cursor.fetchone()[0]
    # Those that exist: a migrate back to an older state may have dropped some.
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s) ORDER BY c.relname",
        [SCHEMA, append_only_tables()],
    )
    append_only = ", ".join(f"{SCHEMA}.{quote(row[0])}" for row in cursor.fetchall())
    statements = [
        f"GRANT CONNECT ON DATABASE {quote(database)} TO {name}",
        # PUBLIC may create in schema public before PostgreSQL 15 (only a warning where the owner may not change it).
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA {SCHEMA} FROM {name}",
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {name}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM {name}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {name}",
        *([f"REVOKE UPDATE, DELETE ON {append_only} FROM {name}"] if append_only else []),
        f"REVOKE INSERT, UPDATE, DELETE ON {SCHEMA}.django_migrations FROM {name}",
        # pghistory upserts the context of each change (INSERT ... ON CONFLICT DO UPDATE) but never deletes one.
        f"REVOKE DELETE ON {SCHEMA}.{quote(Context._meta.db_table)} FROM {name}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {SCHEMA} FROM {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {name}",
        *(f"GRANT EXECUTE ON FUNCTION {function} TO {name}" for function in functions),
    ]
    for statement in statements:
        cursor.execute(statement)
    cursor.execute("SELECT current_user")
    _guard_triggers(cursor, owner=cursor.fetchone()[0])


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _guard_triggers(cursor: Any, *, owner: str) -> None:
    """Only the owner of the tables may skip a trigger or rewrite who made a change.

    pgtrigger lets any session skip its triggers with ``SET pgtrigger.ignore``, history triggers
    included, so the runtime role could change cases and leave no history row. Every installation
    of a trigger writes pgtrigger's function anew; so it is written over again here, after every
    migrate, to honour that setting for the owner's sessions alone. pghistory's context rows (who,
    from which page) are upserted by the runtime role's sessions; a trigger lets an update add to
    them, never change or remove what they say.
    """
    is_owner = f"pg_has_role(current_user, {_literal(owner)}, 'MEMBER')"
    context = f"{SCHEMA}.{quote(Context._meta.db_table)}"
    cursor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {SCHEMA}._pgtrigger_should_ignore(trigger_name NAME) RETURNS BOOLEAN AS $$
            DECLARE
                _pgtrigger_ignore TEXT[];
            BEGIN
                IF NOT {is_owner} THEN
                    RETURN FALSE;
                END IF;
                BEGIN
                    SELECT INTO _pgtrigger_ignore CURRENT_SETTING('pgtrigger.ignore');
                    EXCEPTION WHEN OTHERS THEN
                END;
                RETURN COALESCE(trigger_name = ANY(_pgtrigger_ignore), FALSE);
            END;
        $$ LANGUAGE plpgsql
        """
    )
    cursor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {SCHEMA}.helpline_context_only_grows() RETURNS TRIGGER AS $$
            BEGIN
                IF NOT {is_owner} AND (
                    NEW.id IS DISTINCT FROM OLD.id
                    OR NEW.created_at IS DISTINCT FROM OLD.created_at
                    OR NOT (NEW.metadata @> OLD.metadata)
                ) THEN
                    RAISE EXCEPTION 'The context of recorded changes may grow, never change';
                END IF;
                RETURN NEW;
            END;
        $$ LANGUAGE plpgsql
        """
    )
    cursor.execute(f"DROP TRIGGER IF EXISTS helpline_context_only_grows ON {context}")
    cursor.execute(
        f"CREATE TRIGGER helpline_context_only_grows BEFORE UPDATE ON {context} "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.helpline_context_only_grows()"
    )


def _create_role(cursor: Any, role: str, password: str) -> None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone():
        return
    login = "LOGIN PASSWORD %s" if password else "LOGIN"
    cursor.execute("SAVEPOINT create_runtime_role")
    try:
        cursor.execute(
            f"CREATE ROLE {quote(role)} {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
            [password] if password else None,
        )
    except (DatabaseError, psycopg.Error) as error:
        cursor.execute("ROLLBACK TO SAVEPOINT create_runtime_role")
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if not cursor.fetchone():  # not made meanwhile by a migrate running beside this one
            raise ImproperlyConfigured(
                f'The database role "{role}" of DATABASE_URL does not exist and the owner may not create it '
                f"({error}). Create it as a role that logs in and owns nothing: "
                f"CREATE ROLE {quote(role)} LOGIN PASSWORD '...'"
            ) from error
    cursor.execute("RELEASE SAVEPOINT create_runtime_role")


def runtime_role_problems(connection: BaseDatabaseWrapper) -> list[str]:
    """What would let this connection's role rewrite or switch off the audit trail; empty for a runtime role."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT r.rolsuper,
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                       AND pg_has_role(c.relowner, 'MEMBER')),
                   (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = %(schema)s AND pg_has_role(p.proowner, 'MEMBER')),
                   has_schema_privilege(%(schema)s, 'CREATE'),
                   pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER'),
                   ARRAY(SELECT t FROM unnest(%(tables)s::text[]) AS t
                          WHERE to_regclass(format('%%I.%%I', %(schema)s, t)) IS NOT NULL
                            AND (has_any_column_privilege(format('%%I.%%I', %(schema)s, t), 'UPDATE')
                                 OR has_table_privilege(format('%%I.%%I', %(schema)s, t), 'DELETE')
                                 OR has_table_privilege(format('%%I.%%I', %(schema)s, t), 'TRUNCATE')))
              FROM pg_roles r WHERE r.rolname = current_user
            """,
            {"schema": SCHEMA, "tables": append_only_tables()},
        )
        superuser, relations, functions, may_create, owns_database, rewritable = cursor.fetchone()
    problems = []
    if superuser:
        problems.append("it is a superuser")
    if relations or functions:
        problems.append(f"it owns, or may act as the owner of, {relations} tables or views and {functions} functions")
    if may_create:
        problems.append(f"it may create objects in schema {SCHEMA}")
    if owns_database:
        problems.append("it owns the database")
    if rewritable:
        named = ", ".join(rewritable[:3]) + (", ..." if len(rewritable) > 3 else "")
        problems.append(f"it may UPDATE, DELETE or TRUNCATE {len(rewritable)} append-only tables ({named})")
    return problems


_verified = False


def check_runtime_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """On a process's first connection as the runtime role: refuse in production one that could rewrite
    the audit trail, warn in development."""
    global _verified
    if _verified or settings.DATABASE_ROLE == "owner" or connection.alias != "default":
        return
    problems = runtime_role_problems(connection)
    if problems:
        user = connection.settings_dict["USER"]
        message = (
            f'The app connects to the database as "{user}", which could rewrite or switch off the append-only '
            f"audit trail: {'; '.join(problems)}. Connect web, worker and beat as a role that owns nothing "
            "(DATABASE_URL) and run migrations as the owner of the tables (DATABASE_OWNER_URL)."
        )
        if settings.PRODUCTION:
            connection.close()  # otherwise the next query would use it unchecked
            raise ImproperlyConfigured(message)
        logger.warning(message)
    _verified = True


def grant_after_migrate(sender: Any, using: str, **kwargs: Any) -> None:
    """After every migrate (as the owner), give the runtime role its privileges on every table there is now."""
    from django.db import connections

    connection = connections[using]
    role, password = runtime_credentials()
    # One role for everything (check_runtime_connection warns or refuses): nothing to separate.
    separate = role if role and role != connection.settings_dict["USER"] else None
    with transaction.atomic(using=using), connection.cursor() as cursor:
        runtime_role_grant(cursor, role=separate, password=password)
