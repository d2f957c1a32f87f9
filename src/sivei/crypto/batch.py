"""Batch verification with random weights (protocol §8.5): many proof equations and many subgroup
memberships checked at once, failures located by bisection.

A ``BatchVerifier`` collects

* **bases**: ``known`` ones, whose membership the caller has already established in this run (g, the
  election key K, guardian keys parsed with the one-element test, products of such elements), and
  ``element`` ones, which must pass the batched membership test (Jacobi symbol 1, then one
  exponentiation by q of a random-weight product);
* **equations** ``commitment = Π base^exponent``, each with a caller's label (several equations may
  share a label: the four equations of one 0/1 proof).

``run()`` checks everything and returns the labels of the failing elements and equations. It knows
nothing of ballots: the ballot layer builds the equations and maps labels back to its locations.
Weights come from ``secrets`` and are drawn inside ``run``, after every value has been added, fresh
for every test and every bisection step.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import gmpy2
from gmpy2 import mpz

from sivei.crypto.fixedbase import FixedBase
from sivei.crypto.group import Group
from sivei.crypto.multiexp import multi_pow
from sivei.errors import GroupMembershipError
from sivei.i18n import tr

MIN_BITS = 64
MAX_BITS = 128
DEFAULT_BITS = 128
"""λ, the batch security parameter: an accepted batch with a false equation or a non-member passes
with probability at most 2·2^−λ. 128 for the verifier and the key-holders; 64 is allowed at casting and
in drills."""

L = TypeVar("L", bound=Hashable)
_Test = Callable[[Sequence[int]], bool]
_Exact = Callable[[int], bool]


def check_bits(bits: int) -> int:
    """Return ``bits`` if it is an allowed λ (64 to 128), else raise ``ValueError``."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(tr(f"λ (bits del lote) debe estar entre {MIN_BITS} y {MAX_BITS}: {bits!r}",
                            f"λ (batch bits) must be between {MIN_BITS} and {MAX_BITS}: {bits!r}"))
    return bits


def batchable(group: Group, bits: int) -> bool:
    """True when ``group`` has the structure the batch tests need for λ = ``bits``: p = 2qr + 1 with
    q, r > 2^λ and q ≠ r (primality of q and r is a property of the two embedded groups, checked by
    the tests)."""
    r = group.r
    return 2 * group.q * r + 1 == group.p and r != group.q and min(group.q, r) > 1 << bits


@dataclass(frozen=True)
class BatchOutcome(Generic[L]):
    """Labels of what failed, each once, in the order it was added."""

    bad_elements: tuple[L, ...]
    bad_equations: tuple[L, ...]
    tests: int
    """Weighted tests run (1 + 1 when everything passes); bisection adds more."""

    @property
    def ok(self) -> bool:
        return not self.bad_elements and not self.bad_equations


class BatchVerifier(Generic[L]):
    """Collects bases, elements and equations; ``run`` checks them (see the module docstring)."""

    def __init__(self, group: Group, *, bits: int = DEFAULT_BITS) -> None:
        check_bits(bits)
        if not batchable(group, bits):
            raise ValueError(f"group {group.name} does not support batch verification at λ = {bits}")
        self.group = group
        self.bits = bits
        self._p = mpz(group.p)
        self._bases: list[mpz] = []
        self._tables: list[FixedBase | None] = []
        self._element_of_base: list[int] = []  # element slot, or -1 for a known base
        self._element_base: list[int] = []  # element slot -> base index
        self._element_label: list[L] = []
        self._eq_label: list[L] = []
        self._eq_commitment: list[mpz] = []
        self._eq_terms: list[tuple[tuple[int, int], ...]] = []
        self._rejected: set[L] = set()  # equations refused before the batch (Jacobi symbol)
        self._labels: list[L] = []  # every equation label, in the order added
        self._tests = 0

    # -- collecting ---------------------------------------------------------------------------------

    def known(self, x: int, table: FixedBase | None = None) -> int:
        """A base whose membership the caller has established (constants, a verified transcript, an
        earlier test in this run, or a product of such elements); its exponents are reduced mod q.
        ``table`` (the base's fixed-base table) speeds up its exponentiation."""
        self._bases.append(mpz(x))
        self._tables.append(table)
        self._element_of_base.append(-1)
        return len(self._bases) - 1

    def element(self, x: int, label: L) -> int:
        """An element that must be a member: it takes part in the batched membership test, and
        equations using it are evaluated only if it passes. ``x`` must be in [1, p)."""
        if not 0 < x < self.group.p:
            raise ValueError("element outside [1, p): check ranges while parsing")
        base = self.known(x)
        self._element_of_base[base] = len(self._element_base)
        self._element_base.append(base)
        self._element_label.append(label)
        return base

    def equation(self, label: L, commitment: int, terms: Iterable[tuple[int, int]]) -> None:
        """commitment = Π base^exponent over ``terms`` of (base index, integer exponent). Exponents
        may be negative or larger than q: they are reduced mod q (the bases are members). The
        commitment must be in [1, p); one whose Jacobi symbol is not 1 fails at once."""
        if not 0 < commitment < self.group.p:
            raise ValueError("commitment outside [1, p): check ranges while parsing")
        c = mpz(commitment)
        self._labels.append(label)
        if gmpy2.jacobi(c, self._p) != 1:
            self._rejected.add(label)
            return
        self._eq_label.append(label)
        self._eq_commitment.append(c)
        self._eq_terms.append(tuple(terms))

    # -- checking -----------------------------------------------------------------------------------

    def run(self) -> BatchOutcome[L]:
        """Check every element and equation; locate each failure (protocol §8.5)."""
        bad_el: set[int] = set()
        candidates = [i for i, b in enumerate(self._element_base) if not self._jacobi_ok(self._bases[b])]
        bad_el.update(candidates)
        remaining = [i for i in range(len(self._element_base)) if i not in bad_el]
        while True:  # until the elements declared good pass one test together
            found = self._bisect(remaining, self._members_pass, self._member_exact)
            if not found:
                break
            bad_el.update(found)
            remaining = [i for i in remaining if i not in bad_el]
        bad_bases = {self._element_base[i] for i in bad_el}
        usable = [k for k, terms in enumerate(self._eq_terms) if not any(b in bad_bases for b, _ in terms)]
        bad_eq: set[int] = set()
        remaining = usable
        while True:
            found = self._bisect(remaining, self._equations_pass, self._equation_exact)
            if not found:
                break
            bad_eq.update(found)
            remaining = [k for k in remaining if k not in bad_eq]
        bad_elements = _unique(self._element_label[i] for i in sorted(bad_el))
        failing = self._rejected | {self._eq_label[k] for k in bad_eq}
        bad_equations = _unique(label for label in self._labels if label in failing)
        return BatchOutcome(bad_elements, bad_equations, self._tests)

    def _jacobi_ok(self, x: mpz) -> bool:
        return bool(gmpy2.jacobi(x, self._p) == 1)

    def _bisect(self, items: list[int], passes: _Test, exact: _Exact) -> list[int]:
        """The items that fail, found by halving; a single item is checked exactly."""
        if not items:
            return []
        if len(items) == 1:
            return [] if exact(items[0]) else items
        if passes(items):
            return []
        mid = len(items) // 2
        return self._bisect(items[:mid], passes, exact) + self._bisect(items[mid:], passes, exact)

    def _weights(self, n: int) -> list[int]:
        return [secrets.randbits(self.bits) for _ in range(n)]

    def _members_pass(self, slots: Sequence[int]) -> bool:
        self._tests += 1
        bases = [self._bases[self._element_base[i]] for i in slots]
        product = multi_pow(self.group.p, bases, self._weights(len(slots)))
        return bool(gmpy2.powmod(product, self.group.q, self._p) == 1)

    def _member_exact(self, slot: int) -> bool:
        return bool(gmpy2.powmod(self._bases[self._element_base[slot]], self.group.q, self._p) == 1)

    def _equations_pass(self, eqs: Sequence[int]) -> bool:
        self._tests += 1
        weights = self._weights(len(eqs))
        exponents: dict[int, int] = {}
        for k, w in zip(eqs, weights, strict=True):
            for base, e in self._eq_terms[k]:
                exponents[base] = exponents.get(base, 0) + w * e
        left = self._product(exponents)
        right = multi_pow(self.group.p, [self._eq_commitment[k] for k in eqs], weights)
        return bool(left == right)

    def _equation_exact(self, k: int) -> bool:
        exponents: dict[int, int] = {}
        for base, e in self._eq_terms[k]:
            exponents[base] = exponents.get(base, 0) + e
        return bool(self._product(exponents) == self._eq_commitment[k])

    def _product(self, exponents: dict[int, int]) -> mpz:
        """Π base^(e mod q) over established bases, with fixed-base tables where there are some."""
        q, p = self.group.q, self._p
        acc = mpz(1)
        bases, exps = [], []
        for base, e in exponents.items():
            e %= q
            if not e:
                continue
            table = self._tables[base]
            if table is not None:
                acc = acc * table.pow(e) % p
            else:
                bases.append(self._bases[base])
                exps.append(e)
        return acc * multi_pow(self.group.p, bases, exps) % p


def _unique(labels: Iterable[L]) -> tuple[L, ...]:
    return tuple(dict.fromkeys(labels))


def require_members(group: Group, elements: Sequence[tuple[int, str]], *, bits: int = DEFAULT_BITS) -> None:
    """Establish the membership of every (x, what) in one batch (each x already in [1, p)); raise
    ``GroupMembershipError`` naming the first non-member, with the one-element test's message."""
    if not elements:
        return
    if len(elements) == 1:
        group.require_element(elements[0][0], elements[0][1])
        return
    batch: BatchVerifier[int] = BatchVerifier(group, bits=bits)
    for i, (x, _) in enumerate(elements):
        batch.element(x, i)
    outcome = batch.run()
    if outcome.bad_elements:
        raise GroupMembershipError(group.not_member_message(elements[min(outcome.bad_elements)][1]))
