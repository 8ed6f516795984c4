from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.http import HttpRequest

from audit.models import AccessLog, Action
from helpline.client_address import client_address

if TYPE_CHECKING:  # audit sits below accounts: it records what the other apps do
    from accounts.models import User


def access_log_record(
    *,
    action: Action,
    request: HttpRequest | None = None,
    actor: User | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    username: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessLog:
    """Append one row to the access log, in the caller's transaction."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = obj.pk
    organisation_id = actor.organisation_id if actor is not None else None
    return AccessLog.objects.create(
        actor=actor,
        username=storable(username or (actor.get_username() if actor is not None else ""))[:150],
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=storable(str(object_id))[:64],
        address=client_address(request) if request is not None else None,
        user_agent=storable(request.headers.get("User-Agent", ""))[:300] if request is not None else "",
        detail=capped(detail or {}),
    )


def storable(text: str) -> str:
    """What a client sent, fit for a text column: PostgreSQL refuses a NUL, so it is written out as \\x00."""
    return text.replace("\x00", "\\x00")


DETAIL_TEXT_LIMIT = 300


def capped(value: Any) -> Any:
    """A detail fit for a table nothing can delete from: every text in it is cut short.

    A query string is kept for what it tells, never in full: a row may not grow with
    what a client chooses to send.
    """
    if isinstance(value, str):
        text = storable(value)
        return text if len(text) <= DETAIL_TEXT_LIMIT else text[: DETAIL_TEXT_LIMIT - 1] + "…"
    if isinstance(value, dict):
        return {key: capped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [capped(item) for item in value]
    return value
