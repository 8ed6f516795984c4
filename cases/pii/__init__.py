"""Spot identifying details in free text (case notes, incident descriptions) and redact them.

Pure Python, no database: the forms call `find_identifiers` to warn the worker before saving
and `redact` when the worker accepts the offered redaction.

Recognisers are patterns, checksums and word lists, one module per family (names, institutions,
national_ids, payments, usernames, plates; contact details here). No statistical model: spaCy's cannot be
installed from the registries this project uses, and Microsoft Presidio's analyzer finds names only through
one, so it would add a framework around the same regular expressions and python-stdnum checks used here.
Names come from a gazetteer (data/, built from names-dataset by build_names.py: the full package is a 56 MB
download that unpacks to gigabytes in memory, a few thousand common names are 120 KB) plus context cues.
`manage.py benchmark_pii` measures precision, recall and speed on the labelled corpus in tests/pii_corpus/.
"""

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import phonenumbers
from django.utils.translation import gettext, gettext_noop

from cases.pii.institutions import find_schools
from cases.pii.names import find_person_names
from cases.pii.national_ids import find_national_ids
from cases.pii.payments import find_payments
from cases.pii.plates import find_plates
from cases.pii.usernames import find_usernames

DEFAULT_REGIONS = ("IT", "GB", "AU", "US", "IE", "DE", "FR", "ES")

LABELS = {
    "date_of_birth": gettext_noop("date of birth"),
    "iban": gettext_noop("bank account (IBAN)"),
    "national_id": gettext_noop("national identity number"),
    "wallet": gettext_noop("crypto wallet address"),
    "paypal": gettext_noop("PayPal.me link"),
    "email": gettext_noop("e-mail address"),
    "link": gettext_noop("link"),
    "phone": gettext_noop("phone number"),
    "card": gettext_noop("card number"),
    "cashtag": gettext_noop("Cash App $cashtag"),
    "address": gettext_noop("street address"),
    "school": gettext_noop("school or club"),
    "person_name": gettext_noop("person's name"),
    "plate": gettext_noop("licence plate"),
    "handle": gettext_noop("@handle"),
    "username": gettext_noop("username"),
}
# Kinds that can be the offender's own identifier: offered as "add to offender identifiers" (links cases).
OFFENDER_KINDS = frozenset({"wallet", "cashtag", "paypal", "phone", "username", "handle", "email"})
# A link is the offender's identifier when it points at a profile on a platform or payment service.
PROFILE_HOSTS = frozenset(
    {
        "instagram.com",
        "tiktok.com",
        "snapchat.com",
        "facebook.com",
        "fb.com",
        "m.facebook.com",
        "x.com",
        "twitter.com",
        "t.me",
        "telegram.me",
        "wa.me",
        "discord.gg",
        "discord.com",
        "kik.me",
        "youtube.com",
        "reddit.com",
        "onlyfans.com",
        "threads.net",
        "twitch.tv",
        "cash.app",
        "paypal.me",
        "linkedin.com",
        "vm.tiktok.com",
        "roblox.com",
        "steamcommunity.com",
        "ask.fm",
        "tellonym.me",
        "ngl.link",
    }
)
# The English names go into the placeholders written into stored text; people are warned in their own language.
# When two findings cover the same span, the kind listed first in LABELS wins.
_PRIORITY = {kind: rank for rank, kind in enumerate(LABELS)}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        return gettext(LABELS[self.kind])

    @property
    def offender_candidate(self) -> bool:
        if self.kind == "link":
            return _is_profile_link(self.text)
        return self.kind in OFFENDER_KINDS


_LINK_HOST_RE = re.compile(r"^(?:https?://)?(?:www\.)?([^/?#:]+)(?::\d+)?/+([^/?#\s]+)", re.IGNORECASE)


def _is_profile_link(link: str) -> bool:
    match = _LINK_HOST_RE.match(link)
    return match is not None and match.group(1).lower() in PROFILE_HOSTS


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre)"
)
_NUMERIC_DATE = r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2})"
_DATE = (
    rf"(?:{_NUMERIC_DATE}\b|\d{{1,2}}(?:st|nd|rd|th|°)?\s+{_MONTH}\.?,?\s+\d{{4}}\b"
    rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b)"
)
# Up to four words between keyword and date, but never across a sentence end ("born in Rome. On 3/5/2024 ...").
_DATE_OF_BIRTH_RE = re.compile(
    rf"\b(?:(?:born|birthday|date\s+of\s+birth|dob|nat[oaie]|nascita|compleanno)\b|d\.o\.b\.?)"
    rf"(?:[\s:,;()'\u2019\"\u2013-]+[\w'\u2019]+){{0,4}}?[\s:,;()'\u2019\"\u2013-]+(?P<date>{_DATE})",
    re.IGNORECASE,
)
_NUMERIC_DATE_RE = re.compile(_NUMERIC_DATE)

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")

_KNOWN_TLDS = r"(?:com|net|org|info|biz|io|me|co|gg|ly|tv|app|xyz|eu|uk|it|au|us|ie|de|fr|es)"
_LINK_RE = re.compile(
    r"\bhttps?://[^\s<>\"]+"
    r"|\bwww\.[^\s<>\"]+"
    # A bare domain needs a path ("t.me/xyz") or a well-known TLD, so prose like "e.g." stays unflagged;
    # the TLD must be lower case so that a missing space ("it.It was") is not a domain.
    rf"|(?<![\w@./-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?-i:[a-z]{{2,}}(?=/)|{_KNOWN_TLDS}\b)(?:/[^\s<>\"]*)?",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"\u2019"

# Not "@5pm", "@10:30" or "@2024".
_HANDLE_RE = re.compile(r"(?<![\w@./])@(?!\d+(?:[:.]\d+)?(?:am|pm)?\b)[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")

# Street names must be capitalised: that is how addresses are written, and it keeps
# prose such as "3 blocks down the road" or "a 10 minute drive" out.
_NAME = r"(?:d(?:ell)?['\u2019])?[A-ZÀ-Ý][\w'\u2019.-]*"
_EN_STREET = r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|way|place|court|crescent|terrace"
_EN_ADDRESS_RE = re.compile(
    rf"\b(?:(?i:flat|apartment|apt|unit)\s+\d+[A-Za-z]?,?\s+)?"
    rf"\d{{1,4}}[A-Za-z]?,?\s+(?:{_NAME}\s+){{0,2}}{_NAME}\s+(?i:{_EN_STREET})\b"
)
# "via" is also English ("contacted via Instagram 3 times"), hence the counted nouns that rule out a house number.
_NOT_HOUSE_NUMBER = (
    r"(?!\s+(?:times?|volt[ae]|days?|giorni|hours?|ore|minutes?|minuti|weeks?|settimane|months?|mesi|years?|anni"
    r"|messages?|messaggi|photos?|foto|videos?|euros?|€))"
)
_IT_ADDRESS_RE = re.compile(
    r"\b(?i:via|viale|piazza|corso|largo|vicolo|strada)\s+"
    rf"(?:(?:{_NAME}|de(?:i|l|gli|ll[aeo])?|di)\s+){{0,3}}{_NAME},?\s+"
    rf"\d{{1,4}}(?:\s?/\s?[A-Za-z0-9]{{1,3}}|[A-Za-z])?\b{_NOT_HOUSE_NUMBER}"
)

# Lower case is how notes are typed in a hurry: "via roma 12, milano", "14 smith st parramatta". The street's
# name is then one or two words that cannot be a platform or a count ("via whatsapp 3 volte").
_LOWER_WORD = r"[a-zà-ÿ][a-zà-ÿ'\u2019]{2,}"
_NOT_STREET_NAME = (
    r"(?!(?:whats ?app|instagram|insta|snap(?:chat)?|tik ?tok|telegram|facebook|messenger|e-?mail|mail|sms|chat"
    r"|dm|discord|kik|telefono|phone|messaggio|messaggi|message|messages|text|internet|web|app|posta|video|the|a)\b)"
)
_LOWER_IT_ADDRESS_RE = re.compile(
    rf"\b(?:via|viale|piazza|corso|largo|vicolo|piazzale)\s+{_NOT_STREET_NAME}(?:{_LOWER_WORD}\s+){{0,2}}"
    rf"{_LOWER_WORD},?\s+\d{{1,4}}(?:\s?/\s?[a-z0-9]{{1,3}}|[a-z])?\b{_NOT_HOUSE_NUMBER}"
)
_LOWER_EN_ADDRESS_RE = re.compile(
    rf"\b\d{{1,4}}[a-z]?\s+(?!(?:the|a|an|more|other|minutes?|mins?|miles?|km|blocks?|hours?|days?)\b)"
    rf"(?:{_LOWER_WORD}\s+)?{_LOWER_WORD}\s+(?:street|st|road|rd|avenue|ave|lane|crescent|cres|terrace|tce"
    rf"|parade|pde|grove|close|court|ct|place|pl)\b"
)

_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}", re.IGNORECASE)
# Cards are written unbroken, in fours, or (American Express) 4-6-5: other groupings are not cards, and
# checking every digit of a long run of single digits took seconds.
_CARD_RE = re.compile(
    r"(?<![\w+-])(?:[1-9]\d{12,18}|[1-9]\d{3}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|3\d{3}[ -]\d{6}[ -]\d{5})(?!\d)"
)
_INTERNATIONAL_PHONE_RE = re.compile(r"(?<![\w+])(?:\+|00)[1-9](?:[\s.()/-]{0,2}\d){6,16}")
_ENGLISH_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ITALIAN_DIGITS = ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove")
_DIGIT_WORDS = {
    "oh": "0",
    **{word: str(value) for value, word in enumerate(_ENGLISH_DIGITS)},
    **{word: str(value) for value, word in enumerate(_ITALIAN_DIGITS)},
    "double": "",
}
_DIGIT_WORD = "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True))
# Read out in words, partly or wholly ("three four seven, 123 45 67", "tre quattro sette 1234567").
_SPOKEN_PHONE_RE = re.compile(
    rf"(?<![\w+])(?:\+\s?)?(?:\d+|(?:{_DIGIT_WORD})\b)(?:[\s,.-]{{1,2}}(?:\d+|(?:{_DIGIT_WORD})\b)){{2,}}",
    re.IGNORECASE,
)
_NOT_DIGIT_RE = re.compile(r"\D")
_DIGIT_RUN_RE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){7,}")
_PHONE_CONTEXT = 6
_MAX_DIGIT_RUN = 40
_LAST_GROUP_RE = re.compile(r"[\s./()-]*[^\s./()-]*$")
_PLACEHOLDER_RE = re.compile(r"\[(?:" + "|".join(re.escape(label) for label in LABELS.values()) + r") removed\]")


def _digits(text: str) -> str:
    return _NOT_DIGIT_RE.sub("", text)


def _validated(kind: str, pattern: re.Pattern[str], text: str, is_valid: Callable[[str], bool]) -> Iterator[Finding]:
    """Matches of a greedy pattern that pass a check, trimmed to their longest valid prefix.

    A greedy match can swallow what follows ("IT60 ... 456 and GB82 ..."): trailing groups are
    dropped until the rest validates, and scanning resumes right after the valid part.
    """
    position = 0
    while match := pattern.search(text, position):
        candidate = match.group()
        while candidate and not is_valid(candidate):
            candidate = _LAST_GROUP_RE.sub("", candidate, count=1)
        if candidate:
            yield Finding(kind, match.start(), match.start() + len(candidate), candidate)
            position = match.start() + len(candidate)
        else:
            position = match.start() + 1


def _is_iban(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _is_card(candidate: str) -> bool:
    digits = [int(d) for d in reversed(_digits(candidate))]
    if not 13 <= len(digits) <= 19:
        return False
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


def _is_international_phone(candidate: str) -> bool:
    number = "+" + candidate.removeprefix("+").removeprefix("00")
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


@cache
def _national_number_rules(region: str) -> tuple[re.Pattern[str] | None, re.Pattern[str]]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None and metadata.general_desc is not None
    prefix = metadata.national_prefix_for_parsing or metadata.national_prefix
    number_pattern = metadata.general_desc.national_number_pattern or r"\d+"
    return (re.compile(prefix) if prefix else None), re.compile(number_pattern)


def _plausible_regions(digit_run: str, regions: Sequence[str]) -> Iterator[str]:
    """The regions in which the run could hold a number: the full matcher, which is slow, runs only for those.

    A run of at most 11 digits holds at most one number of eight or more digits, and in practice nothing
    else: if the whole run does not fit the region's national numbers (its general pattern after the
    national prefix), it holds none. A run of more than 40 digits is a table or a code, not phone numbers
    (and the matcher would take seconds over it).
    """
    digits = _digits(digit_run)
    if len(digits) > _MAX_DIGIT_RUN:
        return
    if len(digits) > 11:
        yield from regions
        return
    for region in regions:
        prefix, number_pattern = _national_number_rules(region)
        stripped = prefix.match(digits) if prefix else None
        if number_pattern.fullmatch(digits) or (stripped and number_pattern.fullmatch(digits[stripped.end() :])):
            yield region


def _phones(text: str, regions: Sequence[str]) -> Iterator[Finding]:
    # The matcher is slow on long text: it runs only around runs of eight or more digits, with some context.
    for window in _DIGIT_RUN_RE.finditer(text):
        # International numbers are found below; dates are never phone numbers here.
        if text[max(0, window.start() - 2) : window.start()].endswith(("+", "00")) or _NUMERIC_DATE_RE.fullmatch(
            window.group()
        ):
            continue
        offset = max(0, window.start() - _PHONE_CONTEXT)
        excerpt = text[offset : window.end() + _PHONE_CONTEXT]
        for region in _plausible_regions(window.group(), regions):
            covered = False
            for match in phonenumbers.PhoneNumberMatcher(excerpt, region, leniency=phonenumbers.Leniency.VALID):
                # Some regions accept short digit runs and dates ("03.03.2011") as valid numbers.
                if len(_digits(match.raw_string)) >= 8 and not _NUMERIC_DATE_RE.fullmatch(match.raw_string):
                    yield Finding("phone", offset + match.start, offset + match.end, match.raw_string)
                    covered = covered or (offset + match.start <= window.start() and offset + match.end >= window.end())
            if covered:  # the whole run is one number: other regions can only find it again
                break
    # International numbers are unambiguous enough to accept when merely possible (e.g. unassigned ranges).
    yield from _validated("phone", _INTERNATIONAL_PHONE_RE, text, _is_international_phone)


def _spoken_phones(text: str, regions: Sequence[str]) -> Iterator[Finding]:
    for match in _SPOKEN_PHONE_RE.finditer(text):
        tokens = re.findall(r"\d+|[^\W\d_]+", match.group())
        if all(token.isdigit() for token in tokens):
            continue
        digits, double = "", False
        for token in tokens:
            value = token if token.isdigit() else _DIGIT_WORDS[token.lower()]
            digits += value * 2 if double else value
            double = token.lower() == "double"
        if not 8 <= len(digits) <= 15:
            continue
        plus = "+" if match.group().startswith("+") else ""
        for region in regions:
            try:
                number = phonenumbers.parse(plus + digits, None if plus else region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                yield Finding("phone", match.start(), match.end(), match.group())
                break


def _candidates(text: str, regions: Sequence[str]) -> Iterator[Finding]:
    yield from _phones(text, regions)
    yield from _spoken_phones(text, regions)
    for family in (find_person_names, find_schools, find_national_ids, find_payments, find_usernames, find_plates):
        for kind, start, end in family(text):
            yield Finding(kind, start, end, text[start:end])
    for match in _EMAIL_RE.finditer(text):
        yield Finding("email", match.start(), match.end(), match.group())
    for match in _LINK_RE.finditer(text):
        link = match.group().rstrip(_TRAILING_PUNCTUATION)
        yield Finding("link", match.start(), match.start() + len(link), link)
    for match in _HANDLE_RE.finditer(text):
        yield Finding("handle", match.start(), match.end(), match.group())
    for pattern in (_EN_ADDRESS_RE, _IT_ADDRESS_RE, _LOWER_IT_ADDRESS_RE, _LOWER_EN_ADDRESS_RE):
        for match in pattern.finditer(text):
            yield Finding("address", match.start(), match.end(), match.group())
    yield from _validated("iban", _IBAN_RE, text, _is_iban)
    yield from _validated("card", _CARD_RE, text, _is_card)
    for match in _DATE_OF_BIRTH_RE.finditer(text):
        yield Finding("date_of_birth", match.start("date"), match.end("date"), match.group("date"))


def find_identifiers(text: str, *, region: str | None = None) -> list[Finding]:
    """Identifiers in the text, in order, without overlaps (the longer match wins).

    region is the case's country (ISO 3166-1 alpha-2): phone numbers written in national form are read as
    that country's; None, or a country phonenumbers has no plan for, reads them as any of DEFAULT_REGIONS'.
    International forms are found either way.
    """
    # A country without a numbering plan of its own in phonenumbers (Antarctica) reads as the default regions.
    regions = (region.upper(),) if region and region.upper() in phonenumbers.SUPPORTED_REGIONS else DEFAULT_REGIONS
    # Redacted text is checked again on every save: placeholders must not count as findings.
    taken = bytearray(len(text))
    for placeholder in _PLACEHOLDER_RE.finditer(text):
        taken[placeholder.start() : placeholder.end()] = b"\1" * (placeholder.end() - placeholder.start())
    findings: list[Finding] = []
    for finding in sorted(_candidates(text, regions), key=lambda f: (f.start - f.end, _PRIORITY[f.kind], f.start)):
        if taken.find(1, finding.start, finding.end) == -1:
            taken[finding.start : finding.end] = b"\1" * (finding.end - finding.start)
            findings.append(finding)
    return sorted(findings, key=lambda f: f.start)


def redact(text: str, findings: Sequence[Finding] | None = None) -> str:
    """The text with each finding replaced by a placeholder such as "[phone number removed]".

    With findings=None, detect first.
    """
    if findings is None:
        findings = find_identifiers(text)
    parts: list[str] = []
    position = 0
    for finding in sorted(findings, key=lambda f: f.start):
        parts += [text[position : finding.start], f"[{LABELS[finding.kind]} removed]"]
        position = finding.end
    return "".join(parts) + text[position:]
