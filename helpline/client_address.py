"""The one answer to "which address did this request come from", for lockouts, rate limits and the access log."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# Only a server that gives no usable REMOTE_ADDR leads here; such requests then share one address.
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 (an address recorded, not one to bind to)


def client_address(request: HttpRequest) -> str:
    """The client's address, never one the client wrote itself.

    With ``TRUSTED_PROXY_COUNT`` = N proxies in front of the app, the outermost one appended the
    client's address to X-Forwarded-For and each of the N-1 behind it appended one more entry, so the
    client is the N-th entry from the right; entries further left were sent by the client. Without
    proxies, or when that entry is missing or is not an address (a request that did not come through
    the proxies), it is the connecting address.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= count and (address := _address(forwarded[-count])):
            return address
    return _address(request.META.get("REMOTE_ADDR", "")) or UNKNOWN_ADDRESS


def _address(text: str) -> str | None:
    """The address in its canonical spelling, or None if the text is not one PostgreSQL's inet can store."""
    text = text.strip()
    if "%" in text:  # an IPv6 zone, which inet refuses
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
