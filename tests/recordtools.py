"""Helpers for tests that build an election record and then tamper with it, as an attacker who
controls the operator's files would: they may rewrite any file, re-index its hash, re-chain the board
and even have the guardians decrypt a doctored board — but cannot forge signatures or proofs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sivei.ballot.board import (
    EVENT_BALLOT,
    GENESIS_PREVIOUS,
    BoardEvent,
    event_from_json,
    event_hash,
)
from sivei.ballot.encrypt import EncryptedBallot, encrypt_ballot, new_ballot_nonce, sign_ballot
from sivei.ballot.manifest import Manifest, sample_manifest
from sivei.drill import DrillOutcome, count_board, write_record
from sivei.record import layout
from sivei.record.verify import VerifyOptions, verify_record


def copy_record(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def reindex(record: Path) -> None:
    """Recompute the file index of record.json (an attacker can always do this)."""
    header = json.loads((record / layout.HEADER).read_text())
    header["files"] = {
        p.relative_to(record).as_posix(): layout.file_sha256(p)
        for p in sorted(record.rglob("*")) if p.is_file() and p.name != layout.HEADER
    }
    (record / layout.HEADER).write_text(layout.dump_json(header))


def read_json(record: Path, name: str) -> Any:
    return json.loads((record / name).read_text())


def write_json(record: Path, name: str, obj: Any, *, index: bool = True) -> None:
    (record / name).write_text(layout.dump_json(obj))
    if index:
        reindex(record)


def board_path(record: Path) -> Path:
    """The record's board file (``board.jsonl`` or ``board.bin``, by its format version)."""
    return record / layout.RecordReader(record).board_name


def as_version(record: Path, version: int) -> Path:
    """Convert ``record`` in place to format ``version`` (tests of one storage form)."""
    from sivei.record.convert import convert_record

    tmp = record.with_name(record.name + f"-v{version}")
    convert_record(record, tmp, version, allow_test_group=True)
    shutil.rmtree(record)
    tmp.rename(record)
    return record


def board_lines(record: Path) -> list[dict[str, Any]]:
    """The board's events as version-1 JSON objects, whatever the record's version (a version-2
    board is read with the test's own decoder of docs/record.md, not the library's)."""
    path = board_path(record)
    if path.name == layout.BOARD_JSONL:
        return [json.loads(line) for line in path.read_text().splitlines()]
    width = _element_width(record)
    data = path.read_bytes()
    magic = _Cursor(data)
    assert magic.string() == "sivei-board" and magic.u32() == 2
    out = []
    pos = magic.pos
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        out.append(frame_to_obj(data[pos + 4:pos + 4 + length], width))
        pos += 4 + length
    return out


def write_board(record: Path, lines: list[dict[str, Any]], *, index: bool = True) -> None:
    """Write version-1 JSON objects as the record's board, in the record's form (any hex of the right
    width is written as is, so tests can plant values a real board never has)."""
    path = board_path(record)
    if path.name == layout.BOARD_JSONL:
        with path.open("w") as f:
            for obj in lines:
                layout.write_jsonl_line(f, obj)
    else:
        with path.open("wb") as f:
            f.write(_string("sivei-board") + _u32(2))
            for obj in lines:
                frame = obj_to_frame(obj)
                f.write(_u32(len(frame)) + frame)
    if index:
        reindex(record)


# -- an independent codec of docs/record.md §4.6 (version 2), for the tests -------------------------


def _element_width(record: Path) -> int:
    return len(json.loads((record / layout.PARAMETERS).read_text())["p"]) // 2


def _u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def _string(s: str) -> bytes:
    data = s.encode("utf-8", "surrogatepass")
    return _u32(len(data)) + data


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        assert len(out) == n, "truncated"
        self.pos += n
        return out

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def string(self) -> str:
        return self.take(self.u32()).decode("utf-8")


_PROOF_ELEMENTS = ("a0", "b0", "a1", "b1")
_PROOF_SCALARS = ("c0", "c1", "v0", "v1")


def obj_to_frame(obj: dict[str, Any]) -> bytes:
    """A version-1 board object as the body of a version-2 frame (without its length)."""
    out = _u32(obj["index"]) + _string(obj["type"]) + bytes.fromhex(obj["head"])
    if "ballot" not in obj:
        payload = json.dumps(obj["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return out + _u32(len(payload.encode())) + payload.encode()
    b = obj["ballot"]
    out += _string(b["style"]) + bytes.fromhex(b["credential"]) + _u32(len(b["contests"]))
    for c in b["contests"]:
        out += _u32(c["index"]) + _u32(len(c["selections"]))
        for s in c["selections"]:
            p = s["proof"]
            out += bytes.fromhex(s["ciphertext"]["alpha"]) + bytes.fromhex(s["ciphertext"]["beta"])
            out += b"".join(bytes.fromhex(p[k]) for k in (*_PROOF_ELEMENTS, *_PROOF_SCALARS))
        sp = c["sum_proof"]
        out += b"".join(bytes.fromhex(sp[k]) for k in ("commitment_g", "commitment_h", "response"))
    signature = bytes.fromhex(b["signature"])
    return out + _u32(len(signature)) + signature


def frame_to_obj(frame: bytes, width: int) -> dict[str, Any]:
    """The body of a version-2 frame as a version-1 board object."""
    cur = _Cursor(frame)
    obj: dict[str, Any] = {"index": cur.u32(), "type": cur.string(), "head": cur.take(32).hex()}
    if obj["type"] != "ballot":
        obj["payload"] = json.loads(cur.take(cur.u32()).decode("utf-8"))
        assert cur.pos == len(frame)
        return obj
    ballot: dict[str, Any] = {"style": cur.string(), "credential": cur.take(32).hex(), "contests": []}
    for _ in range(cur.u32()):
        contest: dict[str, Any] = {"index": cur.u32(), "selections": []}
        for _ in range(cur.u32()):
            ct = {"alpha": cur.take(width).hex(), "beta": cur.take(width).hex()}
            proof = {k: cur.take(width).hex() for k in _PROOF_ELEMENTS}
            proof.update({k: cur.take(32).hex() for k in _PROOF_SCALARS})
            contest["selections"].append({"ciphertext": ct, "proof": proof})
        contest["sum_proof"] = {"commitment_g": cur.take(width).hex(), "commitment_h": cur.take(width).hex(),
                                "response": cur.take(32).hex()}
        ballot["contests"].append(contest)
    ballot["signature"] = cur.take(cur.u32()).hex()
    assert cur.pos == len(frame)
    obj["ballot"] = ballot
    return obj


def rechain(outcome: DrillOutcome, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Renumber the events and recompute every head (and the close counts) after a doctoring."""
    ctx = outcome.ctx
    previous = GENESIS_PREVIOUS
    ballots = sum(1 for obj in lines if obj["type"] == EVENT_BALLOT)
    out = []
    for i, obj in enumerate(lines):
        obj = dict(obj, index=i)
        if obj["type"] == "close":
            obj["payload"] = dict(obj["payload"], cast=ballots)
        _, p_hash = event_from_json(ctx, obj, "x", membership=False)
        previous = event_hash(ctx.election_hash, previous, i, obj["type"], p_hash)
        obj["head"] = previous.hex()
        out.append(obj)
    return out


def recount(outcome: DrillOutcome, record: Path, lines: list[dict[str, Any]]) -> None:
    """The strongest attacker: a doctored but re-chained board that the guardians then decrypt, so the
    record is entirely self-consistent. Only observers' noted heads (or receipts) can catch it."""
    ctx = outcome.ctx
    events: list[BoardEvent] = [event_from_json(ctx, obj, "x")[0] for obj in lines]
    counted = count_board(ctx, events, outcome.guardians, outcome.present)
    tmp = record.parent / (record.name + "-recount")
    write_record(tmp, ctx, outcome.guardians, outcome.credential_list, events, counted, outcome.opening_act,
                 outcome.constancia)
    shutil.rmtree(record)
    tmp.rename(record)


def ballot_for(outcome: DrillOutcome, voter: int, *, style: str | None = None,
               nonce: bytes | None = None) -> EncryptedBallot:
    """A new, valid ballot cast with the credential of the drill's ``voter``-th delivery."""
    from sivei.ballot.credentials import credential_public_key, credential_seed

    ctx = outcome.ctx
    delivery = outcome.deliveries[voter]
    election_id = ctx.manifest.election_id
    public = credential_public_key(election_id, delivery.credential)
    own_style = ctx.manifest.style_for_entity(delivery.entity).id
    ballot = encrypt_ballot(ctx, style or own_style, {}, public, nonce or new_ballot_nonce())
    return sign_ballot(ctx, ballot, credential_seed(election_id, delivery.credential))


def resign(outcome: DrillOutcome, voter: int, ballot: EncryptedBallot) -> EncryptedBallot:
    """``ballot`` (doctored) signed again with the credential of the drill's ``voter``-th delivery: a
    voter's own device can sign anything, so only the proofs can catch what it encrypted."""
    from dataclasses import replace

    from sivei.ballot.credentials import credential_seed

    seed = credential_seed(outcome.ctx.manifest.election_id, outcome.deliveries[voter].credential)
    return sign_ballot(outcome.ctx, replace(ballot, signature=b""), seed)


def replace_ballot(outcome: DrillOutcome, lines: list[dict[str, Any]], ballot: EncryptedBallot) -> int:
    """Put ``ballot`` in place of the board's ballot of the same credential; return its line index."""
    k = next(i for i, obj in enumerate(lines) if obj["type"] == EVENT_BALLOT
             and obj["ballot"]["credential"] == ballot.credential.hex())
    lines[k] = ballot_line(outcome, ballot)
    return k


def ballot_line(outcome: DrillOutcome, ballot: EncryptedBallot) -> dict[str, Any]:
    return {"index": 0, "type": EVENT_BALLOT, "head": "00" * 32, "ballot": ballot.to_json(outcome.ctx.group)}


def failed(record: Path, **options: Any) -> dict[str, int]:
    options.setdefault("allow_test_group", True)
    options.setdefault("jobs", 1)
    return verify_record(record, VerifyOptions(**options)).failed_checks()


def resign_envelope(outcome: DrillOutcome, env: dict[str, Any]) -> dict[str, Any]:
    """Re-sign a doctored decryption envelope with its guardian's key: a guardian who cheats (or whose
    key is used by someone who does) — the signature is then valid and the other checks must catch it."""
    from sivei.crypto.envelope import Envelope, seal

    parsed = Envelope.from_json(env)
    index = int(parsed.sender.split("-")[1])
    return seal(outcome.guardians.signers[index - 1], type=parsed.type, election_id=parsed.election_id,
                ceremony_id=parsed.ceremony_id, round=parsed.round, sender=parsed.sender,
                previous=parsed.previous, body=parsed.body).to_json()


def chihuahua_only() -> Manifest:
    """The sample manifest reduced to Chihuahua (one style, three contests): with in-person voting,
    every roll voter is in the same three cells, so 30 ballots per channel make them qualify."""
    obj = sample_manifest().to_json()
    obj["entities"] = [e for e in obj["entities"] if e["code"] == "CHIH"]
    obj["ballot_styles"] = [s for s in obj["ballot_styles"] if s["id"] == "chih"]
    keep = set(obj["ballot_styles"][0]["contests"])
    obj["contests"] = [c for c in obj["contests"] if c["id"] in keep]
    return Manifest.from_json(obj)
