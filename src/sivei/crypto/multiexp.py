"""Multi-exponentiation Π b_i^{e_i} mod p over gmpy2, for batch verification (§8.5 of the protocol).

Three algorithms: Straus's interleaved sliding windows (a small table of odd powers per base, one
shared chain of squarings) for a handful of bases; Bos–Coster's (repeatedly b_2 ← b_2·b_1^⌊e_1/e_2⌋,
e_1 ← e_1 mod e_2 on the two largest exponents, which shrinks exponents by about log2(n) bits per
multiplication) for tens to about two thousand bases; and Pippenger's bucket method (per window of c
exponent bits, each base is multiplied into one of 2^c buckets, then the buckets are summed with two
running products) beyond. Costs in multiplications mod p, for n bases and b-bit exponents:
Straus ≈ n·2^(w−1) + b + n·b/(w+1); Pippenger ≈ ⌈b/c⌉·(n + 2^(c+1)) + b. A batch of a thousand
ballots (tens of thousands of bases) costs about 25 multiplications per 256-bit exponent, against
about 300 for a separate ``powmod``; the crossovers were measured on this project's machines
(``benchmarks/test_bench_batch.py``).

Exponents are public (the verifier's own weights and the proofs' scalars): the running time depends
on them, so this is never used with a secret exponent. No C library is needed: every multiplication
is one gmpy2 (GMP) operation.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import gmpy2
from gmpy2 import mpz

_MAX_STRAUS_WINDOW = 8
_MAX_BUCKET_BITS = 16
BOS_COSTER_RANGE = (24, 2048)
"""Numbers of bases for which Bos–Coster beats both others (measured)."""


def straus_cost(n: int, bits: int) -> tuple[float, int]:
    """(estimated multiplications, best window) for Straus's method."""
    best = (float("inf"), 1)
    for w in range(1, _MAX_STRAUS_WINDOW + 1):
        cost = n * (1 << (w - 1)) + bits + n * bits / (w + 1)
        best = min(best, (cost, w))
    return best


def pippenger_cost(n: int, bits: int) -> tuple[float, int]:
    """(estimated multiplications, best window) for Pippenger's bucket method."""
    best = (float("inf"), 1)
    for c in range(1, _MAX_BUCKET_BITS + 1):
        cost = -(-bits // c) * (n + (2 << c)) + bits
        best = min(best, (float(cost), c))
    return best


def multi_pow(p: int, bases: Sequence[int], exponents: Sequence[int]) -> mpz:
    """Π bases[i]^exponents[i] mod p, for non-negative exponents of any size.

    Zero exponents and empty inputs are allowed (the empty product is 1)."""
    if len(bases) != len(exponents):
        raise ValueError("bases and exponents differ in length")
    modulus = mpz(p)
    pairs: list[tuple[mpz, int]] = []
    for b, e in zip(bases, exponents, strict=True):
        e = int(e)
        if e < 0:
            raise ValueError("negative exponent")
        if e:
            pairs.append((mpz(b) % modulus, e))
    if not pairs:
        return mpz(1) % modulus
    if len(pairs) == 1:
        return gmpy2.powmod(pairs[0][0], pairs[0][1], modulus)
    if BOS_COSTER_RANGE[0] <= len(pairs) < BOS_COSTER_RANGE[1]:
        return _bos_coster(modulus, pairs)
    bits = max(e.bit_length() for _, e in pairs)
    s_cost, w = straus_cost(len(pairs), bits)
    p_cost, c = pippenger_cost(len(pairs), bits)
    if s_cost <= p_cost:
        return _straus(modulus, pairs, bits, w)
    return _pippenger(modulus, pairs, bits, c)


def _bos_coster(p: mpz, pairs: list[tuple[mpz, int]]) -> mpz:
    bases = [b for b, _ in pairs]
    heap = [(-e, i) for i, (_, e) in enumerate(pairs)]  # max-heap on the exponent
    heapq.heapify(heap)
    while True:
        neg, i = heapq.heappop(heap)
        if not heap:
            return gmpy2.powmod(bases[i], -neg, p)
        top, j = heap[0]
        # b_i^e_i · b_j^e_j = b_i^(e_i mod e_j) · (b_j · b_i^⌊e_i/e_j⌋)^e_j
        quotient, rest = divmod(-neg, -top)
        factor = bases[i] if quotient == 1 else gmpy2.powmod(bases[i], quotient, p)
        bases[j] = bases[j] * factor % p
        if rest:
            heapq.heappush(heap, (-rest, i))


def _sliding_digits(e: int, w: int) -> list[tuple[int, int]]:
    """(bit position, odd digit < 2^w) pairs with e = Σ digit·2^position, highest position first."""
    out = []
    i = e.bit_length() - 1
    while i >= 0:
        if not (e >> i) & 1:
            i -= 1
            continue
        low = max(i - w + 1, 0)
        while not (e >> low) & 1:
            low += 1
        out.append((low, (e >> low) & ((1 << (i - low + 1)) - 1)))
        i = low - 1
    return out


def _straus(p: mpz, pairs: list[tuple[mpz, int]], bits: int, w: int) -> mpz:
    # events[position] = table entries to multiply in at that bit position
    events: list[list[mpz]] = [[] for _ in range(bits)]
    half = 1 << (w - 1)
    for b, e in pairs:
        odd = [b]  # b^1, b^3, ..., b^(2^w - 1), built only as far as needed
        digits = _sliding_digits(e, w)
        top = max(d for _, d in digits)
        if top > 1:
            square = b * b % p
            for _ in range(1, min(half, (top + 1) // 2)):
                odd.append(odd[-1] * square % p)
        for pos, d in digits:
            events[pos].append(odd[d >> 1])
    acc: mpz | None = None
    for pos in range(bits - 1, -1, -1):
        if acc is not None:
            acc = acc * acc % p
        for t in events[pos]:
            acc = t if acc is None else acc * t % p
    assert acc is not None
    return acc


def _pippenger(p: mpz, pairs: list[tuple[mpz, int]], bits: int, c: int) -> mpz:
    mask = (1 << c) - 1
    acc: mpz | None = None
    for window in range((bits + c - 1) // c - 1, -1, -1):
        shift = window * c
        if acc is not None:
            acc = gmpy2.powmod(acc, 1 << c, p)
        buckets: list[mpz | None] = [None] * (mask + 1)
        for b, e in pairs:
            d = (e >> shift) & mask
            if d:
                held = buckets[d]
                buckets[d] = b if held is None else held * b % p
        # Σ_d d·bucket[d] as a product: running = Π_{d' ≥ d} bucket[d'], total = Π_d running.
        running: mpz | None = None
        total: mpz | None = None
        for d in range(mask, 0, -1):
            held = buckets[d]
            if held is not None:
                running = held if running is None else running * held % p
            if running is not None:
                total = running if total is None else total * running % p
        if total is not None:
            acc = total if acc is None else acc * total % p
    assert acc is not None
    return acc
