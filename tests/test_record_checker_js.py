"""The observer's record checker in JavaScript (static/verificar/js, the page registro.html) against the
Python verifier, on the same records: a valid drill record and tampered copies, one per check the
verifier makes (as tests/test_tamper.py does for Python alone). For each record both must report the same
failing checks, the same number of times, at the same locations (the messages may be worded apart).

Every scenario runs on a record of format 2 (the binary board.bin, what the drill writes) and on the
same record converted to format 1 (board.jsonl); damage to the stored bytes themselves — a flipped
byte of an α, a truncated file, trailing bytes, a wrong magic, a frame length out of place — is planted
in the form it belongs to.

The JavaScript runs in node on the ES modules (tests/js/check-record-cli.mjs, every ballot's proofs
checked); tests/e2e/test_registro.py runs the bundled page in Chromium on a smaller set.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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
    read_json,
    rechain,
    recount,
    reindex,
    resign_envelope,
    write_board,
    write_json,
)
from sivei.ballot.board import event_from_json
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.i18n import set_language
from sivei.record import layout
from sivei.record.acts import SignedAct
from sivei.record.receipts import Receipt
from sivei.record.verify import VerifyOptions, verify_record
from test_js import ROOT, _node

CLI = ROOT / "tests" / "js" / "check-record-cli.mjs"
HOOK = ROOT / "tests" / "js" / "noble-resolve.mjs"


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> DrillOutcome:
    out = tmp_path_factory.mktemp("checker") / "record"
    return run_drill(DrillOptions(group=TEST_GROUP, voters=8, challenges=0, output=out, seed=11, tokens=False),
                     say=lambda _m: None)


def _flip(hex_text: str) -> str:
    return hex_text[:-2] + ("00" if hex_text[-2:] != "00" else "01")


def _first_ballot(lines: list[dict[str, Any]]) -> int:
    return next(i for i, obj in enumerate(lines) if obj["type"] == "ballot")


def with_receipt_key(election: DrillOutcome, record: Path) -> SoftwareSigner:
    """Re-sign the opening act (all n key-holders) naming a receipt key this test holds."""
    signer = SoftwareSigner()
    act = SignedAct.from_json(read_json(record, layout.OPENING_ACT), "act")
    act = SignedAct(act.type, act.election_id, {**act.body, "receipt_key": signer.public_key.hex()})
    for i, guardian in enumerate(election.guardians.signers, start=1):
        act = act.signed_by(guardian, f"guardian-{i}")
    write_json(record, layout.OPENING_ACT, act.to_json())
    return signer


def receipt_for(election: DrillOutcome, record: Path, signer: SoftwareSigner, line: int, path: Path,
                **changes: Any) -> Path:
    """The server's receipt of the ballot on board line ``line`` (0-based), signed by ``signer``."""
    obj = board_lines(record)[line]
    _, ballot_hash = event_from_json(election.ctx, obj, "x", membership=False)
    values: dict[str, Any] = {"election_id": election.ctx.manifest.election_id,
                              "election_hash": election.ctx.election_hash, "ballot_hash": ballot_hash,
                              "tracking_code": fingerprint(ballot_hash), "index": obj["index"],
                              "head": bytes.fromhex(obj["head"]), "received_at": "2027-06-01T12:00:00Z"}
    values.update(changes)
    receipt = Receipt(**values).signed_by(signer)
    path.write_text(receipt.dumps())
    return path


@dataclass
class Case:
    options: dict[str, Any] = field(default_factory=dict)
    receipts: list[Path] = field(default_factory=list)


Tamper = Callable[[DrillOutcome, Path], Case]


def valid(election: DrillOutcome, record: Path) -> Case:
    return Case()


def refused_test_group(election: DrillOutcome, record: Path) -> Case:
    return Case({"allow_test_group": False})


def wrong_election(election: DrillOutcome, record: Path) -> Case:
    return Case({"expect_election": ("00000-00000-00000-00000",)})


def _version(record: Path) -> int:
    return layout.RecordReader(record).version


def _frames(record: Path) -> list[tuple[int, int]]:
    """(offset, length with its 4-byte prefix) of every frame of a version-2 board."""
    data = board_path(record).read_bytes()
    out, at = [], len("sivei-board") + 8
    while at < len(data):
        size = 4 + int.from_bytes(data[at:at + 4], "big")
        out.append((at, size))
        at += size
    return out


def truncated_board(election: DrillOutcome, record: Path) -> Case:
    path = board_path(record)
    if _version(record) == 1:
        path.write_text("\n".join(path.read_text().splitlines()[:-2]) + "\n")
    else:  # cut inside the last ballot's frame: the close and half a ballot lost
        at, size = _frames(record)[-2]
        path.write_bytes(path.read_bytes()[:at + size // 2])
    return Case()


def alpha_byte_flipped(election: DrillOutcome, record: Path) -> Case:
    """One byte in the middle of the first ballot's first α, straight in board.bin, re-indexed."""
    lines = board_lines(record)
    i = _first_ballot(lines)
    at, _ = _frames(record)[i]
    style = lines[i]["ballot"]["style"].encode()
    alpha = at + 4 + 4 + (4 + len("ballot")) + 32 + (4 + len(style)) + 32 + 4 + 4 + 4
    data = bytearray(board_path(record).read_bytes())
    data[alpha + 20] ^= 0x40
    board_path(record).write_bytes(bytes(data))
    reindex(record)
    return Case()


def trailing_bytes(election: DrillOutcome, record: Path) -> Case:
    path = board_path(record)
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00\x07basura")
    reindex(record)
    return Case()


def wrong_magic(election: DrillOutcome, record: Path) -> Case:
    data = bytearray(board_path(record).read_bytes())
    data[len("sivei-board") + 7] = 1  # u32(2) -> u32(1)
    board_path(record).write_bytes(bytes(data))
    reindex(record)
    return Case()


def _set_length(record: Path, frame: int, length: int) -> None:
    at, _ = _frames(record)[frame]
    data = bytearray(board_path(record).read_bytes())
    data[at:at + 4] = length.to_bytes(4, "big")
    board_path(record).write_bytes(bytes(data))
    reindex(record)


def frame_length_short(election: DrillOutcome, record: Path) -> Case:
    """The second frame's length one byte short: its event is cut, and what follows is misframed."""
    _set_length(record, 1, _frames(record)[1][1] - 5)
    return Case()


def frame_length_too_big(election: DrillOutcome, record: Path) -> Case:
    """A length beyond the largest event: nothing after it can be framed."""
    _set_length(record, len(_frames(record)) - 2, 0xFFFFFFF0)
    return Case()


def missing_results(election: DrillOutcome, record: Path) -> Case:
    (record / layout.RESULTS).unlink()
    return Case()


def unlisted_file(election: DrillOutcome, record: Path) -> Case:
    (record / "notas.txt").write_text("hola\n")
    return Case()


def altered_parameters(election: DrillOutcome, record: Path) -> Case:
    params = read_json(record, layout.PARAMETERS)
    params["g"] = _flip(params["g"])
    write_json(record, layout.PARAMETERS, params)
    return Case()


def manifest_changed(election: DrillOutcome, record: Path) -> Case:
    manifest = read_json(record, layout.MANIFEST)
    manifest["name"] += " (editado)"
    write_json(record, layout.MANIFEST, manifest)
    return Case()


def ceremony_signature(election: DrillOutcome, record: Path) -> Case:
    ceremony = read_json(record, layout.CEREMONY)
    ceremony["rounds"][4][2]["signature"] = _flip(ceremony["rounds"][4][2]["signature"])
    write_json(record, layout.CEREMONY, ceremony)
    return Case()


def credential_entry_added(election: DrillOutcome, record: Path) -> Case:
    path = record / layout.CREDENTIALS
    style = election.ctx.manifest.ballot_styles[0].id
    path.write_text(path.read_text() + '{"credential":"' + "ab" * 32 + f'","style":"{style}"}}\n')
    reindex(record)
    return Case()


def changed_ciphertext(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    sel = lines[_first_ballot(lines)]["ballot"]["contests"][0]["selections"][0]["ciphertext"]
    sel["beta"] = (int(sel["beta"], 16) * TEST_GROUP.g % TEST_GROUP.p).to_bytes(64, "big").hex()
    write_board(record, lines)
    return Case()


def proofs_swapped(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    i = _first_ballot(lines)
    j = next(k for k in range(i + 1, len(lines)) if lines[k]["type"] == "ballot"
             and lines[k]["ballot"]["style"] == lines[i]["ballot"]["style"])
    a = lines[i]["ballot"]["contests"][0]["selections"][0]
    b = lines[j]["ballot"]["contests"][0]["selections"][0]
    a["proof"], b["proof"] = b["proof"], a["proof"]
    recount(election, record, rechain(election, lines))
    return Case()


def element_of_order_two(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    sel = lines[_first_ballot(lines)]["ballot"]["contests"][0]["selections"][1]["ciphertext"]
    sel["alpha"] = (TEST_GROUP.p - int(sel["alpha"], 16)).to_bytes(64, "big").hex()
    write_board(record, rechain(election, lines))
    return Case()


def ballot_dropped(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    del lines[3]
    write_board(record, lines)
    return Case()


def duplicated_ballot(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    i = _first_ballot(lines)
    lines.insert(i + 1, dict(lines[i]))
    recount(election, record, rechain(election, lines))
    return Case()


def wrong_style(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    own = election.ctx.manifest.style_for_entity(election.deliveries[0].entity).id
    other = next(s.id for s in election.ctx.manifest.ballot_styles if s.id != own)
    public = ballot_for(election, 0).credential
    k = next(i for i, obj in enumerate(lines)
             if obj["type"] == "ballot" and obj["ballot"]["credential"] == public.hex())
    lines[k] = ballot_line(election, ballot_for(election, 0, style=other))
    recount(election, record, rechain(election, lines))
    return Case()


def reused_alpha(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    for voter in (0, 1):
        ballot = ballot_for(election, voter, nonce=b"\x11" * 32)
        k = next(i for i, obj in enumerate(lines) if obj["type"] == "ballot"
                 and obj["ballot"]["credential"] == ballot.credential.hex())
        lines[k] = ballot_line(election, ballot)
    recount(election, record, rechain(election, lines))
    return Case()


def changed_head(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    lines[2]["head"] = _flip(lines[2]["head"])
    write_board(record, lines)
    return Case()


def unknown_event_type(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    lines.insert(2, {"index": 2, "type": "borrar", "head": "00" * 32, "payload": {}})
    write_board(record, lines)
    return Case()


def close_count_changed(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    lines[-1]["payload"]["cast"] += 1
    rechained = rechain(election, lines)
    rechained[-1]["payload"]["cast"] += 1
    write_board(record, rechained)
    return Case()


def noted_head_missing(election: DrillOutcome, record: Path) -> Case:
    return Case({"expect_heads": ("7K2QD-M4X9T-0BRHE-5VWNC",)})


def altered_tally(election: DrillOutcome, record: Path) -> Case:
    tally = read_json(record, layout.ENCRYPTED_TALLY)
    tally["entries"][0]["ciphertexts"][0], tally["entries"][0]["ciphertexts"][1] = (
        tally["entries"][0]["ciphertexts"][1], tally["entries"][0]["ciphertexts"][0])
    write_json(record, layout.ENCRYPTED_TALLY, tally)
    return Case()


def decryption_share_changed(election: DrillOutcome, record: Path) -> Case:
    data = read_json(record, layout.DECRYPTION)
    env = data["envelopes"][1]
    share = env["body"]["shares"][0][0]
    share["share"] = (int(share["share"], 16) * TEST_GROUP.g % TEST_GROUP.p).to_bytes(64, "big").hex()
    data["envelopes"][1] = resign_envelope(election, env)
    write_json(record, layout.DECRYPTION, data)
    return Case()


def decryption_unsigned(election: DrillOutcome, record: Path) -> Case:
    data = read_json(record, layout.DECRYPTION)
    data["envelopes"][0]["signature"] = _flip(data["envelopes"][0]["signature"])
    write_json(record, layout.DECRYPTION, data)
    return Case()


def lagrange_weights(election: DrillOutcome, record: Path) -> Case:
    data = read_json(record, layout.DECRYPTION)
    data["weights"][0], data["weights"][1] = data["weights"][1], data["weights"][0]
    write_json(record, layout.DECRYPTION, data)
    return Case()


def result_count(election: DrillOutcome, record: Path) -> Case:
    results = read_json(record, layout.RESULTS)
    contest = results["contests"][0]
    if _version(record) == 1:
        contest["option_counts"][0] += 1
    else:
        contest["options"][0]["votes"] += 1
    contest["total"] += 1
    write_json(record, layout.RESULTS, results)
    return Case()


def result_total(election: DrillOutcome, record: Path) -> Case:
    results = read_json(record, layout.RESULTS)
    results["contests"][1]["total"] += 1
    write_json(record, layout.RESULTS, results)
    return Case()


def opening_act_field(election: DrillOutcome, record: Path) -> Case:
    act = read_json(record, layout.OPENING_ACT)
    act["body"]["threshold"] += 1
    write_json(record, layout.OPENING_ACT, act)
    return Case()


def closing_act_signatures(election: DrillOutcome, record: Path) -> Case:
    act = read_json(record, layout.CLOSING_ACT)
    act["signatures"] = act["signatures"][:1]
    write_json(record, layout.CLOSING_ACT, act)
    return Case()


def integrity_changed(election: DrillOutcome, record: Path) -> Case:
    constancia = read_json(record, layout.INTEGRITY)
    constancia["files"][0]["sha3_256"] = _flip(constancia["files"][0]["sha3_256"])
    write_json(record, layout.INTEGRITY, constancia)
    return Case()


def receipts(election: DrillOutcome, record: Path) -> Case:
    signer = with_receipt_key(election, record)
    lines = board_lines(record)
    i = _first_ballot(lines)
    folder = record.parent
    good = receipt_for(election, record, signer, i, folder / "recibo-bueno.json")
    forged = receipt_for(election, record, SoftwareSigner(), i + 1, folder / "recibo-ajeno.json")
    moved = receipt_for(election, record, signer, i, folder / "recibo-indice.json", index=lines[i + 1]["index"])
    return Case(receipts=[good, forged, moved])


def receipt_of_a_ballot_with_a_bad_proof(election: DrillOutcome, record: Path) -> Case:
    lines = board_lines(record)
    i = _first_ballot(lines)
    proof = lines[i]["ballot"]["contests"][0]["selections"][0]["proof"]
    proof["v0"], proof["v1"] = proof["v1"], proof["v0"]
    recount(election, record, rechain(election, lines))
    signer = with_receipt_key(election, record)
    return Case(receipts=[receipt_for(election, record, signer, i, record.parent / "recibo.json")])


def results_options_reordered(election: DrillOutcome, record: Path) -> Case:
    results = read_json(record, layout.RESULTS)
    if _version(record) == 1:
        results["contests"][0]["option_counts"].reverse()
    else:
        options = results["contests"][0]["options"]
        options[0], options[1] = options[1], options[0]
    write_json(record, layout.RESULTS, results)
    return Case()


SCENARIOS: list[Tamper] = [
    valid, refused_test_group, wrong_election, truncated_board, missing_results, unlisted_file, altered_parameters,
    manifest_changed, ceremony_signature, credential_entry_added, changed_ciphertext, proofs_swapped,
    element_of_order_two, ballot_dropped, duplicated_ballot, wrong_style, reused_alpha, changed_head,
    unknown_event_type, close_count_changed, noted_head_missing, altered_tally, decryption_share_changed,
    decryption_unsigned, lagrange_weights, result_count, result_total, results_options_reordered, opening_act_field,
    closing_act_signatures, integrity_changed, receipts, receipt_of_a_ballot_with_a_bad_proof,
]
BINARY_ONLY: list[Tamper] = [alpha_byte_flipped, trailing_bytes, wrong_magic, frame_length_short, frame_length_too_big]
"""Damage to the bytes of board.bin, which a version-1 board does not have."""


def _python(record: Path, case: Case) -> dict[str, Any]:
    options: dict[str, Any] = {"allow_test_group": True, "jobs": 1, **case.options,
                               "receipts": tuple(case.receipts)}
    set_language("en")
    try:
        report = verify_record(record, VerifyOptions(**options))
        return report.to_json()
    finally:
        set_language("es")


def _js_options(case: Case) -> dict[str, Any]:
    o = case.options
    return {"allowTestGroup": o.get("allow_test_group", True), "expectElection": list(o.get("expect_election", ())),
            "expectHeads": list(o.get("expect_heads", ())), "proofs": "all"}


def _run_js(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = subprocess.run([_node(), "--import", str(HOOK), str(CLI)], input=json.dumps({"jobs": jobs}), cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-5000:]
    out: list[dict[str, Any]] = json.loads(result.stdout)
    return out


def _located(report: dict[str, Any]) -> Counter[tuple[str, str]]:
    # Receipts are named by their file's name in the page, by their path on the command line.
    return Counter((p["check"], p["location"].split("/")[-1] if p["check"].startswith("receipt") else p["location"])
                   for p in report["problems"])


@pytest.mark.parametrize("version", [2, 1], ids=["format-2", "format-1"])
def test_js_checker_reports_what_the_python_verifier_reports(election: DrillOutcome, tmp_path: Path,
                                                             version: int) -> None:
    scenarios = SCENARIOS + (BINARY_ONLY if version == 2 else [])
    base = copy_record(election.record, tmp_path / "base")
    if version != _version(base):
        as_version(base, version)
    expected: list[dict[str, Any]] = []
    jobs = []
    for scenario in scenarios:
        folder = tmp_path / scenario.__name__
        folder.mkdir()
        record = copy_record(base, folder / "record")
        case = scenario(election, record)
        if _version(record) != version:  # a recount writes the default format
            as_version(record, version)
        assert _version(record) == version
        expected.append(_python(record, case))
        jobs.append({"path": str(record), "options": _js_options(case), "receipts": [str(p) for p in case.receipts]})
    reports = _run_js(jobs)
    mismatches = []
    for scenario, python, js in zip(scenarios, expected, reports, strict=True):
        mine, theirs = _located(js["en"]), _located(python)
        if js["en"]["failed_checks"] != python["failed_checks"] or mine != theirs:
            mismatches.append((scenario.__name__, python["failed_checks"], js["en"]["failed_checks"],
                               sorted(theirs - mine), sorted(mine - theirs)))
    assert mismatches == []
    by_name = dict(zip((s.__name__ for s in scenarios), zip(expected, reports, strict=True), strict=True))
    # Every tamper is caught (all but the valid record fail), in both languages.
    assert [name for name, (_, js) in by_name.items() if js["en"]["ok"]] == ["valid"]
    python_valid, js_valid = by_name["valid"]
    assert js_valid["es"]["ok"] and js_valid["en"]["facts"]["ballots_proofs_checked"] == 8
    assert python_valid["fingerprints"].items() <= js_valid["en"]["fingerprints"].items()
    assert js_valid["en"]["facts"]["record_version"] == python_valid["facts"]["record_version"] == version
    assert by_name["receipts"][1]["en"]["failed_checks"] == {"receipt.signature": 1, "receipt.chain": 1}
    assert by_name["receipt_of_a_ballot_with_a_bad_proof"][1]["en"]["failed_checks"]["receipt.counted"] == 1
    if version == 2:
        events = len(_frames(election.record))
        first = _first_ballot(board_lines(election.record)) + 1
        assert ("board.encoding", f"board.bin:{first}") in _located(by_name["alpha_byte_flipped"][1]["en"])
        assert _located(by_name["trailing_bytes"][1]["en"]) == {("board.encoding", f"board.bin:{events + 1}"): 1}
        assert ("board.encoding", "board.bin") in _located(by_name["wrong_magic"][1]["en"])
        short = {k for k in _located(by_name["frame_length_short"][1]["en"]) if k[0] == "board.encoding"}
        assert short == {("board.encoding", "board.bin:2"), ("board.encoding", "board.bin:3")}
        too_big = {k for k in _located(by_name["frame_length_too_big"][1]["en"]) if k[0] == "board.encoding"}
        assert too_big == {("board.encoding", f"board.bin:{events - 1}")}


def test_low_order_x25519_table_is_libsodiums() -> None:
    """The key-ceremony check refuses the transport keys libsodium refuses (crypto_scalarmult with any
    scalar gives zero): ceremony.js's table, with and without bit 255, and no other key."""
    import re
    import secrets

    import nacl.bindings
    import nacl.exceptions

    source = (ROOT / "server/sivei_server/static/booth/js/ceremony.js").read_text()
    table = re.findall(r'"([0-9a-f]{64})"', source[source.index("LOW_ORDER_X25519"):])[:7]
    assert len(set(table)) == 7

    def refused(key: bytes) -> bool:
        try:
            nacl.bindings.crypto_scalarmult(secrets.token_bytes(32), key)
        except (nacl.exceptions.RuntimeError, nacl.exceptions.CryptoError, RuntimeError):
            return True
        return False

    for entry in table:
        key = bytearray.fromhex(entry)
        assert refused(bytes(key))
        key[31] |= 0x80
        assert refused(bytes(key))
    assert not any(refused(secrets.token_bytes(32)) for _ in range(200))


# -- a record with in-person voting at consulates (docs/protocol.md §20) -----------------------------------

# LAX: cap 2, 32 registered voters (every one votes), one pool ballot; MAD: cap 1, nobody. 64 voters of
# one entity, so that its three cells (32 + 32) are split per channel and the unregistered cell is not.
IN_PERSON = {"LAX": (2, 32), "MAD": (1, 0)}


@pytest.fixture(scope="module")
def consulates_kit() -> Any:
    from consulatetools import channels_kit

    kit = channels_kit(IN_PERSON)
    yield kit
    kit.close()


@pytest.fixture(scope="module")
def consulates_record(consulates_kit: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from consulatetools import library_record
    from sivei.ballot.in_person import ConsulateLog

    return library_record(consulates_kit, tmp_path_factory.mktemp("consulados"), {"LAX": 1},
                          {"LAX": ConsulateLog("LAX", 32, (bytes(32),)), "MAD": ConsulateLog("MAD", 0, ())})


InPersonTamper = Callable[[Any, Path], None]


def _log_body(record: Path, code: str) -> dict[str, Any]:
    return dict(read_json(record, f"consulados/bitacora-{code}.json")["body"])


def _resign_log(kit: Any, record: Path, code: str, body: dict[str, Any], signer: SoftwareSigner | None = None,
                previous: bytes | None = None) -> None:
    """An attacker with the consulate's key (the official) rewrites its log."""
    from sivei.ballot.in_person import parse_log_body

    log = parse_log_body(body, "body")
    envelope = log.sign(signer or kit.consulate_signers[code], kit.ctx.manifest.election_id,
                        kit.ctx.election_hash if previous is None else previous)
    write_json(record, f"consulados/bitacora-{code}.json", envelope.to_json())


def ip_valid(kit: Any, record: Path) -> None:
    pass


def ip_log_missing(kit: Any, record: Path) -> None:
    (record / "consulados/bitacora-MAD.json").unlink()
    reindex(record)


def ip_log_not_by_the_consulate(kit: Any, record: Path) -> None:
    _resign_log(kit, record, "LAX", _log_body(record, "LAX"), SoftwareSigner())


def ip_log_body_altered(kit: Any, record: Path) -> None:
    obj = read_json(record, "consulados/bitacora-LAX.json")
    obj["body"]["registered_served"] = 40
    write_json(record, "consulados/bitacora-LAX.json", obj)


def ip_log_of_another_election(kit: Any, record: Path) -> None:
    _resign_log(kit, record, "LAX", _log_body(record, "LAX"), previous=bytes(32))


def ip_log_not_an_envelope(kit: Any, record: Path) -> None:
    write_json(record, "consulados/bitacora-LAX.json", {"no": "log"})


def ip_pool_ballot_without_a_person(kit: Any, record: Path) -> None:
    _resign_log(kit, record, "LAX", {**_log_body(record, "LAX"), "unregistered": []})


def ip_registered_ballots_beyond_served(kit: Any, record: Path) -> None:
    _resign_log(kit, record, "LAX", {**_log_body(record, "LAX"), "registered_served": 31})


def ip_one_person_at_two_consulates(kit: Any, record: Path) -> None:
    person = _log_body(record, "LAX")["unregistered"]
    _resign_log(kit, record, "MAD", {**_log_body(record, "MAD"), "unregistered": person})


def ip_log_beyond_the_cap(kit: Any, record: Path) -> None:
    _resign_log(kit, record, "MAD", {**_log_body(record, "MAD"),
                                     "unregistered": sorted(f"{n + 7:064x}" for n in range(2))})  # cap 1


def ip_declaration_doctored(kit: Any, record: Path) -> None:
    declaration = read_json(record, "consulados/consulados.json")
    declaration["consulates"][0]["pool"] = declaration["consulates"][0]["pool"][1:]
    write_json(record, "consulados/consulados.json", declaration)


def ip_declaration_missing(kit: Any, record: Path) -> None:
    (record / "consulados/consulados.json").unlink()
    reindex(record)


def _channels(record: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = read_json(record, "consulados/canales.json")
    change(data)
    write_json(record, "consulados/canales.json", data)


def ip_cell_below_the_rule_decrypted(kit: Any, record: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        entries = data["split"]["encrypted"]["entries"]
        entries.append(dict(entries[0], entity="SRE", contest_index=2, ballots=1))
    _channels(record, change)


def ip_channel_counts_moved(kit: Any, record: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        moved = next(o for o in data["split"]["results"][0]["options"] if o["consulados"] > 0)
        moved["consulados"] -= 1
        moved["internet"] += 1
    _channels(record, change)


def ip_channel_cells_changed(kit: Any, record: Path) -> None:
    _channels(record, lambda data: data["cells"][0].update(consulados=29))


def ip_channel_options_reordered(kit: Any, record: Path) -> None:
    _channels(record, lambda data: data["split"]["results"][0]["options"].reverse())


def ip_channel_share_unsigned(kit: Any, record: Path) -> None:
    _channels(record, lambda data: data["split"]["decryption"]["envelopes"][0].update(signature="00" * 64))


def ip_channel_weights(kit: Any, record: Path) -> None:
    _channels(record, lambda data: data["split"]["decryption"].update(
        weights=list(reversed(data["split"]["decryption"]["weights"]))))


def ip_channel_present(kit: Any, record: Path) -> None:
    _channels(record, lambda data: data["split"]["decryption"].update(present=[1, 2]))


def ip_channel_minimum(kit: Any, record: Path) -> None:
    _channels(record, lambda data: data.update(minimum=5))


def ip_without_the_split(kit: Any, record: Path) -> None:
    _channels(record, lambda data: data.pop("split"))


def ip_without_channels(kit: Any, record: Path) -> None:
    (record / "consulados/canales.json").unlink()
    reindex(record)


IN_PERSON_SCENARIOS: list[InPersonTamper] = [
    ip_valid, ip_log_missing, ip_log_not_by_the_consulate, ip_log_body_altered, ip_log_of_another_election,
    ip_log_not_an_envelope, ip_pool_ballot_without_a_person, ip_registered_ballots_beyond_served,
    ip_one_person_at_two_consulates, ip_log_beyond_the_cap, ip_declaration_doctored, ip_declaration_missing,
    ip_cell_below_the_rule_decrypted, ip_channel_counts_moved, ip_channel_cells_changed, ip_channel_options_reordered,
    ip_channel_share_unsigned, ip_channel_weights, ip_channel_present, ip_channel_minimum, ip_without_the_split,
    ip_without_channels,
]
IN_PERSON_FORMAT_1 = [ip_valid, ip_pool_ballot_without_a_person, ip_one_person_at_two_consulates,
                      ip_channel_counts_moved]
"""Format 1 (board.jsonl, positional results.json) on the checks that read the board and results."""
IN_PERSON_VALID = {"ip_valid", "ip_without_the_split", "ip_without_channels"}


@pytest.mark.parametrize("version", [2, 1], ids=["format-2", "format-1"])
def test_js_checker_checks_consulates_as_the_python_verifier(consulates_kit: Any, consulates_record: Path,
                                                             tmp_path: Path, version: int) -> None:
    scenarios = IN_PERSON_SCENARIOS if version == 2 else IN_PERSON_FORMAT_1
    base = copy_record(consulates_record, tmp_path / "base")
    if version != _version(base):
        as_version(base, version)
    expected, jobs = [], []
    for scenario in scenarios:
        record = copy_record(base, tmp_path / scenario.__name__ / "record")
        scenario(consulates_kit, record)
        assert _version(record) == version
        expected.append(_python(record, Case()))
        jobs.append({"path": str(record), "options": {**_js_options(Case()), "proofs": "chosen"}, "receipts": []})
    reports = _run_js(jobs)
    mismatches = []
    for scenario, python, js in zip(scenarios, expected, reports, strict=True):
        mine, theirs = _located(js["en"]), _located(python)
        if js["en"]["failed_checks"] != python["failed_checks"] or mine != theirs:
            mismatches.append((scenario.__name__, python["failed_checks"], js["en"]["failed_checks"],
                               sorted(theirs - mine), sorted(mine - theirs)))
    assert mismatches == []
    by_name = dict(zip((s.__name__ for s in scenarios), reports, strict=True))
    # Every tamper is caught by a consulates check; the valid records pass, in both languages.
    assert {name for name, js in by_name.items() if js["en"]["ok"] and js["es"]["ok"]} == IN_PERSON_VALID & set(by_name)
    for name, js in by_name.items():
        if name not in IN_PERSON_VALID:
            assert any(check.startswith("consulates.") for check in js["en"]["failed_checks"]), name
    facts = by_name["ip_valid"]["en"]["facts"]
    assert facts["channel_cells"] == "3 / 6"
    assert facts["consulate_LAX"]["en"].startswith("pool credentials used 1, unregistered voters served 1 (cap 2)")
    assert [s["id"] for s in by_name["ip_valid"]["en"]["stages"]][-4:] == ["decryption", "results", "channels", "acts"]
    assert "consulates" in [s["id"] for s in by_name["ip_valid"]["en"]["stages"]]
    if version == 2:
        assert any("no results per channel" in n for n in by_name["ip_without_channels"]["en"]["notes"])
