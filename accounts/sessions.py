"""Sessions in the database, whose idle timeout a request renews once it has run for a minute.

Renewing on every request (``SESSION_SAVE_EVERY_REQUEST``) wrote the session row, in a transaction of its own,
for every page a worker opened during a call. Here a request renews the session only when its expiry, read with
it, is more than ``RENEWAL_SECONDS`` older than a fresh one would be: a session still ends between
``SESSION_IDLE_TIMEOUT`` minus a minute and ``SESSION_IDLE_TIMEOUT`` after the last request, never later.
"""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.sessions.backends import db
from django.utils import timezone

RENEWAL_SECONDS = 60


class SessionStore(db.SessionStore):
    # Django's database store reads its row with _get_session_from_db(), which django-stubs leave out.
    def load(self) -> dict[str, Any]:
        stored = self._get_session_from_db()  # type: ignore[attr-defined]
        if stored is None:
            return {}
        self._renew_if_due(stored.expire_date)
        return self.decode(stored.session_data)

    async def aload(self) -> dict[str, Any]:
        stored = await self._aget_session_from_db()  # type: ignore[attr-defined]
        if stored is None:
            return {}
        self._renew_if_due(stored.expire_date)
        return self.decode(stored.session_data)

    def _renew_if_due(self, expire_date: datetime) -> None:
        fresh = timezone.now() + timedelta(seconds=self.get_session_cookie_age())
        if expire_date < fresh - timedelta(seconds=RENEWAL_SECONDS):
            self.modified = True  # saved by SessionMiddleware with a new expiry, as any changed session
