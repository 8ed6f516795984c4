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


# Where rho and pi move each lane, and the lanes chi mixes into each: computed once.
_MOVES = tuple((x + 5 * y, y + 5 * ((2 * x + 3 * y) % 5), _ROTATIONS[x + 5 * y]) for x in range(5) for y in range(5))
_CHI = tuple((i, (i % 5 + 1) % 5 + 5 * (i // 5), (i % 5 + 2) % 5 + 5 * (i // 5)) for i in range(25))


def _permute(state: list[int]) -> list[int]:
    moved = [0] * 25
    for constant in _ROUND_CONSTANTS:
        parity = [state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20] for x in range(5)]
        mix = [
            parity[(x - 1) % 5] ^ (((parity[(x + 1) % 5] << 1) | (parity[(x + 1) % 5] >> 63)) & _MASK) for x in range(5)
        ]
        for source, target, shift in _MOVES:
            lane = state[source] ^ mix[source % 5]
            moved[target] = ((lane << shift) | (lane >> (64 - shift))) & _MASK if shift else lane
        state = [moved[i] ^ ((moved[j] ^ _MASK) & moved[k]) for i, j, k in _CHI]
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
