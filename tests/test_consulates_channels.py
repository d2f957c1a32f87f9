"""Results per channel and the 30-ballot rule (docs/protocol.md §20.5), on a record written by the
library (no server): one entity, 32 voters registered at a consulate and 32 by internet, so that its
three contests may be split; the unregistered voters' cell (one ballot) stays combined."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from consulatetools import channels_kit, library_record
from recordtools import copy_record, read_json, write_json
from sivei.ballot.encrypt import EncryptedBallot
from sivei.ballot.in_person import ConsulateLog, InPersonDeclaration
from sivei.record.verify import VerifyOptions, verify_record
from sivei.tally.results import ElectionResults
from sivei_server.simulacro import ElectionKit

VOTERS = 64  # 32 at LAX, 32 by internet, all of CHIH


@pytest.fixture(scope="module")
def kit() -> Any:
    kit = channels_kit({"LAX": (1, 32)}, VOTERS)
    yield kit
    kit.close()


def ballot(kit: ElectionKit, data: bytes) -> EncryptedBallot:
    return EncryptedBallot.from_json(kit.ctx.group, json.loads(data))


@pytest.fixture(scope="module")
def record(kit: ElectionKit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return library_record(kit, tmp_path_factory.mktemp("canales"), {"LAX": 1},
                          {"LAX": ConsulateLog("LAX", 32, (bytes(32),))})


def problems(record: Path, check: str) -> list[str]:
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=2))
    return [f"{p.location}: {p.message}" for p in report.problems if p.check == check]


def test_cells_with_thirty_ballots_per_channel_are_split_and_verify(record: Path, kit: ElectionKit) -> None:
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=2))
    assert report.ok, report.format_text()
    assert report.facts["channel_cells"] == "3 / 6"  # CHIH's three; not the unregistered voters' three
    data = read_json(record, "consulados/canales.json")
    assert [(c["entity"], c["internet"], c["consulados"]) for c in data["cells"]] == [
        ("CHIH", 32, 32), ("CHIH", 32, 32), ("CHIH", 32, 32), ("SRE", 0, 1), ("SRE", 0, 1), ("SRE", 0, 1)]
    results = data["split"]["results"]
    assert [r["contest_id"] for r in results] == ["gob-chih", "sen-norte", "rm-2027"]
    combined = ElectionResults.from_json(kit.manifest, read_json(record, "results.json"))
    for r in results:
        options = kit.manifest.contest(r["contest_id"]).options
        assert [o["id"] for o in r["options"]] == [o.id for o in options]  # named, as results.json in format 2
        assert sum(o["consulados"] for o in r["options"]) == 32 and sum(o["internet"] for o in r["options"]) == 32
        assert tuple(o["consulados"] + o["internet"] for o in r["options"]) == combined.result(
            "CHIH", r["contest_id"]).option_counts
    # the lone unregistered ballot is only in the combined result
    assert not any(r["entity"] == "SRE" for r in results)
    declaration = InPersonDeclaration.from_json(json.loads(kit.declaration_bytes or b"{}"))
    assert len(declaration.registered_of("LAX")) == 32


def test_a_cell_below_the_rule_decrypted_per_channel_is_a_secrecy_failure(record: Path, tmp_path: Path) -> None:
    doctored = copy_record(record, tmp_path / "r")
    data = read_json(doctored, "consulados/canales.json")
    sre = dict(data["split"]["encrypted"]["entries"][0], entity="SRE", contest_index=2, ballots=1)
    data["split"]["encrypted"]["entries"].append(sre)
    write_json(doctored, "consulados/canales.json", data)
    found = problems(doctored, "consulates.channels")
    assert found[0] == ("consulados/canales.json: split.encrypted SRE/rm-2027: se descifró por canal una celda con "
                        "menos de 30 boletas en algún canal: revela cómo votaron esas personas (el secreto del voto)")


def test_doctored_channel_counts_fail(record: Path, tmp_path: Path) -> None:
    doctored = copy_record(record, tmp_path / "r")
    data = read_json(doctored, "consulados/canales.json")
    r = data["split"]["results"][0]
    moved = next(o for o in r["options"] if o["consulados"] > 0)
    moved["consulados"] -= 1
    moved["internet"] += 1
    write_json(doctored, "consulados/canales.json", data)
    found = problems(doctored, "consulates.channels")
    assert len(found) == 1 and "el conteo de consulados" in found[0] and "CHIH/gob-chih/" in found[0]
    # the ballots per channel, too
    doctored = copy_record(record, tmp_path / "s")
    data = read_json(doctored, "consulados/canales.json")
    data["cells"][0]["consulados"] = 29
    write_json(doctored, "consulados/canales.json", data)
    assert problems(doctored, "consulates.channels") == [
        "consulados/canales.json: cells: las boletas por canal no son las del tablero y la declaración de consulados"]
    # options out of order, or unnamed
    for damage in ("reorder", "positional"):
        doctored = copy_record(record, tmp_path / damage)
        data = read_json(doctored, "consulados/canales.json")
        r = data["split"]["results"][0]
        if damage == "reorder":
            r["options"].reverse()
        else:
            r["consulados"] = [o["consulados"] for o in r.pop("options")]
        write_json(doctored, "consulados/canales.json", data)
        assert problems(doctored, "consulates.channels") == [
            "consulados/canales.json: split.results CHIH/gob-chih: resultado mal formado o de otra celda (se espera "
            "cada opción de la elección, en orden, con sus conteos por canal)"]
    # and a share not by the guardian
    doctored = copy_record(record, tmp_path / "t")
    data = read_json(doctored, "consulados/canales.json")
    data["split"]["decryption"]["envelopes"][0]["signature"] = "00" * 64
    write_json(doctored, "consulados/canales.json", data)
    assert any("custodio 1" in p for p in problems(doctored, "consulates.channels"))


def test_results_per_channel_on_a_format_1_record(record: Path, tmp_path: Path) -> None:
    """The same record converted to format 1 (board.jsonl, positional results.json): the channels'
    checks find the same cells, and doctored channel counts still fail."""
    from sivei.record.convert import convert_record

    assert (record / "board.bin").is_file()
    v1 = convert_record(record, tmp_path / "v1", 1, allow_test_group=True)
    report = verify_record(v1, VerifyOptions(allow_test_group=True, jobs=2))
    assert report.ok, report.format_text()
    assert report.facts["record_version"] == 1 and report.facts["channel_cells"] == "3 / 6"
    data = read_json(v1, "consulados/canales.json")
    r = data["split"]["results"][0]
    moved = next(o for o in r["options"] if o["consulados"] > 0)
    moved["consulados"] -= 1
    moved["internet"] += 1
    write_json(v1, "consulados/canales.json", data)
    found = problems(v1, "consulates.channels")
    assert len(found) == 1 and "el conteo de consulados" in found[0] and "CHIH/gob-chih/" in found[0]


def test_without_the_split_only_the_combined_results(record: Path, tmp_path: Path) -> None:
    doctored = copy_record(record, tmp_path / "r")
    data = read_json(doctored, "consulados/canales.json")
    del data["split"]
    write_json(doctored, "consulados/canales.json", data)
    report = verify_record(doctored, VerifyOptions(allow_test_group=True, jobs=1))
    assert report.ok, report.format_text()
    (doctored / "consulados/canales.json").unlink()
    from recordtools import reindex

    reindex(doctored)
    report = verify_record(doctored, VerifyOptions(allow_test_group=True, jobs=1))
    assert report.ok and any("no se publicaron resultados por canal" in n for n in report.notes)


def test_a_partial_tally_travels_between_processes_without_the_election_context(kit: ElectionKit) -> None:
    """The verifier's workers send each chunk's accumulator back pickled: the products and counts,
    both channels', but not the context (its in-person set is ~2 MB at INE's scale)."""
    import pickle
    from dataclasses import replace

    from sivei.tally.aggregate import TallyAccumulator

    declaration = InPersonDeclaration.from_json(json.loads(kit.declaration_bytes or b"{}"))
    ctx = replace(kit.ctx, in_person=frozenset(declaration.channels()))
    part = TallyAccumulator(ctx)
    for v in kit.roll[:40]:  # 32 in person, 8 by internet
        part.add(ballot(kit, kit.ballot(v.voter_id)))
    data = pickle.dumps(part)
    assert min(ctx.in_person) not in data and ctx.manifest.name.encode() not in data
    received = pickle.loads(data)
    total = TallyAccumulator(ctx)
    total.merge(received)
    assert total.result() == part.result() and total.channel_result() == part.channel_result()
    assert [e.ballots for e in (total.channel_result() or part.result()).entries][:3] == [32, 32, 32]
    with pytest.raises(TypeError):
        received.add(ballot(kit, kit.ballot(kit.roll[40].voter_id)))
