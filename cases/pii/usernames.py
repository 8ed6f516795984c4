"""Usernames written without "@", after a platform or account cue in English or Italian.

"his snap is ellie.m07", "telegram: darkangel_77", "her insta is giuly_r_09", "kik: lonelyboy2008",
"su tiktok si chiama lola_x", "il suo profilo instagram è marco.r.2009". A plain word is a username only
after an explicit "username:"-like cue and when it is not a word the sentence goes on with ("his snap is
private", "telegram: he wrote").
"""

import re
from collections.abc import Iterator

Span = tuple[str, int, int]

_PLATFORMS = (
    r"snap(?:chat)?|insta(?:gram)?|ig|tik ?tok|telegram|tg|kik|discord|whats ?app|facebook|fb|messenger|twitter"
    r"|roblox|steam|xbox|psn|playstation|fortnite|minecraft|epic|skype|wickr|signal|threads|reddit|twitch"
    r"|yubo|wink|hoop|omegle|wizz|hinge|tinder|grindr|bumble|only ?fans|onlyfans|line|wechat|viber|session"
)
_ACCOUNT = (
    r"user(?:name)?|user name|nick(?:name)?|handle|account|profil[eo]|id|gamertag|gamer tag|tag|name|nome(?: utente)?"
)
_CONNECT = (
    r"\s*[:=]\s*|\s+(?:(?:is|was|è|era|=)\s+|(?:called|named|chiamat[oa]|come|as|si (?:fa )?chiama(?:re|va)?"
    r"|calls (?:him|her)self|goes by)\s+)"
    r"|\s+(?=[\w.-]*(?:\d|_|\.\w))"
)
_CUE_RE = re.compile(
    rf"\b(?P<cue>(?:(?:{_PLATFORMS})(?:\s+(?:{_ACCOUNT}))?|(?:{_ACCOUNT})(?:\s+(?:su|on|di|de)\s+(?:{_PLATFORMS}))?))"
    rf"(?P<connect>{_CONNECT})(?:(?:is|è|{_ACCOUNT})(?:\s*[:=]\s*|\s+))*(?P<user>[A-Za-z0-9_][A-Za-z0-9_.-]{{1,29}}[A-Za-z0-9_])(?![\w@]|\.[a-z]{{2,}}\b|/)",
    re.IGNORECASE,
)
# A plain word counts after "username"-like words, or after a platform's name and a colon ("kik: lonelyboy").
_ACCOUNT_WORD_RE = re.compile(r"\b(?:user(?:name)?|nick(?:name)?|handle|(?:gamer ?)?tag|nome utente)\b", re.I)
_PLATFORM_RE = re.compile(rf"(?:{_PLATFORMS})\b", re.I)
_WORDS_TEXT = """
    private public blocked deleted gone closed open new old fake real down active banned hacked locked same his
    her their the a an he she they it him them me my your on in at to from and but or not now still also just
    this that there here what who unknown different another same private lui lei loro il la lo un una privato
    privata bloccato bloccata chiuso chiusa cancellato cancellata falso falsa nuovo nuova vecchio vecchia
    username user nickname handle account profile profilo utente
    ancora anche non che con del della sul sulla ha ho era stato stata ora poi quindi
    """
_WORDS = frozenset(_WORDS_TEXT.split())


def _looks_like_username(user: str) -> bool:
    return any(c.isdigit() or c in "_." for c in user) and not user.replace(".", "").isdigit()


_PLATFORM_MENTION_RE = re.compile(rf"\b(?:{_PLATFORMS}|{_ACCOUNT}|utente|chat)\b", re.IGNORECASE)
_SENTENCE_ENDS = (". ", "! ", "? ", "\n")
# Without a cue right before it, a word is a username only if it could be nothing else: letters with digits
# or an underscore, some lower case, at most 24 characters, in a sentence that names a platform or an account.
_STRONG_USERNAME_RE = re.compile(
    r"(?<![\w@.$#/+-])(?=[\w.]*[a-z])(?=[\w.]*[A-Za-z][\w.]*[A-Za-z][\w.]*[A-Za-z])(?=[\w.]*(?:_|\d\D*\d))"
    r"[A-Za-z][\w.]{3,22}[A-Za-z0-9_](?![\w@]|\.[a-z]{2,}\b|/|-)"
)


def _near_a_platform(text: str) -> Iterator[Span]:
    for match in _STRONG_USERNAME_RE.finditer(text):
        start = max(text.rfind(end, 0, match.start()) for end in _SENTENCE_ENDS) + 1
        ends = [found for end in _SENTENCE_ENDS if (found := text.find(end, match.end())) != -1]
        if _PLATFORM_MENTION_RE.search(text, start, min(ends, default=len(text))):
            yield ("username", match.start(), match.end())


def find_usernames(text: str) -> Iterator[Span]:
    # Both ways need a platform or an account word somewhere in the text.
    if not _PLATFORM_MENTION_RE.search(text):
        return
    yield from _near_a_platform(text)
    for match in _CUE_RE.finditer(text):
        user = match.group("user")
        cue, connect = match.group("cue"), match.group("connect")
        explicit = bool(_ACCOUNT_WORD_RE.search(cue)) or (":" in connect and bool(_PLATFORM_RE.match(cue)))
        if _looks_like_username(user) or (explicit and user.lower() not in _WORDS and len(user) >= 4):
            yield ("username", match.start("user"), match.end("user"))
