"""Record format version 2: the binary board, conversion between versions, the event viewer, and the
damage a binary board can suffer (each caught as ``board.encoding`` at its position)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recordtools import as_version, board_lines, board_path, copy_record, failed, reindex, write_board
from sivei.cli.main import main
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.errors import RecordError
from sivei.record import layout
from sivei.record.board_file import MAGIC, board_heads
from sivei.record.convert import convert_record, event_json
from sivei.record.verify import VerifyOptions, verify_record


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> DrillOutcome:
    out = tmp_path_factory.mktemp("format") / "record"
    return run_drill(DrillOptions(group=TEST_GROUP, voters=6, challenges=0, output=out, seed=5, tokens=False, jobs=1),
                     say=lambda _m: None)


@pytest.fixture
def record(election: DrillOutcome, tmp_path: Path) -> Path:
    return copy_record(election.record, tmp_path / "record")


def problems_of(record: Path, check: str) -> list[str]:
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    return [f"{p.location}: {p.message}" for p in report.problems if p.check == check]


# -- the format and its conversion ------------------------------------------------------------------


def test_drill_writes_format_2(record: Path) -> None:
    header = json.loads((record / layout.HEADER).read_text())
    assert header["version"] == 2 and layout.BOARD_BIN in header["files"]
    assert not (record / layout.BOARD_JSONL).exists()
    assert (record / layout.BOARD_BIN).read_bytes().startswith(MAGIC)
    assert "options" in json.loads((record / layout.RESULTS).read_text())["contests"][0]


def test_conversion_keeps_every_head_and_act(record: Path, election: DrillOutcome, tmp_path: Path) -> None:
    one = convert_record(record, tmp_path / "one", 1, allow_test_group=True)
    two = convert_record(one, tmp_path / "two", 2, allow_test_group=True)
    heads = board_heads(layout.RecordReader(record))
    assert board_heads(layout.RecordReader(one)) == heads == board_heads(layout.RecordReader(two))
    for name in [*layout.required_files(2), layout.HEADER]:  # back to format 2: byte for byte
        assert (two / name).read_bytes() == (record / name).read_bytes(), name
    # The acts, the tally and the decryption are copied untouched; both forms verify with the heads
    # observers noted, and the JSON board is about twice the binary one.
    for name in (layout.OPENING_ACT, layout.CLOSING_ACT, layout.DECRYPTION, layout.ENCRYPTED_TALLY):
        assert (one / name).read_bytes() == (record / name).read_bytes()
    for r in (record, one):
        report = verify_record(r, VerifyOptions(allow_test_group=True, jobs=1,
                                                expect_heads=(election.noted_heads[0].hex(), election.head.hex())))
        assert report.ok, report.format_text()
        assert report.facts["record_version"] == (2 if r == record else 1)
    assert (one / layout.BOARD_JSONL).stat().st_size > 1.8 * (record / layout.BOARD_BIN).stat().st_size


def test_conversion_refuses_a_damaged_record_and_leaves_nothing(record: Path, tmp_path: Path) -> None:
    data = bytearray((record / layout.BOARD_BIN).read_bytes())
    data[-40] ^= 1
    (record / layout.BOARD_BIN).write_bytes(bytes(data))
    with pytest.raises(RecordError, match=r"board\.bin: no corresponde al índice"):
        convert_record(record, tmp_path / "out", 1, allow_test_group=True)
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == [record]


def test_a_tampered_version_1_board_is_caught_at_its_line(record: Path, election: DrillOutcome) -> None:
    as_version(record, 1)
    lines = board_lines(record)
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "ballot")
    ct = lines[k]["ballot"]["contests"][0]["selections"][0]["ciphertext"]
    ct["alpha"], ct["beta"] = ct["beta"], ct["alpha"]
    write_board(record, lines)
    checks = failed(record)
    assert checks["board.chain"] == 1 and "ballot.proof.zero-one" in checks
    assert problems_of(record, "board.chain")[0].startswith(f"{layout.BOARD_JSONL}:{k + 1}:")


def test_event_viewer(record: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = board_lines(record)
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "ballot")
    assert event_json(record, str(k), allow_test_group=True) == lines[k]
    assert event_json(record, f"{layout.BOARD_BIN}:{k + 1}", allow_test_group=True) == lines[k]
    assert main(["registro", "evento", "--test-group", str(record), str(len(lines) - 1)]) == 0
    assert json.loads(capsys.readouterr().out) == lines[-1]
    assert main(["registro", "evento", "--test-group", str(record), "999"]) == 2
    assert "el tablero no tiene el evento 999" in capsys.readouterr().err
    assert main(["registro", "evento", "--test-group", str(record), "otro.txt:3"]) == 2
    assert "se esperaba un índice de evento" in capsys.readouterr().err


def test_convert_command(record: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "v1"
    assert main(["registro", "convertir", "--test-group", "--version", "1", str(record), str(out)]) == 0
    assert (out / layout.BOARD_JSONL).is_file() and "formato versión 1" in capsys.readouterr().out
    assert main(["registro", "convertir", "--test-group", str(record), str(out)]) == 2  # never overwrites
    assert "ya existe" in capsys.readouterr().err


# -- damage to a binary board ------------------------------------------------------------------------


def _frames(record: Path) -> list[bytes]:
    data = board_path(record).read_bytes()[len(MAGIC):]
    out = []
    while data:
        n = int.from_bytes(data[:4], "big")
        out.append(data[:4 + n])
        data = data[4 + n:]
    return out


def _write_frames(record: Path, frames: list[bytes], *, magic: bytes = MAGIC) -> None:
    board_path(record).write_bytes(magic + b"".join(frames))
    reindex(record)


def test_wrong_magic(record: Path) -> None:
    _write_frames(record, _frames(record), magic=b"SIVEI-B\x00" + MAGIC[8:])
    (message,) = problems_of(record, "board.encoding")
    assert message.startswith(f"{layout.BOARD_BIN}: ") and "encabezado no válido" in message
    assert "board.close" in failed(record)


def test_truncated_last_frame(record: Path) -> None:
    frames = _frames(record)
    _write_frames(record, [*frames[:-1], frames[-1][:-7]])
    (message,) = problems_of(record, "board.encoding")
    assert message.startswith(f"{layout.BOARD_BIN}:{len(frames)}: ") and "truncado" in message
    assert failed(record).keys() >= {"board.encoding", "board.close"}


def test_trailing_bytes_inside_a_frame(record: Path) -> None:
    frames = _frames(record)
    k = 2
    body = frames[k][4:] + b"\x00"
    frames[k] = len(body).to_bytes(4, "big") + body
    _write_frames(record, frames)
    (message,) = problems_of(record, "board.encoding")
    assert message.startswith(f"{layout.BOARD_BIN}:{k + 1}: ") and "sobran 1 bytes" in message


def test_element_not_below_p(record: Path) -> None:
    lines = board_lines(record)
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "ballot")
    lines[k]["ballot"]["contests"][0]["selections"][1]["proof"]["b1"] = "ff" * TEST_GROUP.element_bytes
    write_board(record, lines)
    (message,) = problems_of(record, "board.encoding")
    assert f"{layout.BOARD_BIN}:{k + 1}.ballot.contests[0].selections[1].proof.b1" in message
    assert "fuera del intervalo [1, p)" in message


def test_payload_not_canonical_or_not_utf8(record: Path) -> None:
    frames = _frames(record)
    lines = board_lines(record)
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "incident")
    header = frames[k][4:4 + 4 + 4 + len("incident") + 32]
    cases = ((b'{"description": "x"}', "forma canónica"), (b'{"description":"\xff"}', "JSON no válido"))
    for payload, fragment in cases:
        body = header + len(payload).to_bytes(4, "big") + payload
        frames[k] = len(body).to_bytes(4, "big") + body
        _write_frames(record, frames)
        (message,) = problems_of(record, "board.encoding")
        assert f"{layout.BOARD_BIN}:{k + 1}.payload: " in message and fragment in message


def test_frame_longer_than_the_limit_ends_the_board(record: Path) -> None:
    frames = _frames(record)
    _write_frames(record, [*frames[:3], (1 << 30).to_bytes(4, "big"), *frames[3:]])
    (message,) = problems_of(record, "board.encoding")
    assert message.startswith(f"{layout.BOARD_BIN}:4: ") and "más que el máximo" in message
    checks = failed(record)
    assert checks["board.close"] == 1  # nothing after it can be framed: the close is never read


def test_unknown_version_refused(record: Path) -> None:
    header = json.loads((record / layout.HEADER).read_text())
    header["version"] = 3
    (record / layout.HEADER).write_text(json.dumps(header))
    assert failed(record) == {"record.header": 1}


@given(st.data())
def test_any_byte_of_a_stored_ballot_changed_is_rejected_and_located(election: DrillOutcome, data: Any) -> None:
    """One byte of one ballot of a chunk of the binary board changed anywhere in its encoding or its
    signature: the chunk's batch flags that ballot, and only it (a decoding error, a non-member, a
    failed proof or signature, at its position)."""
    from sivei.record.board_check import check_chunk
    from sivei.record.board_file import iter_raw_events

    name = layout.BOARD_BIN
    events = [(position, raw) for position, raw, _ in iter_raw_events(election.record / name, name)]
    tag = len("ballot").to_bytes(4, "big") + b"ballot"
    ballots = [k for k, (_, raw) in enumerate(events) if isinstance(raw, bytes) and raw[8:18] == tag]
    k = data.draw(st.sampled_from(ballots))
    position, raw = events[k]
    start = 4 + 4 + 4 + len("ballot") + 32  # the ballot's encoding begins after the event's header
    offset = data.draw(st.integers(start, len(raw) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(raw)
    changed[offset] ^= flip
    items = [*events[:k], (position, bytes(changed)), *events[k + 1:]]
    results, _ = check_chunk(election.ctx, name, items, 64)
    flagged = [r.lineno for r in results if r.problems]
    assert flagged == [position]
