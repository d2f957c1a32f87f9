"""Everything the benchmarks time, as plain functions of a group, so that the smoke test
(``tests/test_benchmarks_smoke.py``) runs exactly the same code once on the test group.

The election set-up stands in for a key ceremony: one dealer polynomial of degree t−1 gives the
guardians' shares s_i = P(i), their keys K_i = g^{s_i} and K = g^{P(0)} — the same algebra as the
joint-Feldman DKG's output, without its cost. Nothing here is timed except the workload functions.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from benchmarks.manifests import Shape
from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import EncryptedBallot, encrypt_ballot, parse_unchecked_ballot, sign_ballot
from sivei.ballot.validate import BallotCheck, BallotVerdict, ballot_problems, check_ballots
from sivei.crypto import cost_unit, ed25519
from sivei.crypto.batch import DEFAULT_BITS
from sivei.crypto.context import base_hash, election_hash
from sivei.crypto.decryption import combine_shares
from sivei.crypto.dlog import _BabySteps, _table_size, discrete_log
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.encoding import tagged_hash
from sivei.crypto.envelope import Envelope
from sivei.crypto.fixedbase import FixedBase
from sivei.crypto.group import PRODUCTION_GROUP, Group
from sivei.problems import Problem
from sivei.tally.aggregate import EncryptedTally, aggregate
from sivei.tally.decrypt import decrypt_tally_share, parse_guardian_decryption

GUARDIANS = 5
THRESHOLD = 3
PRESENT = (1, 3, 5)
"""Guardians present at the tally (3 of 5, two absent, as in the drill)."""
CEREMONY_ID = "bench-ceremony"
AGGREGATE_BALLOTS = 50
"""Ballots in the aggregation benchmark (the figure is also reported per ballot)."""
DLOG_COUNT = 100_000
DLOG_BOUND = 122_497
"""The 2024 internet votes: a realistic upper bound for one count."""


# -- set-up -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Election:
    """An opened election of one shape: context (manifest, K, H_E) and the guardians' secrets."""

    shape: Shape
    ctx: ElectionContext
    secret_shares: tuple[int, ...]  # s_1 .. s_n
    guardian_keys: tuple[int, ...]  # K_1 .. K_n
    signers: tuple[SoftwareSigner, ...]

    @property
    def group(self) -> Group:
        return self.ctx.group


def open_election(group: Group, shape: Shape, *, n: int = GUARDIANS, t: int = THRESHOLD) -> Election:
    q = group.q
    coefficients = [secrets.randbelow(q - 1) + 1 for _ in range(t)]

    def poly(x: int) -> int:
        return sum(a * pow(x, k, q) for k, a in enumerate(coefficients)) % q

    shares = tuple(poly(i) for i in range(1, n + 1))
    keys = tuple(group.g_pow(s) for s in shares)
    commitments = [[group.g_pow(a) for a in coefficients]]
    joint_key = commitments[0][0]
    h_b = base_hash(group, shape.manifest.hash)
    h_e = election_hash(group, h_b, joint_key, commitments, tagged_hash("bench/credential-list", b""))
    ctx = ElectionContext(shape.manifest, ElectionKey(group, joint_key), h_e)
    return Election(shape, ctx, shares, keys, tuple(SoftwareSigner() for _ in range(n)))


def warm_tables(election: Election) -> None:
    """Build (and cache) the fixed-base tables for g and K, as a booth does once per election."""
    election.ctx.key.g_table  # noqa: B018
    election.ctx.key.k_table  # noqa: B018


@dataclass(frozen=True)
class Voter:
    seed: bytes
    credential: bytes


def voter(i: int) -> Voter:
    seed = hashlib.sha256(b"sivei/bench/voter" + i.to_bytes(4, "big")).digest()
    return Voter(seed, ed25519.public_key_from_seed(seed))


def ballot_nonce(i: int) -> bytes:
    return hashlib.sha256(b"sivei/bench/nonce" + i.to_bytes(4, "big")).digest()


def varied_choices(shape: Shape, i: int) -> dict[str, str]:
    """Voter i's choices: cycles through every option of every contest."""
    return {c.id: c.options[(i + k) % len(c.options)].id
            for k, (_, c) in enumerate(shape.manifest.style_contests(shape.style))}


def ballot_json_bytes(election: Election, ballot: EncryptedBallot) -> bytes:
    """The ballot as the booth sends it: compact JSON."""
    return json.dumps(ballot.to_json(election.group), separators=(",", ":")).encode()


def cast_many(election: Election, count: int) -> list[EncryptedBallot]:
    """``count`` signed ballots from distinct voters with varied choices."""
    return [encrypt_and_sign(election, voter(i), varied_choices(election.shape, i), ballot_nonce(i))
            for i in range(count)]


@dataclass(frozen=True)
class DecryptedTallyInputs:
    """An encrypted tally, the envelopes of the guardians in ``PRESENT`` and their shares as
    guardian → M_i per tally entry and option."""

    tally: EncryptedTally
    envelopes: list[Envelope]
    shares: list[list[dict[int, int]]]

    @property
    def ciphertexts(self) -> int:
        return sum(len(e.ciphertexts) for e in self.tally.entries)


def tally_with_shares(election: Election, ballots: int = AGGREGATE_BALLOTS) -> DecryptedTallyInputs:
    tally = aggregate_ballots(election, cast_many(election, ballots))
    envelopes = [guardian_share(election, tally, i) for i in PRESENT]
    return DecryptedTallyInputs(tally, envelopes, share_map(election, envelopes))


# -- the timed workloads ------------------------------------------------------------------------


def build_fixed_base_table(group: Group, base: int) -> FixedBase:
    """A fresh (uncached) 8-bit-window table."""
    return FixedBase(group, base)


def encrypt_and_sign(election: Election, v: Voter, choices: dict[str, str], nonce: bytes) -> EncryptedBallot:
    """The booth's work for a cast ballot: encryption with all proofs, then the credential's signature."""
    ballot = encrypt_ballot(election.ctx, election.shape.style, choices, v.credential, nonce)
    return sign_ballot(election.ctx, ballot, v.seed)


def parse_ballot(election: Election, data: bytes) -> EncryptedBallot:
    """Server intake: JSON text to a ballot, α and β in one batched membership test (λ = 128)."""
    return EncryptedBallot.from_json(election.group, json.loads(data))


def membership_checks(election: Election, ballot: EncryptedBallot) -> bool:
    """One x^q test per α and β: what parsing cost before membership was batched (for comparison)."""
    group = election.group
    return all(group.is_element(s.ciphertext.alpha) and group.is_element(s.ciphertext.beta)
               for c in ballot.contests for s in c.selections)


def validate(election: Election, ballot: EncryptedBallot) -> list[Problem]:
    """Every check of one parsed ballot: signature, shape, each 0/1 proof, each sum proof (its
    equations in one batch, λ = 128)."""
    return ballot_problems(election.ctx, ballot, election.shape.style, "bench")


def cast_intake(election: Election, data: bytes, bits: int = DEFAULT_BITS) -> list[Problem]:
    """The server's work for one cast ballot from its JSON text: parse (ranges only), then validate
    — the membership of its α and β and all its proofs in ONE batch, as ``validate_ballot`` does at
    casting."""
    received = parse_unchecked_ballot(election.group, json.loads(data), "bench")
    verdict = check_ballots(election.ctx, [BallotCheck(received, election.shape.style, "bench")], bits=bits)[0]
    assert verdict.not_member is None, verdict.not_member
    return list(verdict.problems)


def verify_batch(election: Election, texts: list[bytes], bits: int = DEFAULT_BITS) -> list[BallotVerdict]:
    """The verifier's work for a chunk of ballots from their JSON text: parse with ranges only, then
    every membership and every proof of the chunk in one batch."""
    unchecked = [parse_unchecked_ballot(election.group, json.loads(t), f"b{i}") for i, t in enumerate(texts)]
    return check_ballots(election.ctx, [BallotCheck(u, election.shape.style, f"b{i}")
                                        for i, u in enumerate(unchecked)], bits=bits)


def modexp_seconds(group: Group = PRODUCTION_GROUP) -> float:
    """CPU seconds of one ``powmod`` with a 256-bit exponent (4096-bit p in production): the unit in
    which the benchmarks express crypto costs (``sivei.crypto.cost_unit``; best of three rounds of 40)."""
    return cost_unit.modexp_seconds(group)


def aggregate_ballots(election: Election, ballots: list[EncryptedBallot]) -> EncryptedTally:
    return aggregate(election.ctx, ballots)


def guardian_share(election: Election, tally: EncryptedTally, guardian: int) -> Envelope:
    """One guardian's signed decryption shares (with proofs) for every aggregate of the tally."""
    return decrypt_tally_share(
        election.ctx, tally, guardian=guardian, secret_share=election.secret_shares[guardian - 1],
        guardian_key=election.guardian_keys[guardian - 1], signer=election.signers[guardian - 1],
        ceremony_id=CEREMONY_ID)


def share_map(election: Election, envelopes: list[Envelope]) -> list[list[dict[int, int]]]:
    """Per tally entry, per option: guardian → M_i, from the guardians' envelopes."""
    parsed = [parse_guardian_decryption(election.ctx, env, f"guardian {k}")
              for k, env in enumerate(envelopes)]
    entries = len(parsed[0].shares)
    return [[{d.guardian: d.shares[e][o].share for d in parsed} for o in range(len(parsed[0].shares[e]))]
            for e in range(entries)]


def combine(election: Election, tally: EncryptedTally, shares: list[list[dict[int, int]]]) -> list[int]:
    """Lagrange combination of the present guardians' shares into g^m, for every aggregate."""
    n = len(election.secret_shares)
    return [combine_shares(election.group, ct, shares[e][o], n=n, t=THRESHOLD)
            for e, entry in enumerate(tally.entries) for o, ct in enumerate(entry.ciphertexts)]


def decode_count(group: Group, g_m: int, bound: int) -> int:
    return discrete_log(group, g_m, bound)


def build_bsgs_table(group: Group, bound: int) -> _BabySteps:
    """A fresh (uncached) baby-step table for counts up to ``bound``."""
    return _BabySteps(group, _table_size(bound))


def record_shape(record: Path) -> dict[str, int]:
    """Ballots and encrypted options of a record's board (read from the frames, nothing parsed)."""
    from sivei.crypto.encoding import Decoder
    from sivei.record import layout
    from sivei.record.board_file import event_header, iter_raw_events

    reader = layout.RecordReader(record)
    name = reader.board_name
    width = len(json.loads((record / layout.PARAMETERS).read_text())["p"]) // 2
    ballots = options = contests = 0
    for _, raw, _ in iter_raw_events(record / name, name):
        header = event_header(raw)
        if header is None or header[1] != "ballot" or isinstance(raw, str):
            continue
        ballots += 1
        dec = Decoder(raw, "")
        dec.u32("")
        dec.u32("")
        dec.string("")
        dec.fixed(32, "")
        dec.string("")
        dec.fixed(32, "")
        for _ in range(dec.u32("")):
            dec.u32("")
            n = dec.u32("")
            options += n
            contests += 1
            dec.fixed(n * (6 * width + 128) + 2 * width + 32, "")
    return {"ballots": ballots, "options": options, "contests": contests,
            "board_bytes": (record / name).stat().st_size}
