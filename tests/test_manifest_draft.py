"""Manifest authoring: templates, generated coalition combinations, party-less referendums, and every
error with the line of the file it comes from — with nothing written."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from sivei.ballot.manifest import sample_manifest
from sivei.ballot.manifest_draft import ManifestDraftError, check_manifest_text, expand_draft_text
from sivei.cli.main import main
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillOptions, run_drill
from sivei.i18n import set_language


@pytest.fixture(autouse=True)
def spanish() -> None:
    yield
    set_language("es")


def template(name: str = "plantilla-manifiesto.json") -> str:
    return (resources.files("sivei") / "data" / name).read_text(encoding="utf-8")


def test_the_template_gives_every_combination() -> None:
    manifest = expand_draft_text(template(), "plantilla.json")
    pres = manifest.contest("pres-2030")
    combos = [o.id for o in pres.options if o.kind == "combination"]
    assert combos == ["PAN_PRI", "PAN_PRD", "PRI_PRD", "PAN_PRI_PRD", "PT_PVEM", "PT_MORENA", "PVEM_MORENA",
                      "PT_PVEM_MORENA"]
    assert [o.id for o in pres.options][-2:] == ["CNR", "NULO"]
    assert pres.options[pres.option_index("PAN_PRI")].candidate == "Ana Lucía Gálvez Ruiz"
    sen = manifest.contest("sen-jal")
    assert [o.kind for o in sen.options].count("independent") == 1
    assert manifest.style_for_entity("PUE").contests == ("pres-2030", "gob-pue", "consulta-2030")
    # The marks rule works on the generated lines: two partners are their combination.
    assert pres.option_for_marks({"PT", "MORENA"}) == pres.option_index("PT_MORENA")


def test_a_party_less_referendum_runs_a_drill(tmp_path: Path) -> None:
    manifest = expand_draft_text(template("plantilla-consulta.json"), "consulta.json")
    assert manifest.parties == () and [o.id for o in manifest.contests[0].options] == ["REVOCA", "SIGA", "NULO"]
    outcome = run_drill(DrillOptions(group=TEST_GROUP, manifest=manifest, voters=4, challenges=0, tokens=False,
                                     output=tmp_path / "rec"), say=lambda _m: None)
    assert sum(r.total for r in outcome.results.contests) == 4


def _draft_lines() -> list[str]:
    return template().splitlines()


def _edit(old: str, new: str) -> tuple[str, int]:
    """The template with the first line holding ``old`` edited; and that line's number."""
    lines = _draft_lines()
    for k, line in enumerate(lines):
        if old in line:
            lines[k] = line.replace(old, new, 1)
            return "\n".join(lines) + "\n", k + 1
    raise AssertionError(old)


@pytest.mark.parametrize(("old", "new", "fragment"), [
    ('["PT", "PVEM", "MORENA"], "candidate": "María', '["PT", "PVEM", "MORENX"], "candidate": "María',
     "el partido «MORENX» no está en «parties» de esta elección"),
    ('"candidates": {"MC": "Fernanda', '"candidates": {"MX": "Fernanda', "«MX» no está en «parties»"),
    ('"contests": ["pres-2030", "consulta-2030"]', '"contests": ["pres-2030", "consulta-2031"]',
     "la elección «consulta-2031» no está en «contests»"),
    ('"kind": "referendum"', '"kind": "referendo"', "«kind» debe ser"),
    ('{"id": "SI", "label": "Sí estoy de acuerdo"}', '{"id": "SI", "etiqueta": "Sí"}', "clave desconocida"),
    ('{"code": "PUE", "name": "Puebla"', '{"code": "pue", "name": "Puebla"', "identificador no válido"),
    ('"title": "Gubernatura del Estado de Puebla",', '"title": " Gubernatura",',
     "no debe empezar ni terminar con espacios"),
    ('"candidates": {"MC": "Jorge Máynez Ortiz"},', '"candidates": {"MC": "Jorge Máynez Ortiz", "MC": "Otro"},',
     'clave repetida "MC"'),
    ('"voting_closes": "2030-06-03T00:00:00Z",', '"voting_closes": "2030-06-03 00:00",', "instante UTC"),
])
def test_draft_errors_name_their_line(old: str, new: str, fragment: str) -> None:
    text, line = _edit(old, new)
    with pytest.raises(ManifestDraftError) as info:
        expand_draft_text(text, "borrador.json")
    message = str(info.value)
    assert f"borrador.json, línea {line}" in message, message
    assert fragment in message


def test_missing_candidate_points_at_the_contest() -> None:
    text, _ = _edit('"candidates": {"MC": "Fernanda Ortega Vélez"},', '"candidates": {},')
    with pytest.raises(ManifestDraftError, match="falta el candidato del partido «MC»") as info:
        expand_draft_text(text, "b.json")
    assert "(contests[2].candidates)" in str(info.value)


def test_a_json_syntax_error_names_line_and_column() -> None:
    text, line = _edit('"name": "Jalisco",', '"name": "Jalisco",,')
    with pytest.raises(ManifestDraftError, match=f"línea {line}, columna"):
        expand_draft_text(text, "b.json")


def test_finished_manifest_errors_name_their_line() -> None:
    text = json.dumps(sample_manifest().to_json(), ensure_ascii=False, indent=1)
    lines = text.splitlines()
    k = next(i for i, line in enumerate(lines) if '"id": "PT_MORENA"' in line)
    lines[k] = lines[k].replace("PT_MORENA", "PT MORENA")
    with pytest.raises(ManifestDraftError) as info:
        check_manifest_text("\n".join(lines), "manifest.json")
    assert f"manifest.json, línea {k + 1} (contests[0].options[11].id)" in str(info.value)


def test_cli_generate_validate_and_refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft, manifest = tmp_path / "borrador.json", tmp_path / "manifest.json"
    assert main(["manifiesto", "plantilla", "--salida", str(draft)]) == 0
    assert main(["manifiesto", "plantilla", "--salida", str(draft)]) == 2  # not overwritten
    assert main(["manifiesto", "generar", str(draft), "--salida", str(manifest)]) == 0
    assert main(["manifest", "validate", str(manifest)]) == 0
    assert "manifiesto válido" in capsys.readouterr().out
    broken = tmp_path / "roto.json"
    text, line = _edit('"parties": ["PAN", "PRI", "PRD"], "candidate": "Eduardo',
                       '"parties": ["PAN", "PRI", "PRD", "PAN"], "candidate": "Eduardo')
    broken.write_text(text)
    out = tmp_path / "nuevo.json"
    assert main(["manifiesto", "generar", str(broken), "--salida", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"roto.json, línea {line}" in err and "partido repetido «PAN»" in err
    assert not out.exists()
    assert main(["manifiesto", "mostrar", str(draft)]) == 0
    assert "PAN-PRI-PRD: Ana Lucía Gálvez Ruiz" in capsys.readouterr().out


def test_a_draft_names_emblems_in_the_folder_next_to_it(tmp_path: Path) -> None:
    from sivei.ballot.emblems import load_emblems, sample_emblem_folder

    draft = json.loads(template())
    draft["parties"][0]["emblem"] = "PAN.svg"
    path = tmp_path / "borrador.json"
    path.write_text(json.dumps(draft, ensure_ascii=False, indent=1), encoding="utf-8")
    # Not there yet: named with the draft's line.
    with pytest.raises(ManifestDraftError, match=r"emblemas/") as info:
        expand_draft_text(path.read_text(encoding="utf-8"), str(path))
    assert "borrador.json, línea" in str(info.value)
    (tmp_path / "emblemas").mkdir()
    svg = (sample_emblem_folder() / "PAN.svg").read_bytes()
    (tmp_path / "emblemas" / "PAN.svg").write_bytes(svg.replace(b"<rect", b"<script>x()</script><rect"))
    with pytest.raises(ManifestDraftError, match="script"):
        expand_draft_text(path.read_text(encoding="utf-8"), str(path))
    (tmp_path / "emblemas" / "PAN.svg").write_bytes(svg)
    manifest = expand_draft_text(path.read_text(encoding="utf-8"), str(path))
    pan = manifest.parties[0]
    assert pan.emblem is not None and pan.emblem.file == "PAN.svg"
    assert load_emblems(manifest, tmp_path / "emblemas") == {"PAN.svg": svg}
    assert all(p.emblem is None for p in manifest.parties[1:])
