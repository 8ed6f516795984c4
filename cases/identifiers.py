"""Offender identifiers: the one normal form they are hashed in, so that cases link however a worker wrote them.

- Phone numbers become E.164, read in the case's country when written without a country code
  ("+39 347 123 4567", "0039 347 1234567" and, on an Italian case, "347 1234567" are one number).
- Everything else is NFKC-normalised, case-folded, stripped of invisible characters, and letters of other
  scripts that look like Latin ones (Cyrillic ie, Greek omicron) are folded to them: "ellie" with a Cyrillic
  ie is "ellie".
- Links lose scheme, "www."/"m.", query, fragment and trailing slash; a profile link on a platform whose
  profile addresses are known ("instagram.com/x", "tiktok.com/@x") is that username, so it links with "@x".
  Usernames link across platforms, as they always have: the platform is not part of the hash.
- Payment handles lose "$" and "@"; a Cash App or PayPal.me link is the same handle as written out.
"""

import hashlib
import hmac
import re
import unicodedata
from functools import cache

import phonenumbers
from confusable_homoglyphs.categories import alias
from confusable_homoglyphs.confusables import confusables_data
from django.conf import settings

# The identifier kind a text finding becomes when the worker adds it to the offender identifiers (those whose
# Finding.offender_candidate is true: a profile link, not any link).
IDENTIFIER_KINDS = {
    "phone": "phone",
    "email": "email",
    "handle": "username",
    "username": "username",
    "link": "profile_link",
    "wallet": "payment_handle",
    "cashtag": "payment_handle",
    "paypal": "payment_handle",
}

# Host -> the path of a profile on it, with the username as its group.
_PROFILE_PATHS = {
    "instagram.com": r"([\w.]+)",
    "tiktok.com": r"@([\w.]+)",
    "twitter.com": r"(\w+)",
    "x.com": r"(\w+)",
    "t.me": r"(\w+)",
    "telegram.me": r"(\w+)",
    "snapchat.com": r"add/([\w.-]+)",
    "facebook.com": r"(?!profile\.php)([\w.]+)",
    "threads.net": r"@([\w.]+)",
    "kik.me": r"([\w.]+)",
    "reddit.com": r"u(?:ser)?/([\w-]+)",
    "youtube.com": r"@([\w.-]+)",
}
_PAYMENT_PATHS = {
    "cash.app": (r"\$?([\w-]+)", "{}"),
    "paypal.me": (r"([\w.-]+)", "paypal.me/{}"),
    "paypal.com": (r"paypalme/([\w.-]+)", "paypal.me/{}"),
}
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")
_LINK_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)|^(?:[a-z0-9-]+\.)+[a-z]{2,}/")


@cache
def _lookalikes() -> dict[str, str]:
    """Letters of other scripts mapped to the ASCII letter or digit they are confusable with."""
    table = {}
    for character, entries in confusables_data.items():
        if len(character) != 1 or character.isascii() or alias(character) in ("LATIN", "COMMON"):
            continue
        targets = [entry["c"] for entry in entries if len(entry["c"]) == 1 and entry["c"].isascii()]
        targets = [t for t in targets if t.isalnum()]
        if targets:
            table[character] = min(targets, key=lambda t: (not t.isalpha(), t)).lower()
    return table


def folded(text: str) -> str:
    """NFKC, case folding, no invisible characters, look-alike letters of other scripts as Latin ones."""
    text = unicodedata.normalize("NFKC", text).casefold()
    lookalikes = _lookalikes()
    return "".join(lookalikes.get(c, c) for c in text if unicodedata.category(c) != "Cf").strip()


def _phone(value: str, region: str | None) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return re.sub(r"[^\d+]", "", text)


def _link(text: str) -> tuple[str, str]:
    text = _SCHEME_RE.sub("", text)
    text = re.split(r"[?#]", text, maxsplit=1)[0].rstrip("/")
    text = re.sub(r"^(?:www|m|mobile)\.", "", text)
    host, _slash, path = text.partition("/")
    if host in _PROFILE_PATHS and (match := re.fullmatch(_PROFILE_PATHS[host], path)):
        return "username", match.group(1)
    if host in _PAYMENT_PATHS:
        pattern, template = _PAYMENT_PATHS[host]
        if match := re.fullmatch(pattern, path):
            return "payment_handle", template.format(match.group(1))
    return "profile_link", text


def normalise(kind: str, value: str, region: str | None = None) -> tuple[str, str]:
    """The kind and the text an identifier is hashed as; region is the case's country (ISO 3166-1 alpha-2)."""
    if kind == "phone":
        return kind, _phone(value, region)
    text = folded(value)
    if kind == "profile_link" or (kind in ("username", "payment_handle") and _LINK_RE.match(text)):
        return _link(text)
    if kind in ("username", "payment_handle"):
        return kind, text.lstrip("@$")
    return kind, text


def identifier_hash(kind: str, value: str, region: str | None = None) -> str:
    """A keyed hash of the identifier's normal form: equal for the same identifier written differently."""
    normal_kind, normal = normalise(kind, value, region)
    key = settings.OFFENDER_HASH_KEY.encode()
    return hmac.new(key, f"{normal_kind}:{normal}".encode(), hashlib.sha256).hexdigest()


def case_region(victim_country: str, organisation_country: str = "") -> str | None:
    """The country national phone numbers on a case are read in: the victim's, else the helpline's."""
    return (victim_country or organisation_country or "").upper() or None
