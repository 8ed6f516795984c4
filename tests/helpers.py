import re
import time
from typing import Any

from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_code(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code an authenticator app would show now for this device."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


INVITATION_LINK = re.compile(r"/account/invitation/([\w-]+)/")


def invitation_token(address: str) -> str:
    """The token of the newest invitation e-mailed to this address: the mailbox is the one place it is written."""
    bodies = [str(message.body) for message in mail.outbox if message.to == [address]]
    assert bodies, f"no e-mail to {address}"
    found = INVITATION_LINK.search(bodies[-1])
    assert found, bodies[-1]
    return found[1]


def linked_cases(user: Any, case: Any) -> dict[int, list[dict[str, Any]]]:
    """For each offender identifier of the case, the other cases of the organisation with the same one, as the
    case page reads them."""
    from cases.selectors import _load_detail

    read = _load_detail(user, case.pk)
    return {i.pk: i.others for i in read.listed_identifiers} if read else {}  # type: ignore[attr-defined]


def case_timeline(case: Any) -> list[dict[str, Any]]:
    """A case's timeline read on its own, as the case page reads it but for the organisation's condition."""
    from django.db import connection

    from cases.selectors import CASE_TIMELINE_ORDER, CASE_TIMELINE_ROWS, _timeline

    with connection.cursor() as cursor:
        cursor.execute(f"{CASE_TIMELINE_ROWS} {CASE_TIMELINE_ORDER}", {"case": case.pk})
        return _timeline(cursor.fetchall())
