"""``accounts.sessions`` read from the shared cache (``CACHE_URL``), written to it and the database together."""

from django.contrib.sessions.backends import cached_db

from accounts.sessions import PreparedRead, Renewal


class SessionStore(Renewal, cached_db.SessionStore, PreparedRead):
    pass
