"""Threshold decryption: partial decryptions with Chaum–Pedersen proofs and Lagrange combination.

Guardian i holds s_i = Σ_j P_j(i) and has published K_i = g^{s_i}. For a ciphertext (A, B) it
publishes M_i = A^{s_i} (constant-time exponentiation) with a proof that log_g K_i = log_A M_i,
bound to H_E, i and (A, B). Any set S of at least t guardians suffices:
g^m = B / Π_{i∈S} M_i^{w_i} with w_i = Π_{j∈S, j≠i} j/(j−i) mod q, which the verifier recomputes
from S. The joint secret key is never rebuilt.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2

from sivei.crypto.batch import BatchVerifier, L
from sivei.crypto.elgamal import Ciphertext
from sivei.crypto.encoding import Encoder, element_from_hex, element_to_hex
from sivei.crypto.group import Group
from sivei.crypto.proofs import ChaumPedersenProof, batch_chaum_pedersen, prove_chaum_pedersen, verify_chaum_pedersen
from sivei.errors import EncodingError, SiveiError
from sivei.i18n import tr

_FIELDS = {"guardian", "share", "proof"}


class DecryptionError(SiveiError):
    """Decryption shares cannot be combined (too few, duplicated, out of range, invalid)."""


def _check_index(i: object, what: str, n: int | None = None) -> int:
    if isinstance(i, bool) or not isinstance(i, int) or i < 1 or (n is not None and i > n):
        upper = "n" if n is None else str(n)
        raise DecryptionError(tr(f"{what}: el índice de custodio debe estar entre 1 y {upper}",
                                 f"{what}: the guardian index must be between 1 and {upper}"))
    return i


@dataclass(frozen=True)
class DecryptionShare:
    """Guardian ``guardian``'s partial decryption M_i = A^{s_i} with its proof."""

    guardian: int
    share: int
    proof: ChaumPedersenProof

    def to_json(self, group: Group) -> dict[str, Any]:
        return {"guardian": self.guardian, "share": element_to_hex(group, self.share),
                "proof": self.proof.to_json(group)}

    @staticmethod
    def from_json(group: Group, obj: object, what: str = "decryption share", *,
                  membership: bool = True) -> DecryptionShare:
        """Parse, checking the share's membership in the subgroup — or only its range with
        ``membership=False``, for a caller that establishes it in a batch (``batch_share``) before
        the share is used."""
        if not isinstance(obj, dict) or set(obj) != _FIELDS:
            raise EncodingError(tr(f"{what}: se esperaban exactamente los campos {sorted(_FIELDS)}",
                                   f"{what}: expected exactly the fields {sorted(_FIELDS)}"))
        guardian = obj["guardian"]
        if isinstance(guardian, bool) or not isinstance(guardian, int) or not 1 <= guardian < 2**32:
            raise EncodingError(tr(f"{what}.guardian: índice de custodio no válido",
                                   f"{what}.guardian: invalid guardian index"))
        return DecryptionShare(
            guardian,
            element_from_hex(group, obj["share"], f"{what}.share", membership=membership),
            ChaumPedersenProof.from_json(group, obj["proof"], f"{what}.proof"),
        )


def _statement(group: Group, guardian_index: int, ciphertext: Ciphertext) -> bytes:
    return Encoder(group).u32(guardian_index).element(ciphertext.beta).to_bytes()


def compute_share(group: Group, guardian_index: int, secret_share: int, guardian_key: int,
                  ciphertext: Ciphertext, context: bytes) -> DecryptionShare:
    """M_i = A^{s_i} with a Chaum–Pedersen proof bound to ``context`` (H_E), i and (A, B).

    A is checked for subgroup membership first: exponentiating an element outside the subgroup
    by s_i would leak s_i modulo the small factors of p − 1."""
    _check_index(guardian_index, tr("custodio", "guardian"))
    group.require_element(ciphertext.alpha, "alpha")
    group.require_element(ciphertext.beta, "beta")
    m_i = group.pow_secret(ciphertext.alpha, secret_share)
    proof = prove_chaum_pedersen(group, secret_share, ciphertext.alpha, guardian_key, m_i,
                                 context=context,
                                 statement=_statement(group, guardian_index, ciphertext))
    return DecryptionShare(guardian_index, m_i, proof)


def verify_share(group: Group, share: DecryptionShare, guardian_key: int, ciphertext: Ciphertext,
                 context: bytes, *, elements_checked: bool = False) -> bool:
    """True when ``share`` is guardian ``share.guardian``'s valid partial decryption of
    ``ciphertext`` for the verification key K_i = ``guardian_key``.

    ``elements_checked`` skips the four subgroup tests when the caller already knows every element
    is in the subgroup: the share was parsed with ``DecryptionShare.from_json``, K_i comes from a
    verified transcript and the ciphertext is a product of checked elements (the verifier's case;
    the tests cost four exponentiations per share)."""
    if isinstance(share.guardian, bool) or not 1 <= share.guardian < 2**32:
        return False
    if not elements_checked and not (
            group.is_element(share.share) and group.is_element(guardian_key)
            and group.is_element(ciphertext.alpha) and group.is_element(ciphertext.beta)):
        return False
    return verify_chaum_pedersen(group, share.proof, ciphertext.alpha, guardian_key, share.share,
                                 context=context,
                                 statement=_statement(group, share.guardian, ciphertext))


def batch_share(batch: BatchVerifier[L], label: L, share: DecryptionShare, guardian_key: int,
                ciphertext: Ciphertext, context: bytes, *, g: int, k: int, alpha: int, m: int) -> None:
    """Add a share's Chaum–Pedersen proof (log_g K_i = log_A M_i) to ``batch``: ``g``, ``k``,
    ``alpha`` and ``m`` are the batch's indices of g, K_i and A (known members) and of M_i (an
    ``element`` of the batch, so its membership is tested there too). Protocol §8.5, §16.1."""
    batch_chaum_pedersen(batch, label, share.proof, ciphertext.alpha, guardian_key, share.share, context=context,
                         statement=_statement(batch.group, share.guardian, ciphertext), g=g,
                         h_terms=((alpha, 1),), x_terms=((k, 1),), y_terms=((m, 1),))


def lagrange_coefficient(group: Group, i: int, present: Collection[int]) -> int:
    """w_i = Π_{j∈S, j≠i} j/(j−i) mod q over the set S = ``present`` (which must contain i)."""
    indices = list(present)
    if len(set(indices)) != len(indices):
        raise DecryptionError(tr("índices de custodio repetidos", "repeated guardian indices"))
    for j in indices:
        _check_index(j, tr("conjunto de custodios", "guardian set"))
        if j >= group.q:
            raise DecryptionError(tr("índice de custodio demasiado grande",
                                     "guardian index too large"))
    if i not in indices:
        raise DecryptionError(tr(f"el custodio {i} no está en el conjunto",
                                 f"guardian {i} is not in the set"))
    q = group.q
    num, den = 1, 1
    for j in indices:
        if j != i:
            num = num * j % q
            den = den * (j - i) % q
    return num * pow(den, -1, q) % q


def combine_shares(group: Group, ciphertext: Ciphertext,
                   shares: Mapping[int, int] | Sequence[DecryptionShare], *, n: int, t: int) -> int:
    """g^m = B / Π_{i∈S} M_i^{w_i} over the guardians S whose shares are given.

    ``shares`` maps guardian index → M_i, or is a sequence of (already verified) decryption shares.
    Raises ``DecryptionError`` on a repeated guardian, an index outside 1..n or fewer than t shares.
    """
    if not 1 <= t <= n:
        raise ValueError("need 1 <= t <= n")
    pairs: list[tuple[int, int]] = (
        list(shares.items()) if isinstance(shares, Mapping)
        else [(s.guardian, s.share) for s in shares])
    seen: set[int] = set()
    for i, m_i in pairs:
        _check_index(i, tr("parte de descifrado", "decryption share"), n)
        if i in seen:
            raise DecryptionError(tr(f"el custodio {i} aparece más de una vez",
                                     f"guardian {i} appears more than once"))
        seen.add(i)
        if not 0 < m_i < group.p:
            raise DecryptionError(tr(f"parte del custodio {i}: valor fuera de [1, p)",
                                     f"share of guardian {i}: value outside [1, p)"))
    if len(pairs) < t:
        raise DecryptionError(
            tr(f"se necesitan al menos {t} partes de descifrado y hay {len(pairs)}",
               f"at least {t} decryption shares are needed, {len(pairs)} given"))
    p = gmpy2.mpz(group.p)
    acc = gmpy2.mpz(1)
    for i, m_i in pairs:
        acc = acc * gmpy2.powmod(m_i, lagrange_coefficient(group, i, seen), p) % p
    return group.div(ciphertext.beta, int(acc))


def verify_and_combine(group: Group, ciphertext: Ciphertext, shares: Sequence[DecryptionShare],
                       guardian_keys: Sequence[int], context: bytes, *, t: int) -> int:
    """Verify every share against K_1..K_n = ``guardian_keys`` and combine them into g^m.

    Raises ``DecryptionError`` naming the first guardian whose share does not verify."""
    n = len(guardian_keys)
    for s in shares:
        _check_index(s.guardian, tr("parte de descifrado", "decryption share"), n)
        if not verify_share(group, s, guardian_keys[s.guardian - 1], ciphertext, context):
            raise DecryptionError(
                tr(f"la parte de descifrado del custodio {s.guardian} no es válida",
                   f"the decryption share of guardian {s.guardian} is invalid"))
    return combine_shares(group, ciphertext, shares, n=n, t=t)
