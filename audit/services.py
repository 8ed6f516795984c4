from typing import Any

from axes.helpers import get_client_ip_address
from django.db import models
from django.http import HttpRequest

from audit.models import AccessLog, Action


def access_log_record(
    *,
    action: Action,
    request: HttpRequest | None = None,
    actor: Any = None,
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
    organisation_id = getattr(actor, "organisation_id", None) if actor is not None else None
    return AccessLog.objects.create(
        actor=actor,
        username=storable(username or (actor.get_username() if actor is not None else ""))[:150],
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=storable(str(object_id))[:64],
        address=get_client_ip_address(request) if request is not None else None,
        user_agent=storable(request.headers.get("User-Agent", ""))[:300] if request is not None else "",
        detail=detail or {},
    )


def storable(text: str) -> str:
    """What a client sent, fit for a text column: PostgreSQL refuses a NUL, so it is written out as \\x00."""
    return text.replace("\x00", "\\x00")
