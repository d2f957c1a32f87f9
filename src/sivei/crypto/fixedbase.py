"""Fixed-base exponentiation with 8-bit windows: g^e as a product of 32 table entries.

For base b the table holds b^(j·2^(8i)) for i < 32 windows of a 256-bit exponent and j < 256, about
4 MiB per base in the production group; an exponentiation then costs 31 multiplications instead of
~380 squarings and multiplications. Used for the public bases g and K only; lookups depend on the
exponent, so guardians' secret keys never go through a table (they use ``powmod_sec``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import gmpy2

if TYPE_CHECKING:
    from sivei.crypto.group import Group

WINDOW_BITS = 8
_WINDOW_MASK = (1 << WINDOW_BITS) - 1


class FixedBase:
    """Precomputed powers of one base."""

    __slots__ = ("_p", "_q", "_rows", "base")

    def __init__(self, group: Group, base: int) -> None:
        self.base = base
        self._p = gmpy2.mpz(group.p)
        self._q = group.q
        windows = (group.q.bit_length() + WINDOW_BITS - 1) // WINDOW_BITS
        rows: list[list[object]] = []
        b = gmpy2.mpz(base)
        p = self._p
        for _ in range(windows):
            row: list[object] = [gmpy2.mpz(1)]
            acc = gmpy2.mpz(1)
            for _ in range(_WINDOW_MASK):
                acc = acc * b % p
                row.append(acc)
            rows.append(row)
            b = acc * b % p  # b^(2^8) relative to this row's base
        self._rows = rows

    def pow(self, exponent: int) -> int:
        e = exponent % self._q
        acc = gmpy2.mpz(1)
        p = self._p
        for row in self._rows:
            j = e & _WINDOW_MASK
            if j:
                acc = acc * row[j] % p
            e >>= WINDOW_BITS
            if not e:
                break
        return int(acc)


@lru_cache(maxsize=8)
def fixed_base(group: Group, base: int) -> FixedBase:
    """The (cached) table for ``base`` in ``group``; built in ~50 ms in the production group."""
    return FixedBase(group, base)
