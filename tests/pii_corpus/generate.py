"""Write the labelled corpus that `manage.py benchmark_pii` measures the free-text guard on.

    python tests/pii_corpus/generate.py

generated.jsonl: synthetic helpline notes in English and Italian, each a few sentences drawn from templates,
filled with invented values (names from Faker's locales, never real cases; numbers with valid checksums)
and mixed with decoys that must not be flagged (platforms, agencies, places, months, ages, amounts, case
references, times, dates, numbers failing their checksum, "high school" with no name).
handwritten.jsonl: the hard cases in handwritten.txt, written by hand and kept out of the templates, where
[[kind|text]] marks what should be found. blind.jsonl: blind.txt, notes written the same way after the
recognisers were finished and never used to change them.

Each line: {"id", "language", "region", "text", "spans": [{"kind", "start", "end", "text"}]}.
The output is the same on every run (fixed seed), so changes to the corpus show in review.
"""

import hashlib
import json
import random
import re
import string
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from django.conf import settings
from faker import Faker
from stdnum import bitcoin
from stdnum.au import tfn
from stdnum.it import codicefiscale

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[1]))
settings.configure(USE_I18N=False)

from cases.pii.keccak import keccak256  # noqa: E402

NOTES = 720
rng = random.Random(13)  # noqa: S311 (not a secret: a fixed seed keeps the corpus the same)
fakers = {
    region: Faker(locale)
    for region, locale in (("IT", "it_IT"), ("GB", "en_GB"), ("AU", "en_AU"), ("US", "en_US"), ("IE", "en_IE"))
}
for seed, faker in enumerate(fakers.values()):
    faker.seed_instance(seed)


# --- invented values ------------------------------------------------------------------------------------------

SYLLABLES = ["za", "ri", "quel", "mo", "tan", "vek", "lu", "ser", "oph", "bri", "xan", "del", "ka", "vor", "nim"]


def invented_word() -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def first_name(region: str) -> str:
    return fakers[region].first_name()


def full_name(region: str) -> str:
    faker = fakers[region]
    return f"{faker.first_name()} {faker.last_name()}"


def username(region: str) -> str:
    base = re.sub(r"[^a-z]", "", fakers[region].first_name().lower())[:8] or "user"
    return rng.choice(
        [
            f"{base}_{rng.randint(1, 99)}",
            f"{base}.{rng.choice(string.ascii_lowercase)}{rng.randint(0, 9)}{rng.randint(0, 9)}",
            f"{rng.choice(['dark', 'lonely', 'sweet', 'angel', 'king', 'xx'])}{base}{rng.randint(2000, 2012)}",
            f"{base}_{rng.choice(['official', 'real', 'x', 'vip'])}",
            f"{rng.choice(['the', 'mr', 'its'])}.{base}{rng.randint(1, 9)}",
        ]
    )


def phone(region: str) -> str:
    while True:
        if region == "IT":
            digits = f"3{rng.choice('2456789')}{rng.randint(0, 9)}{rng.randint(1000000, 9999999)}"
            shape = rng.choice(
                [
                    f"{digits[:3]} {digits[3:]}",
                    f"{digits[:3]}-{digits[3:6]}-{digits[6:8]}-{digits[8:]}",
                    f"+39 ({digits[:3]}) {digits[3:]}",
                    f"+39 {digits[:3]} {digits[3:6]} {digits[6:]}",
                    f"0039 {digits}",
                    f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
                ]
            )
        elif region == "GB":
            digits = f"07{rng.choice('45789')}{rng.randint(10000000, 99999999)}"
            shape = rng.choice([f"{digits[:5]} {digits[5:]}", f"+44 {digits[1:5]} {digits[5:]}", digits])
        elif region == "AU":
            digits = f"04{rng.randint(10000000, 99999999)}"
            shape = rng.choice(
                [f"{digits[:4]} {digits[4:7]} {digits[7:]}", f"+61 {digits[1:4]} {digits[4:7]} {digits[7:]}"]
            )
        elif region == "IE":
            digits = f"08{rng.choice('35679')}{rng.randint(1000000, 9999999)}"
            shape = rng.choice([f"{digits[:3]} {digits[3:6]} {digits[6:]}", f"+353 {digits[1:3]} {digits[3:]}"])
        else:
            digits = (
                f"{rng.choice(['202', '312', '415', '646', '713'])}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"
            )
            shape = rng.choice(
                [f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"]
            )
        national = "+" + re.sub(r"\D", "", shape).removeprefix("00") if shape.startswith(("+", "00")) else digits
        number = phonenumbers.parse(national, None if national.startswith("+") else region)
        if phonenumbers.is_valid_number(number):
            return shape


WORD_DIGITS = {
    "IT": ["zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"],
    "EN": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
}


def spoken_phone(region: str) -> str:
    shape = phone(region)
    while shape.startswith(("+", "00")):
        shape = phone(region)
    digits = re.sub(r"\D", "", shape)
    words = WORD_DIGITS["IT" if region == "IT" else "EN"]
    head = " ".join(words[int(d)] for d in digits[:3])
    return f"{head} {digits[3:6]} {digits[6:]}"


def email(region: str) -> str:
    faker = fakers[region]
    user = re.sub(r"[^a-z.]", "", f"{faker.first_name()}.{faker.last_name()}".lower())
    domain = rng.choice(["gmail.com", "hotmail.it", "outlook.com", "libero.it", "yahoo.co.uk"])
    return f"{user}{rng.randint(1, 99)}@{domain}"


def link(region: str) -> str:
    host = rng.choice(["instagram.com", "tiktok.com/@", "t.me", "facebook.com", "snapchat.com/add"])
    return f"{rng.choice(['', 'https://', 'https://www.'])}{host}{'' if host.endswith('@') else '/'}{username(region)}"


def handle(region: str) -> str:
    return "@" + username(region)


def street_address(region: str) -> str:
    faker = fakers[region]
    if region == "IT":
        street = rng.choice([faker.last_name(), f"{faker.first_name()} {faker.last_name()}", "Roma", "Garibaldi"])
        kind = rng.choice(["via", "Via", "viale", "piazza", "corso"])
        text = f"{kind} {street} {rng.randint(1, 180)}"
        return text.lower() if rng.random() < 0.4 else text
    street = (
        f"{faker.last_name()} {rng.choice(['Street', 'Road', 'Avenue', 'Lane', 'St', 'Rd', 'Crescent', 'Terrace'])}"
    )
    text = f"{rng.randint(1, 300)} {street}"
    return text.lower() if rng.random() < 0.4 else text


def school(region: str) -> str:
    faker = fakers[region]
    if region == "IT":
        return rng.choice(
            [
                f"Liceo {rng.choice(['Scientifico', 'Classico', 'Linguistico', 'Artistico'])} {full_name('IT')}",
                f"Istituto Comprensivo {faker.last_name()}",
                f"Istituto Comprensivo Via {faker.last_name()}",
                f"Scuola media {full_name('IT')}",
                f"scuola media statale {faker.last_name()}",
                f"ITIS {full_name('IT')}",
                f"Istituto Tecnico {faker.last_name()}",
                f"Polisportiva {invented_word()}",
                f"A.S.D. {invented_word()} Calcio",
                f"Liceo {faker.last_name()}",
            ]
        )
    place = rng.choice([faker.last_name(), faker.city().split()[0], invented_word()])
    return rng.choice(
        [
            f"{place} High School",
            f"{place} Primary School",
            f"St {rng.choice(['Mary', 'Joseph', 'Patrick', 'Anne', 'Columba', 'Brigid'])}'s College",
            f"{place} Grammar School",
            f"{place} Academy",
            f"{place} Secondary College",
            f"{place} FC",
            f"{place} Rugby Club",
            f"{place} Swimming Club",
        ]
    )


def codice_fiscale() -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
    day = rng.randint(1, 28) + rng.choice([0, 40])  # women's codes add 40 to the day
    body = f"{letters}{rng.randint(70, 99)}{rng.choice('ABCDEHLMPRST')}{day:02d}"
    body += f"{rng.choice('ABCDEFGHILMZ')}{rng.randint(100, 999)}"
    return body + codicefiscale.calc_check_digit(body)


def nino() -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits = f"{rng.randint(0, 999999):06d}"
    text = f"{first}{second}{digits}{rng.choice('ABCD')}"
    if text[:2] in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
        return nino()
    return rng.choice([text, f"{text[:2]} {digits[:2]} {digits[2:4]} {digits[4:]} {text[-1]}"])


def ssn() -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def tax_file_number() -> str:
    while True:
        digits = f"{rng.randint(10000000, 99999999)}{rng.randint(0, 9)}"
        if tfn.is_valid(digits):
            return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def medicare() -> str:
    digits = [rng.randint(2, 6), *(rng.randint(0, 9) for _ in range(7))]
    check = sum(d * w for d, w in zip(digits, (1, 3, 7, 9, 1, 3, 7, 9), strict=True)) % 10
    text = "".join(map(str, digits)) + str(check) + str(rng.randint(1, 9))
    return f"{text[:4]} {text[4:9]} {text[9]}"


BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def base58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def bech32_address(version: int, program: bytes) -> str:
    bits, acc, values = 0, 0, [version]
    for byte in program:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            values.append((acc >> bits) & 31)
    if bits:
        values.append((acc << (5 - bits)) & 31)
    constant = 1 if version == 0 else 0x2BC830A3
    polymod = bitcoin.bech32_checksum([3, 3, 0, 2, 3, *values, 0, 0, 0, 0, 0, 0]) ^ constant
    values += [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return "bc1" + "".join(BECH32[v] for v in values)


def wallet(region: str) -> str:
    choice = rng.random()
    if choice < 0.35:
        return base58check(bytes([rng.choice([0, 5])]) + rng.randbytes(20))
    if choice < 0.55:
        return bech32_address(0, rng.randbytes(rng.choice([20, 32])))
    if choice < 0.65:
        return bech32_address(1, rng.randbytes(32))
    digits = rng.randbytes(20).hex()
    if rng.random() < 0.3:
        return "0x" + digits
    hashed = keccak256(digits.encode()).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(h, 16) >= 8 else c for c, h in zip(digits, hashed, strict=False)
    )


def cashtag(region: str) -> str:
    return "$" + re.sub(r"[^A-Za-z0-9_]", "", username(region))[:20]


def paypal(region: str) -> str:
    prefix = rng.choice(["", "https://", "www.", "https://www."])
    return f"{prefix}paypal.me/{re.sub(r'[^A-Za-z0-9]', '', username(region))}"


def pick(letters: str, count: int) -> str:
    return "".join(rng.choice(letters) for _ in range(count))


def plate(region: str) -> str:
    letters = "ABCDEFGHJKLMNPRSTVWXYZ"
    if region == "IT":
        text = f"{pick(letters, 2)}{rng.randint(100, 999)}{pick(letters, 2)}"
        return rng.choice([text, f"{text[:2]} {text[2:5]} {text[5:]}"])
    if region == "GB":
        age = rng.choice([rng.randint(2, 24), rng.randint(51, 74)])
        return f"{rng.choice(letters)}{rng.choice(letters)}{age:02d} {''.join(rng.choice(letters) for _ in range(3))}"
    return rng.choice(
        [
            f"{''.join(rng.choice(letters) for _ in range(3))}-{rng.randint(100, 999)}",
            f"{rng.randint(1, 9)}{''.join(rng.choice(letters) for _ in range(3))}{rng.randint(100, 999)}",
            f"{pick(letters, 2)}{rng.randint(10, 99)}{pick(letters, 2)}",
        ]
    )


def date_of_birth(region: str) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2007, 2014)
    months_it = [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ]
    months_en = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    if region == "IT":
        return rng.choice([f"{day} {months_it[month - 1]} {year}", f"{day:02d}/{month:02d}/{year}"])
    return rng.choice([f"{day} {months_en[month - 1]} {year}", f"{day:02d}/{month:02d}/{year}"])


VALUES: dict[str, Callable[[str], str]] = {
    "name": full_name,
    "first": first_name,
    "invented": lambda region: invented_word(),
    "phone": phone,
    "spoken_phone": spoken_phone,
    "email": email,
    "link": link,
    "handle": handle,
    "address": street_address,
    "school": school,
    "cf": lambda region: codice_fiscale(),
    "nino": lambda region: nino(),
    "ssn": lambda region: ssn(),
    "tfn": lambda region: tax_file_number(),
    "medicare": lambda region: medicare(),
    "wallet": wallet,
    "cashtag": cashtag,
    "paypal": paypal,
    "user": username,
    "plate": plate,
    "dob": date_of_birth,
}
KIND_OF = {
    "name": "person_name",
    "first": "person_name",
    "invented": "person_name",
    "spoken_phone": "phone",
    "cf": "national_id",
    "nino": "national_id",
    "ssn": "national_id",
    "tfn": "national_id",
    "medicare": "national_id",
    "user": "username",
    "dob": "date_of_birth",
}

# --- decoys: look like identifiers, are not ----------------------------------------------------------------------


def invalid_wallet(region: str) -> str:
    text = wallet(region)
    if text.startswith("0x"):
        # Only a mixed-case address carries a checksum: flip the case of one of its letters.
        while text[2:].islower():
            text = wallet(region) if rng.random() < 0.5 else text
        position = next(i for i in range(len(text) - 1, 1, -1) if text[i].isalpha())
        return text[:position] + text[position].swapcase() + text[position + 1 :]
    position = rng.randint(5, len(text) - 2)
    replacement = rng.choice([c for c in "23456789" if c != text[position]])
    return text[:position] + replacement + text[position + 1 :]


def invalid_codice_fiscale(region: str) -> str:
    text = codice_fiscale()
    return text[:-1] + rng.choice([c for c in string.ascii_uppercase if c != text[-1]])


DECOY_VALUES: dict[str, Callable[[str], str]] = {
    "age": lambda region: str(rng.randint(11, 17)),
    "amount": lambda region: rng.choice(["500", "1.200", "50", "300", "2,000", "150"]),
    "dollars": lambda region: f"${rng.choice([50, 100, 250, 500, 1000])}",
    "reference": lambda region: f"SX-{rng.randint(2024, 2026)}-{rng.randint(1, 99999):05d}",
    "time": lambda region: f"{rng.randint(7, 23)}:{rng.choice(['00', '15', '30', '45'])}",
    "date": lambda region: f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2026",
    "count": lambda region: str(rng.randint(2, 40)),
    "platform": lambda region: rng.choice(
        ["Instagram", "Snapchat", "TikTok", "Telegram", "WhatsApp", "Discord", "Kik", "Roblox"]
    ),
    "city": lambda region: rng.choice(
        {
            "IT": ["Milano", "Roma", "Torino", "Napoli", "Bari", "Firenze"],
            "GB": ["Leeds", "London", "Manchester"],
            "AU": ["Sydney", "Melbourne", "Perth", "Parramatta"],
            "US": ["Chicago", "Houston", "Boston"],
            "IE": ["Dublin", "Cork", "Galway"],
        }[region]
    ),
    "bad_wallet": invalid_wallet,
    "bad_cf": invalid_codice_fiscale,
    "bad_ssn": lambda region: f"{rng.choice(['000', '666', '900'])}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
    "bad_card": lambda region: "4111 1111 1111 1112",
    "bad_tfn": lambda region: "123 456 789",
    "month": lambda region: rng.choice(["March", "May", "June", "August", "marzo", "maggio", "giugno"]),
    "year": lambda region: str(rng.choice([7, 8, 9, 10])),
}

EN = {
    "labelled": [
        "The victim, {name}, is {~age} and lives with her mum.",
        "Caller {name} said her son had been contacted on {~platform}.",
        "{first} told the worker that the man first wrote to her in {~month}.",
        "His mother {first} rang back at {~time}.",
        "The boy's teacher, {name}, noticed he was withdrawn.",
        "She goes to {school} in {~city}, year {~year}.",
        "He plays for {school} on Saturdays.",
        "Her classmate {name} shared the photos in a group chat.",
        "My name is {invented} and I am scared, she wrote.",
        "Mr {name} is the child's stepfather.",
        "The offender's snap is {user} and he has other accounts.",
        "telegram: {user}",
        "her insta is {user}, she blocked him after {~count} messages.",
        "kik: {user}",
        "He moved the chat to discord, username {user}.",
        "He demanded payment to {wallet} within {~count} hours.",
        "The second wallet he sent was {wallet}.",
        "He asked for ${~amount} in gift cards or to {cashtag} on Cash App.",
        "He sent a PayPal link, {paypal}, and asked for £{~amount}.",
        "He texted from {phone} late at night.",
        "The number he used was {spoken_phone}, she read it out.",
        "She also got calls from {phone}.",
        "He wrote to {email} asking for more pictures.",
        "The profile is {link} and it is still up.",
        "On Instagram he is {handle}.",
        "He knows she lives at {address}.",
        "The car was parked outside, plate {plate}.",
        "She was born on {dob}.",
        "Mum read out his NI number {nino} for the police report.",
        "His SSN is {ssn}, the caller said.",
        "She gave her TFN {tfn} to the fake employer.",
        "The Medicare card number {medicare} was in the photo.",
    ],
    "decoys": [
        "Case {~reference} was opened at {~time} on {~date}.",
        "She is {~age} and in year {~year}.",
        "He asked for {~dollars}, then {~dollars} more.",
        "Referred to the eSafety Commissioner and the police in {~city}.",
        "She has used {~platform} since she was {~age}.",
        "The wallet he gave, {~bad_wallet}, does not match any exchange.",
        "A code on the screenshot reads {~bad_cf}.",
        "The number {~bad_ssn} on the form is not a real SSN.",
        "The card ending 1112 ({~bad_card}) was declined.",
        "A reference 123 456 789 appears on the letter.",
        "His snap is private and his insta is gone.",
        "telegram: he wrote again at {~time}.",
        "She changed high school last year and the new college is better.",
        "It happened 3 blocks down the road, a 10 minute drive from home.",
        "He contacted her via {~platform} {~count} times in {~month}.",
        "She paid {~dollars} in {~month}, worried about her GCSEs.",
        "The Australian Federal Police and CEOP were informed.",
        "Her mum will call back tomorrow; May is a hard month for her.",
    ],
}
IT = {
    "labelled": [
        "La vittima, {name}, ha {~age} anni e vive con la madre.",
        "Ha chiamato {name}, la zia della ragazza.",
        "Sua madre {first} ha richiamato alle {~time}.",
        "La ragazza si chiama {first} e frequenta il {school}.",
        "Frequenta la {school} a {~city}.",
        "Gioca nella {school} il sabato.",
        "Il compagno di classe {name} ha diffuso le foto.",
        "Il padre, sig. {name}, vuole sporgere denuncia.",
        "Il ragazzo ha detto: mi chiamo {invented} e non so cosa fare.",
        "Il suo snap è {user}, l'ha bloccato dopo {~count} messaggi.",
        "Su telegram si chiama {user}.",
        "profilo instagram: {user}",
        "Nickname su tiktok {user}, secondo la madre.",
        "Chiede il pagamento sul portafoglio {wallet} entro {~count} ore.",
        "Ha mandato il link {paypal} per il pagamento di {~amount} euro.",
        "Il numero da cui scrive è {phone}.",
        "Ha dettato il numero {spoken_phone} al telefono.",
        "Ha scritto anche dal {phone} di notte.",
        "La mail del ricattatore è {email}.",
        "Il profilo è {link}.",
        "Su Instagram il ricattatore è {handle}.",
        "Sa che la ragazza abita in {address}.",
        "L'auto aveva la targa {plate}, visibile nel video.",
        "È nata il {dob}.",
        "La madre ha letto il codice fiscale {cf} per la denuncia.",
    ],
    "decoys": [
        "Pratica {~reference} aperta alle {~time} del {~date}.",
        "Ha {~age} anni e frequenta la terza media.",
        "Ha chiesto {~amount} euro, poi altri {~amount} €.",
        "Segnalato alla Polizia Postale di {~city} e al Telefono Azzurro.",
        "Usa {~platform} da quando aveva {~age} anni.",
        "Il portafoglio {~bad_wallet} indicato non è valido.",
        "Sul modulo c'è il codice {~bad_cf}, che non torna.",
        "Il suo profilo è privato e il suo snap è chiuso.",
        "L'ha contattata via {~platform} {~count} volte a {~month}.",
        "La scuola media è vicina a casa, il liceo no.",
        "Ha pagato {~amount} euro a {~month} con una ricarica.",
        "Si sono sentiti per {~count} giorni, poi basta.",
        "La mamma richiamerà domani alle {~time}.",
    ],
}
REGIONS = {"EN": ["GB", "AU", "US", "IE"], "IT": ["IT"]}
SLOT_RE = re.compile(r"\{(~?)(\w+)\}")


def fill(template: str, region: str) -> tuple[str, list[dict[str, Any]]]:
    text, spans, position = "", [], 0
    for match in SLOT_RE.finditer(template):
        text += template[position : match.start()]
        decoy, slot = match.groups()
        value = (DECOY_VALUES if decoy else VALUES)[slot](region)
        if not decoy:
            spans.append(
                {"kind": KIND_OF.get(slot, slot), "start": len(text), "end": len(text) + len(value), "text": value}
            )
        text += value
        position = match.end()
    return text + template[position:], spans


def note(number: int) -> dict[str, Any]:
    language = "IT" if number % 2 else "EN"
    templates = IT if language == "IT" else EN
    region = rng.choice(REGIONS[language])
    if language == "EN" and rng.random() < 0.15:
        # English notes from Italian cases (the helpline works in both languages) keep the Italian region.
        region = "IT"
    sentences = [
        *rng.sample(templates["labelled"], rng.randint(2, 4)),
        *rng.sample(templates["decoys"], rng.randint(1, 3)),
    ]
    rng.shuffle(sentences)
    text, spans = "", []
    for sentence in sentences:
        filled, sentence_spans = fill(sentence, region)
        offset = len(text) + (1 if text else 0)
        text += (" " if text else "") + filled
        spans += [{**span, "start": span["start"] + offset, "end": span["end"] + offset} for span in sentence_spans]
    return {"id": f"g{number:04d}", "language": language, "region": region, "text": text, "spans": spans}


MARK_RE = re.compile(r"\[\[(\w+)\|(.+?)\]\]")


def handwritten(name: str, prefix: str) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    lines = (HERE / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        header, marked = line.split(" ", 1)
        language, region = header.split("/")
        text, spans, position = "", [], 0
        for match in MARK_RE.finditer(marked):
            text += marked[position : match.start()]
            kind, value = match.groups()
            spans.append({"kind": kind, "start": len(text), "end": len(text) + len(value), "text": value})
            text += value
            position = match.end()
        notes.append(
            {
                "id": f"{prefix}{len(notes) + 1:03d}",
                "language": language,
                "region": region,
                "text": text + marked[position:],
                "spans": spans,
            }
        )
    return notes


def write(path: Path, notes: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notes), encoding="utf-8")


if __name__ == "__main__":
    write(HERE / "generated.jsonl", [note(number) for number in range(NOTES)])
    write(HERE / "handwritten.jsonl", handwritten("handwritten", "h"))
    write(HERE / "blind.jsonl", handwritten("blind", "b"))
