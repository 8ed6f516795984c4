from typing import Any

from django.http import HttpRequest

from notifications.selectors import unread_count as count_unread


def unread_count(request: HttpRequest) -> dict[str, Any]:
    """The number on the navigation's notifications link: read with the signed-in user (``accounts.backends``), or
    one COUNT on a partial index."""
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    read = getattr(user, "unread_notifications", None)
    return {"unread_notifications": count_unread(user) if read is None else read}
