"""Aggregation, threshold decryption and decoding of tallies, including the edge cases: no ballots,
one ballot, every voter choosing the same option; random t ≤ n with random guardians absent."""

from __future__ import annotations

import random
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import encrypt_ballot, new_ballot_nonce
from sivei.ballot.manifest import sample_manifest
from sivei.crypto import ed25519
from sivei.crypto.context import base_hash, election_hash
from sivei.crypto.decryption import DecryptionError
from sivei.crypto.dkg import run_ceremony
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.group import TEST_GROUP as G
from sivei.tally.aggregate import EncryptedTally, aggregate
from sivei.tally.decrypt import combine_tally, decrypt_tally_share, parse_guardian_decryption

MANIFEST = sample_manifest()


def election(n: int, t: int):  # type: ignore[no-untyped-def]
    h_b = base_hash(G, MANIFEST.hash)
    signers = [SoftwareSigner() for _ in range(n)]
    run = run_ceremony(G, MANIFEST.election_id, "c", h_b, n, t, signers)
    h_e = election_hash(G, h_b, run.outcome.joint_key, run.outcome.commitments, b"\x00" * 32)
    return ElectionContext(MANIFEST, ElectionKey(G, run.outcome.joint_key), h_e), run, signers


def decrypt(ctx, run, signers, tally: EncryptedTally, present: list[int], n: int, t: int):  # type: ignore[no-untyped-def]
    envs = [decrypt_tally_share(ctx, tally, guardian=i, secret_share=run.secret_shares[i - 1],
                                guardian_key=run.outcome.guardian_keys[i - 1], signer=signers[i - 1],
                                ceremony_id="d") for i in present]
    return combine_tally(ctx, tally, [parse_guardian_decryption(ctx, e, e.sender) for e in envs], n=n, t=t)


def cast(ctx: ElectionContext, choices: list[dict[str, str]], style: str):  # type: ignore[no-untyped-def]
    return [encrypt_ballot(ctx, style, c, ed25519.public_key_from_seed(secrets.token_bytes(32)), new_ballot_nonce())
            for c in choices]


@given(st.data())
def test_random_threshold_and_absent_guardians(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 7), label="n")
    t = data.draw(st.integers(1, n), label="t")
    present = sorted(data.draw(st.lists(st.integers(1, n), min_size=t, max_size=n, unique=True), label="present"))
    ctx, run, signers = election(n, t)
    style = MANIFEST.ballot_styles[2]  # a two-contest style keeps this fast
    contests = [c for _, c in MANIFEST.style_contests(style.id)]
    rng = random.Random(data.draw(st.integers(0, 1000)))
    choices = [{c.id: rng.choice(c.options).id for c in contests} for _ in range(data.draw(st.integers(0, 4)))]
    tally = aggregate(ctx, cast(ctx, choices, style.id))
    result = decrypt(ctx, run, signers, tally, present, n, t)
    assert result.present == tuple(present)
    for entry, counts in zip(tally.entries, result.counts, strict=True):
        contest = MANIFEST.contests[entry.contest_index]
        if entry.entity != style.entity:
            assert entry.ballots == 0 and set(counts) == {0}
            continue
        expected = [sum(1 for c in choices if c[contest.id] == o.id) for o in contest.options]
        assert list(counts) == expected


@pytest.mark.parametrize("case", ["none", "one", "unanimous"])
def test_decoding_edge_cases(case: str) -> None:
    ctx, run, signers = election(3, 2)
    style = MANIFEST.ballot_styles[0]
    contests = [c for _, c in MANIFEST.style_contests(style.id)]
    voters = {"none": 0, "one": 1, "unanimous": 6}[case]
    choices = [{c.id: c.options[1].id for c in contests} for _ in range(voters)]
    tally = aggregate(ctx, cast(ctx, choices, style.id))
    result = decrypt(ctx, run, signers, tally, [1, 3], 3, 2)
    for entry, counts in zip(tally.entries, result.counts, strict=True):
        if entry.entity == style.entity:
            assert entry.ballots == voters
            assert list(counts) == [voters if i == 1 else 0 for i in range(len(counts))]
        else:
            assert set(counts) == {0}


def test_fewer_than_t_guardians_refused() -> None:
    ctx, run, signers = election(5, 3)
    tally = aggregate(ctx, [])
    with pytest.raises(DecryptionError, match="al menos 3"):
        decrypt(ctx, run, signers, tally, [2, 4], 5, 3)


def test_tally_json_round_trip_and_hash() -> None:
    ctx, _, _ = election(1, 1)
    style = MANIFEST.ballot_styles[0]
    tally = aggregate(ctx, cast(ctx, [{}], style.id))
    back = EncryptedTally.from_json(G, tally.to_json(G))
    assert back == tally and back.hash(ctx) == tally.hash(ctx)
    assert aggregate(ctx, []).hash(ctx) != tally.hash(ctx)
