"""The unit in which SIVEI states cryptographic costs: the CPU time of one ``powmod`` of a random
group element by a random 256-bit exponent (4096-bit p in production), measured in the same run as
the figure it divides. On a shared, noisy machine a ratio to this unit survives what absolute
times do not (a busy neighbour slows both alike)."""

from __future__ import annotations

import secrets
import time

import gmpy2

from sivei.crypto.group import PRODUCTION_GROUP, Group


def modexp_seconds(group: Group = PRODUCTION_GROUP, *, bases: int = 40, rounds: int = 3) -> float:
    """CPU seconds of one such ``powmod``: the best of ``rounds`` rounds of ``bases`` random bases
    and exponents (the best round is the one least disturbed by other processes)."""
    p = gmpy2.mpz(group.p)
    xs = [gmpy2.mpz(secrets.randbelow(group.p)) for _ in range(bases)]
    es = [gmpy2.mpz(secrets.randbits(256)) for _ in range(bases)]
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for x, e in zip(xs, es, strict=True):
            gmpy2.powmod(x, e, p)
        best = min(best, (time.process_time() - t) / bases)
    return best
