"""The decryption of the encrypted tally by any t of the n guardians.

Each guardian signs one envelope ("decryption-shares") whose body names the hash of the encrypted
tally it decrypts and carries, per tally entry and option, its share M_i = A^{s_i} with a
Chaum–Pedersen proof. The combination uses the Lagrange weights of the set of guardians present and
yields g^m per option; m is found by a bounded discrete log (at most the entry's ballot count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sivei.ballot.context import ElectionContext
from sivei.crypto.batch import DEFAULT_BITS, BatchVerifier, require_members
from sivei.crypto.decryption import (
    DecryptionShare,
    batch_share,
    combine_shares,
    compute_share,
    lagrange_coefficient,
)
from sivei.crypto.dlog import discrete_log
from sivei.crypto.ecdsa import Signer
from sivei.crypto.encoding import hex_to_bytes, scalar_from_hex, scalar_to_hex
from sivei.crypto.envelope import Envelope, seal
from sivei.crypto.fixedbase import fixed_base
from sivei.errors import EncodingError, SiveiError
from sivei.i18n import tr
from sivei.tally.aggregate import EncryptedTally

TYPE_DECRYPTION_SHARES = "decryption-shares"


def guardian_name(index: int) -> str:
    return f"guardian-{index}"


@dataclass(frozen=True)
class GuardianDecryption:
    """One guardian's signed contribution, parsed."""

    guardian: int
    tally_hash: bytes
    shares: tuple[tuple[DecryptionShare, ...], ...]  # per tally entry, per option
    envelope: Envelope


def decrypt_tally_share(ctx: ElectionContext, tally: EncryptedTally, *, guardian: int, secret_share: int,
                        guardian_key: int, signer: Signer, ceremony_id: str) -> Envelope:
    """Compute and sign guardian ``guardian``'s shares of every aggregate of ``tally``."""
    t_hash = tally.hash(ctx)
    shares = [
        [compute_share(ctx.group, guardian, secret_share, guardian_key, ct, ctx.election_hash).to_json(ctx.group)
         for ct in entry.ciphertexts]
        for entry in tally.entries
    ]
    return seal(signer, type=TYPE_DECRYPTION_SHARES, election_id=ctx.manifest.election_id,
                ceremony_id=ceremony_id, round=0, sender=guardian_name(guardian), previous=t_hash,
                body={"guardian": guardian, "tally_hash": t_hash.hex(), "shares": shares})


def parse_guardian_decryption(ctx: ElectionContext, envelope: Envelope, what: str, *,
                              membership: bool = True) -> GuardianDecryption:
    """Parse one guardian's envelope; ``membership=False`` leaves the shares' membership to a batch
    (``require_share_members``), which must run before any share is verified or combined."""
    body = envelope.body
    if set(body) != {"guardian", "tally_hash", "shares"}:
        raise EncodingError(tr(f"{what}: campos no válidos", f"{what}: invalid fields"))
    guardian = body["guardian"]
    if not isinstance(guardian, int) or isinstance(guardian, bool) or guardian < 1:
        raise EncodingError(tr(f"{what}.guardian: índice no válido", f"{what}.guardian: invalid index"))
    if envelope.sender != guardian_name(guardian) or envelope.type != TYPE_DECRYPTION_SHARES:
        raise EncodingError(tr(f"{what}: remitente o tipo no corresponde al guardián {guardian}",
                               f"{what}: sender or type does not match guardian {guardian}"))
    t_hash = hex_to_bytes(body["tally_hash"], 32, f"{what}.tally_hash")
    raw = body["shares"]
    if not isinstance(raw, list) or not all(isinstance(row, list) for row in raw):
        raise EncodingError(tr(f"{what}.shares: se esperaba una lista de listas",
                               f"{what}.shares: expected a list of lists"))
    shares = tuple(
        tuple(DecryptionShare.from_json(ctx.group, s, f"{what}.shares[{i}][{j}]", membership=membership)
              for j, s in enumerate(row))
        for i, row in enumerate(raw)
    )
    return GuardianDecryption(guardian, t_hash, shares, envelope)


def require_share_members(ctx: ElectionContext, decryptions: Sequence[tuple[GuardianDecryption, str]], *,
                          bits: int = DEFAULT_BITS) -> None:
    """Establish, in one batch, that every share M_i of decryptions parsed with ``membership=False``
    is in the subgroup; raise ``GroupMembershipError`` naming the first one that is not (``what`` is
    the path each decryption was parsed with)."""
    require_members(ctx.group, [(share.share, f"{what}.shares[{i}][{j}].share")
                                for d, what in decryptions for i, row in enumerate(d.shares)
                                for j, share in enumerate(row)], bits=bits)


def failing_shares(ctx: ElectionContext, tally: EncryptedTally, decryptions: Sequence[tuple[GuardianDecryption, int]],
                   *, bits: int = DEFAULT_BITS) -> list[list[tuple[int, int]]]:
    """For each (decryption, K_i) — shares already established as members, one row per tally entry
    and one share per option — the (entry, option) of every share whose guardian index differs or
    whose Chaum–Pedersen proof fails, in order. Every proof is checked in one batch (protocol §8.5)."""
    group = ctx.group
    batch: BatchVerifier[tuple[int, int, int]] = BatchVerifier(group, bits=bits)
    g = batch.known(group.g, fixed_base(group, group.g))
    alphas = [[batch.known(ct.alpha) for ct in entry.ciphertexts] for entry in tally.entries]
    wrong_index: set[tuple[int, int, int]] = set()
    for di, (d, key) in enumerate(decryptions):
        k = batch.known(key)
        for ei, (row, entry) in enumerate(zip(d.shares, tally.entries, strict=True)):
            for oi, (share, ct) in enumerate(zip(row, entry.ciphertexts, strict=True)):
                if share.guardian != d.guardian:
                    wrong_index.add((di, ei, oi))
                    continue
                batch_share(batch, (di, ei, oi), share, key, ct, ctx.election_hash, g=g, k=k,
                            alpha=alphas[ei][oi], m=batch.known(share.share))
    failed = wrong_index | set(batch.run().bad_equations)
    return [[(ei, oi) for ei, row in enumerate(d.shares) for oi in range(len(row)) if (di, ei, oi) in failed]
            for di, (d, _) in enumerate(decryptions)]


@dataclass(frozen=True)
class TallyDecryption:
    """The set of guardians present, their Lagrange weights, and the decoded counts per entry."""

    present: tuple[int, ...]
    weights: tuple[int, ...]
    counts: tuple[tuple[int, ...], ...]

    def to_json(self) -> dict[str, Any]:
        return {"present": list(self.present), "weights": [scalar_to_hex(w) for w in self.weights]}


def lagrange_weights(ctx: ElectionContext, present: Sequence[int]) -> tuple[int, ...]:
    return tuple(lagrange_coefficient(ctx.group, i, present) for i in present)


def stated_weights_match(ctx: ElectionContext, stated: Any, present: Sequence[int]) -> tuple[tuple[int, ...], bool]:
    """The present set's Lagrange weights, and whether the published ones (hex scalars) are exactly them:
    a record states its weights, a verifier recomputes them and never uses the stated ones."""
    weights = lagrange_weights(ctx, present)
    try:
        parsed = tuple(scalar_from_hex(ctx.group, w, "weights") for w in stated)
    except (SiveiError, TypeError):
        return weights, False
    return weights, parsed == weights


def combine_tally(ctx: ElectionContext, tally: EncryptedTally, decryptions: Sequence[GuardianDecryption],
                  *, n: int, t: int) -> TallyDecryption:
    """Combine (already verified) shares into counts; each count is bounded by the entry's ballots."""
    ordered = sorted(decryptions, key=lambda d: d.guardian)
    present = tuple(d.guardian for d in ordered)
    counts = []
    for ei, entry in enumerate(tally.entries):
        row = []
        for oi, ct in enumerate(entry.ciphertexts):
            g_m = combine_shares(ctx.group, ct, {d.guardian: d.shares[ei][oi].share for d in ordered}, n=n, t=t)
            row.append(discrete_log(ctx.group, g_m, entry.ballots))
        counts.append(tuple(row))
    return TallyDecryption(present, lagrange_weights(ctx, present), tuple(counts))
