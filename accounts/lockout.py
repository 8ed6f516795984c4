"""Login lockouts: django-axes' lockout of a username from one address, plus one of the address itself.

A username is locked out from an address after ``AXES_FAILURE_LIMIT`` wrong passwords, so an attacker
who knows a colleague's username locks it out from the attacker's address only. An address is locked
out for every username after ``AXES_ADDRESS_FAILURE_LIMIT`` wrong passwords across usernames, so
nobody can try one password on many accounts (password spraying) without limit. Both count the
failures within ``AXES_COOLOFF_TIME`` that no successful login has cleared.
"""

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest

from helpline.client_address import client_address

ADDRESS_LOCKED_OUT = "address_locked_out"


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """The failures that count against AXES_FAILURE_LIMIT: an address over its own limit counts as at it."""
        failures: int = super().get_failures(request, credentials)
        if address_failures(request) < settings.AXES_ADDRESS_FAILURE_LIMIT:
            return failures
        setattr(request, ADDRESS_LOCKED_OUT, True)
        return max(failures, get_failure_limit(request, credentials))


def address_failures(request: HttpRequest) -> int:
    attempts = AccessAttempt.objects.filter(
        ip_address=client_address(request), attempt_time__gte=get_cool_off_threshold(request)
    )
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
