"""Results as files (sivei resultados): resultados.json and resultados.csv agree with the record's
results.json, value by value, for an election with coalitions, non-registered candidates and null
votes; the PDF acta embeds its font and pdftotext reads back accented names and the totals."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from sivei.ballot.manifest_draft import expand_draft_text
from sivei.cli.main import main
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.i18n import set_language
from sivei.record import layout
from sivei.tally.publication import percent

SCRIPT = """entity,contest,option,count
JAL,pres-2030,PAN,3
JAL,pres-2030,PAN_PRI,2
JAL,pres-2030,PAN_PRI_PRD,1
JAL,pres-2030,MC,4
JAL,pres-2030,PT_MORENA,1
JAL,pres-2030,CNR,1
JAL,pres-2030,NULO,1
JAL,sen-jal,IND_1,5
JAL,sen-jal,PT_PVEM_MORENA,3
JAL,sen-jal,NULO,5
JAL,consulta-2030,SI,9
JAL,consulta-2030,NULO,4
PUE,pres-2030,MORENA,2
PUE,pres-2030,PVEM_MORENA,1
PUE,gob-pue,PRI_PRD,3
PUE,consulta-2030,NO,3
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[DrillOutcome, Path]:
    base = tmp_path_factory.mktemp("resultados")
    manifest = expand_draft_text((resources.files("sivei") / "data" / "plantilla-manifiesto.json")
                                 .read_text(encoding="utf-8"), "plantilla")
    script = base / "guion.csv"
    script.write_text(SCRIPT)
    outcome = run_drill(DrillOptions(group=TEST_GROUP, manifest=manifest, vote_script=script, challenges=0,
                                     tokens=False, output=base / "registro"), say=lambda _m: None)
    out = base / "publicacion"
    code = main(["resultados", str(outcome.record), "--salida", str(out), "--simulacro", "--test-group", "--jobs",
                 "1", "--quiet", "--lugar", "Ciudad de México", "--fecha", "2 de junio de 2030",
                 "--firma", "Lic. Ana Lucía Gálvez Ruiz|Presidenta de la Mesa de Escrutinio y Cómputo",
                 "--firma", "Jorge Máynez Ortiz|Secretario"])
    set_language("es")
    assert code == 0
    return outcome, out


def test_json_agrees_with_results_json(published: tuple[DrillOutcome, Path]) -> None:
    outcome, out = published
    record = json.loads((outcome.record / layout.RESULTS).read_text())
    data = json.loads((out / "resultados.json").read_text())
    assert data["format"] == "sivei-resultados" and data["election_kind"] == "drill"
    manifest = outcome.ctx.manifest
    published_contests = {(e["code"], c["contest"]): c for e in data["entities"] for c in e["contests"]}
    assert len(published_contests) == len(record["contests"])
    for r in record["contests"]:
        r["option_counts"] = [o["votes"] for o in r["options"]]  # record format 2 names every count
        c = published_contests[(r["entity"], r["contest_id"])]
        contest = manifest.contest(r["contest_id"])
        by_id = {o["id"]: o for o in c["options"]}
        assert [o["id"] for o in c["options"]] == [o.id for o in contest.options]  # named, in ballot order
        for option, votes in zip(contest.options, r["option_counts"], strict=True):
            assert by_id[option.id]["votes"] == votes
            assert by_id[option.id]["percent"] == percent(votes, r["total"])
        assert c["total_votes"] == r["total"]
        assert [(x["id"], x["votes"]) for x in c["candidacies"]] == [(x["id"], x["votes"])
                                                                      for x in r["candidate_totals"]]
        assert [(x["id"], x["votes"]) for x in c["parties_after_distribution"]] == [
            (x["party"], x["votes"]) for x in r["party_distribution"]]
        if contest.kind == "candidacy":
            assert c["non_registered_candidates"]["votes"] == r["option_counts"][contest.write_in_option_index]
        assert c["null_votes"]["votes"] == r["option_counts"][contest.null_option_index]
        assert c["valid_votes"]["votes"] == r["total"] - c["null_votes"]["votes"]
    jal = published_contests[("JAL", "pres-2030")]
    assert (jal["total_votes"], jal["registered"], jal["turnout_percent"]) == (13, 13, "100.0000")
    assert jal["non_registered_candidates"] == {"votes": 1, "percent": "7.6923"}
    coalition = next(x for x in jal["candidacies"] if x["id"] == "FUERZA")
    assert coalition["votes"] == 3 + 2 + 1 and coalition["candidate"] == "Ana Lucía Gálvez Ruiz"
    # LGIPE 311: PAN_PRI's 2 votes split 1/1; PAN_PRI_PRD's 1 vote goes to PAN (most own votes).
    parties = {x["id"]: x["votes"] for x in jal["parties_after_distribution"]}
    assert (parties["PAN"], parties["PRI"], parties["PRD"]) == (3 + 1 + 1, 0 + 1, 0)
    totals = {t["contest"]: t for t in data["totals"]}
    assert totals["pres-2030"]["total_votes"] == 13 + 3 and totals["pres-2030"]["entities"] == ["JAL", "CDMX", "PUE"]


def test_csv_agrees_with_results_json(published: tuple[DrillOutcome, Path]) -> None:
    outcome, out = published
    record = json.loads((outcome.record / layout.RESULTS).read_text())
    rows = list(csv.DictReader(io.StringIO((out / "resultados.csv").read_text())))
    manifest = outcome.ctx.manifest
    for r in record["contests"]:
        r["option_counts"] = [o["votes"] for o in r["options"]]  # record format 2 names every count
        mine = [x for x in rows if (x["entity"], x["contest"]) == (r["entity"], r["contest_id"])]
        options = {x["id"]: int(x["votes"]) for x in mine if x["section"] == "option"}
        contest = manifest.contest(r["contest_id"])
        assert [options[o.id] for o in contest.options] == r["option_counts"]
        summary = {x["id"]: x for x in mine if x["section"] == "summary"}
        assert int(summary["total_votes"]["votes"]) == r["total"]
        assert summary["null_votes"]["votes"] == str(r["option_counts"][contest.null_option_index])
        candidacies = [(x["id"], int(x["votes"])) for x in mine if x["section"] == "candidacy"]
        assert candidacies == [(x["id"], x["votes"]) for x in r["candidate_totals"]]
        parties = [(x["id"], int(x["votes"])) for x in mine if x["section"] == "party_after_distribution"]
        assert parties == [(x["party"], x["votes"]) for x in r["party_distribution"]]


def test_pdf_acta_reads_back_with_accents_and_totals(published: tuple[DrillOutcome, Path]) -> None:
    _, out = published
    pdf = (out / "acta-computo.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf  # a TrueType font is embedded
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: .ci/run installs it")
    text = subprocess.run(["pdftotext", "-layout", str(out / "acta-computo.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    for fragment in ("Gálvez", "Máynez", "Ana Lucía Gálvez Ruiz", "Jorge Máynez Ortiz", "Presidenta de la Mesa",
                     "SIMULACRO — NO ES LA ELECCIÓN REAL", "Ciudad de México", "2 de junio de 2030",
                     "Candidaturas no registradas", "Votos nulos", "VOTACIÓN TOTAL", "trece", "Participación"):
        assert fragment in text, fragment
    # JAL's presidential total, with its letters, and the coalition's candidacy line.
    assert any("VOTACIÓN TOTAL" in line and " 13 " in line and "trece" in line for line in text.splitlines())
    assert "Ana Lucía Gálvez Ruiz (Coalición Fuerza y Unidad)" in text
    assert "Jalisco — Presidencia de los Estados Unidos Mexicanos" in text
    txt = (out / "acta-computo.txt").read_text()
    assert "Jorge Máynez Ortiz" in txt and "VOTACIÓN TOTAL" in txt


def test_refusals_change_nothing(published: tuple[DrillOutcome, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    outcome, out = published
    # A drill's record without --simulacro: refused from its id, nothing written.
    assert main(["resultados", str(outcome.record), "--salida", str(tmp_path / "x"), "--test-group"]) == 2
    assert "es de un SIMULACRO" in capsys.readouterr().err and not (tmp_path / "x").exists()
    # An existing output folder is not overwritten.
    before = sorted(p.name for p in out.iterdir())
    assert main(["resultados", str(outcome.record), "--salida", str(out), "--simulacro", "--test-group"]) == 2
    assert sorted(p.name for p in out.iterdir()) == before
