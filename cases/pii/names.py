"""People's names: a gazetteer of common first names and surnames plus English and Italian cues.

A capitalised word that is a known first name is a name, with the capitalised words after it (the surname,
"Maria Rosa De Luca") and a known surname before it ("Rossi Giulia"). Unknown or ambiguous names count after a
title or rank ("Mr", "Sig.ra", "DS") or a cue ("my name is", "si chiama", "her mum", "the victim,", "caller"),
before an age ("Jaxon (14)"), owning something ("Jaxon's dad") or, for names that are also words, before a
verb of speech ("April told us"). Words that are also places, platforms, agencies, months or ordinary words
("Milan", "Instagram", "May") are never a name by themselves, and a name followed by an organisation's word
("Kent Police") is not a person. Lower-case names ("sua madre maria") are not found: in lower case too many
words are names.
"""

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

Span = tuple[str, int, int]

_DATA = Path(__file__).parent / "data"

_UPPER = "A-ZÀ-ÖØ-Ý"
_LOWER = "a-zß-öø-ÿ"
_WORD_RE = re.compile(
    r"(?:Sig|Dott|Prof)\.(?:ra|na|ssa)\b|"
    rf"(?:Mc|Mac|O['\u2019]|D['\u2019]|Dell['\u2019])?[{_UPPER}][{_LOWER}]+(?:['\u2019]s)?(?:-[{_UPPER}][{_LOWER}]+)?"
    rf"|(?<![\w.])(?:[Dd]e|[Dd]i|[Dd]el|[Dd]ella|[Dd]a|[Vv]an|[Vv]on|[Ll]a|[Ll]o|[Ll]e)(?=\s+[{_UPPER}])"
)
_PARTICLES = frozenset({"de", "di", "del", "della", "da", "van", "von", "la", "lo", "le"})

TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "dr", "sir", "madam", "sig", "sigra", "signor", "signora", "signorina", "sigg",
        "dott", "dottssa", "dottor", "dottore", "dottoressa", "prof", "professor", "professore", "professoressa",
        "avv", "ing", "sergeant", "sgt", "inspector", "insp", "detective", "det", "constable", "officer", "agent",
        "maresciallo", "brigadiere", "ispettore", "ispettrice", "commissario", "agente", "appuntato", "vigile",
    }
)  # fmt: skip
# Police ranks written in capitals ("DS Ferguson", "PC Hale"): in capitals only, since "di" is also Italian.
_RANKS = r"(?-i:DS|DC|DI|DCI|DSU|PC|PS|WPC|Supt)"
_CUE_WORDS = r"my|his|her|their|our|your|the|a|mio|mia|suo|sua|loro|il|la|lo|un|una"
_RELATIONS = (
    r"mother|mum|mom|mummy|father|dad|daddy|brother|sister|aunt(?:ie)?|uncle|cousin|gran(?:dma|dmother|ny|dad|dfather)?"
    r"|nan|nanna|step(?:mum|mom|dad|father|mother|brother|sister)|friend|best friend|boyfriend|girlfriend|partner"
    r"|classmate|teacher|coach|tutor|neighbou?r|son|daughter|child|kid|boy|girl|student|pupil|guardian|carer"
    r"|victim|caller|offender|suspect|perpetrator|young person|worker|colleague|babysitter"
    r"|madre|mamma|padre|papà|papa|fratello|fratellino|sorella|sorellina|zi[ao]|cugin[ao]|nonn[ao]|patrigno|matrigna"
    r"|amic[oa]|migliore amic[oa]|fidanzat[oa]|ragazz[oa]|compagn[oa](?: di (?:classe|scuola|squadra))?|insegnante"
    r"|maestr[ao]|professor(?:e|essa)|prof|allenat(?:ore|rice)|vicin[ao]|figli[ao]|bambin[ao]|alunn[ao]"
    r"|student(?:e|essa)|tutore|vittima|chiamante|ricattatore|sospettat[oa]|baby ?sitter|educat(?:ore|rice)"
)
_CUE = (
    rf"(?:\b(?:sig|dott|prof)\.(?:ra|na|ssa)"
    rf"|\b(?:(?:my|his|her|their|the) name(?:'s| is| was)|named|called|call(?:s|ed)? (?:her|him)self|known as"
    rf"|mi chiamo|si chiama(?:va)?|(?:si )?chiamat[oa]|di nome|nome(?: è|:)|detto|detta"
    rf"|(?:(?:{_CUE_WORDS})\s+)?(?:{_RELATIONS}))\b"
    rf"|\b(?:{'|'.join(sorted(TITLES, key=len, reverse=True))}|{_RANKS})\b\.?)[\s,:;(\"'\u201c\u2018\u2013-]*"
)
_RELATION_RE = re.compile(_RELATIONS, re.IGNORECASE)
_CUE_BEFORE_RE = re.compile(_CUE + "$", re.IGNORECASE)
_CUE_LOOKBACK = 48
_CUE_SEPARATORS = " \t\n,:;(\"'\u201c\u2018\u2013-"
_CUE_TAIL_RE = re.compile(
    rf"(?:{_RELATIONS}|{'|'.join(TITLES)}|{_RANKS}|is|was|name's|named|called|(?:him|her)self|as"
    r"|chiamo|chiama(?:va)?|chiamat[oa]|nome|è|detto|detta|(?:sig|dott|prof)\.(?:ra|na|ssa)"
    r"|classe|scuola|squadra|friend|person|sitter)\.?",
    re.IGNORECASE,
)
# A known first name that is also a word ("April", "Donna") is a name when it speaks or is spoken to.
# An unknown capitalised word is a name when its age follows ("Jaxon (14)", "Mateo, 16,") or when it owns a
# relative or an account ("Jaxon's dad", "Beth's snap").
_AGE_AFTER_RE = re.compile(r"\s*(?:\(\s*\d{1,2}\s*\)|,\s*\d{1,2}\s*(?:anni|years? old|y/?o)?\s*[,;)])")
_OWNS_RE = re.compile(
    rf"\s+(?:{_RELATIONS}|phone|number|account|profile|snap|insta|instagram|school|room|house|laptop)\b", re.IGNORECASE
)
# Names of organisations and places start like a person's: "Kent Police", "Victoria Station".
_ORGANISATION_TEXT = """
    police constabulary council county hospital station university school college academy club church centre center
    mall park street road avenue lane bank airport court garda polizia questura commissariato tribunale prefettura
    comune regione provincia ospedale stazione chiesa parco banca aeroporto scuola liceo istituto
"""
ORGANISATION_WORDS = frozenset(_ORGANISATION_TEXT.split())
_SPEAKS_RE = re.compile(
    r"\s+(?:told|tells|said|says|asked|asks|rang|called|texted|wrote|explained|reported|admitted|disse|dice"
    r"|racconta|riferisce|ha (?:detto|raccontato|chiamato|scritto|chiesto|spiegato|riferito))\b"
)

_STOP_TEXT = """
    the a an and or but if when while after before then so because as at on in of to for from with by about
    he she they we you i it his her their our your my me him them this that these those there here what who
    yesterday today tomorrow tonight last next every some all no not one two three also just only still
    hi hello dear thanks thank please ok okay yes sorry caller victim mum dad mother father friend police
    said says told asked called rang met sent saw got went wants wanted sa dice disse ha chiesto
    salva invia chiudi apri annulla conferma modifica elimina cerca torna
    il lo la le gli i un una uno e ed o ma se quando mentre dopo prima poi perché come a ad al alla da dal
    della di del dei in nel nella con su sul per tra fra lui lei loro noi voi io suo sua suoi sue mio mia
    ieri oggi domani stasera ciao salve grazie sì si no non anche ancora già ha ho hanno è era sono
    signor signora mamma papà madre padre amico amica vittima ricattatore polizia postale carabinieri
    january february march april may june july august september october november december
    gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre
    monday tuesday wednesday thursday friday saturday sunday
    lunedì martedì mercoledì giovedì venerdì sabato domenica
    instagram insta snapchat snap tiktok telegram whatsapp facebook messenger discord kik roblox fortnite
    minecraft youtube twitter reddit twitch omegle yubo wink hoop threads signal skype xbox playstation steam
    google apple microsoft amazon paypal cash app bitcoin ethereum visa mastercard iphone android
    onlyfans tellonym ngl
    interpol europol ceop nca afp esafety ncmec fbi ncmec childline telefono azzurro meter
    milan milano rome roma turin torino naples napoli florence firenze venice venezia bologna genoa genova
    palermo bari catania verona padua padova trieste brescia parma modena siena pisa lecce italy italia
    london manchester liverpool leeds birmingham bristol glasgow edinburgh cardiff belfast dublin cork
    galway limerick england scotland wales ireland britain uk
    sydney melbourne brisbane perth adelaide hobart darwin canberra victoria queensland tasmania australia
    parramatta penrith geelong newcastle
    new york texas california florida georgia carolina virginia washington chicago boston austin dallas
    houston phoenix denver atlanta america paris france spain madrid berlin germany europe india china
    christmas easter halloween covid god jesus
    street road avenue lane drive via viale piazza corso school college academy liceo istituto scuola
    high primary grammar university università year class anno classe
    case note report ticket helpline hotline support team
    """
STOP_WORDS = frozenset(_STOP_TEXT.split())
# Names that are also words a sentence can start with: names next to a surname, a title or a cue only.
_WORD_NAMES_TEXT = """
    grace faith joy dawn hope chase hunter major king queen prince princess angel baby sky rain star mercy
    patience destiny harmony honey candy sugar summer autumn winter crystal amber ruby pearl ivy daisy holly
    heather violet iris unique precious royal justice liberty journey story bay lake river forest
    bella stella luce sole gioia fortuna speranza fedele felice amore leone mai asia africa perla amato
    ferrari mercedes porsche lexus
"""
WORD_NAMES = frozenset(_WORD_NAMES_TEXT.split())


@cache
def _load(filename: str) -> frozenset[str]:
    lines = (_DATA / filename).read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


@cache
def _gazetteer() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """First names alone, first names needing support, surnames."""
    ambiguous = _load("ambiguous_names.txt") | {word.capitalize() for word in STOP_WORDS | WORD_NAMES}
    first = _load("first_names.txt")
    return first - ambiguous, first & ambiguous, _load("surnames.txt") - ambiguous


def _bare(token: str) -> str:
    return re.sub(r"['\u2019]s$", "", token)


def _runs(text: str) -> Iterator[list[re.Match[str]]]:
    """Runs of capitalised words (and surname particles) separated by a space, or a title's full stop."""
    run: list[re.Match[str]] = []
    for match in _WORD_RE.finditer(text):
        if run:
            gap = text[run[-1].end() : match.start()]
            if not (gap in (" ", "  ") or (gap == ". " and _key(run[-1].group()) in TITLES)):
                yield run
                run = []
        run.append(match)
    if run:
        yield run


def _key(word: str) -> str:
    return word.lower().replace(".", "")


def find_person_names(text: str) -> Iterator[Span]:
    first_alone, first_supported, surnames = _gazetteer()
    for run in _runs(text):
        words = [_bare(m.group()) for m in run]
        index = 0
        # Leading titles and cue words ("Mrs", "Caller", "Mum") cue what follows and are not part of the name.
        while index < len(words) and (_key(words[index]) in TITLES or _is_stop(words[index], first_supported)):
            index += 1
        first_index = index
        while index < len(words):
            start = index
            word = words[index]
            next_word = words[index + 1] if index + 1 < len(words) else ""
            known = (word in first_alone and not _RELATION_RE.fullmatch(word)) or (
                "-" in word and _is_double_first_name(word, first_alone, first_supported)
            )
            is_name = (
                (known and len(word) > 2)
                or (word in first_supported and next_word in surnames)
                or (word in surnames and next_word in first_alone)
                or (start == first_index and _unknown_name_cued(text, run, start, first_supported))
                or (word in first_supported and not next_word and bool(_SPEAKS_RE.match(text, run[start].end())))
            )
            if not is_name or word.lower() in _PARTICLES:
                index += 1
                continue
            end = index + 1
            while end < len(words) and end - start < 4 and words[end].lower() not in STOP_WORDS:
                end += 1
            while end > start + 1 and words[end - 1].lower() in _PARTICLES:
                end -= 1
            if end < len(words) and words[end].lower() in ORGANISATION_WORDS:
                index = end + 1
                continue
            yield ("person_name", run[start].start(), run[end - 1].start() + len(words[end - 1]))
            index = end


def _unknown_name_cued(text: str, run: list[re.Match[str]], start: int, first_supported: frozenset[str]) -> bool:
    """A word no list knows is a name after a cue, before an age, or owning a relative or an account."""
    word = _bare(run[start].group())
    if (word.lower() in STOP_WORDS and word not in first_supported) or _RELATION_RE.fullmatch(word):
        return False
    if _cued(text, run[start].start()):
        return True
    if start + 1 == len(run) or len(run) - start == 2:
        after = run[-1].end()
        if _AGE_AFTER_RE.match(text, after):
            return True
    return run[start].group() != word and bool(_OWNS_RE.match(text, run[start].end()))


def _is_double_first_name(word: str, first_alone: frozenset[str], first_supported: frozenset[str]) -> bool:
    return all(part in first_alone or part in first_supported for part in word.split("-"))


def _cued(text: str, position: int) -> bool:
    # The full search is slow: only run it when the word before could end a cue.
    before = text[max(0, position - _CUE_LOOKBACK) : position].rstrip(_CUE_SEPARATORS).rsplit(None, 1)
    if not before or not _CUE_TAIL_RE.fullmatch(before[-1]):
        return False
    return bool(_CUE_BEFORE_RE.search(text, max(0, position - _CUE_LOOKBACK), position))


def _is_stop(word: str, first_supported: frozenset[str]) -> bool:
    return word.lower() in STOP_WORDS and word not in first_supported
