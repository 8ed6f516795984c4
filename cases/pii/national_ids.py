"""National identity numbers, validated by python-stdnum where the number has a check digit.

Italian codice fiscale (check letter, omocodia digits), UK National Insurance number (no check digit: its
strict letter rules and shape), Australian tax file number and Medicare card number (check digits; after a
cue, since nine or ten bare digits are too often something else), US social security number (3-2-4 digits
with dashes or after a cue, with the allocation rules: no 000, 666 or 9xx areas, no zero group or serial).
"""

import re
from collections.abc import Iterator

from stdnum.au import tfn
from stdnum.it import codicefiscale
from stdnum.us import ssn

Span = tuple[str, int, int]

_OMOCODIA = "0-9LMNPQRSTUV"
_CODICE_FISCALE_RE = re.compile(
    rf"(?<!\w)[A-Za-z]{{6}}[{_OMOCODIA}]{{2}}[A-EHLMPR-Ta-ehlmpr-t]"
    rf"[{_OMOCODIA}]{{2}}[A-Za-z][{_OMOCODIA}]{{3}}[A-Za-z](?!\w)"
)
_NINO_RE = re.compile(r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_SSN_RE = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_CUED_NUMBER_RE = re.compile(
    r"\b(?P<cue>tfn|tax file(?: number| no\.?)?|medicare(?: card)?(?: number| no\.?)?"
    r"|ssn|social security(?: number| no\.?)?)"
    r"[^.\n\d]{0,48}?(?P<number>(?<!\d)\d(?:[ -]?\d){7,10})(?!\d)",
    re.IGNORECASE,
)


def is_medicare(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) not in (10, 11) or not 2 <= digits[0] <= 6:
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9)
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 10 == digits[8]


def find_national_ids(text: str) -> Iterator[Span]:
    for match in _CODICE_FISCALE_RE.finditer(text):
        if codicefiscale.is_valid(match.group().upper()):
            yield ("national_id", match.start(), match.end())
    for match in _NINO_RE.finditer(text):
        yield ("national_id", match.start(), match.end())
    for match in _SSN_RE.finditer(text):
        if ssn.is_valid(match.group()):
            yield ("national_id", match.start(), match.end())
    lowered = text.lower()
    if not any(cue in lowered for cue in ("tfn", "tax file", "medicare", "ssn", "social security")):
        return
    for match in _CUED_NUMBER_RE.finditer(text):
        cue, number = match.group("cue").lower(), match.group("number")
        compact = re.sub(r"\D", "", number)
        valid = (
            tfn.is_valid(compact)
            if cue.startswith(("tfn", "tax"))
            else is_medicare(compact)
            if cue.startswith("medicare")
            else ssn.is_valid(compact)
        )
        if valid:
            yield ("national_id", match.start("number"), match.end("number"))
