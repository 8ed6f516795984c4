"""The recognisers for names, schools, national numbers, payments, usernames, plates and odd phone numbers.

Every identifier sits next to a decoy of the same shape (a month beside a name, a number failing its
checksum beside a valid one), so a recogniser that flags the shape instead of the identifier fails.
"""

import json
from pathlib import Path

import pytest

from cases import pii
from cases.pii.keccak import keccak256
from cases.pii.payments import is_bech32_address, is_ethereum_address

CORPUS = Path(__file__).parents[1] / "pii_corpus"


def found(text: str, region: str | None = None) -> list[tuple[str, str]]:
    return [(finding.kind, finding.text) for finding in pii.find_identifiers(text, region=region)]


@pytest.mark.parametrize(
    ("text", "expected", "redacted"),
    [
        # people's names, with places, platforms, agencies and months around them
        (
            "The victim, Giulia Rossi, met him on Instagram in May and lives in Milan.",
            [("person_name", "Giulia Rossi")],
            "The victim, [person's name removed], met him on Instagram in May and lives in Milan.",
        ),
        (
            "Caller Jack Thompson said the Polizia Postale and CEOP were told on Friday.",
            [("person_name", "Jack Thompson")],
            "Caller [person's name removed] said the Polizia Postale and CEOP were told on Friday.",
        ),
        (
            "Sua madre Maria ha chiamato a marzo da Roma.",
            [("person_name", "Maria")],
            "Sua madre [person's name removed] ha chiamato a marzo da Roma.",
        ),
        (
            "My name is Zephyrine, I am 14 and I live near Sydney.",
            [("person_name", "Zephyrine")],
            "My name is [person's name removed], I am 14 and I live near Sydney.",
        ),
        (
            "La ragazza si chiama Aurora, ha 13 anni e usa TikTok.",
            [("person_name", "Aurora")],
            "La ragazza si chiama [person's name removed], ha 13 anni e usa TikTok.",
        ),
        (
            "Mrs Okonkwo rang back. Mr Pemberton-Smythe did not. Sig.ra Bortolotti ha richiamato.",
            [("person_name", "Okonkwo"), ("person_name", "Pemberton-Smythe"), ("person_name", "Bortolotti")],
            "Mrs [person's name removed] rang back. Mr [person's name removed] did not. "
            "Sig.ra [person's name removed] ha richiamato.",
        ),
        (
            "Il compagno di classe Carolina Trapanese ha diffuso le foto in North Carolina.",
            [("person_name", "Carolina Trapanese")],
            "Il compagno di classe [person's name removed] ha diffuso le foto in North Carolina.",
        ),
        (
            "April told the worker it started in April.",
            [("person_name", "April")],
            "[person's name removed] told the worker it started in April.",
        ),
        (
            "Jaxon (14) rang; Jaxon's dad works nights. The boy (14) and the offender's number are not names.",
            [("person_name", "Jaxon"), ("person_name", "Jaxon")],
            "[person's name removed] (14) rang; [person's name removed]'s dad works nights. "
            "The boy (14) and the offender's number are not names.",
        ),
        (
            "DS Ferguson of Kent Police called; Ruby-Rose was there, not at Victoria Station.",
            [("person_name", "Ferguson"), ("person_name", "Ruby-Rose")],
            "DS [person's name removed] of Kent Police called; [person's name removed] was there, "
            "not at Victoria Station.",
        ),
        # schools and clubs, next to the same words without a name
        (
            "She goes to Liceo Scientifico Galileo Galilei; her brother is at the scuola media.",
            [("school", "Liceo Scientifico Galileo Galilei")],
            "She goes to [school or club removed]; her brother is at the scuola media.",
        ),
        (
            "He is in year 9 at Parramatta High School, the best high school around.",
            [("school", "Parramatta High School")],
            "He is in year 9 at [school or club removed], the best high school around.",
        ),
        (
            "St Mary's College and Istituto Comprensivo Via Roma were told; the college was closed.",
            [("school", "St Mary's College"), ("school", "Istituto Comprensivo Via Roma")],
            "[school or club removed] and [school or club removed] were told; the college was closed.",
        ),
        (
            "Gioca nella Polisportiva Virtus e tifa per il calcio; he plays for Leeds United FC.",
            [("school", "Polisportiva Virtus"), ("school", "Leeds United FC")],
            "Gioca nella [school or club removed] e tifa per il calcio; he plays for [school or club removed].",
        ),
        # national identity numbers: valid next to invalid
        (
            "Codice fiscale RSSMRA85T10A562S, non RSSMRA85T10A562X.",
            [("national_id", "RSSMRA85T10A562S")],
            "Codice fiscale [national identity number removed], non RSSMRA85T10A562X.",
        ),
        (
            "NI number AB 12 34 56 C; BG123456C is not one.",
            [("national_id", "AB 12 34 56 C")],
            "NI number [national identity number removed]; BG123456C is not one.",
        ),
        (
            "SSN 536-90-4399, not 000-12-3456.",
            [("national_id", "536-90-4399")],
            "SSN [national identity number removed], not 000-12-3456.",
        ),
        (
            "TFN 123 456 782; the sample TFN 123 456 789 fails.",
            [("national_id", "123 456 782")],
            "TFN [national identity number removed]; the sample TFN 123 456 789 fails.",
        ),
        (
            "Medicare card photo shared in the chat, number 2953 14785 1; another card, number 2953 14786 1.",
            [("national_id", "2953 14785 1")],
            "Medicare card photo shared in the chat, number [national identity number removed]; another card, "
            "number 2953 14786 1.",
        ),
        (
            "Medicare 2428 77813 2, medicare 2428 77814 2.",
            [("national_id", "2428 77813 2")],
            "Medicare [national identity number removed], medicare 2428 77814 2.",
        ),
        # wallets: checksums decide
        (
            "Pay 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 not 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3.",
            [("wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")],
            "Pay [crypto wallet address removed] not 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3.",
        ),
        (
            "Send to bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 or bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5.",
            [("wallet", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")],
            "Send to [crypto wallet address removed] or bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5.",
        ),
        (
            "ETH 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed, typo 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD.",
            [("wallet", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")],
            "ETH [crypto wallet address removed], typo 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD.",
        ),
        # cashtags and PayPal.me: not amounts, not the brand
        (
            "He wants $50, or $5k later, in USD to $darkangel77 on Cash App.",
            [("cashtag", "$darkangel77")],
            "He wants $50, or $5k later, in USD to [Cash App $cashtag removed] on Cash App.",
        ),
        (
            "Not through PayPal itself but paypal.me/quickcash4u.",
            [("paypal", "paypal.me/quickcash4u")],
            "Not through PayPal itself but [PayPal.me link removed].",
        ),
        # usernames after a cue, not the words that usually follow the same cue
        (
            "His snap is ellie.m07 but his insta is private.",
            [("username", "ellie.m07")],
            "His snap is [username removed] but his insta is private.",
        ),
        (
            "telegram: darkangel_77 — then telegram: he wrote again.",
            [("username", "darkangel_77")],
            "telegram: [username removed] — then telegram: he wrote again.",
        ),
        (
            "Her insta is giuly_r_09; the Instagram account was deactivated.",
            [("username", "giuly_r_09")],
            "Her insta is [username removed]; the Instagram account was deactivated.",
        ),
        (
            "kik: lonelyboy2008. Su telegram si fa chiamare lupo_solitario88.",
            [("username", "lonelyboy2008"), ("username", "lupo_solitario88")],
            "kik: [username removed]. Su telegram si fa chiamare [username removed].",
        ),
        (
            # Username-shaped words count in a sentence that names a platform, and only there.
            "In the Roblox chat sk8rboi_syd asked for more (SX2026_01 on the form). His jack07 story came later.",
            [("username", "sk8rboi_syd")],
            "In the Roblox chat [username removed] asked for more (SX2026_01 on the form). His jack07 story came "
            "later.",
        ),
        (
            "Oisín's school is [[Patrician Academy]]; his brother's school has no name here.".replace("[[", "").replace(
                "]]", ""
            ),
            [("person_name", "Oisín"), ("school", "Patrician Academy")],
            "[person's name removed]'s school is [school or club removed]; his brother's school has no name here.",
        ),
        (
            "Usa anche Snapchat: username sara.tvb. His snap was hacked; they changed it to harro_geel0ng.",
            [("username", "sara.tvb"), ("username", "harro_geel0ng")],
            "Usa anche Snapchat: username [username removed]. His snap was hacked; they changed it to "
            "[username removed].",
        ),
        (
            "Asked for Robux worth £40. Fionn goes to Coláiste Iognáid, not to the coláiste in town.",
            [("person_name", "Fionn"), ("school", "Coláiste Iognáid")],
            "Asked for Robux worth £40. [person's name removed] goes to [school or club removed], not to the "
            "coláiste in town.",
        ),
        # lower-case addresses, next to "via" and counts that are not addresses
        (
            "Lives at via roma 12, milano; he wrote via whatsapp 3 volte.",
            [("address", "via roma 12")],
            "Lives at [street address removed], milano; he wrote via whatsapp 3 volte.",
        ),
        (
            "He waited at 14 smith st parramatta, 3 blocks down the road.",
            [("address", "14 smith st")],
            "He waited at [street address removed] parramatta, 3 blocks down the road.",
        ),
        # phone numbers in odd shapes, next to case references, dates and times
        (
            "Chiama dal 347-123-45-67 o dal +39 (347) 1234567; pratica SX-2026-00042 del 12/03/2026 alle 10:30.",
            [("phone", "347-123-45-67"), ("phone", "+39 (347) 1234567")],
            "Chiama dal [phone number removed] o dal [phone number removed]; "
            "pratica SX-2026-00042 del 12/03/2026 alle 10:30.",
        ),
        (
            "Ha dettato tre quattro sette 1234567, poi tre volte 12 messaggi.",
            [("phone", "tre quattro sette 1234567")],
            "Ha dettato [phone number removed], poi tre volte 12 messaggi.",
        ),
        # licence plates: strict shapes, or after a cue
        (
            "Targa AB123CD; AI123CD has letters no plate uses. UK car AB12 CDE, not AB99 CDE.",
            [("plate", "AB123CD"), ("plate", "AB12 CDE")],
            "Targa [licence plate removed]; AI123CD has letters no plate uses. UK car [licence plate removed], "
            "not AB99 CDE.",
        ),
        (
            "They asked for the ute's rego, CXK 92P; the rego is pending for the other car.",
            [("plate", "CXK 92P")],
            "They asked for the ute's rego, [licence plate removed]; the rego is pending for the other car.",
        ),
        (
            "The rego was 1ABC234; the rego is pending for the other car.",
            [("plate", "1ABC234")],
            "The rego was [licence plate removed]; the rego is pending for the other car.",
        ),
    ],
)
def test_found_and_redacted_beside_decoys(text: str, expected: list[tuple[str, str]], redacted: str) -> None:
    findings = pii.find_identifiers(text)
    assert [(finding.kind, finding.text) for finding in findings] == expected
    assert pii.redact(text, findings) == redacted
    assert pii.find_identifiers(redacted) == []


@pytest.mark.parametrize(
    "text",
    [
        "Instagram, Snapchat, TikTok, Telegram, WhatsApp and Discord.",
        "Reported to the Polizia Postale, the Carabinieri, CEOP, the eSafety Commissioner and the FBI.",
        "She lives in Milan, he says he is from London; they met in Sydney, Victoria.",
        "It started in March, got worse in May and stopped in August; a maggio ha smesso.",
        "She is 14, he says he is 17; year 9, terza media.",
        "He asked for $50, then $1,000, then 500 euro and £200.",
        "Case SX-2026-00042, ticket 2024/00123, pratica 20240312.",
        "Called at 10:30, again at 22:15 and at 7pm.",
        "On 12/03/2026 she reported it; on 2026-03-15 he wrote again.",
        "Will she call back? May is a hard month. Grace period ends Monday.",
        "Salva le modifiche. Invia il modulo. Chiudi la pratica.",
        "Nonna ha chiamato. Mai pagato nulla. Mercedes nera fuori da scuola, poi una Ferrari.",
        "The high school and the primary school were told; la scuola media e il liceo anche.",
        "His snap is private, her insta is gone, telegram: he wrote again.",
    ],
)
def test_not_identifiers(text: str) -> None:
    assert pii.find_identifiers(text) == []


def test_a_table_of_digits_holds_no_cards_or_phones() -> None:
    # A table of single digits used to send the card check and the phone matcher over every digit (seconds).
    assert pii.find_identifiers(" ".join("1234567890" * 1000)) == []
    assert pii.find_identifiers("Digits 4111 11 11 1111 1111 are not written like a card.") == []
    assert found("Amex 3782 822463 10005, Visa 4111111111111111.") == [
        ("card", "3782 822463 10005"),
        ("card", "4111111111111111"),
    ]


def test_region_decides_national_phone_numbers() -> None:
    text = "Chiama dal 347 1234567."
    assert found(text, region="IT") == [("phone", "347 1234567")]
    assert found(text, region="GB") == []
    assert found("Call +39 347 1234567.", region="GB") == [("phone", "+39 347 1234567")]
    # A country without a numbering plan of its own reads national numbers as the default regions do.
    assert found(text, region="AQ") == found(text) == [("phone", "347 1234567")]
    # National identity numbers do not depend on the case's country.
    assert found("CF RSSMRA85T10A562S", region="AU") == [("national_id", "RSSMRA85T10A562S")]


def test_keccak_and_eip55() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    # The examples of EIP-55 itself.
    for address in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert is_ethereum_address(address)
        last_letter = max(i for i, c in enumerate(address) if c.isalpha() and i > 1)
        assert not is_ethereum_address(
            address[:last_letter] + address[last_letter].swapcase() + address[last_letter + 1 :]
        )
    assert is_ethereum_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")


def test_bech32_and_bech32m() -> None:
    # BIP 350: version 1 (taproot) needs bech32m; the same program with a bech32 checksum is refused.
    assert is_bech32_address("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")
    assert not is_bech32_address("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd")
    assert is_bech32_address("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3")
    assert not is_bech32_address("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh")


def test_the_corpus_is_labelled_consistently() -> None:
    notes = [
        json.loads(line)
        for part in ("generated", "handwritten")
        for line in (CORPUS / f"{part}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(notes) >= 600
    assert {note["language"] for note in notes} == {"EN", "IT"}
    for note in notes:
        for span in note["spans"]:
            assert span["kind"] in pii.LABELS
            assert note["text"][span["start"] : span["end"]] == span["text"]
