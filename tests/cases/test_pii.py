"""Detection and redaction of identifying details in free text (no database needed)."""

import itertools

import pytest

from cases.pii import LABELS, Finding, find_identifiers, redact

NATIONAL_PHONES = [
    # Italy
    "333 123 4567",
    "+39 333 1234567",
    "06 1234 5678",
    "0039 333 1234567",
    # United Kingdom
    "07700 900123",
    "+44 7700 900123",
    "020 7946 0018",
    # Australia
    "0412 345 678",
    "+61 412 345 678",
    "(02) 9876 5432",
    # United States
    "(202) 555-0143",
    "+1 202-555-0143",
]


def kinds_and_texts(text: str) -> list[tuple[str, str]]:
    return [(finding.kind, finding.text) for finding in find_identifiers(text)]


@pytest.mark.parametrize("number", NATIONAL_PHONES)
@pytest.mark.parametrize(
    "template",
    ["He texted her from {} last night.", "Il ragazzo ha scritto dal numero {} ieri sera."],
)
def test_phone_formats_found(template: str, number: str) -> None:
    assert kinds_and_texts(template.format(number)) == [("phone", number)]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        # phone
        ("She says the man kept calling 07700 900123 after school.", "phone", "07700 900123"),
        ("La madre riferisce chiamate dal +39 333 1234567, anche di notte.", "phone", "+39 333 1234567"),
        ("Numero fisso del padre: 06-1234-5678.", "phone", "06-1234-5678"),
        # email
        (
            "He asked her to write to mario.rossi+help@mail.example.co.uk instead.",
            "email",
            "mario.rossi+help@mail.example.co.uk",
        ),
        ("Ha ricevuto una mail da anna_b@gmail.com con le foto.", "email", "anna_b@gmail.com"),
        # link
        ("The account is instagram.com/someone_fake and it is still up.", "link", "instagram.com/someone_fake"),
        ("He moved the chat to t.me/xyz.", "link", "t.me/xyz"),
        ("Gli ha mandato il link wa.me/393331234567 per parlare.", "link", "wa.me/393331234567"),
        ("They met on discord.gg/abc last month.", "link", "discord.gg/abc"),
        (
            "The video was posted at https://example.org/v?id=42, the caller said.",
            "link",
            "https://example.org/v?id=42",
        ),
        ("Ha trovato il profilo su www.sito-esempio.it (poi rimosso).", "link", "www.sito-esempio.it"),
        # handle
        ("On Snapchat he is @dark_user99 and he keeps asking for more.", "handle", "@dark_user99"),
        ("Su TikTok il profilo è @user.name_1.", "handle", "@user.name_1"),
        # address
        ("The boy lives at 12 High Street with his aunt.", "address", "12 High Street"),
        ("Meeting proposed at 221B Baker Street tomorrow.", "address", "221B Baker Street"),
        ("Her address is Flat 3, 14 Church Road, near the station.", "address", "Flat 3, 14 Church Road"),
        ("La ragazza abita in via Roma 12 con la nonna.", "address", "via Roma 12"),
        ("Indirizzo: Via Giuseppe Garibaldi, 5, Torino.", "address", "Via Giuseppe Garibaldi, 5"),
        ("L'appuntamento era in piazza Navona 3.", "address", "piazza Navona 3"),
        ("Vive in corso Italia 10/A al secondo piano.", "address", "corso Italia 10/A"),
        ("Il ricattatore conosce l'indirizzo, viale dei Mille 7.", "address", "viale dei Mille 7"),
        # iban
        (
            "He demanded payment to IT60 X054 2811 1010 0000 0123 456 by Friday.",
            "iban",
            "IT60 X054 2811 1010 0000 0123 456",
        ),
        ("Bonifico richiesto sul conto GB82WEST12345698765432.", "iban", "GB82WEST12345698765432"),
        # card
        ("She paid with her mum's card 4111 1111 1111 1111 twice.", "card", "4111 1111 1111 1111"),
        ("Ha usato la carta 5500-0000-0000-0004 del padre.", "card", "5500-0000-0000-0004"),
        # date_of_birth
        ("The child was born on 3 March 2011 in Leeds.", "date_of_birth", "3 March 2011"),
        ("DOB: 03/03/2011.", "date_of_birth", "03/03/2011"),
        ("Her birthday is March 3, 2011, she said.", "date_of_birth", "March 3, 2011"),
        ("È nata il 3 marzo 2011 a Bari.", "date_of_birth", "3 marzo 2011"),
        ("Nato a Roma il 12.05.2010.", "date_of_birth", "12.05.2010"),
        ("Data di nascita 2011-03-03.", "date_of_birth", "2011-03-03"),
        ("Il compleanno è il 3 marzo 2011.", "date_of_birth", "3 marzo 2011"),
    ],
)
def test_each_kind_found(text: str, kind: str, expected: str) -> None:
    assert kinds_and_texts(text) == [(kind, expected)]


@pytest.mark.parametrize(
    "text",
    [
        "It started in 2024, when she joined Instagram.",
        "She is 14 and in year 9.",
        "He paid 500 euros and then another € 1.200 the next day.",
        "Ha pagato 1.200.000 lire? No, 300€ in tutto.",
        "The call lasted from 10:30 to 11:45.",
        "He sent 3 messages, then 12 more, then 40 photos.",
        "Sono passati 2 giorni, dal 2019 al 2024 nessun contatto.",
        "Case reference 2024/00123, ticket 20240312.",
        "Chiamare il 114 o il 116 111 per supporto.",
        "On 12/03/2024 she called again; on 2024-03-15 she emailed.",
        "Met on 03.03.2011 at the park.",
        "She was born in Rome. On 12/03/2024 he called.",
        "He contacted her via Instagram 3 times.",
        "Her house is 3 blocks down the road, a 10 minute drive.",
        "She said it.It was bad, e.g. the threats, i.e. the photos.",
        "See you @5pm or @10:30.",
        "A random 16-digit number 1234 5678 9012 3456 is not a card.",
        "Not an IBAN: IT60 X054 2811 1010 0000 0123 457.",
    ],
)
def test_ordinary_text_not_flagged(text: str) -> None:
    assert find_identifiers(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The e-mail wins over the "@example" that looks like a handle.
        ("Write to anna@example.com now.", [("email", "anna@example.com")]),
        # The link wins over the handle and the phone number inside it.
        ("Profile: https://www.instagram.com/@someone/ ok", [("link", "https://www.instagram.com/@someone/")]),
        ("Chat: wa.me/393331234567", [("link", "wa.me/393331234567")]),
        # The date of birth wins over the "phone number" some regions see in a dotted date.
        ("born 03.03.2011", [("date_of_birth", "03.03.2011")]),
        # The IBAN wins over the card-like digits inside it; two IBANs in a row are both found.
        (
            "IBAN IT60 X054 2811 1010 0000 0123 456 and GB82WEST12345698765432 ok",
            [("iban", "IT60 X054 2811 1010 0000 0123 456"), ("iban", "GB82WEST12345698765432")],
        ),
        # A number after a card is not swallowed into it.
        ("card 4111 1111 1111 1111 12 times", [("card", "4111 1111 1111 1111")]),
        # The same number found in several regions is reported once.
        ("Call +39 333 1234567.", [("phone", "+39 333 1234567")]),
    ],
)
def test_overlaps_resolved(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds_and_texts(text) == expected


def test_regions_restrict_national_formats() -> None:
    assert kinds_and_texts("Call (202) 555-0143.") == [("phone", "(202) 555-0143")]
    assert find_identifiers("Call (202) 555-0143.", region="IT") == []
    assert kinds_and_texts("Call (202) 555-0143.") == [("phone", "(202) 555-0143")]
    assert kinds_and_texts("Chiamare +1 202-555-0143.") == [("phone", "+1 202-555-0143")]


MIXED = (
    "Il 12/03/2024 la madre (nata il 3 marzo 1980) ha chiamato dal 333 123 4567: il ragazzo, 14 anni, "
    "abita in via Roma 12 e il ricattatore, @dark_user99 su instagram.com/dark_user99, vuole 500 euro "
    "sull'IBAN IT60 X054 2811 1010 0000 0123 456 o sulla carta 4111 1111 1111 1111; "
    "scrive da mario.rossi@example.com e chiama dal +44 7700 900123."
)


def test_findings_in_order_with_correct_offsets() -> None:
    findings = find_identifiers(MIXED)
    assert [finding.kind for finding in findings] == [
        "date_of_birth",
        "phone",
        "address",
        "handle",
        "link",
        "iban",
        "card",
        "email",
        "phone",
    ]
    for finding in findings:
        assert MIXED[finding.start : finding.end] == finding.text
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_labels() -> None:
    assert {kind: Finding(kind, 0, 1, "x").label for kind in LABELS} == {
        "phone": "phone number",
        "email": "e-mail address",
        "link": "link",
        "handle": "@handle",
        "address": "street address",
        "iban": "bank account (IBAN)",
        "card": "card number",
        "date_of_birth": "date of birth",
        "national_id": "national identity number",
        "wallet": "crypto wallet address",
        "paypal": "PayPal.me link",
        "cashtag": "Cash App $cashtag",
        "school": "school or club",
        "person_name": "person's name",
        "plate": "licence plate",
        "username": "username",
    }


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("phone", "+39 333 1234567", True),
        ("email", "anna@example.com", True),
        ("handle", "@dark_user99", True),
        ("username", "darkangel_77", True),
        ("wallet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", True),
        ("cashtag", "$darkangel", True),
        ("paypal", "paypal.me/darkangel", True),
        ("link", "instagram.com/dark_user99", True),
        ("link", "https://www.tiktok.com/@dark_user99", True),
        ("link", "https://example.org/v?id=42", False),
        ("link", "instagram.com", False),
        ("person_name", "Giulia Rossi", False),
        ("address", "via Roma 12", False),
        ("date_of_birth", "3 March 2011", False),
    ],
)
def test_offender_candidate(kind: str, text: str, expected: bool) -> None:
    assert Finding(kind, 0, len(text), text).offender_candidate is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "She was born on 3 March 2011 and he texted 07700 900123, asking her to write to x.y@mail.com.",
            "She was born on [date of birth removed] and he texted [phone number removed], "
            "asking her to write to [e-mail address removed].",
        ),
        (
            "Il ricattatore (@dark_user99) sa che abita in via Roma 12 "
            "e vuole soldi su IT60 X054 2811 1010 0000 0123 456!",
            "Il ricattatore ([@handle removed]) sa che abita in [street address removed] "
            "e vuole soldi su [bank account (IBAN) removed]!",
        ),
        (
            "See https://example.org/a?b=1. Then pay with 4111-1111-1111-1111.",
            "See [link removed]. Then pay with [card number removed].",
        ),
    ],
)
def test_redact_exact_output(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_with_chosen_findings() -> None:
    text = "Call 333 123 4567 or write to anna@example.com."
    phone, email = find_identifiers(text)
    assert redact(text, [email]) == "Call 333 123 4567 or write to [e-mail address removed]."
    assert redact(text, [email, phone]) == "Call [phone number removed] or write to [e-mail address removed]."
    assert redact(text, []) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "She is 14. He asked for 500 euros on 12/03/2024 at 10:30 and she paid 3 times.",
        "La ragazza ha 15 anni e ha ricevuto 20 messaggi in 2 giorni.",
    ],
)
def test_redact_without_identifiers_returns_text_unchanged(text: str) -> None:
    assert redact(text) == text


EXAMPLES = [
    *NATIONAL_PHONES,
    "mario.rossi+help@mail.example.co.uk",
    "anna@example.com",
    "instagram.com/someone",
    "t.me/xyz",
    "wa.me/393331234567",
    "discord.gg/abc",
    "https://example.org/v?id=42",
    "www.example.com",
    "@dark_user99",
    "12 High Street",
    "221B Baker Street",
    "Flat 3, 14 Church Road",
    "via Roma 12",
    "Via Giuseppe Garibaldi, 5",
    "piazza Navona 3",
    "corso Italia 10/A",
    "IT60 X054 2811 1010 0000 0123 456",
    "GB82WEST12345698765432",
    "4111 1111 1111 1111",
]
TEMPLATES = [
    "{}",
    "The caller mentioned {} twice.",
    "Nota: {}, poi ha riattaccato.",
    "({})",
    "{} and {}",
    "Since 2024 she is 14 and paid 500 euros; details: {}.",
]
DATES_OF_BIRTH = ["born on {}", "DOB: {}", "nata il {}", "data di nascita {}"]
DATES = ["3 March 2011", "03/03/2011", "3 marzo 2011", "2011-03-03", "03.03.2011"]


def generated_sentences() -> list[str]:
    sentences = [template.format(*[example] * template.count("{}")) for template in TEMPLATES for example in EXAMPLES]
    sentences += [
        template.format(prefix.format(date), example)
        for template in ("{}. Then {}.", "{}, {}")
        for prefix, date, example in itertools.product(DATES_OF_BIRTH, DATES, EXAMPLES[::4])
    ]
    return sentences


def test_nothing_left_after_redaction() -> None:
    sentences = generated_sentences()
    assert len(sentences) > 400
    leftovers = {sentence: find_identifiers(redact(sentence)) for sentence in sentences}
    assert {sentence: found for sentence, found in leftovers.items() if found} == {}
    assert all("removed]" in redact(sentence) for sentence in sentences)
