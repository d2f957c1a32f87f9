"""The observers' record checker (static/verificar/registro.html) in real Chromium:

* opened from a file (offline), a drill record chosen as a folder: every check passes — only with the
  test group accepted explicitly (without it: ``parameters``) — and the chosen ballots (by tracking
  code and by event number) and the voters' receipts are checked and shown;
* tampered copies, each failing with the Python verifier's check id and location: a receipt's
  signature, a board event, a board.bin cut mid-event, an act's field, a result count (the record
  loaded as .tar.gz), a ballot's proof (the page and the record served by a mirror over HTTP: the
  page's own download); the drill writes record format 2, and the same record converted to format 1
  passes too;
* every ballot's proofs when asked, on a CPU slowed 50 times: progress shown, the check stopped;
* axe-core (WCAG 2.0–2.2 A/AA and best practices) and our own audit on each state of the page in
  Spanish and English at a phone's width (390 px, no horizontal scroll).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2etools import watch
from test_booth_a11y import audit, both_languages

from recordtools import (
    as_version,
    board_lines,
    board_path,
    copy_record,
    read_json,
    rechain,
    recount,
    reindex,
    write_board,
    write_json,
)
from sivei.ballot.board import event_from_json
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.record import layout
from sivei.record.acts import SignedAct
from sivei.record.receipts import Receipt

ROOT = Path(__file__).resolve().parents[2]
PAGE_DIR = ROOT / "server" / "sivei_server" / "static" / "verificar"
PAGE_FILES = ("registro.html", "registro.js", "sivei-verificar.js", "verificar.css", "index.html", "verificar.js")


@dataclass
class Election:
    outcome: DrillOutcome
    record: Path
    signer: SoftwareSigner
    receipts: list[Path]
    codes: list[str]
    """Tracking codes of the board's ballots, in board order."""


def receipt_key(outcome: DrillOutcome, record: Path) -> SoftwareSigner:
    """The opening act re-signed by every key-holder naming a receipt key this test holds (a drill
    discards the server's receipt key)."""
    signer = SoftwareSigner()
    act = SignedAct.from_json(read_json(record, layout.OPENING_ACT), "act")
    act = SignedAct(act.type, act.election_id, {**act.body, "receipt_key": signer.public_key.hex()})
    for i, guardian in enumerate(outcome.guardians.signers, start=1):
        act = act.signed_by(guardian, f"guardian-{i}")
    write_json(record, layout.OPENING_ACT, act.to_json())
    return signer


def receipt(outcome: DrillOutcome, record: Path, signer: SoftwareSigner, line: int, path: Path) -> Path:
    """The server's receipt of the ballot on board line ``line`` (0-based)."""
    obj = board_lines(record)[line]
    _, ballot_hash = event_from_json(outcome.ctx, obj, "x", membership=False)
    signed = Receipt(outcome.ctx.manifest.election_id, outcome.ctx.election_hash, ballot_hash,
                     fingerprint(ballot_hash), obj["index"], bytes.fromhex(obj["head"]),
                     "2027-06-01T12:00:00Z").signed_by(signer)
    path.write_text(signed.dumps())
    return path


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Election:
    base = tmp_path_factory.mktemp("registro")
    outcome = run_drill(DrillOptions(group=TEST_GROUP, voters=6, challenges=0, output=base / "registro", seed=5,
                                     tokens=False), say=lambda _m: None)
    record = outcome.record
    signer = receipt_key(outcome, record)
    lines = board_lines(record)
    ballots = [i for i, obj in enumerate(lines) if obj["type"] == "ballot"]
    receipts = [receipt(outcome, record, signer, ballots[k], base / f"recibo-{k + 1}.json") for k in (0, 2)]
    codes = [fingerprint(event_from_json(outcome.ctx, lines[i], "x", membership=False)[1]) for i in ballots]
    return Election(outcome, record, signer, receipts, codes)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    p = context.new_page()
    errors: list[str] = []
    watch(p, errors)
    yield p
    context.close()
    assert errors == []


def open_page(page: Any, url: str | None = None) -> None:
    page.goto(url or (PAGE_DIR / "registro.html").as_uri())
    page.wait_for_function("() => globalThis.SiveiVerificar && globalThis.SiveiVerificar.registro")


def load_folder(page: Any, record: Path) -> None:
    page.set_input_files("#carpeta", str(record))
    page.wait_for_selector("#resumen:not([hidden])")


def check(page: Any, *, test_group: bool = True, chosen: str = "", receipts: tuple[Path, ...] = (),
          everything: bool = False) -> dict[str, Any]:
    """Run the check with these options; return the downloaded report (the page's own JSON)."""
    page.set_checked("#grupo-prueba", test_group)
    page.fill("#elegidas", chosen)
    page.set_input_files("#recibos", [str(p) for p in receipts])
    page.check("#pruebas-todas" if everything else "#pruebas-elegidas")
    page.click("#verificar")
    page.wait_for_selector("#resultado:not([hidden])", timeout=120_000)
    with page.expect_download() as d:
        page.click("#descargar")
    report: dict[str, Any] = json.loads(Path(d.value.path()).read_text())
    return report


def outcome_id(election: Election) -> str:
    return election.outcome.ctx.manifest.election_id


def located(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["check"], p["location"]) for p in report["problems"]}


def test_a_record_checked_from_a_file(page: Any, election: Election) -> None:
    open_page(page)
    both_languages(page, "registro: sin registro")
    load_folder(page, election.record)
    assert outcome_id(election) in page.locator("#resumen").inner_text()
    assert "sivei-test-512" in page.locator("#resumen-grupo").inner_text()
    both_languages(page, "registro: cargado")

    # The test group is accepted only when asked for, as the command line's --test-group.
    refused = check(page, test_group=False)
    assert refused["failed_checks"] == {"parameters": 1} and not refused["ok"]
    assert located(refused) == {("parameters", "parameters.json")}
    assert "grupo de prueba" in page.locator("#problemas").inner_text()
    both_languages(page, "registro: grupo de prueba rehusado")

    report = check(page, chosen=f"{election.codes[1].lower()}\n#3\n00000-00000-00000-00000",
                   receipts=tuple(election.receipts))
    assert report["ok"] and report["problems"] == []
    assert report["fingerprints"]["election_hash"] == fingerprint(election.outcome.ctx.election_hash)
    assert report["facts"]["final_board_head_hash"] == election.outcome.head.hex()
    assert report["facts"]["receipts_checked"] == 2
    # Proofs, signature and membership of the chosen ballots and of the receipts' ballots, once each.
    events = [obj["index"] for obj in board_lines(election.record) if obj["type"] == "ballot"]
    receipt_events = {json.loads(p.read_text())["index"] for p in election.receipts}
    assert report["facts"]["ballots_proofs_checked"] == len({events[1], 3} | receipt_events)
    assert {s["id"]: s["status"] for s in report["stages"]}["board"] == "partial"
    assert all(s["status"] == "ok" for s in report["stages"] if s["id"] != "board")
    shown = page.locator("#boletas").inner_text()
    assert election.codes[1] in shown and "00000-00000-00000-00000: no está en el tablero" in shown
    assert page.locator("#recibos-lista li.bien").count() == 2
    assert "SIMULACRO" in page.locator("#aviso-tipo").inner_text()
    page.locator("#resultados details").first.click()
    both_languages(page, "registro: verificación exitosa")
    page.click("#idioma")
    assert "Verification successful" in page.locator("#veredicto").inner_text()
    assert "not on the board" in page.locator("#boletas").inner_text()
    page.click("#idioma")

    # Every ballot's proofs, when asked (the warning says how long it takes here) — on a CPU slowed
    # 50 times, the progress is shown (and audited) and the observer can stop the check.
    assert "boletas tardará" in page.locator("#aviso-tiempo").inner_text()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 50})
    page.check("#pruebas-todas")
    page.click("#verificar")
    page.wait_for_function("() => document.querySelector('#etapa').textContent.includes('%')")
    assert page.locator("#detener").is_visible() and page.locator("#verificar").is_disabled()
    audit(page, "registro: revisando (es)")
    page.click("#detener")
    page.wait_for_selector("#alerta:not([hidden])")
    assert "detenida" in page.locator("#alerta").inner_text() and page.locator("#resultado").is_hidden()
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    everything = check(page, everything=True)
    assert everything["ok"] and everything["facts"]["ballots_proofs_checked"] == len(election.codes)
    assert all(s["status"] == "ok" for s in everything["stages"])


def tampered(election: Election, tmp_path: Path, name: str) -> Path:
    return copy_record(election.record, tmp_path / name)


def test_tampered_records_fail_with_the_verifiers_check_and_location(page: Any, election: Election,
                                                                      tmp_path: Path) -> None:
    outcome = election.outcome
    open_page(page)

    # A receipt whose signature is not by the opening act's receipt key.
    load_folder(page, election.record)
    forged = receipt(outcome, election.record, SoftwareSigner(), 1, tmp_path / "recibo-ajeno.json")
    report = check(page, receipts=(forged,))
    code = json.loads(forged.read_text())["tracking_code"]
    assert report["failed_checks"] == {"receipt.signature": 1}
    assert located(report) == {("receipt.signature", f"recibo-ajeno.json ({code})")}
    assert page.locator("#recibos-lista li.mal").count() == 1
    both_languages(page, "registro: recibo falsificado")

    # A board event changed (its stated head): the chain breaks there.
    record = tampered(election, tmp_path, "cadena")
    lines = board_lines(record)
    lines[2]["head"] = lines[2]["head"][:-2] + ("00" if lines[2]["head"][-2:] != "00" else "01")
    write_board(record, lines)
    load_folder(page, record)
    report = check(page)
    assert report["failed_checks"] == {"board.chain": 2}
    assert located(report) == {("board.chain", "board.bin:3"), ("board.chain", "board.bin:4")}

    # The stored board cut in the middle of an event (format 2's board.bin, re-indexed): the cut event
    # is located, and the board has no close.
    record = tampered(election, tmp_path, "truncado")
    data = board_path(record).read_bytes()
    board_path(record).write_bytes(data[:len(data) - 40])
    reindex(record)
    load_folder(page, record)
    report = check(page)
    events = len(board_lines(election.record))
    assert {("board.encoding", f"board.bin:{events}"), ("board.close", "board.bin")} <= located(report)
    assert "evento truncado" in page.locator("#problemas").inner_text()

    # The same election in record format 1 (board.jsonl, positional counts), converted: it passes.
    record = as_version(tampered(election, tmp_path, "formato-1"), 1)
    load_folder(page, record)
    report = check(page)
    assert report["ok"] and report["facts"]["record_version"] == 1
    assert report["facts"]["final_board_head_hash"] == election.outcome.head.hex()

    # An opening-act field changed after the key-holders signed it.
    record = tampered(election, tmp_path, "acta")
    act = read_json(record, layout.OPENING_ACT)
    act["body"]["threshold"] += 1
    write_json(record, layout.OPENING_ACT, act)
    load_folder(page, record)
    report = check(page)
    assert set(report["failed_checks"]) == {"acts.opening.content", "acts.opening.signature"}
    assert ("acts.opening.content", "acts/opening.json: threshold") in located(report)

    # A published count changed: the record loaded as the .tar.gz the server publishes.
    record = tampered(election, tmp_path, "resultados")
    results = read_json(record, layout.RESULTS)
    first = results["contests"][0]
    first["options"][0]["votes"] += 1
    first["total"] += 1
    write_json(record, layout.RESULTS, results)
    archive = tmp_path / "registro-electoral.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(record, arcname="registro")
    page.set_input_files("#comprimido", str(archive))
    page.wait_for_function("() => /registro-electoral.tar.gz/.test("
                           "document.querySelector('#registro-estado').textContent)")
    report = check(page)
    option = outcome.ctx.manifest.contest(first["contest_id"]).options[0].id
    assert report["failed_checks"]["results.decryption"] == 1
    assert ("results.decryption", f"results.json: {first['entity']}/{first['contest_id']}/{option}") in located(report)
    both_languages(page, "registro: resultado alterado")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The verification folder served over HTTP on loopback, as any mirror would publish it."""
    folder = tmp_path / "espejo"
    folder.mkdir()
    for name in PAGE_FILES:
        shutil.copy(PAGE_DIR / name, folder / name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *_a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_a_ballot_proof_changed_caught_from_a_mirror(page: Any, election: Election, tmp_path: Path,
                                                     mirror: tuple[str, Path]) -> None:
    outcome = election.outcome
    record = tampered(election, tmp_path, "prueba")
    lines = board_lines(record)
    k = next(i for i, obj in enumerate(lines) if obj["type"] == "ballot")
    proof = lines[k]["ballot"]["contests"][0]["selections"][0]["proof"]
    proof["v0"], proof["v1"] = proof["v1"], proof["v0"]
    recount(outcome, record, rechain(outcome, lines))
    reindex(record)
    code = fingerprint(event_from_json(outcome.ctx, board_lines(record)[k], "x", membership=False)[1])
    url, folder = mirror
    with tarfile.open(folder / "registro.tar.gz", "w:gz") as tar:
        tar.add(record, arcname="registro")
    open_page(page, f"{url}/registro.html")
    page.wait_for_selector("#servidor-caja:not([hidden])")
    page.click("#servidor")
    page.wait_for_selector("#resumen:not([hidden])")
    # Chain-only, the doctored ballot (re-chained and re-counted) is not caught …
    assert check(page)["ok"]
    # … its proofs are, once the observer chooses it.
    report = check(page, chosen=code)
    contest = outcome.ctx.manifest.contests[lines[k]["ballot"]["contests"][0]["index"]]
    where = f"board.bin:{k + 1} (boleta {code}), contienda {contest.id}, opción {contest.options[0].id}"
    assert ("ballot.proof.zero-one", where) in located(report)
    assert set(report["failed_checks"]) == {"ballot.proof.zero-one", "ballot.signature"}
    audit(page, "registro desde un espejo: prueba alterada (es)")


@pytest.fixture(scope="module")
def consulates_record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A record with in-person voting at LAX (32 registered voters and one unregistered voter) and MAD
    (nobody), its results split per channel (tests/consulatetools.py)."""
    from consulatetools import channels_kit, library_record
    from sivei.ballot.in_person import ConsulateLog

    kit = channels_kit({"LAX": (2, 32), "MAD": (1, 0)})
    try:
        yield library_record(kit, tmp_path_factory.mktemp("consulados"), {"LAX": 1},
                             {"LAX": ConsulateLog("LAX", 32, (bytes(32),)), "MAD": ConsulateLog("MAD", 0, ())})
    finally:
        kit.close()


def test_a_record_with_consulates(page: Any, consulates_record: Path, tmp_path: Path) -> None:
    """Its consulados/ folder is checked (not reported as unknown files): the consulates' stage and the
    results per channel in the report; a log that leaves a pool ballot without a person fails there."""
    open_page(page)
    load_folder(page, consulates_record)
    report = check(page)
    assert report["ok"] and report["problems"] == []
    stages = {s["id"]: s["status"] for s in report["stages"]}
    assert stages["consulates"] == "ok" and stages["channels"] == "ok"
    assert report["facts"]["channel_cells"] == "3 / 6"
    shown = page.locator("#etapas").inner_text()
    assert "Consulados: declaración, bitácoras firmadas y conciliación" in shown
    both_languages(page, "registro: con consulados")
    page.click("#idioma")
    assert "Results per channel (internet and consulates), 30-ballot rule" in page.locator("#etapas").inner_text()
    page.click("#idioma")

    record = copy_record(consulates_record, tmp_path / "conciliacion")
    log = read_json(record, "consulados/bitacora-LAX.json")
    log["body"]["unregistered"] = []  # the signature no longer matches: the log is refused
    write_json(record, "consulados/bitacora-LAX.json", log)
    load_folder(page, record)
    report = check(page)
    assert located(report) == {("consulates.log", "consulados/bitacora-LAX.json")}
    assert "LAX" in page.locator("#problemas").inner_text()
    both_languages(page, "registro: bitácora de consulado alterada")
