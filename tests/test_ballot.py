"""Ballot encryption, validation, cast-or-challenge and the board's acceptance rules (test group)."""

from __future__ import annotations

import dataclasses
import json
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.ballot.board import Board
from sivei.ballot.challenge import ChallengedBallot, check_challenge
from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import (
    EncryptedBallot,
    encrypt_ballot,
    new_ballot_nonce,
    sign_ballot,
)
from sivei.ballot.manifest import Manifest, sample_manifest
from sivei.ballot.validate import ballot_problems, validate_ballot
from sivei.crypto import ed25519
from sivei.crypto.elgamal import Ciphertext, ElectionKey
from sivei.crypto.group import TEST_GROUP as G
from sivei.errors import BallotError, EncodingError

MANIFEST = sample_manifest()
SECRET = secrets.randbelow(G.q - 1) + 1
CTX = ElectionContext(MANIFEST, ElectionKey(G, G.g_pow(SECRET)), b"\x05" * 32)
STYLE = MANIFEST.ballot_styles[0].id


def voter() -> tuple[bytes, bytes]:
    seed = secrets.token_bytes(32)
    return seed, ed25519.public_key_from_seed(seed)


def decrypt(ct: Ciphertext) -> int:
    g_m = G.div(ct.beta, G.pow(ct.alpha, SECRET))
    for m in range(3):
        if G.g_pow(m) == g_m:
            return m
    raise AssertionError("not 0, 1 or 2")


def cast_ballot(choices: dict[str, str] | None = None, style: str = STYLE) -> tuple[EncryptedBallot, bytes]:
    seed, public = voter()
    ballot = encrypt_ballot(CTX, style, choices or {}, public, new_ballot_nonce())
    return sign_ballot(CTX, ballot, seed), seed


def checks(ballot: EncryptedBallot, listed: str | None = STYLE) -> list[str]:
    return [p.check for p in ballot_problems(CTX, ballot, listed, "b")]


def style_choices(manifest: Manifest, style: str) -> st.SearchStrategy[dict[str, str]]:
    contests = [c for _, c in manifest.style_contests(style)]
    return st.fixed_dictionaries({}, optional={c.id: st.sampled_from([o.id for o in c.options]) for c in contests})


@given(style_choices(MANIFEST, STYLE))
def test_encryption_round_trip(choices: dict[str, str]) -> None:
    ballot, _ = cast_ballot(choices)
    assert checks(ballot) == []
    for enc_contest, (index, contest) in zip(ballot.contests, MANIFEST.style_contests(STYLE), strict=True):
        assert enc_contest.index == index
        plain = [decrypt(s.ciphertext) for s in enc_contest.selections]
        chosen = choices.get(contest.id)
        expected = contest.option_index(chosen) if chosen else contest.null_option_index
        assert plain == [1 if i == expected else 0 for i in range(len(contest.options))]
    again = EncryptedBallot.from_json(G, json.loads(json.dumps(ballot.to_json(G))))
    assert again == ballot and again.ballot_hash(CTX) == ballot.ballot_hash(CTX)


def test_unknown_contest_or_option_rejected() -> None:
    _, public = voter()
    with pytest.raises(BallotError, match="no pertenece"):
        encrypt_ballot(CTX, STYLE, {"nope": "X"}, public, new_ballot_nonce())
    contest = MANIFEST.style_contests(STYLE)[0][1]
    with pytest.raises(Exception, match="NOPE"):
        encrypt_ballot(CTX, STYLE, {contest.id: "NOPE"}, public, new_ballot_nonce())


def test_validation_names_each_failure() -> None:
    ballot, _ = cast_ballot()
    other, _ = cast_ballot()
    assert checks(ballot, None) == ["ballot.credential.unlisted"]
    assert checks(ballot, "oax") == ["ballot.style.mismatch"]
    assert checks(dataclasses.replace(ballot, signature=b"")) == ["ballot.signature"]
    assert checks(dataclasses.replace(ballot, signature=other.signature)) == ["ballot.signature"]
    # a changed ciphertext: its proofs and the signature fail
    c0 = ballot.contests[0]
    s0 = c0.selections[0]
    changed = dataclasses.replace(s0, ciphertext=Ciphertext(s0.ciphertext.alpha, G.mul(s0.ciphertext.beta, G.g)))
    tampered = dataclasses.replace(ballot, contests=(dataclasses.replace(c0, selections=(changed, *c0.selections[1:])),
                                                     *ballot.contests[1:]))
    assert set(checks(tampered)) == {"ballot.signature", "ballot.proof.zero-one", "ballot.proof.sum"}
    # proofs swapped between ballots
    swapped_sel = dataclasses.replace(s0, proof=other.contests[0].selections[0].proof)
    swapped_contest = dataclasses.replace(c0, selections=(swapped_sel, *c0.selections[1:]))
    swapped = dataclasses.replace(ballot, contests=(swapped_contest, *ballot.contests[1:]))
    assert "ballot.proof.zero-one" in checks(swapped)
    # a missing contest
    assert checks(dataclasses.replace(ballot, contests=ballot.contests[1:])) == ["ballot.signature", "ballot.shape"]


def test_ballot_cannot_be_copied_under_another_credential() -> None:
    ballot, _ = cast_ballot()
    thief_seed, thief_public = voter()
    copied = dataclasses.replace(ballot, credential=thief_public, signature=b"")
    copied = sign_ballot(CTX, copied, thief_seed)  # a valid signature by the thief ...
    problems = checks(copied)
    assert "ballot.signature" not in problems
    assert "ballot.proof.zero-one" in problems  # ... but the proofs are bound to the original credential
    assert "ballot.proof.sum" in problems


def test_sign_with_wrong_credential_refused() -> None:
    ballot, _ = cast_ballot()
    with pytest.raises(BallotError):
        sign_ballot(CTX, ballot, secrets.token_bytes(32))


def test_parse_rejects_malformed_ballots() -> None:
    ballot, _ = cast_ballot()
    data = ballot.to_json(G)
    bad = json.loads(json.dumps(data))
    bad["contests"][0]["selections"][0]["ciphertext"]["alpha"] = (G.p - 1).to_bytes(64, "big").hex()
    with pytest.raises(EncodingError, match="subgrupo"):
        EncryptedBallot.from_json(G, bad)
    bad = json.loads(json.dumps(data))
    del bad["signature"]
    with pytest.raises(EncodingError, match="signature"):
        EncryptedBallot.from_json(G, bad)
    bad = json.loads(json.dumps(data))
    bad["contests"][0]["index"] = "0"
    with pytest.raises(EncodingError, match="index"):
        EncryptedBallot.from_json(G, bad)
    with pytest.raises(EncodingError):
        EncryptedBallot.from_json(G, [])


def test_challenge_rebuilds_the_ballot() -> None:
    _, public = voter()
    contest = MANIFEST.style_contests(STYLE)[0][1]
    choices = {contest.id: contest.options[1].id}
    nonce = new_ballot_nonce()
    ballot = encrypt_ballot(CTX, STYLE, choices, public, nonce)
    challenged = ChallengedBallot(ballot, choices, nonce)
    assert check_challenge(CTX, challenged) == []
    parsed = ChallengedBallot.from_json(CTX, json.loads(json.dumps(challenged.to_json(CTX))))
    assert (parsed.ballot, parsed.choices, parsed.ballot_nonce) == (ballot, choices, nonce)
    assert parsed.stated_tracking_code == ballot.tracking_code(CTX)
    assert check_challenge(CTX, parsed) == []
    # a device that showed the voter another code than the ballot's is caught
    shown_other = dataclasses.replace(parsed, stated_tracking_code="00000-00000-00000-00000")
    assert [p.check for p in check_challenge(CTX, shown_other)] == ["challenge.tracking-code"]
    # a cheating device that encrypted another choice is caught
    lying = ChallengedBallot(ballot, {contest.id: contest.options[2].id}, nonce)
    assert [p.check for p in check_challenge(CTX, lying)] == ["challenge.mismatch"]
    assert [p.check for p in check_challenge(CTX, ChallengedBallot(ballot, choices, new_ballot_nonce()))] == [
        "challenge.mismatch"]
    # the tracking code exists before the choice and is reproduced exactly
    assert encrypt_ballot(CTX, STYLE, choices, public, nonce).tracking_code(CTX) == ballot.tracking_code(CTX)


def test_board_enforces_one_vote_and_unique_alpha() -> None:
    first, seed = cast_ballot()
    second = sign_ballot(CTX, encrypt_ballot(CTX, STYLE, {}, first.credential, new_ballot_nonce()), seed)
    stranger, _ = cast_ballot()
    board = Board(CTX, {first.credential: STYLE, stranger.credential: STYLE})
    head0 = board.head
    board.cast(first)
    assert board.head != head0
    with pytest.raises(BallotError, match="un voto"):
        board.cast(second)
    with pytest.raises(BallotError, match="no está en la lista"):
        board.cast(cast_ballot()[0])
    assert len(board.events) == 2
    # a valid ballot of another credential that reuses α (same ballot nonce) is refused
    nonce = new_ballot_nonce()
    seed_a, public_a = voter()
    seed_b, public_b = voter()
    a = sign_ballot(CTX, encrypt_ballot(CTX, STYLE, {}, public_a, nonce), seed_a)
    b = sign_ballot(CTX, encrypt_ballot(CTX, STYLE, {}, public_b, nonce), seed_b)
    board2 = Board(CTX, {public_a: STYLE, public_b: STYLE})
    board2.cast(a)
    with pytest.raises(BallotError, match="α"):
        board2.cast(b)
    board.close()
    with pytest.raises(BallotError, match="cerró"):
        board.cast(stranger)


def test_validate_ballot_raises_with_reason() -> None:
    ballot, _ = cast_ballot()
    validate_ballot(CTX, ballot, STYLE)
    with pytest.raises(BallotError, match="tipo"):
        validate_ballot(CTX, ballot, "oax")
