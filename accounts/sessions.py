"""Sessions in the database, whose idle timeout a request renews once it has run for a minute.

Renewing on every request (``SESSION_SAVE_EVERY_REQUEST``) wrote the session row, in a transaction of its own,
for every page a worker opened during a call. Here a request renews the session only when the last renewal, kept
in the session itself, is ``RENEWAL_SECONDS`` old: a session still ends between ``SESSION_IDLE_TIMEOUT`` minus a
minute and ``SESSION_IDLE_TIMEOUT`` after the last request, never later.

With a shared cache (``CACHE_URL``, Redis), ``accounts.cached_sessions`` reads the sessions from it and writes
them through to the database.
"""

import time
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.utils import timezone

from helpline.rows import compiled_once

RENEWAL_SECONDS = 60
RENEWED_AT = "_renewed_at"


class Renewal(SessionBase):
    """Renew the idle timeout, by saving the session again, once its last renewal is a minute old."""

    def load(self) -> dict[str, Any]:
        return self._renew_if_due(super().load())

    async def aload(self) -> dict[str, Any]:
        return self._renew_if_due(await super().aload())

    def _renew_if_due(self, data: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        if data and now - data.get(RENEWED_AT, 0) >= RENEWAL_SECONDS:
            data[RENEWED_AT] = now
            self.modified = True  # saved by SessionMiddleware with a new expiry, as any changed session
        return data


_session = compiled_once(lambda key: Session.objects.filter(session_key=key))


class PreparedRead(db.SessionStore):
    """The session row read as Django reads it, but by a query compiled once and kept prepared (``helpline.rows``),
    as every page reads it first; whether it has expired is checked here rather than in the query."""

    def _get_session_from_db(self) -> Session | None:
        found = _session(self.session_key)
        if found and found[0].expire_date > timezone.now():
            return found[0]
        self._session_key = None
        return None


class SessionStore(Renewal, PreparedRead):
    pass
