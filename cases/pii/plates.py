"""Licence plates: the strict current Italian (AB 123 CD) and British (AB12 CDE) shapes in capitals, and any
other shape of letters and digits after a cue (plate, rego, registration, targa), such as Australian ones."""

import re
from collections.abc import Iterator

Span = tuple[str, int, int]

_ITALIAN_RE = re.compile(r"(?<![\w-])[A-HJ-NPR-Z]{2} ?\d{3} ?[A-HJ-NPR-Z]{2}(?![\w-])")
# Age identifiers run 02-29 (March) and 51-79 (September).
_BRITISH_RE = re.compile(r"(?<![\w-])[A-HJ-PR-Y][A-HJ-PR-Y](?:0[2-9]|[12]\d|5[1-9]|[67]\d) ?[A-HJ-PR-Z]{3}(?![\w-])")
_CUED_RE = re.compile(
    r"\b(?:(?:number |licen[cs]e |registration )?plates?|rego|registration|reg(?:istration)? (?:no\.?|number)"
    r"|targa|targata|numero di targa)"
    r"(?:\s+(?:number|no\.?|was|is|è|era|reads|read|:))*[\s:,]*"
    r"(?P<plate>[A-Za-z0-9]{1,4}[ -]?[A-Za-z0-9]{2,4}(?:[ -]?[A-Za-z0-9]{1,3})?)\b",
    re.IGNORECASE,
)


def find_plates(text: str) -> Iterator[Span]:
    for pattern in (_ITALIAN_RE, _BRITISH_RE):
        for match in pattern.finditer(text):
            yield ("plate", match.start(), match.end())
    lowered = text.lower()
    if not any(cue in lowered for cue in ("plate", "rego", "reg", "targa")):
        return
    for match in _CUED_RE.finditer(text):
        plate = match.group("plate")
        if (
            any(c.isdigit() for c in plate)
            and any(c.isalpha() for c in plate)
            and 4 <= len(plate.replace(" ", "")) <= 8
        ):
            yield ("plate", match.start("plate"), match.end("plate"))
