"""The tamper suite: for every check of the verifier, a valid record is mutated and that exact check
fails with its message and location. Test group; one production-group record at the end."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from recordtools import (
    as_version,
    ballot_for,
    ballot_line,
    board_lines,
    board_path,
    copy_record,
    failed,
    read_json,
    rechain,
    recount,
    reindex,
    replace_ballot,
    resign,
    resign_envelope,
    write_board,
    write_json,
)
from sivei.ballot.encrypt import EncryptedBallot
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.record import layout
from sivei.record.verify import VerifyOptions, verify_record

BOARD = layout.BOARD_BIN
"""The board of the records the drill writes (format version 2)."""


@pytest.fixture(scope="session")
def election(tmp_path_factory: pytest.TempPathFactory) -> DrillOutcome:
    out = tmp_path_factory.mktemp("election") / "record"
    # Software keys: the tamper helpers re-sign and re-count with the guardians' keys after the drill
    # (a drill's tokens are closed when it returns; tests/test_cli.py runs the drill with tokens).
    return run_drill(DrillOptions(group=TEST_GROUP, voters=12, challenges=1, output=out, seed=7, tokens=False),
                     say=lambda _m: None)


@pytest.fixture
def record(election: DrillOutcome, tmp_path: Path) -> Path:
    return copy_record(election.record, tmp_path / "record")


def problems_of(record: Path, check: str, **options: object) -> list[str]:
    options.setdefault("allow_test_group", True)
    options.setdefault("jobs", 1)
    report = verify_record(record, VerifyOptions(**options))  # type: ignore[arg-type]
    return [f"{p.location}: {p.message}" for p in report.problems if p.check == check]


def first_ballot_line(lines: list[dict]) -> int:
    return next(i for i, obj in enumerate(lines) if obj["type"] == "ballot")


# -- the valid record -----------------------------------------------------------------------------


def test_valid_record_verifies(record: Path, election: DrillOutcome) -> None:
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=2,
                                                 expect_election=(fingerprint(election.ctx.election_hash),),
                                                 expect_heads=(election.head.hex(),
                                                               fingerprint(election.noted_heads[0]))))
    assert report.ok, report.format_text()
    assert "verificación exitosa" in report.format_text()


def test_test_group_refused_without_flag(record: Path) -> None:
    assert failed(record, allow_test_group=False) == {"parameters": 1}


def test_wrong_expected_election(record: Path) -> None:
    assert failed(record, expect_election=("00000-00000-00000-00000",)) == {"election.expected": 1}


# -- file level -----------------------------------------------------------------------------------


def test_truncated_board(record: Path) -> None:
    data = board_path(record).read_bytes()
    board_path(record).write_bytes(data[: len(data) // 2])
    checks = failed(record)
    assert checks["record.file-hash"] == 1
    assert "board.encoding" in checks
    assert any(BOARD in p for p in problems_of(record, "record.file-hash"))


def test_missing_file(record: Path) -> None:
    (record / layout.RESULTS).unlink()
    assert "record.missing-file" in failed(record)


def test_unlisted_file(record: Path) -> None:
    (record / "extra.json").write_text("{}")
    assert failed(record) == {"record.unlisted-file": 1}


def test_corrupt_json_header(record: Path) -> None:
    (record / layout.HEADER).write_text("{not json")
    assert failed(record) == {"record.header": 1}
    assert "línea 1" in problems_of(record, "record.header")[0]


def test_altered_parameters(record: Path) -> None:
    params = read_json(record, layout.PARAMETERS)
    params["g"] = (TEST_GROUP.g * TEST_GROUP.g % TEST_GROUP.p).to_bytes(64, "big").hex()
    write_json(record, layout.PARAMETERS, params)
    assert failed(record) == {"parameters": 1}


def test_unknown_group(record: Path) -> None:
    params = read_json(record, layout.PARAMETERS)
    params["name"] = "my-own-group"
    write_json(record, layout.PARAMETERS, params)
    assert failed(record) == {"parameters": 1}


# -- manifest, ceremony, credentials --------------------------------------------------------------


def test_manifest_changed_after_the_fact(record: Path) -> None:
    manifest = read_json(record, layout.MANIFEST)
    manifest["name"] = manifest["name"] + " (modificado)"
    write_json(record, layout.MANIFEST, manifest)
    checks = failed(record)
    # H_B changes, so every ceremony proof bound to it fails
    assert any(c.startswith("ceremony.") for c in checks), checks


def test_malformed_manifest(record: Path) -> None:
    manifest = read_json(record, layout.MANIFEST)
    manifest["contests"][0]["votes_allowed"] = 2
    write_json(record, layout.MANIFEST, manifest)
    assert failed(record) == {"manifest": 1}
    assert "votes_allowed" in problems_of(record, "manifest")[0]


def test_ceremony_commitment_changed(record: Path) -> None:
    ceremony = read_json(record, layout.CEREMONY)
    body = ceremony["rounds"][1][1]["body"]
    body["commitments"][0] = (TEST_GROUP.g).to_bytes(64, "big").hex()
    write_json(record, layout.CEREMONY, ceremony)
    problems = problems_of(record, "ceremony.signature")
    assert problems and "custodio 2" in problems[0]


def test_ceremony_envelope_signature(record: Path) -> None:
    ceremony = read_json(record, layout.CEREMONY)
    sig = ceremony["rounds"][4][2]["signature"]
    ceremony["rounds"][4][2]["signature"] = sig[:-2] + ("00" if sig[-2:] != "00" else "01")
    write_json(record, layout.CEREMONY, ceremony)
    checks = failed(record)
    assert "ceremony.signature" in checks
    assert "ronda 4" in problems_of(record, "ceremony.signature")[0]


def test_credential_list_changed_after_the_fact(record: Path) -> None:
    path = record / layout.CREDENTIALS
    lines = path.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["style"] = "oax" if entry["style"] != "oax" else "jal"
    lines[0] = json.dumps(entry, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    reindex(record)
    checks = failed(record)
    assert "credentials" in checks


def test_credential_list_entry_added(record: Path, election: DrillOutcome) -> None:
    path = record / layout.CREDENTIALS
    path.write_text(path.read_text() + '{"credential":"' + "ab" * 32 + '","style":"jal"}\n')
    reindex(record)
    messages = problems_of(record, "credentials")
    assert messages


# -- ballots and the board ------------------------------------------------------------------------


def test_changed_ciphertext(record: Path) -> None:
    lines = board_lines(record)
    i = first_ballot_line(lines)
    alpha = lines[i]["ballot"]["contests"][0]["selections"][0]["ciphertext"]
    beta = int(alpha["beta"], 16)
    alpha["beta"] = (beta * TEST_GROUP.g % TEST_GROUP.p).to_bytes(64, "big").hex()
    write_board(record, lines)
    checks = failed(record)
    assert {"ballot.proof.zero-one", "ballot.proof.sum", "ballot.signature", "board.chain",
            "tally.aggregate"} <= set(checks)
    where = problems_of(record, "ballot.proof.zero-one")[0]
    assert f"{BOARD}:{i + 1}" in where and "contienda" in where and "opción" in where


def test_proofs_swapped_between_ballots(record: Path) -> None:
    lines = board_lines(record)
    i = first_ballot_line(lines)
    j = next(k for k in range(i + 1, len(lines)) if lines[k]["type"] == "ballot"
             and lines[k]["ballot"]["style"] == lines[i]["ballot"]["style"])
    a = lines[i]["ballot"]["contests"][0]["selections"][0]
    b = lines[j]["ballot"]["contests"][0]["selections"][0]
    a["proof"], b["proof"] = b["proof"], a["proof"]
    write_board(record, lines)
    assert failed(record)["ballot.proof.zero-one"] == 2


def test_ballot_dropped_from_the_middle(record: Path) -> None:
    lines = board_lines(record)
    del lines[4]
    write_board(record, lines)
    checks = failed(record)
    assert "board.index" in checks and "board.chain" in checks
    assert f"{BOARD}:5" in problems_of(record, "board.index")[0]


def test_ballot_dropped_from_the_middle_and_recounted(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)
    noted = election.noted_heads[0]
    position = next(i for i, obj in enumerate(lines) if obj["head"] == noted.hex())
    del lines[position - 2]  # a ballot cast before the observer noted the head
    recount(election, record, rechain(election, lines))
    assert failed(record) == {}  # self-consistent ...
    checks = failed(record, expect_heads=(fingerprint(noted),))
    assert checks == {"board.expected-head": 1}  # ... but the observer's noted head is not on it


def test_last_ballot_dropped(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)
    last = max(i for i, obj in enumerate(lines) if obj["type"] == "ballot")
    del lines[last]
    recount(election, record, rechain(election, lines))
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    assert report.ok and any("--expect-head" in note for note in report.notes)
    assert failed(record, expect_heads=(election.head.hex(),)) == {"board.expected-head": 1}


def test_duplicated_ballot(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)
    i = first_ballot_line(lines)
    lines.insert(i + 1, dict(lines[i]))
    recount(election, record, rechain(election, lines))
    checks = failed(record)
    assert checks.get("board.one-vote") == 1 and checks.get("board.unique-alpha", 0) >= 1
    assert f"la primera está en {BOARD}:{i + 1}" in problems_of(record, "board.one-vote")[0]


def test_ballot_with_unlisted_credential(record: Path, election: DrillOutcome) -> None:
    from dataclasses import replace

    import nacl.signing

    from sivei.ballot.encrypt import encrypt_ballot, new_ballot_nonce, sign_ballot

    seed = bytes(range(32))
    public = bytes(nacl.signing.SigningKey(seed).verify_key)
    style = election.ctx.manifest.ballot_styles[0].id
    ballot = sign_ballot(election.ctx, encrypt_ballot(election.ctx, style, {}, public, new_ballot_nonce()), seed)
    lines = board_lines(record)
    lines.insert(len(lines) - 1, ballot_line(election, replace(ballot)))
    recount(election, record, rechain(election, lines))
    assert failed(record) == {"ballot.credential.unlisted": 1}


def test_two_ballots_for_one_credential(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)
    lines.insert(len(lines) - 1, ballot_line(election, ballot_for(election, 0)))
    recount(election, record, rechain(election, lines))
    assert failed(record) == {"board.one-vote": 1}


def test_ballot_of_wrong_style(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)
    delivery = election.deliveries[0]
    own = election.ctx.manifest.style_for_entity(delivery.entity).id
    other = next(s.id for s in election.ctx.manifest.ballot_styles if s.id != own)
    public = ballot_for(election, 0).credential
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "ballot"
             and obj["ballot"]["credential"] == public.hex())
    lines[k] = ballot_line(election, ballot_for(election, 0, style=other))
    recount(election, record, rechain(election, lines))
    assert failed(record) == {"ballot.style.mismatch": 1}


def test_reused_alpha(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)
    nonce = b"\x11" * 32
    for voter in (0, 1):
        ballot = ballot_for(election, voter, nonce=nonce)
        k = next(i for i, obj in enumerate(lines) if obj["type"] == "ballot"
                 and obj["ballot"]["credential"] == ballot.credential.hex())
        lines[k] = ballot_line(election, ballot)
    recount(election, record, rechain(election, lines))
    checks = failed(record)
    assert set(checks) == {"board.unique-alpha"}


# -- batched proof checks (protocol §8.5): what random weights alone would let through -------------


def _doctor(election: DrillOutcome, record: Path, voter: int, change: Any, *, recounted: bool = True) -> int:
    """Replace ``voter``'s ballot by a fresh one changed by ``change`` (ballot → ballot) and re-signed
    with the voter's credential; re-chain (and, if ``recounted``, re-count) so that only the proofs can
    catch it. Returns the board line number (1-based)."""
    lines = board_lines(record)
    k = replace_ballot(election, lines, resign(election, voter, change(ballot_for(election, voter))))
    if recounted:
        recount(election, record, rechain(election, lines))
    else:
        write_board(record, rechain(election, lines))
    return k + 1


def _selection(ballot: EncryptedBallot, contest: int, option: int, **changes: Any) -> EncryptedBallot:
    """The ballot with one selection's proof or ciphertext fields replaced."""
    contests = list(ballot.contests)
    sels = list(contests[contest].selections)
    sel = sels[option]
    proof_fields = {k: v for k, v in changes.items() if k in ("a0", "b0", "a1", "b1", "c0", "c1", "v0", "v1")}
    ct_fields = {k: v(getattr(sel.ciphertext, k)) for k, v in changes.items() if k in ("alpha", "beta")}
    sels[option] = replace(sel, proof=replace(sel.proof, **{k: v(getattr(sel.proof, k))
                                                            for k, v in proof_fields.items()}),
                           ciphertext=replace(sel.ciphertext, **ct_fields))
    contests[contest] = replace(contests[contest], selections=tuple(sels))
    return replace(ballot, contests=tuple(contests))


P = TEST_GROUP.p


def _neg(x: int) -> int:
    return P - x


def test_one_commitment_times_minus_one(record: Path, election: DrillOutcome) -> None:
    line = _doctor(election, record, 2, lambda b: _selection(b, 0, 1, a0=_neg))
    assert failed(record) == {"ballot.proof.zero-one": 1}
    (where,) = problems_of(record, "ballot.proof.zero-one")
    contest = election.ctx.manifest.style_contests(ballot_for(election, 2).style)[0][1]
    assert f"{BOARD}:{line} " in where and f"contienda {contest.id}, opción {contest.options[1].id}" in where


def test_two_commitments_times_minus_one(record: Path, election: DrillOutcome) -> None:
    line = _doctor(election, record, 3, lambda b: _selection(_selection(b, 0, 0, b0=_neg), 0, 2, a1=_neg))
    assert failed(record) == {"ballot.proof.zero-one": 2}
    contest = election.ctx.manifest.style_contests(ballot_for(election, 3).style)[0][1]
    located = problems_of(record, "ballot.proof.zero-one")
    assert [f"{BOARD}:{line} " in w for w in located] == [True, True]
    assert f"opción {contest.options[0].id}" in located[0] and f"opción {contest.options[2].id}" in located[1]


def test_two_errors_that_cancel_in_a_sum(record: Path, election: DrillOutcome) -> None:
    """β_0·g and β_1·g^−1 keep the contest's product (the sum proof still holds) but break both 0/1
    proofs; a0·g and a0'·g^−1 cancel in an unweighted product of equations. Each error is found."""
    g, g_inv = TEST_GROUP.g, TEST_GROUP.inv(TEST_GROUP.g)

    def change(b: EncryptedBallot) -> EncryptedBallot:
        b = _selection(b, 0, 0, beta=lambda x: x * g % P)
        b = _selection(b, 0, 1, beta=lambda x: x * g_inv % P)
        b = _selection(b, 1, 0, a0=lambda x: x * g % P)
        return _selection(b, 1, 1, a0=lambda x: x * g_inv % P)

    line = _doctor(election, record, 4, change)
    assert failed(record) == {"ballot.proof.zero-one": 4}
    contests = [c for _, c in election.ctx.manifest.style_contests(ballot_for(election, 4).style)]
    expected = [f"contienda {contests[c].id}, opción {contests[c].options[o].id}" for c in (0, 1) for o in (0, 1)]
    located = problems_of(record, "ballot.proof.zero-one")
    assert all(f"{BOARD}:{line} " in w for w in located)
    assert [e in w for e, w in zip(expected, located, strict=True)] == [True] * 4


def test_element_of_order_r(record: Path, election: DrillOutcome) -> None:
    """α·z with z of order r: Jacobi symbol 1, so only the batched order-q test catches it; the line
    is reported as unreadable, exactly as the one-element test at parse time did."""
    z = pow(3, 2 * TEST_GROUP.q, P)
    assert z != 1 and pow(z, TEST_GROUP.r, P) == 1
    line = _doctor(election, record, 5, lambda b: _selection(b, 1, 2, alpha=lambda x: x * z % P), recounted=False)
    checks = failed(record)
    assert checks["board.encoding"] == 1
    (message,) = problems_of(record, "board.encoding")
    assert f"{BOARD}:{line}.ballot.contests[1].selections[2].ciphertext.alpha" in message
    assert "subgrupo de orden q" in message


def test_planted_fault_located_across_chunks_and_workers(record: Path, election: DrillOutcome) -> None:
    """Chunks of two events on two worker processes: each chunk is its own batch; the report is
    the one-process report, line numbers included."""
    line = _doctor(election, record, 7, lambda b: _selection(b, 0, 0, v1=lambda v: (v + 1) % TEST_GROUP.q))
    one = verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    two = verify_record(record, VerifyOptions(allow_test_group=True, jobs=2, chunk_events=2))
    assert one.failed_checks() == two.failed_checks() == {"ballot.proof.zero-one": 1}
    assert one.problems == two.problems
    assert f"{BOARD}:{line} " in one.problems[0].location


def test_changed_head(record: Path) -> None:
    lines = board_lines(record)
    lines[3]["head"] = "ab" * 32
    write_board(record, lines)
    # the altered link and the next one (whose predecessor no longer matches)
    assert failed(record) == {"board.chain": 2}
    assert f"{BOARD}:4" in problems_of(record, "board.chain")[0]


def test_changed_operator_event(record: Path) -> None:
    lines = board_lines(record)
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "incident")
    lines[k]["payload"]["description"] = "nada que ver"
    write_board(record, lines)
    assert failed(record) == {"board.chain": 1}


def test_unknown_event_type(record: Path) -> None:
    lines = board_lines(record)
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "incident")
    lines[k]["type"] = "reset"
    write_board(record, lines)
    assert "board.encoding" in failed(record)


def test_close_count_changed(record: Path, election: DrillOutcome) -> None:
    lines = rechain(election, board_lines(record))
    lines[-1]["payload"]["cast"] += 1
    lines = [dict(obj) for obj in lines]
    from recordtools import event_from_json, event_hash  # recompute only the last head

    prev = bytes.fromhex(lines[-2]["head"])
    _, p_hash = event_from_json(election.ctx, lines[-1], "x")
    lines[-1]["head"] = event_hash(election.ctx.election_hash, prev, len(lines) - 1, "close", p_hash).hex()
    write_board(record, lines)
    # the guardians' closing act still states the true count and the true head
    assert failed(record) == {"board.close": 1, "acts.closing.content": 2}
    fields = " ".join(problems_of(record, "acts.closing.content"))
    assert "cast" in fields and "head" in fields


def test_board_not_closed(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)[:-1]
    recount(election, record, lines)
    checks = failed(record)
    assert checks["board.close"] == 1 and "acts.closing" in checks


def test_event_after_close(record: Path, election: DrillOutcome) -> None:
    lines = board_lines(record)
    lines.append({"index": 0, "type": "incident", "head": "00" * 32, "payload": {"description": "tarde"}})
    write_board(record, rechain(election, lines))
    checks = failed(record)
    assert checks.get("board.after-close") == 1


# -- tally, decryption, results -------------------------------------------------------------------


def test_altered_encrypted_tally(record: Path) -> None:
    tally = read_json(record, layout.ENCRYPTED_TALLY)
    ct = tally["entries"][0]["ciphertexts"][0]
    ct["beta"] = (int(ct["beta"], 16) * TEST_GROUP.g % TEST_GROUP.p).to_bytes(64, "big").hex()
    write_json(record, layout.ENCRYPTED_TALLY, tally)
    assert failed(record) == {"tally.aggregate": 1}


def test_altered_decryption_share(record: Path, election: DrillOutcome) -> None:
    data = read_json(record, layout.DECRYPTION)
    share = data["envelopes"][1]["body"]["shares"][0][0]
    share["share"] = (int(share["share"], 16) * TEST_GROUP.g % TEST_GROUP.p).to_bytes(64, "big").hex()
    write_json(record, layout.DECRYPTION, data)
    # by someone without the guardian's key: the signature fails and the contribution is not used
    checks = failed(record)
    assert checks["decryption.signature"] == 1 and "decryption.threshold" in checks
    # by the guardian itself (a valid signature): the share's proof fails
    data["envelopes"][1] = resign_envelope(election, data["envelopes"][1])
    write_json(record, layout.DECRYPTION, data)
    checks = failed(record)
    assert checks["decryption.share-proof"] == 1 and "decryption.signature" not in checks
    assert "custodio 2" in problems_of(record, "decryption.share-proof")[0]


def test_decryption_share_of_order_r_and_commitment_times_minus_one(record: Path, election: DrillOutcome) -> None:
    """The guardians' shares are checked in one batch: a share of order r (Jacobi symbol 1) is still
    refused as outside the subgroup, and a proof commitment times −1 still fails its proof."""
    data = read_json(record, layout.DECRYPTION)
    share = data["envelopes"][2]["body"]["shares"][1][3]
    z = pow(3, 2 * TEST_GROUP.q, P)
    share["share"] = (int(share["share"], 16) * z % P).to_bytes(64, "big").hex()
    data["envelopes"][2] = resign_envelope(election, data["envelopes"][2])
    write_json(record, layout.DECRYPTION, data)
    assert failed(record) == {"decryption": 1}
    assert "envelopes[2].shares[1][3].share: el elemento no pertenece al subgrupo de orden q" in \
        problems_of(record, "decryption")[0]
    data = read_json(record, layout.DECRYPTION)
    data["envelopes"][2] = read_json(copy_record(election.record, record.parent / "fresh"),
                                     layout.DECRYPTION)["envelopes"][2]
    proof = data["envelopes"][0]["body"]["shares"][2][1]["proof"]
    proof["commitment_h"] = (P - int(proof["commitment_h"], 16)).to_bytes(64, "big").hex()
    data["envelopes"][0] = resign_envelope(election, data["envelopes"][0])
    write_json(record, layout.DECRYPTION, data)
    checks = failed(record)  # guardian 1's contribution is then unusable: too few guardians remain
    assert checks["decryption.share-proof"] == 1 and "decryption" not in checks
    (where,) = problems_of(record, "decryption.share-proof")
    assert "custodio 1" in where


def test_wrong_lagrange_set(record: Path) -> None:
    data = read_json(record, layout.DECRYPTION)
    data["present"] = [1, 2, 4]
    write_json(record, layout.DECRYPTION, data)
    assert failed(record) == {"decryption.present": 1}


def test_wrong_lagrange_weights(record: Path) -> None:
    data = read_json(record, layout.DECRYPTION)
    data["weights"][0], data["weights"][1] = data["weights"][1], data["weights"][0]
    write_json(record, layout.DECRYPTION, data)
    assert failed(record) == {"decryption.lagrange": 1}


def test_shares_of_another_tally(record: Path, election: DrillOutcome) -> None:
    data = read_json(record, layout.DECRYPTION)
    data["envelopes"][0]["body"]["tally_hash"] = "cd" * 32
    data["envelopes"][0] = resign_envelope(election, data["envelopes"][0])
    write_json(record, layout.DECRYPTION, data)
    checks = failed(record)
    assert "decryption.tally-hash" in checks


def test_too_few_guardians(record: Path) -> None:
    data = read_json(record, layout.DECRYPTION)
    data["envelopes"] = data["envelopes"][:2]
    data["present"] = data["present"][:2]
    write_json(record, layout.DECRYPTION, data)
    assert failed(record) == {"decryption.threshold": 1}


def test_changed_result(record: Path) -> None:
    results = read_json(record, layout.RESULTS)
    contest = results["contests"][0]
    contest["options"][0]["votes"] += 1
    contest["total"] += 1
    write_json(record, layout.RESULTS, results)
    checks = failed(record)
    assert "results.decryption" in checks
    where = problems_of(record, "results.decryption")[0]
    assert f'{contest["entity"]}/{contest["contest_id"]}/{contest["options"][0]["id"]}' in where


def test_results_options_renamed_or_reordered(record: Path) -> None:
    """Version 2 names every count: an option under another id, or out of the manifest's order, is
    refused with its path, never read by position."""
    results = read_json(record, layout.RESULTS)
    options = results["contests"][0]["options"]
    options[0], options[1] = options[1], options[0]
    write_json(record, layout.RESULTS, results)
    (message,) = problems_of(record, "results")
    assert "results.contests[0].options" in message and "en ese orden" in message


def test_version_1_results_in_a_version_2_record(record: Path, election: DrillOutcome) -> None:
    """A record's version fixes the form of results.json: positional counts in a version-2 record are
    refused (not guessed)."""
    results = read_json(record, layout.RESULTS)
    for contest in results["contests"]:
        contest["option_counts"] = [o["votes"] for o in contest.pop("options")]
    write_json(record, layout.RESULTS, results)
    (message,) = problems_of(record, "results")
    assert "results.contests[0].option_counts" in message


def test_changed_coalition_split(record: Path) -> None:
    results = read_json(record, layout.RESULTS)
    contest = next(c for c in results["contests"] if any(p["votes"] for p in c["party_distribution"]))
    dist = contest["party_distribution"]
    donor = next(k for k, p in enumerate(dist) if p["votes"] > 0)
    dist[donor]["votes"] -= 1
    dist[(donor + 1) % len(dist)]["votes"] += 1  # same total, different split
    write_json(record, layout.RESULTS, results)
    assert failed(record) == {"results.distribution": 1}


def test_changed_candidate_total(record: Path) -> None:
    results = read_json(record, layout.RESULTS)
    contest = next(c for c in results["contests"] if c["candidate_totals"])
    contest["candidate_totals"][0]["votes"] += 1
    write_json(record, layout.RESULTS, results)
    assert failed(record) == {"results.totals": 1}


# -- the production group -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def production_election(tmp_path_factory: pytest.TempPathFactory) -> DrillOutcome:
    out = tmp_path_factory.mktemp("production") / "record"
    return run_drill(DrillOptions(group=PRODUCTION_GROUP, voters=3, challenges=1, output=out, seed=3),
                     say=lambda _m: None)  # with SoftHSM2 tokens, as the README's drill


@pytest.mark.production
def test_production_record(production_election: DrillOutcome, tmp_path: Path) -> None:
    record = copy_record(production_election.record, tmp_path / "record")
    report = verify_record(record, VerifyOptions(jobs=2, expect_heads=(production_election.head.hex(),)))
    assert report.ok, report.format_text()
    lines = board_lines(record)
    i = first_ballot_line(lines)
    ct = lines[i]["ballot"]["contests"][1]["selections"][2]["ciphertext"]
    ct["alpha"] = (int(ct["alpha"], 16) * PRODUCTION_GROUP.g % PRODUCTION_GROUP.p).to_bytes(512, "big").hex()
    write_board(record, lines)
    checks = verify_record(record, VerifyOptions(jobs=2)).failed_checks()
    assert {"ballot.proof.zero-one", "board.chain", "tally.aggregate"} <= set(checks)
    production_checks = verify_record(record, VerifyOptions(jobs=1)).failed_checks()
    assert "parameters" not in production_checks  # the production group needs no flag


def test_lone_surrogate_in_event_payload(record: Path) -> None:
    as_version(record, 1)
    text = (record / layout.BOARD_JSONL).read_text().replace('"description":"', '"description":"\\ud800', 1)
    (record / layout.BOARD_JSONL).write_text(text)
    reindex(record)
    assert "board.encoding" in failed(record)


def test_decryption_envelope_of_another_round(record: Path, election: DrillOutcome) -> None:
    data = read_json(record, layout.DECRYPTION)
    data["envelopes"][0]["round"] = 1
    write_json(record, layout.DECRYPTION, data)
    assert "decryption.signature" in failed(record)  # the round is signed: changing it breaks the signature
    # signed by the guardian for round 1: the envelope is refused for its round, not used
    data["envelopes"][0] = resign_envelope(election, data["envelopes"][0])
    write_json(record, layout.DECRYPTION, data)
    checks = failed(record)
    assert checks.get("decryption") == 1 and "decryption.signature" not in checks
    assert "ronda" in problems_of(record, "decryption")[0]


# -- acts and the integrity constancia ------------------------------------------------------------


def test_opening_act_field_changed(record: Path) -> None:
    act = read_json(record, layout.OPENING_ACT)
    act["body"]["joint_key"] = (TEST_GROUP.g).to_bytes(64, "big").hex()
    write_json(record, layout.OPENING_ACT, act)
    checks = failed(record)
    assert checks.get("acts.opening.content") == 1 and "acts.opening.signature" in checks
    assert "joint_key" in problems_of(record, "acts.opening.content")[0]


def test_opening_act_missing_a_signature(record: Path) -> None:
    act = read_json(record, layout.OPENING_ACT)
    act["signatures"] = act["signatures"][:-1]
    write_json(record, layout.OPENING_ACT, act)
    assert failed(record) == {"acts.opening.signature": 1}
    assert "guardian-5" in problems_of(record, "acts.opening.signature")[0]


def test_closing_act_with_too_few_signatures(record: Path) -> None:
    act = read_json(record, layout.CLOSING_ACT)
    act["signatures"] = act["signatures"][:1]
    write_json(record, layout.CLOSING_ACT, act)
    assert failed(record) == {"acts.closing.signature": 1}


def test_closing_act_names_another_head(record: Path, election: DrillOutcome) -> None:
    """A board truncated after the close: the closing act, signed by t guardians, still names the
    original head, so the doctored board is caught even without an observer's head."""
    closing = read_json(record, layout.CLOSING_ACT)
    lines = board_lines(record)
    last = max(i for i, obj in enumerate(lines) if obj["type"] == "ballot")
    del lines[last]
    recount(election, record, rechain(election, lines))
    write_json(record, layout.CLOSING_ACT, closing)  # the act the guardians really signed
    checks = failed(record)
    assert checks.get("acts.closing.content", 0) >= 1
    assert any("head" in p for p in problems_of(record, "acts.closing.content"))


def test_integrity_constancia_replaced(record: Path) -> None:
    data = read_json(record, layout.INTEGRITY)
    data["files"] = data["files"][1:]
    write_json(record, layout.INTEGRITY, data)
    assert "integrity" in failed(record)


def test_missing_opening_act(record: Path) -> None:
    (record / layout.OPENING_ACT).unlink()
    reindex(record)
    checks = failed(record)
    assert "acts.opening" in checks and "record.missing-file" in checks


# -- the closed record (what key-holders verify before decrypting) ---------------------------------


def test_closed_record_verifies_and_yields_the_tally(record: Path, election: DrillOutcome) -> None:
    from sivei.record.verify import verify_closed_record

    (record / layout.DECRYPTION).unlink()
    (record / layout.RESULTS).unlink()
    reindex(record)
    report, tally = verify_closed_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    assert report.ok, report.format_text()
    published = read_json(record, layout.ENCRYPTED_TALLY)
    assert tally is not None and tally.to_json(election.ctx.group) == published
    # the full verification of the same files reports the missing decryption
    assert "record.missing-file" in failed(record)
    # a doctored closed record yields no tally to decrypt
    lines = board_lines(record)
    del lines[3]
    write_board(record, lines)
    report, tally = verify_closed_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    assert not report.ok and tally is None
