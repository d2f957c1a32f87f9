"""The threshold key ceremony: honest runs, every single-field mutation of each message, complaints,
coordinator equivocation, missing and foreign messages, and the guardian state's serialisation."""

from __future__ import annotations

import copy
import dataclasses
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nacl.public
import pytest

from sivei.crypto.dkg import (
    ROUND_TYPES,
    BadBoxComplaint,
    BadShareComplaint,
    CeremonyAbortError,
    CeremonyOutcome,
    Coordinator,
    GuardianState,
    advance,
    check_transcript,
    conclude,
    evaluate_complaint,
    expected_share_image,
    new_guardian,
    open_share_box,
    run_ceremony,
    share_digest,
    transport,
    verify_transcript,
)
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.encoding import element_to_hex, scalar_to_hex, tagged_hash
from sivei.crypto.envelope import Envelope, bundle_hash, seal
from sivei.crypto.group import TEST_GROUP as G
from sivei.crypto.proofs import prove_schnorr
from sivei.errors import CeremonyError, EncodingError

EID = "pef-2027"
CID = "ceremonia-1"
HB = tagged_hash("test/h_b", b"manifest")
N, T = 4, 3

Rounds = list[list[Envelope]]


@dataclass
class Honest:
    signers: list[SoftwareSigner]
    rounds: tuple[tuple[Envelope, ...], ...]
    outcome: CeremonyOutcome
    shares: tuple[int, ...]


@pytest.fixture(scope="module")
def honest() -> Honest:
    signers = [SoftwareSigner() for _ in range(N)]
    rounds, outcome, shares = run_ceremony(G, EID, CID, HB, N, T, signers)
    return Honest(signers, rounds, outcome, shares)


def resign(env: Envelope, signer: SoftwareSigner, **changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "type": env.type, "election_id": env.election_id, "ceremony_id": env.ceremony_id,
        "round": env.round, "sender": env.sender, "previous": env.previous,
        "body": copy.deepcopy(dict(env.body))}
    fields.update(changes)
    return seal(signer, **fields)


def with_envelope(rounds: Sequence[Sequence[Envelope]], rnd: int, j: int, env: Envelope | None) -> Rounds:
    out = [list(b) for b in rounds]
    if env is None:
        del out[rnd][j - 1]
    else:
        out[rnd][j - 1] = env
    return out


def expect_abort(rounds: Sequence[Sequence[Envelope]], rnd: int, guardian: int | None,
                 code: str, n: int = N, t: int = T) -> CeremonyAbortError:
    problems = check_transcript(G, EID, CID, HB, n, t, rounds)
    assert problems, "the mutation went unnoticed"
    first = problems[0]
    assert (first.round, first.guardian, first.code) == (rnd, guardian, code), problems
    with pytest.raises(CeremonyAbortError) as info:
        verify_transcript(G, EID, CID, HB, n, t, rounds)
    assert (info.value.round, info.value.guardian, info.value.code) == (rnd, guardian, code)
    assert ROUND_TYPES[rnd] in str(info.value)
    if guardian is not None:
        assert f" {guardian}" in str(info.value)
    return info.value


# -- honest runs ----------------------------------------------------------------------------------


def test_honest_transcript(honest: Honest) -> None:
    out = verify_transcript(G, EID, CID, HB, N, T, honest.rounds)
    assert out == honest.outcome
    assert check_transcript(G, EID, CID, HB, N, T, honest.rounds) == []
    assert out.signing_keys == tuple(s.public_key for s in honest.signers)
    # K_i = g^{s_i}, K = Π C_{j,0}, and the s_i interpolate to the joint secret
    for i, s in enumerate(honest.shares, start=1):
        assert G.g_pow(s) == out.guardian_keys[i - 1]
    assert out.joint_key == G.mul(*(row[0] for row in out.commitments))
    assert all(len(row) == T for row in out.commitments)
    # chaining: round r's previous is the hash of bundle r−1, round 0's is H_B
    for rnd, bundle in enumerate(honest.rounds):
        expected = HB if rnd == 0 else bundle_hash(EID, CID, rnd - 1, honest.rounds[rnd - 1])
        assert all(e.previous == expected for e in bundle)
        assert [e.sender for e in bundle] == [f"guardian-{j}" for j in range(1, N + 1)]


def test_one_of_one_and_n_of_n() -> None:
    for n, t in ((1, 1), (3, 3)):
        signers = [SoftwareSigner() for _ in range(n)]
        rounds, out, shares = run_ceremony(G, EID, CID, HB, n, t, signers)
        assert verify_transcript(G, EID, CID, HB, n, t, rounds) == out
        if n == 1:
            assert out.joint_key == G.g_pow(shares[0])


def test_bad_parameters() -> None:
    with pytest.raises(CeremonyError):
        run_ceremony(G, EID, CID, HB, 3, 4, [SoftwareSigner() for _ in range(3)])
    with pytest.raises(CeremonyError):
        new_guardian(G, EID, CID, HB, 3, 0, 1)
    with pytest.raises(CeremonyError):
        new_guardian(G, EID, CID, HB, 3, 2, 4)
    with pytest.raises(CeremonyError):
        new_guardian(G, EID, CID, b"short", 3, 2, 1)
    fake = dataclasses.replace(G, name="other")
    with pytest.raises(CeremonyError):
        new_guardian(fake, EID, CID, HB, 3, 2, 1)


# -- transcript mutations (the auditor's verifier) ------------------------------------------------


def test_signature_changed(honest: Honest) -> None:
    for rnd in range(5):
        env = honest.rounds[rnd][1]
        sig = bytearray(env.signature)
        sig[5] ^= 1
        bad = dataclasses.replace(env, signature=bytes(sig))
        expect_abort(with_envelope(honest.rounds, rnd, 2, bad), rnd, 2, "signature")


def test_body_changed_without_resigning(honest: Honest) -> None:
    env = honest.rounds[1][0]
    body = copy.deepcopy(dict(env.body))
    body["proofs"][0]["response"] = scalar_to_hex(1)
    bad = dataclasses.replace(env, body=body)
    expect_abort(with_envelope(honest.rounds, 1, 1, bad), 1, 1, "signature")


def test_signed_by_another_guardian(honest: Honest) -> None:
    env = honest.rounds[2][2]
    bad = resign(env, honest.signers[0])
    expect_abort(with_envelope(honest.rounds, 2, 3, bad), 2, 3, "signature")


def test_previous_changed(honest: Honest) -> None:
    for rnd in range(5):
        env = honest.rounds[rnd][3]
        bad = resign(env, honest.signers[3], previous=secrets.token_bytes(32))
        expect_abort(with_envelope(honest.rounds, rnd, 4, bad), rnd, 4, "previous")


def test_other_ceremony_or_election_or_round(honest: Honest) -> None:
    env = honest.rounds[1][0]
    s = honest.signers[0]
    expect_abort(with_envelope(honest.rounds, 1, 1, resign(env, s, ceremony_id="ceremonia-2")),
                 1, 1, "ceremony")
    expect_abort(with_envelope(honest.rounds, 1, 1, resign(env, s, election_id="otra")),
                 1, 1, "election")
    expect_abort(with_envelope(honest.rounds, 1, 1, resign(env, s, round=2)), 1, 1, "type")
    expect_abort(with_envelope(honest.rounds, 1, 1, resign(env, s, type="dkg-shares")), 1, 1, "type")
    with pytest.raises(CeremonyAbortError) as info:
        verify_transcript(G, EID, "ceremonia-2", HB, N, T, honest.rounds)
    assert info.value.code == "ceremony" and info.value.round == 0


def test_missing_message(honest: Honest) -> None:
    for rnd in range(5):
        problems = check_transcript(G, EID, CID, HB, N, T,
                                    with_envelope(honest.rounds, rnd, 3, None))
        assert problems[0].guardian == 3 and problems[0].code == "missing"
        assert problems[0].round == rnd
    expect_abort(honest.rounds[:4], 4, 1, "missing")


def test_duplicate_and_unordered(honest: Honest) -> None:
    rounds = [list(b) for b in honest.rounds]
    rounds[1][0], rounds[1][1] = rounds[1][1], rounds[1][0]
    expect_abort(rounds, 1, 1, "order")
    rounds = [list(b) for b in honest.rounds]
    rounds[2].append(rounds[2][0])
    expect_abort(rounds, 2, 1, "duplicate")
    rounds = [list(b) for b in honest.rounds]
    rounds[0][0] = dataclasses.replace(rounds[0][0], sender="guardian-9")
    expect_abort(rounds, 0, None, "sender")


def test_announce_mutations(honest: Honest) -> None:
    env = honest.rounds[0][1]
    s = honest.signers[1]
    body = copy.deepcopy(dict(env.body))
    body["transport_key"] = "00" * 32  # low order: nobody could seal to it
    expect_abort(with_envelope(honest.rounds, 0, 2, resign(env, s, body=body)), 0, 2, "body")
    body = copy.deepcopy(dict(env.body))
    body["transport_key"] = honest.rounds[0][0].body["transport_key"]
    expect_abort(with_envelope(honest.rounds, 0, 2, resign(env, s, body=body)), 0, 2, "duplicate-key")
    body = copy.deepcopy(dict(env.body))
    body["extra"] = 1
    expect_abort(with_envelope(honest.rounds, 0, 2, resign(env, s, body=body)), 0, 2, "body")
    # a key that did not sign the announcement
    body = copy.deepcopy(dict(env.body))
    body["signing_key"] = SoftwareSigner().public_key.hex()
    expect_abort(with_envelope(honest.rounds, 0, 2, resign(env, s, body=body)), 0, 2, "signature")


def _bad_elements() -> list[str]:
    """p − 1 (order 2), 0, p, the identity, and 2 (not in the order-q subgroup)."""
    assert not G.is_element(2)
    width = G.element_bytes
    return [element_to_hex(G, G.p - 1), "00" * width, format(G.p, f"0{2 * width}x"),
            element_to_hex(G, 1), element_to_hex(G, 2)]


def test_commitment_mutations(honest: Honest) -> None:
    env = honest.rounds[1][2]
    s = honest.signers[2]
    for k in range(T):
        body = copy.deepcopy(dict(env.body))
        c = int(body["commitments"][k], 16)
        body["commitments"][k] = element_to_hex(G, G.mul(c, G.g))
        expect_abort(with_envelope(honest.rounds, 1, 3, resign(env, s, body=body)), 1, 3, "proof")
        for field in ("commitment", "response"):
            body = copy.deepcopy(dict(env.body))
            v = int(body["proofs"][k][field], 16)
            body["proofs"][k][field] = (element_to_hex(G, G.mul(v, G.g)) if field == "commitment"
                                        else scalar_to_hex((v + 1) % G.q))
            expect_abort(with_envelope(honest.rounds, 1, 3, resign(env, s, body=body)),
                         1, 3, "proof")
    # outside the subgroup, out of range, or the identity: refused on parse
    for bad in _bad_elements():
        body = copy.deepcopy(dict(env.body))
        body["commitments"][1] = bad
        expect_abort(with_envelope(honest.rounds, 1, 3, resign(env, s, body=body)), 1, 3, "body")
    # a proof for another coefficient index (swapped proofs) fails
    body = copy.deepcopy(dict(env.body))
    body["proofs"][0], body["proofs"][1] = body["proofs"][1], body["proofs"][0]
    body["commitments"][0], body["commitments"][1] = body["commitments"][1], body["commitments"][0]
    expect_abort(with_envelope(honest.rounds, 1, 3, resign(env, s, body=body)), 1, 3, "proof")
    # wrong count
    body = copy.deepcopy(dict(env.body))
    body["commitments"].pop()
    body["proofs"].pop()
    expect_abort(with_envelope(honest.rounds, 1, 3, resign(env, s, body=body)), 1, 3, "body")


def test_shares_mutations(honest: Honest) -> None:
    env = honest.rounds[2][0]
    s = honest.signers[0]
    body = copy.deepcopy(dict(env.body))
    body["boxes"][0]["recipient"] = 3
    expect_abort(with_envelope(honest.rounds, 2, 1, resign(env, s, body=body)), 2, 1, "body")
    body = copy.deepcopy(dict(env.body))
    body["boxes"][0]["box"] = body["boxes"][0]["box"][:-2]
    expect_abort(with_envelope(honest.rounds, 2, 1, resign(env, s, body=body)), 2, 1, "body")
    body = copy.deepcopy(dict(env.body))
    body["boxes"].pop()
    expect_abort(with_envelope(honest.rounds, 2, 1, resign(env, s, body=body)), 2, 1, "body")
    # a changed (still well-formed) box cannot be judged from the transcript alone: the recipients'
    # acceptances then no longer chain to this bundle
    body = copy.deepcopy(dict(env.body))
    box = bytearray(bytes.fromhex(body["boxes"][1]["box"]))
    box[50] ^= 1
    body["boxes"][1]["box"] = box.hex()
    expect_abort(with_envelope(honest.rounds, 2, 1, resign(env, s, body=body)), 3, 1, "previous")


def test_verification_mutations(honest: Honest) -> None:
    env = honest.rounds[3][1]
    s = honest.signers[1]
    body = copy.deepcopy(dict(env.body))
    body["accepted"].pop()
    expect_abort(with_envelope(honest.rounds, 3, 2, resign(env, s, body=body)), 3, 2, "body")
    body = copy.deepcopy(dict(env.body))
    body["accepted"] = [*body["accepted"], 2]
    expect_abort(with_envelope(honest.rounds, 3, 2, resign(env, s, body=body)), 3, 2, "body")
    body = copy.deepcopy(dict(env.body))
    body["accepted"] = list(reversed(body["accepted"]))
    expect_abort(with_envelope(honest.rounds, 3, 2, resign(env, s, body=body)), 3, 2, "body")
    body = copy.deepcopy(dict(env.body))
    body["complaints"] = [{"kind": "nope", "dealer": 1}]
    body["accepted"].remove(1)
    expect_abort(with_envelope(honest.rounds, 3, 2, resign(env, s, body=body)), 3, 2, "body")


def test_finalize_mutations(honest: Honest) -> None:
    rnd, j = 4, 2
    env = honest.rounds[rnd][j - 1]
    s = honest.signers[j - 1]
    for field in ("guardian_key", "joint_key"):
        body = copy.deepcopy(dict(env.body))
        body[field] = element_to_hex(G, G.mul(int(body[field], 16), G.g))
        expect_abort(with_envelope(honest.rounds, rnd, j, resign(env, s, body=body)), rnd, j, "proof")
        for bad in _bad_elements()[:4]:
            body = copy.deepcopy(dict(env.body))
            body[field] = bad
            expect_abort(with_envelope(honest.rounds, rnd, j, resign(env, s, body=body)),
                         rnd, j, "body")
    for field in ("commitment", "response"):
        body = copy.deepcopy(dict(env.body))
        v = int(body["proof"][field], 16)
        body["proof"][field] = (element_to_hex(G, G.mul(v, G.g)) if field == "commitment"
                                else scalar_to_hex((v + 1) % G.q))
        expect_abort(with_envelope(honest.rounds, rnd, j, resign(env, s, body=body)), rnd, j, "proof")
    # a key the guardian knows the logarithm of, with a valid proof, that is not g^{s_j}
    x = secrets.randbelow(G.q)
    body = copy.deepcopy(dict(env.body))
    body["guardian_key"] = element_to_hex(G, G.g_pow(x))
    body["proof"] = prove_schnorr(G, x, G.g_pow(x), context=HB,
                                  statement=(j).to_bytes(4, "big")).to_json(G)
    expect_abort(with_envelope(honest.rounds, rnd, j, resign(env, s, body=body)), rnd, j, "proof")


def test_check_transcript_lists_every_problem(honest: Honest) -> None:
    rounds = with_envelope(honest.rounds, 4, 1, None)
    env = rounds[1][2]
    body = copy.deepcopy(dict(env.body))
    body["proofs"][0]["response"] = scalar_to_hex(5)
    rounds[1][2] = resign(env, honest.signers[2], body=body)
    problems = check_transcript(G, EID, CID, HB, N, T, rounds)
    assert (problems[0].round, problems[0].guardian, problems[0].code) == (1, 3, "proof")
    assert any(p.round == 4 and p.guardian == 1 and p.code == "missing" for p in problems)
    with pytest.raises(CeremonyAbortError) as info:
        verify_transcript(G, EID, CID, HB, N, T, rounds)
    assert len(info.value.problems) == len(problems) > 2
    extra = check_transcript(G, EID, CID, HB, N, T, [*honest.rounds, ()])
    assert [p.code for p in extra] == ["extra-rounds"]


# -- live runs with misbehaving parties -----------------------------------------------------------

TamperOut = Callable[[int, int, Envelope, GuardianState, GuardianState, SoftwareSigner],
                     tuple[GuardianState, Envelope | None]]
TamperIn = Callable[[int, int, list[Envelope]], list[Envelope]]


def drive(n: int = N, t: int = T, *, tamper_out: TamperOut | None = None,
          tamper_in: TamperIn | None = None, check: bool = True,
          ceremony: Callable[[int], str] = lambda j: CID) -> CeremonyOutcome:
    """Run a ceremony step by step, each guardian's state through bytes between steps (as the
    separate processes will). ``tamper_out`` may replace or drop what a guardian sends;
    ``tamper_in`` may change the bundle one guardian receives; ``check=False`` makes the
    coordinator relay without checking (a malicious coordinator)."""
    signers = [SoftwareSigner() for _ in range(n)]
    states = [new_guardian(G, EID, ceremony(j), HB, n, t, j).to_bytes() for j in range(1, n + 1)]
    coordinator = Coordinator(G, EID, CID, HB, n, t)
    bundle: list[Envelope] = []
    for rnd in range(5):
        sent = []
        for j in range(1, n + 1):
            incoming = [transport(e) for e in bundle]
            if tamper_in is not None:
                incoming = tamper_in(rnd, j, incoming)
            old = GuardianState.from_bytes(states[j - 1])
            new, env = advance(old, signers[j - 1], incoming)
            out: Envelope | None = env
            if tamper_out is not None:
                new, out = tamper_out(rnd, j, env, old, new, signers[j - 1])
            states[j - 1] = new.to_bytes()
            if out is not None:
                sent.append(transport(out))
        bundle = (list(coordinator.collect(sent)) if check
                  else sorted(sent, key=lambda e: int(e.sender.split("-")[1])))
    outcomes = [conclude(GuardianState.from_bytes(s), [transport(e) for e in bundle])[1]
                for s in states]
    assert all(o == outcomes[0] for o in outcomes)
    return outcomes[0]


def test_drive_honest_with_state_through_bytes() -> None:
    out = drive()
    assert len(out.guardian_keys) == N


def _replace_body(env: Envelope, new: GuardianState, signer: SoftwareSigner,
                  body: dict[str, Any]) -> tuple[GuardianState, Envelope]:
    forged = resign(env, signer, body=body)
    return dataclasses.replace(new, last_sent=forged.content_hash), forged


def _forge_box(dealer: int, recipient: int, old: GuardianState, signer: SoftwareSigner,
               share: int) -> str:
    sig = signer.sign_digest(share_digest(G, HB, CID, dealer, recipient, share))
    pk = nacl.public.PublicKey(old.transport_keys[recipient - 1])
    return bytes(nacl.public.SealedBox(pk).encrypt(share.to_bytes(32, "big") + sig)).hex()


def test_bad_share_names_the_dealer() -> None:
    def tamper(rnd: int, j: int, env: Envelope, old: GuardianState, new: GuardianState,
               signer: SoftwareSigner) -> tuple[GuardianState, Envelope | None]:
        if (rnd, j) != (2, 2):
            return new, env
        body = copy.deepcopy(dict(env.body))
        body["boxes"][2]["box"] = _forge_box(2, 4, old, signer, secrets.randbelow(G.q))
        return _replace_body(env, new, signer, body)

    with pytest.raises(CeremonyAbortError) as info:
        drive(tamper_out=tamper)
    e = info.value
    assert (e.round, e.guardian, e.code) == (3, 2, "bad-share")


def test_bad_box_names_the_dealer() -> None:
    def tamper(rnd: int, j: int, env: Envelope, old: GuardianState, new: GuardianState,
               signer: SoftwareSigner) -> tuple[GuardianState, Envelope | None]:
        if (rnd, j) != (2, 1):
            return new, env
        body = copy.deepcopy(dict(env.body))
        body["boxes"][0]["box"] = secrets.token_bytes(144).hex()  # to guardian 2
        return _replace_body(env, new, signer, body)

    with pytest.raises(CeremonyAbortError) as info:
        drive(tamper_out=tamper)
    assert (info.value.round, info.value.guardian, info.value.code) == (3, 1, "bad-box")


def test_box_with_invalid_inner_signature_names_the_dealer() -> None:
    def tamper(rnd: int, j: int, env: Envelope, old: GuardianState, new: GuardianState,
               signer: SoftwareSigner) -> tuple[GuardianState, Envelope | None]:
        if (rnd, j) != (2, 3):
            return new, env
        body = copy.deepcopy(dict(env.body))
        # a correct-looking box signed by someone else
        body["boxes"][0]["box"] = _forge_box(3, 1, old, SoftwareSigner(), 12345)
        return _replace_body(env, new, signer, body)

    with pytest.raises(CeremonyAbortError) as info:
        drive(tamper_out=tamper)
    assert (info.value.round, info.value.guardian, info.value.code) == (3, 3, "bad-box")


def _complain(kind: str, wrong_key: bool = False, forge_signature: bool = False) -> TamperOut:
    """Guardian 4 complains falsely about dealer 1 in round 3."""

    def tamper(rnd: int, j: int, env: Envelope, old: GuardianState, new: GuardianState,
               signer: SoftwareSigner) -> tuple[GuardianState, Envelope | None]:
        if (rnd, j) != (3, 4):
            return new, env
        box = next(bytes.fromhex(b["box"]) for b in
                   _INCOMING[2][0].body["boxes"] if b["recipient"] == 4)
        opened = open_share_box(G, HB, CID, 1, 4, old.transport_private_key,
                                old.signing_keys[0], box)
        assert opened is not None
        share, sig = opened
        if forge_signature:
            share = (share + 1) % G.q
            sig = signer.sign_digest(share_digest(G, HB, CID, 1, 4, share))
        key = nacl.public.PrivateKey.generate().encode() if wrong_key else old.transport_private_key
        complaint = (BadShareComplaint(1, share, sig) if kind == "bad-share"
                     else BadBoxComplaint(1, key))
        body = {"accepted": [2, 3], "complaints": [complaint.to_json()]}
        return _replace_body(env, new, signer, body)

    return tamper


_INCOMING: dict[int, list[Envelope]] = {}


def _record(rnd: int, j: int, incoming: list[Envelope]) -> list[Envelope]:
    if rnd > 0:
        _INCOMING[rnd - 1] = incoming
    return incoming


@pytest.mark.parametrize(("kind", "wrong_key", "forge", "code"), [
    ("bad-share", False, False, "false-complaint-share"),
    ("bad-share", False, True, "false-complaint-signature"),
    ("bad-box", False, False, "false-complaint-box"),
    ("bad-box", True, False, "false-complaint-key"),
])
def test_false_complaint_names_the_complainer(kind: str, wrong_key: bool, forge: bool,
                                              code: str) -> None:
    with pytest.raises(CeremonyAbortError) as info:
        drive(tamper_out=_complain(kind, wrong_key, forge), tamper_in=_record)
    assert (info.value.round, info.value.guardian, info.value.code) == (3, 4, code)


def test_evaluate_complaint_directly(honest: Honest) -> None:
    # with an honest transcript, any complaint by guardian 2 about dealer 1 is unfounded
    out = honest.outcome
    share = 7
    sig = honest.signers[0].sign_digest(share_digest(G, HB, CID, 1, 2, share))
    box = bytes.fromhex(honest.rounds[2][0].body["boxes"][0]["box"])
    tk = bytes.fromhex(honest.rounds[0][1].body["transport_key"])
    kw: dict[str, Any] = {"dealer_signing_key": out.signing_keys[0],
                          "dealer_commitments": out.commitments[0], "complainer_transport_key": tk,
                          "box": box}
    v = evaluate_complaint(G, HB, CID, 2, BadShareComplaint(1, share, sig), **kw)
    assert v.dealer_at_fault and v.culprit == 1  # a signed wrong share convicts the dealer
    assert G.g_pow(share) != expected_share_image(G, out.commitments[0], 2)
    v = evaluate_complaint(G, HB, CID, 2, BadShareComplaint(1, share, bytes(64)), **kw)
    assert not v.dealer_at_fault and v.culprit == 2
    v = evaluate_complaint(G, HB, CID, 2, BadBoxComplaint(1, secrets.token_bytes(32)), **kw)
    assert (v.culprit, v.code) == (2, "false-complaint-key")
    assert "kkkk" not in repr(BadBoxComplaint(1, b"k" * 32))


def test_coordinator_equivocation_is_caught() -> None:
    """The coordinator shows guardian 2 a bundle 0 in which guardian 3's announcement is replaced
    by one for a key the coordinator controls."""
    fake = SoftwareSigner()

    def swap(rnd: int, j: int, incoming: list[Envelope]) -> list[Envelope]:
        if (rnd, j) != (1, 2):
            return incoming
        env = incoming[2]
        body = dict(env.body)
        body["signing_key"] = fake.public_key.hex()
        body["transport_key"] = bytes(nacl.public.PrivateKey.generate().public_key).hex()
        incoming = list(incoming)
        incoming[2] = resign(env, fake, body=body)
        return incoming

    # an honest (checking) coordinator sees guardian 2's round-1 message chain to another bundle
    with pytest.raises(CeremonyAbortError) as info:
        drive(tamper_in=swap)
    assert (info.value.round, info.value.guardian, info.value.code) == (1, 2, "previous")
    # a coordinator that relays without checking is caught by the next guardian to look
    with pytest.raises(CeremonyAbortError) as info:
        drive(tamper_in=swap, check=False)
    assert (info.value.round, info.value.guardian, info.value.code) == (1, 2, "previous")


def test_coordinator_altering_a_guardians_own_message_is_caught() -> None:
    def drop_own(rnd: int, j: int, incoming: list[Envelope]) -> list[Envelope]:
        if (rnd, j) == (2, 1):
            return [incoming[1], *incoming[1:]]  # guardian 1's message replaced by a copy of 2's
        return incoming

    def alter_own(rnd: int, j: int, incoming: list[Envelope]) -> list[Envelope]:
        if (rnd, j) == (3, 1):  # guardian 1's box to guardian 2 swapped for another
            body = copy.deepcopy(dict(incoming[0].body))
            body["boxes"][0]["box"] = secrets.token_bytes(144).hex()
            return [dataclasses.replace(incoming[0], body=body), *incoming[1:]]
        return incoming

    for tamper in (drop_own, alter_own):
        with pytest.raises(CeremonyAbortError) as info:
            drive(tamper_in=tamper, check=False)
        assert info.value.guardian == 1 and info.value.code == "own-message"


def test_missing_message_aborts_naming_the_guardian() -> None:
    for rnd in range(5):
        def silent(r: int, j: int, env: Envelope, old: GuardianState, new: GuardianState,
                   signer: SoftwareSigner, rnd: int = rnd) -> tuple[GuardianState, Envelope | None]:
            return (new, None) if (r, j) == (rnd, 3) else (new, env)

        with pytest.raises(CeremonyAbortError) as info:
            drive(tamper_out=silent)
        assert (info.value.round, info.value.guardian, info.value.code) == (rnd, 3, "missing")


def test_envelope_from_another_ceremony_is_refused() -> None:
    with pytest.raises(CeremonyAbortError) as info:
        drive(ceremony=lambda j: "ceremonia-vieja" if j == 2 else CID)
    assert (info.value.round, info.value.guardian, info.value.code) == (0, 2, "ceremony")


def test_coordinator_rejects_extra_round_and_resumes(honest: Honest) -> None:
    c = Coordinator.resume(G, EID, CID, HB, N, T, honest.rounds)
    assert c.round == 5 and c.outcome() == honest.outcome
    with pytest.raises(CeremonyError):
        c.collect(honest.rounds[0])
    c = Coordinator(G, EID, CID, HB, N, T)
    c.collect(reversed(honest.rounds[0]))  # any arrival order
    with pytest.raises(CeremonyAbortError):
        c.collect(honest.rounds[2])


def test_wrong_signer_refused() -> None:
    signer = SoftwareSigner()
    state, env = advance(new_guardian(G, EID, CID, HB, 1, 1, 1), signer)
    with pytest.raises(CeremonyError):
        advance(state, SoftwareSigner(), [env])
    state2, _ = advance(state, signer, [env])
    assert state2.stage == 2
    with pytest.raises(CeremonyError):
        advance(state2, signer, [env])  # bundle 0 again instead of bundle 1


# -- guardian state -------------------------------------------------------------------------------


def test_state_round_trip_and_secrecy() -> None:
    signers = [SoftwareSigner() for _ in range(3)]
    states = [new_guardian(G, EID, CID, HB, 3, 2, j) for j in (1, 2, 3)]
    bundle: list[Envelope] = []
    for _ in range(5):
        sent = []
        for pos in range(3):
            data = states[pos].to_bytes()
            assert GuardianState.from_bytes(data) == states[pos]
            assert GuardianState.from_bytes(data).to_bytes() == data
            states[pos], env = advance(states[pos], signers[pos], bundle)
            sent.append(env)
        bundle = sent
    st = states[0]
    assert st.secret_share is not None and st.coefficients == () and st.transport_private_key == b""
    r = repr(st)
    assert str(st.secret_share) not in r and hex(st.secret_share)[2:] not in r
    fresh = new_guardian(G, EID, CID, HB, 3, 2, 1)
    assert all(str(a) not in repr(fresh) for a in fresh.coefficients)
    assert fresh.transport_private_key.hex() not in repr(fresh)
    data = st.to_bytes()
    with pytest.raises(EncodingError):
        GuardianState.from_bytes(data[:-1])
    with pytest.raises(EncodingError):
        GuardianState.from_bytes(data + b"\x00")
    bad_version = bytearray(data)
    pos = 4 + len("sivei/dkg-guardian-state")
    bad_version[pos + 3] = 2
    with pytest.raises(EncodingError, match="2"):
        GuardianState.from_bytes(bytes(bad_version))
    with pytest.raises(EncodingError):
        GuardianState.from_bytes(dataclasses.replace(st, stage=3).to_bytes())
