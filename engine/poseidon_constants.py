"""Poseidon parameters for BN254 as used by circomlib, derived from first principles.

The round constants and MDS matrices are produced here, on first use, with the
procedure of the Poseidon reference parameter generator (``generate_parameters_grain``
of the Poseidon authors, field = prime, S-box x^5, n = 254 bits, R_F = 8 and the
per-width R_P below). No constant is copied from anywhere: the tests compare the
output with circomlibjs' tables and with the known vector Poseidon([1, 2]).

The generator, in short:

* An 80-bit Grain LFSR is seeded with the bit string
  ``field(2) | sbox(4) | n(12) | t(12) | R_F(10) | R_P(10) | 1 * 30`` (most
  significant bit first; field = 1 for a prime field, sbox = 0 for x^alpha),
  with feedback ``s[i+80] = s[i+62] ^ s[i+51] ^ s[i+38] ^ s[i+23] ^ s[i+13] ^ s[i]``;
  the first 160 output bits are discarded.
* Output bits are taken in pairs (a, b); b is kept when a = 1, else the pair is
  dropped (self-shrinking).
* A field element is the next n kept bits read most significant first; round
  constants are rejection sampled (redrawn while >= p); (R_F + R_P) * t of them,
  round by round, position by position.
* The MDS matrix is the Cauchy matrix ``M[i][j] = 1 / (x_i + y_j)`` from 2t more
  draws, reduced mod p (redrawn if two draws coincide or some x_i + y_j = 0).
  circomlib applies it as ``new[i] = sum_j M[i][j] * old[j]``.

The reference generator also runs security checks on the matrix and redraws when
they fail; for t = 2..17 the first matrix passes (confirmed by the match with
circomlibjs), so those checks are not repeated here.
"""

from __future__ import annotations

from functools import cache

from engine.fixedpoint import FIELD_P

FIELD_BITS = 254  # n: bit length of p
N_ROUNDS_F = 8  # full rounds, half before and half after the partial rounds
# Partial rounds R_P for t = 2..17 (circomlib's table: Poseidon paper, rounded up).
N_ROUNDS_P: tuple[int, ...] = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
MIN_WIDTH = 2
MAX_WIDTH = MIN_WIDTH + len(N_ROUNDS_P) - 1  # 17: Poseidon16

_STATE_BITS = 80
_STATE_MASK = (1 << _STATE_BITS) - 1
_CHUNK = 16  # LFSR bits produced per step; must be even and at most 80 - 62 = 18
_CHUNK_MASK = (1 << _CHUNK) - 1
_WARM_UP_BITS = 160


def _shrink_table(width: int) -> tuple[tuple[int, int], ...]:
    """For every ``width``-bit LFSR chunk (bit 0 = oldest), the kept bits of its pairs.

    Entry ``v`` is ``(count, value)``: the ``count`` kept bits as an integer whose most
    significant bit is the first kept bit.
    """
    table = []
    for chunk in range(1 << width):
        count, value = 0, 0
        for pair in range(0, width, 2):
            if (chunk >> pair) & 1:
                value = (value << 1) | ((chunk >> (pair + 1)) & 1)
                count += 1
        table.append((count, value))
    return tuple(table)


_SHRINK = _shrink_table(8)


class GrainSource:
    """The reference generator's bit source: Grain LFSR with self-shrinking output.

    The state is an 80-bit integer whose bit ``i`` is ``s[i]`` (bit 0 the oldest), so one
    step computes 16 new bits at once with word-wide shifts and XORs.
    """

    def __init__(self, width: int, n_rounds_f: int, n_rounds_p: int, field_bits: int = FIELD_BITS) -> None:
        seed_fields = ((1, 2), (0, 4), (field_bits, 12), (width, 12), (n_rounds_f, 10), (n_rounds_p, 10))
        seed_bits: list[int] = []
        for value, length in seed_fields:
            seed_bits.extend((value >> (length - 1 - k)) & 1 for k in range(length))
        seed_bits.extend([1] * (_STATE_BITS - len(seed_bits)))
        self._state = sum(bit << i for i, bit in enumerate(seed_bits))
        self._buffer = 0  # kept bits not yet consumed, first kept bit most significant
        self._buffered = 0
        for _ in range(_WARM_UP_BITS // _CHUNK):
            self._raw_chunk()

    def _raw_chunk(self) -> int:
        """The next 16 raw LFSR output bits (bit 0 of the result comes first)."""
        s = self._state
        new = (s >> 62 ^ s >> 51 ^ s >> 38 ^ s >> 23 ^ s >> 13 ^ s) & _CHUNK_MASK
        self._state = ((s >> _CHUNK) | (new << (_STATE_BITS - _CHUNK))) & _STATE_MASK
        return new

    def bits(self, n: int) -> int:
        """The next ``n`` kept bits as an integer, the first one most significant."""
        while self._buffered < n:
            chunk = self._raw_chunk()
            for byte in (chunk & 0xFF, chunk >> 8):
                count, value = _SHRINK[byte]
                self._buffer = (self._buffer << count) | value
                self._buffered += count
        extra = self._buffered - n
        out = self._buffer >> extra
        self._buffer &= (1 << extra) - 1
        self._buffered = extra
        return out

    def field_element(self) -> int:
        """A uniformly drawn field element (rejection sampling, as for round constants)."""
        while True:
            value = self.bits(FIELD_BITS)
            if value < FIELD_P:
                return value


def _check_width(t: int) -> None:
    if not MIN_WIDTH <= t <= MAX_WIDTH:
        raise ValueError(f"Poseidon width t must be in {MIN_WIDTH}..{MAX_WIDTH}, got {t}")


def partial_rounds(t: int) -> int:
    """R_P for state width ``t`` (t = number of inputs + 1)."""
    _check_width(t)
    return N_ROUNDS_P[t - MIN_WIDTH]


@cache
def poseidon_parameters(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """``(round_constants, mds)`` for width ``t``.

    ``round_constants`` is flat, ``(R_F + R_P) * t`` long: round ``r`` adds
    ``round_constants[r * t + i]`` to state element ``i``. ``mds[i][j]`` multiplies
    old element ``j`` into new element ``i``.
    """
    n_rounds_p = partial_rounds(t)
    source = GrainSource(t, N_ROUNDS_F, n_rounds_p)
    constants = tuple(source.field_element() for _ in range((N_ROUNDS_F + n_rounds_p) * t))
    while True:
        draws = [source.bits(FIELD_BITS) % FIELD_P for _ in range(2 * t)]
        while len(set(draws)) != len(draws):
            draws = [source.bits(FIELD_BITS) % FIELD_P for _ in range(2 * t)]
        xs, ys = draws[:t], draws[t:]
        if all((x + y) % FIELD_P for x in xs for y in ys):
            break
    mds = tuple(tuple(pow(x + y, -1, FIELD_P) for y in ys) for x in xs)
    return constants, mds
