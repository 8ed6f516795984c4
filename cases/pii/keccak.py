"""Keccak-256 as Ethereum uses it (not NIST SHA3-256, which pads differently): only for EIP-55 checksums."""

_MASK = (1 << 64) - 1
_ROTATIONS = (0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14)
_RATE = 136


def _round_constant_bit(t: int) -> int:
    register = 1
    for _ in range(t % 255):
        register <<= 1
        if register & 0x100:
            register ^= 0x171
    return register & 1


_ROUND_CONSTANTS = tuple(
    sum(_round_constant_bit(j + 7 * round_) << ((1 << j) - 1) for j in range(7)) for round_ in range(24)
)


def _rotate(lane: int, shift: int) -> int:
    return ((lane << shift) | (lane >> (64 - shift))) & _MASK if shift else lane


def _permute(state: list[int]) -> list[int]:
    for constant in _ROUND_CONSTANTS:
        parity = [state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20] for x in range(5)]
        mix = [parity[(x - 1) % 5] ^ _rotate(parity[(x + 1) % 5], 1) for x in range(5)]
        state = [lane ^ mix[i % 5] for i, lane in enumerate(state)]
        moved = [0] * 25
        for x in range(5):
            for y in range(5):
                moved[y + 5 * ((2 * x + 3 * y) % 5)] = _rotate(state[x + 5 * y], _ROTATIONS[x + 5 * y])
        state = [
            moved[i] ^ ((moved[(i % 5 + 1) % 5 + 5 * (i // 5)] ^ _MASK) & moved[(i % 5 + 2) % 5 + 5 * (i // 5)])
            for i in range(25)
        ]
        state[0] ^= constant
    return state


def keccak256(data: bytes) -> bytes:
    padded = bytearray(data) + b"\x01" + bytes(-(len(data) + 1) % _RATE)
    padded[-1] |= 0x80
    state = [0] * 25
    for offset in range(0, len(padded), _RATE):
        block = padded[offset : offset + _RATE]
        for i in range(_RATE // 8):
            state[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        state = _permute(state)
    return b"".join(lane.to_bytes(8, "little") for lane in state[:4])
