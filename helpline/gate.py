"""The gate every page, API endpoint and admin view goes through.

It decides who may (a role's permission), which record (the scoped lookup), answers
what is out of reach with a 404 on pages and a 403 or 404 on the API, and keeps the
access log honest: a read is one ``view`` row, and every refusal is one ``refused``
row, whichever layer refused.

Refusals are written by :class:`GateMiddleware` once the answer is known, so that
exactly one row is written per refused request, outside any transaction the view
rolled back: a view names what it refused with :func:`refuse` (or
:func:`note_refusal` when it answers with a message instead of a 404); a 403 or 404
that nobody named (DRF's permission check, an unknown id, an unknown URL) is
recorded by its path.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import User
from audit.models import Action
from audit.services import access_log_record

REFUSED_STATUSES = (403, 404)
_REFUSAL = "_gate_refusal"

M = TypeVar("M", bound=models.Model)
Rule = str | Callable[[User], bool]


def _origin(request: Any) -> HttpRequest:
    """The Django request behind a DRF request, where the gate keeps its notes."""
    return getattr(request, "_request", request)


def note_refusal(request: Any, *, object_type: str, object_id: object = "", **detail: Any) -> None:
    """Name what this request was refused; the middleware writes the one row when the answer leaves.

    The first refusal named wins: it is the nearest to the cause.
    """
    origin = _origin(request)
    if getattr(origin, _REFUSAL, None) is None:
        setattr(origin, _REFUSAL, {"object_type": object_type, "object_id": str(object_id), "detail": detail})


def refuse(request: Any, *, object_type: str, object_id: object = "", **detail: Any) -> NoReturn:
    """Out of scope: a 404, never a hint that the record exists, and one refusal row."""
    note_refusal(request, object_type=object_type, object_id=object_id, **detail)
    raise Http404


def read(
    request: Any,
    obj: models.Model | None = None,
    *,
    action: Action = Action.VIEW,
    object_type: str = "",
    object_id: object = "",
    **detail: Any,
) -> None:
    """Record that this request read a record (or a list of them), in the access log."""
    access_log_record(
        action=action,
        request=_origin(request),
        obj=obj,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
    )


def signed_in_user(request: HttpRequest | Request) -> User:
    """The user of a request that only a signed-in user reaches: a staff page, an admin view, an API view.

    Every one of them asks for a sign-in first, so an anonymous request here is refused, never served.
    """
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user


def allows(user: User | AnonymousUser, rules: tuple[Rule, ...]) -> bool:
    """Every rule holds: a permission the user's role grants, or a predicate on the user."""
    if not user.is_authenticated:
        return False
    return all(user.has_perm(rule) if isinstance(rule, str) else rule(user) for rule in rules)


def page(*rules: Rule, object_type: str = "page") -> Callable[[Any], Any]:
    """A staff page for those the rules allow; anyone else signed in gets the 404 (and a refusal row)."""

    def decorator(view: Any) -> Any:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allows(request.user, rules):
                refuse(request, object_type=object_type, object_id=request.path[:64])
            return view(request, *args, **kwargs)

        return login_required(guarded)

    return decorator


def require(request: Any, *rules: Rule, obj: models.Model | None = None, **detail: Any) -> None:
    """A further rule inside a view (after the record was found): refused with a 404 unless it holds."""
    if not allows(request.user, rules):
        if obj is not None:
            refuse(request, object_type=obj._meta.label_lower, object_id=obj.pk, **detail)
        refuse(request, object_type="page", object_id=request.path[:64], **detail)


def get_or_refuse(request: Any, queryset: models.QuerySet[M], pk: Any) -> M:
    """The record with this id among those the user may see, else the 404 and a refusal row."""
    try:
        return queryset.get(pk=int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError, OverflowError):
        refuse(request, object_type=queryset.model._meta.label_lower, object_id=str(pk)[:64])


def api_permission(*rules: Rule, object_type: str = "") -> type[BasePermission]:
    """A DRF permission class for the rules; a refusal (403) names the record the URL points at."""

    class Allowed(BasePermission):
        def has_permission(self, request: Any, view: Any) -> bool:
            if allows(request.user, rules):
                return True
            if request.user.is_authenticated:
                pk = view.kwargs.get("pk", "") if hasattr(view, "kwargs") else ""
                note_refusal(request, object_type=object_type or "api", object_id=pk or request.path[:64])
            return False

    return Allowed


class ScopedObjectMixin:
    """For a DRF view: its one record is looked up among those the user may see, a refusal named by its id."""

    def get_object(self) -> Any:
        view: Any = self
        found = get_or_refuse(view.request, view.get_queryset(), view.kwargs["pk"])
        view.check_object_permissions(view.request, found)
        return found


class GateMiddleware:
    """Writes the one refusal row of every request refused to a signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        refusal = getattr(request, _REFUSAL, None)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        if refusal is None and response.status_code in REFUSED_STATUSES:
            match = request.resolver_match
            refusal = {
                "object_type": match.view_name if match else "url",
                "object_id": request.path[:64],
                "detail": {},
            }
        if refusal is not None:
            access_log_record(
                action=Action.REFUSED,
                request=request,
                object_type=refusal["object_type"],
                object_id=refusal["object_id"],
                detail={**refusal["detail"], "status": response.status_code},
            )
        return response
