"""Report figures read from a PostgreSQL streaming replica, when ``REPORTS_DATABASE_URL`` names one.

Report pages, exports, the reports API and the statistics store's reads run inside ``reading_replica()``
(``published_for`` enters it, so every report built for a reader does): there the ORM reads through the
``reports`` database alias (``ReplicaRouter``) and the engine's and the store's SQL through
``figures_connection()``. Every write, inside or out, goes to the primary: the access log, export rows and
their progress, the store's refresh (the replica is a hot standby, which refuses writes anyway). Monthly
snapshots are made from the primary's live tables. Without ``REPORTS_DATABASE_URL`` there is no ``reports``
alias and no router, and all of this reads the primary.

A replica that cannot be reached is not replaced by the primary: the reader is told, and the analysts'
load stays off the database that case workers are using (``ReplicaUnavailable``).
"""

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext, ngettext

logger = logging.getLogger(__name__)

REPORTS = "reports"  # the alias of the replica in settings.DATABASES

# Inside ``reading_replica``: the status the replica gave when it was entered.
_entered: ContextVar["ReplicaStatus | None"] = ContextVar("reports_replica_entered", default=None)

# How far the replica's data is behind the primary, as seen on the replica. Caught up (all WAL received has been
# replayed, and it is still receiving): 0, however long ago the primary last committed. Otherwise the time since the
# last transaction it replayed was committed: an upper bound, since nothing committed after it is in its data.
LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT FROM pg_stat_wal_receiver),
       coalesce(pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), false),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
"""


class ReplicaUnavailable(Exception):
    """The replica cannot be reached: no figures now; case work on the primary is not affected."""

    def __init__(self) -> None:
        super().__init__(
            gettext(
                "The reports database cannot be reached, so no figures can be shown now. Case work is not "
                "affected. Try again in a few minutes; if it lasts, tell an administrator."
            )
        )


@dataclass(frozen=True)
class ReplicaStatus:
    """How old the replica's data is: ``lag`` seconds (None: it cannot tell), and whether it is streaming."""

    lag: float | None
    receiving: bool

    @property
    def far_behind(self) -> bool:
        return self.lag is None or self.lag > settings.REPORTS_REPLICA_MAX_LAG

    @property
    def note(self) -> str:
        """What the page and the API say about the age of the figures, in the reader's language."""
        if self.lag is None:
            return gettext(
                "Figures from the reports replica, which cannot tell how far behind the main database it is: "
                "recent cases and changes may be missing from them."
            )
        age = age_in_words(self.lag)
        if not self.receiving:
            return gettext(
                "Figures from the reports replica, which is not receiving changes from the main database: they "
                "may be up to %(age)s old."
            ) % {"age": age}
        if self.far_behind:
            return gettext(
                "Figures from the reports replica, %(age)s behind the main database: cases and changes recorded "
                "since are not in them yet."
            ) % {"age": age}
        if self.lag == 0:
            return gettext("Figures from the reports replica, up to date with the main database.")
        return gettext("Figures from the reports replica, %(age)s behind the main database.") % {"age": age}

    def as_json(self) -> dict[str, Any]:
        return {"lag_seconds": self.lag, "receiving": self.receiving, "far_behind": self.far_behind, "note": self.note}


def age_in_words(seconds: float) -> str:
    """Seconds, minutes or hours, rounded up: a replica a fraction of a second behind is not "0 seconds" behind."""
    whole = math.ceil(seconds)
    if whole < 120:
        return ngettext("%(count)s second", "%(count)s seconds", whole) % {"count": whole}
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
    hours = math.ceil(seconds / 3600)
    return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}


def replica_configured() -> bool:
    return REPORTS in connections


def replica_status() -> ReplicaStatus:
    """The replica's lag, read on the replica; ``ReplicaUnavailable`` if it cannot be reached."""
    try:
        with connections[REPORTS].cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, receiving, caught_up, seconds = cursor.fetchone()
    except DatabaseError as error:
        logger.error("The reports replica cannot be reached (%s)", type(error).__name__)
        raise ReplicaUnavailable from error
    if not in_recovery:  # not a standby: it reads its own data, which is current
        return ReplicaStatus(lag=0.0, receiving=True)
    if receiving and caught_up:
        return ReplicaStatus(lag=0.0, receiving=True)
    return ReplicaStatus(lag=None if seconds is None else max(0.0, seconds), receiving=receiving)


@contextmanager
def reading_replica() -> Iterator[ReplicaStatus | None]:
    """Report figures read inside come from the replica, when there is one; yields its status (None: no replica,
    the figures are the primary's). Raises ``ReplicaUnavailable`` before anything is read if it cannot be reached.
    Entered again inside, it yields the status it gave first.
    """
    if not replica_configured():
        yield None
        return
    if (entered := _entered.get()) is not None:
        yield entered
        return
    status = replica_status()
    token = _entered.set(status)
    try:
        yield status
    finally:
        _entered.reset(token)


def _on_replica() -> bool:
    return _entered.get() is not None


def figures_connection() -> BaseDatabaseWrapper:
    """The connection for the SQL that reads report figures: the replica's inside ``reading_replica``."""
    return connections[REPORTS if _on_replica() else DEFAULT_DB_ALIAS]


class ReplicaRouter:
    """Installed with ``REPORTS_DATABASE_URL`` (helpline/settings.py): reads inside ``reading_replica`` go to the
    replica, every other read and every write to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return REPORTS if _on_replica() else DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPORTS else None
