"""Where money is asked to go: crypto wallets (with their checksums), Cash App $cashtags, PayPal.me links.

Bitcoin: base58check (python-stdnum) and bech32 / bech32m (BIP 173 / BIP 350: version 0 with bech32, later
versions with bech32m). Ethereum: 0x and 40 hex digits; mixed case must carry the EIP-55 checksum, all
lower or upper case has none to check. A $cashtag starts with a letter, so "$50" stays an amount.
"""

import re
from collections.abc import Iterator

from stdnum import bitcoin

from cases.pii.keccak import keccak256

Span = tuple[str, int, int]

_BASE58_RE = re.compile(r"(?<![\w$])[13][1-9A-HJ-NP-Za-km-z]{25,34}(?!\w)")
_BECH32_RE = re.compile(r"(?<![\w$])(?:bc1[02-9ac-hj-np-z]{8,87}|BC1[02-9AC-HJ-NP-Z]{8,87})(?!\w)")
_ETHEREUM_RE = re.compile(r"(?<![\w$])0x[0-9a-fA-F]{40}(?!\w)")
_CASHTAG_RE = re.compile(r"(?<![\w$])\$[A-Za-z][A-Za-z0-9_]{0,19}(?![\w$])")
_CURRENCIES = frozenset({"usd", "aud", "cad", "nzd", "eur", "gbp", "us", "au", "ca", "nz", "hk", "sgd", "mxn"})
_PAYPAL_RE = re.compile(
    r"(?<![\w./])(?:https?://)?(?:www\.)?(?:paypal\.me|paypal\.com/paypalme)/[A-Za-z0-9_.-]*[A-Za-z0-9_]",
    re.IGNORECASE,
)
_BECH32_ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONSTANT = 0x2BC830A3


def is_bech32_address(address: str) -> bool:
    address = address.lower()
    data = [_BECH32_ALPHABET.index(c) for c in address[3:]]
    if not 14 <= len(address) <= 90 or data[0] > 16:
        return False
    constant = 1 if data[0] == 0 else _BECH32M_CONSTANT
    if bitcoin.bech32_checksum([3, 3, 0, 2, 3, *data]) != constant:  # "bc" expanded as BIP 173 does
        return False
    program = bitcoin.b32decode(data[1:-6])
    return 2 <= len(program) <= 40 and (data[0] != 0 or len(program) in (20, 32))


def is_ethereum_address(address: str) -> bool:
    digits = address[2:]
    if digits.islower() or digits.isupper() or digits.isdigit():
        return True
    hashed = keccak256(digits.lower().encode()).hex()
    return all(c.isdigit() or c.isupper() == (int(h, 16) >= 8) for c, h in zip(digits, hashed, strict=False))


def find_payments(text: str) -> Iterator[Span]:
    for match in _BASE58_RE.finditer(text):
        if bitcoin.is_valid(match.group()):
            yield ("wallet", match.start(), match.end())
    for match in _BECH32_RE.finditer(text):
        if is_bech32_address(match.group()):
            yield ("wallet", match.start(), match.end())
    for match in _ETHEREUM_RE.finditer(text):
        if is_ethereum_address(match.group()):
            yield ("wallet", match.start(), match.end())
    for match in _CASHTAG_RE.finditer(text):
        if match.group()[1:].lower() not in _CURRENCIES:
            yield ("cashtag", match.start(), match.end())
    for match in _PAYPAL_RE.finditer(text):
        yield ("paypal", match.start(), match.end())
