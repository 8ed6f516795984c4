"""The gentle prompt to take a break, kept in the person's session so that no page counts anything to show it.

Whether it is due is counted (``exposure_prompt_due``: two small queries) on the home page and after a contact is
recorded, and only the moment it was raised is kept in the session. The pages that follow, the case page among
them, show it from there: the session is read for the sign-in anyway. It goes when the person answers it, when a
count finds it no longer due, or a shift after it was raised.
"""

import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from supervision.selectors import exposure_prompt_due

SESSION_KEY = "exposure_prompt_raised_at"
# Recorded a contact: the one request after which the count can have grown.
RECOUNT_AFTER = {"case_contact_add"}


def _current(raised: Any, shift_hours: int) -> bool:
    return isinstance(raised, int | float) and time.time() - raised < shift_hours * 3600


def prompt_refresh(request: HttpRequest) -> None:
    """Count again whether the signed-in person should be offered a break, and keep the answer in their session."""
    user: Any = request.user
    raised = request.session.get(SESSION_KEY)
    if exposure_prompt_due(user):
        if not _current(raised, user.organisation.exposure_shift_hours):
            request.session[SESSION_KEY] = time.time()
    elif raised is not None:
        del request.session[SESSION_KEY]


def prompt_clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def exposure_prompt(request: HttpRequest) -> dict[str, Any]:
    """Context processor: whether to show the prompt, from the session alone."""
    user: Any = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or not user.is_authenticated or session is None:
        return {}
    if not _current(session.get(SESSION_KEY), user.organisation.exposure_shift_hours):
        return {}
    return {"exposure_prompt": True}


class ExposurePromptMiddleware:
    """After a contact is recorded on a page, counts again whether its worker should be offered a break."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        match = request.resolver_match
        if (
            request.method == "POST"
            and match is not None
            and match.view_name in RECOUNT_AFTER
            and response.status_code < 400
            and request.user.is_authenticated
        ):
            prompt_refresh(request)
        return response
