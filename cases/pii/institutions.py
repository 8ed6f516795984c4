"""Schools and clubs named in English or Italian: a kind of institution and a proper name, in either order.

"Liceo Scientifico Galileo Galilei", "Istituto Comprensivo Via Roma", "Scuola media Dante Alighieri",
"Polisportiva Virtus", "A.S.D. Atletico Borgo", the Irish "Coláiste Iognáid" (kind first); "Parramatta High
School", "St Mary's College", "Riverside Primary School", "Leeds United FC" (name first). A kind without a
proper name ("the high school", "la scuola media") names nobody.
"""

import re
from collections.abc import Iterator

Span = tuple[str, int, int]

_CAP = r"(?:[A-ZÀ-Ý][\w'\u2019.-]*|\d{1,3}(?:°|º)?)"
_LINK = r"(?:de(?:i|l|gli|ll[aeo']|ll\u2019)?|di|d['\u2019]|da|e|of|the|and|&|san|santa|sant['\u2019]|s\.|st\.?)"
_PROPER = rf"{_CAP}(?:\s+(?:{_LINK}\s*)?{_CAP}){{0,4}}"
_QUOTED = r"[\"\u201c«][^\"\u201d»\n]{2,60}[\"\u201d»]"

_IT_KIND = (
    r"coláiste|colaiste|gaelscoil|gaelcholáiste|scoil|meánscoil|pobalscoil|liceo|istituto|scuola|convitto|educandato|collegio|conservatorio|polisportiva|oratorio|circolo"
    r"|associazione sportiva(?: dilettantistica)?|società sportiva|gruppo scout|a\.?\s?s\.?\s?d\.?|u\.?\s?s\.?\s?d\.?"
    r"|i\.?\s?c\.?|i\.?\s?i\.?\s?s\.?|i\.?\s?t\.?\s?i\.?\s?s\.?|i\.?\s?t\.?\s?c\.?|i\.?\s?p\.?\s?s\.?\s?i\.?\s?a\.?"
    r"|itis|itc|ipsia|ipsar|iis|isis|università(?: degli studi)?"
)
_IT_QUALIFIER = (
    r"classico|scientifico|linguistico|artistico|musicale|coreutico|delle scienze umane|scienze umane|statale"
    r"|paritari[oa]|comprensivo|tecnico|professionale|superiore|d['\u2019]istruzione superiore|di istruzione superiore"
    r"|commerciale|industriale|alberghiero|agrario|nautico|media|medie|elementare|primaria|secondaria"
    r"|di (?:primo|secondo|1°|2°) grado|dell['\u2019]infanzia|calcio|calcistica|sportiva|dilettantistica|pubblic[oa]"
    r"|privat[oa]|cattolic[oa]|internazionale|omnicomprensivo|di|del|della|dei|degli"
)
# Italian clubs also put the sport first: "Calcio Padova", "Pallavolo Modena".
_IT_SPORT = r"Calcio|Pallavolo|Volley|Basket|Nuoto|Atletica|Ginnastica|Scherma|Rugby|Hockey|Tennis Club"
_IT_RE = re.compile(
    rf"\b(?:(?i:{_IT_KIND})|{_IT_SPORT})(?:\s+(?i:{_IT_QUALIFIER})){{0,4}}\s+(?:{_PROPER}|{_QUOTED})",
)
# English kinds are capitalised, as in a name: "Parramatta High School", not "the high school".
_EN_QUALIFIER = (
    r"High|Primary|Secondary|Grammar|Middle|Elementary|Junior|Senior|Infants?|Prep(?:aratory)?|Public|State"
    r"|Community|Catholic|Christian|Anglican|Girls['\u2019]?|Boys['\u2019]?|Free|Independent|Special|Sixth Form"
    r"|Comprehensive|International|Technical|Agricultural|(?:Creative and )?Performing Arts|Football|Rugby|Cricket"
    r"|Tennis|Swimming|Netball|Hockey|Boxing|Athletics|Golf|Sailing|Youth|Sports?|Dance|Gymnastics|Basketball"
    r"|Soccer|Baseball|Chess|Drama|Rowing|Cycling|Martial Arts|Karate|Judo"
)
_EN_HEAD = (
    r"School|College|Academy|Club|University|F\.?C\.?|A\.?F\.?C\.?|United|Scouts|Guides"
    r"|(?:Scout|Guide|Brownie|Cub)s?\s+(?:Group|Troop|Pack)"
)
_EN_KIND = rf"(?:(?:{_EN_QUALIFIER})\s+)*(?:{_EN_HEAD})"
_EN_RE = re.compile(
    r"(?:\b(?:St\.?|Saint|Our Lady of|Sacred Heart)\s+)?(?<![\w'\u2019])"
    r"(?!The\b|A\b|An\b|At\b|In\b|Her\b|His\b|Their\b|My\b)"
    rf"{_PROPER}\s+{_EN_KIND}\b"
)
_EN_PREFIX_RE = re.compile(rf"\b(?:University of|FC|AFC|Università di)\s+{_PROPER}")
_LEADING_RE = re.compile(r"^(?:(?:The|La|Il|Lo|At|In|Her|His|Their|My|Our|Dalla|Alla|Nella|Della)\s+)+")


# Every match holds one of these (lower case): a cheap test that spares most notes the patterns.
_HINTS = (
    "school", "college", "academy", "club", "universit", "liceo", "istitut", "scuola", "convitto", "collegio",
    "conservatorio", "polisportiva", "oratorio", "circolo", "associazione", "società", "scout", "guides", "calcio",
    "pallavolo", "volley", "basket", "nuoto", "atletica", "ginnastica", "scherma", "rugby", "hockey", "tennis",
    "united", "fc", "s.d", "sd ", "i.c", "ic ", "iti", "itc", "ips", "iis", "isis", "coláiste", "colaiste", "scoil",
)  # fmt: skip


def find_schools(text: str) -> Iterator[Span]:
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return
    for pattern in (_IT_RE, _EN_RE, _EN_PREFIX_RE):
        for match in pattern.finditer(text):
            leading = _LEADING_RE.match(match.group())
            start = match.start() + (leading.end() if leading else 0)
            end = match.end()
            while end > start and text[end - 1] in ".,;:'\u2019":
                end -= 1
            if end > start:
                yield ("school", start, end)
