import re
import time

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
