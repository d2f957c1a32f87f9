"""Vote scripts are read strictly: every malformed row is refused with its line number and nothing is
cast (the drill writes no record)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sivei.ballot.manifest import sample_manifest
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, run_drill
from sivei.vote_script import VoteScriptError, parse_vote_script, read_vote_script

GOOD = """entity,contest,option,count
JAL,dip-mig-jal,PAN,2
JAL,dip-mig-jal,PT_MORENA,1
JAL,dip-mig-jal,CNR,1
JAL,rm-2027,REVOCA,3
JAL,rm-2027,NULO,1
"""


def test_a_good_script_gives_counts_and_ballots() -> None:
    script = parse_vote_script(GOOD, sample_manifest())
    assert script.voters == {"JAL": 4}
    counts = script.expected_counts()
    contest = sample_manifest().contest("dip-mig-jal")
    assert counts[("JAL", "dip-mig-jal")][contest.option_index("PAN")] == 2
    assert sum(counts[("CHIH", "gob-chih")]) == 0
    ballots = script.ballots()["JAL"]
    assert len(ballots) == 4 and sorted(b["rm-2027"] for b in ballots) == ["NULO", "REVOCA", "REVOCA", "REVOCA"]


@pytest.mark.parametrize(("row", "line_message"), [
    ("JAL,rm-2027,REVOCA,1,915", "línea 3: tiene 5 campos y se esperan 4"),   # thousands separator
    ('JAL,rm-2027,REVOCA,"1,915"', "línea 3: el conteo '1,915' no es un entero simple"),
    ("JAL,rm-2027,REVOCA,1.915", "línea 3: el conteo '1.915' no es un entero simple"),
    ("JAL,rm-2027,REVOCA,+3", "línea 3: el conteo '+3' no es un entero simple"),
    ("JAL,rm-2027,REVOCA,-3", "línea 3: el conteo '-3' no es un entero simple"),
    ("JAL,rm-2027,REVOCA,1e3", "línea 3: el conteo '1e3' no es un entero simple"),
    ("JAL,rm-2027,REVOCA,03", "línea 3: el conteo '03' no es un entero simple"),
    ("JAL,rm-2027,REVOCA,", "línea 3: el conteo '' no es un entero simple"),
    ("JAL,rm-2027,REVOCA", "línea 3: tiene 3 campos y se esperan 4"),
    ("JAL,rm-2027,QUIZAS,3", "línea 3: la elección \"rm-2027\" no tiene la opción \"QUIZAS\""),
    ("ZAC,rm-2027,REVOCA,3", "línea 3: no existe la entidad \"ZAC\""),
    ("JAL,gob-chih,PAN,3", "línea 3: la contienda gob-chih no está en la boleta de JAL"),
    ("JAL,dip-mig-jal,PAN,1", "línea 3: JAL,dip-mig-jal,PAN ya está en la línea 2"),
])
def test_bad_rows_are_refused_with_their_line(row: str, line_message: str) -> None:
    text = f"entity,contest,option,count\nJAL,dip-mig-jal,PAN,3\n{row}\nJAL,rm-2027,NULO,0\n"
    with pytest.raises(VoteScriptError) as info:
        parse_vote_script(text, sample_manifest(), "guion.csv")
    assert f"guion.csv, {line_message}" in str(info.value)
    assert "no se emitió ningún voto" in str(info.value)


def test_every_problem_is_listed_at_once() -> None:
    text = "entity,contest,option,count\nJAL,rm-2027,REVOCA,1,915\nJAL,rm-2027,SIGA,x\n"
    with pytest.raises(VoteScriptError) as info:
        parse_vote_script(text, sample_manifest(), "g.csv")
    assert "g.csv, línea 2" in str(info.value) and "g.csv, línea 3" in str(info.value)


def test_header_totals_and_emptiness() -> None:
    with pytest.raises(VoteScriptError, match="línea 1: el encabezado"):
        parse_vote_script("entidad,contienda,opcion,votos\nJAL,rm-2027,SIGA,1\n", sample_manifest())
    with pytest.raises(VoteScriptError, match="debe sumar los mismos votos"):
        parse_vote_script("entity,contest,option,count\nJAL,rm-2027,SIGA,2\nJAL,dip-mig-jal,PAN,1\n",
                          sample_manifest())
    with pytest.raises(VoteScriptError, match="no tiene votos"):
        parse_vote_script("entity,contest,option,count\n\n", sample_manifest())


def test_bad_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes("entity,contest,option,count\nJAL,rm-2027,SIGA,1\n".encode("utf-16"))
    with pytest.raises(VoteScriptError, match="UTF-8"):
        read_vote_script(path, sample_manifest())


def test_the_drill_refuses_a_thousands_separator_and_writes_nothing(tmp_path: Path) -> None:
    """The row that once passed as one vote: refused, with its line, before any key or record."""
    script = tmp_path / "guion.csv"
    script.write_text("entity,contest,option,count\nJAL,dip-mig-jal,PAN,915\nJAL,rm-2027,REVOCA,1,915\n")
    with pytest.raises(VoteScriptError, match=r"guion\.csv, línea 3: tiene 5 campos"):
        run_drill(DrillOptions(group=TEST_GROUP, vote_script=script, tokens=False, output=tmp_path / "rec"),
                  say=lambda _m: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guion.csv"]
