"""Writing a manifest: a short draft that an election administrator edits, expanded into the manifest.

The manifest (``sivei.ballot.manifest``) spells out every ballot line: each party, every combination
of two or more partners of each coalition (a three-party coalition needs four combination lines), the
non-registered candidate and the null vote, and one ballot style per entity. Writing that by hand is
where mistakes come from, so administrators write a draft instead::

    {"election_id", "name", "voting_opens", "voting_closes", "display_timezone",
     "parties": [{"id", "name", "emblem"?}],              (may be empty: a party-less referendum;
                                                          "emblem": "PAN.svg", a file in the folder
                                                          emblemas/ next to the draft)
     "entities": [{"code", "name", "contests": [contest ids]}],
     "contests": [
       {"id", "title", "kind": "candidacy",
        "parties": [party ids on this ballot, in ballot order],
        "candidates": {party id: candidate},             (parties running alone; optional for partners)
        "coalitions": [{"id", "name", "parties", "candidate"}],
        "independents": [{"id", "candidate"}]},
       {"id", "title", "kind": "referendum", "answers": [{"id", "label"}]}],
     "in_person": {"unregistered_entity": entity code,   (optional: voting at consulates; the entity
                   "consulates": [{"code", "name",         whose ballot unregistered voters get; the
                                   "unregistered_cap",    policy becomes "one-vote-per-person")
                                   "log_key"}]}}

A party's emblem is read from ``emblemas/`` next to the draft, checked (``sivei.ballot.emblems``:
at most 3 KB, an inert SVG) and named in the manifest with its SHA-256; copy that folder beside the
manifest for the voting server (``SIVEI_DATA_DIR/emblemas/``).

``expand_draft`` generates the options in ballot order — parties, independents, every coalition
combination, «Candidato/a no registrado/a» (CNR) and «Voto nulo» (NULO); answers then NULO for a
referendum — and one ballot style per entity with its contests in manifest order. Every problem,
in the draft or in the manifest it gives, is reported with the line of the draft it comes from
(``check_manifest_file`` does the same for a finished manifest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, NoReturn

from sivei.ballot.manifest import DEFAULT_DISPLAY_TIMEZONE, Manifest
from sivei.errors import ManifestError, SiveiError
from sivei.i18n import tr
from sivei.json_lines import JsonLinesError, line_of, parse_with_lines

DRAFT_KEYS = ("election_id", "name", "voting_opens", "voting_closes", "display_timezone", "parties", "entities",
              "contests")
CANDIDACY_KEYS = {"id", "title", "kind", "parties", "candidates", "coalitions", "independents"}
REFERENDUM_KEYS = {"id", "title", "kind", "answers"}
WRITE_IN_ID, WRITE_IN_LABEL = "CNR", "Candidato/a no registrado/a"
NULL_ID, NULL_LABEL = "NULO", "Voto nulo"


class ManifestDraftError(SiveiError):
    """The draft or manifest has a problem; the message names the file, the line and the field."""


class _DraftProblemError(Exception):
    def __init__(self, path: str, es: str, en: str) -> None:
        super().__init__(path)
        self.path, self.es, self.en = path, es, en


def _fail(path: str, es: str, en: str) -> NoReturn:
    raise _DraftProblemError(path, es, en)


def _obj(value: object, path: str, required: set[str], optional: frozenset[str] | set[str] = frozenset()
         ) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _fail(path, "se esperaba un objeto JSON", "expected a JSON object")
    for k in value:
        if k not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            _fail(f"{path}.{k}" if path else k, f"clave desconocida (se admite: {allowed})",
                  f"unknown key (allowed: {allowed})")
    for k in sorted(required):
        if k not in value:
            _fail(path or "$", f"falta la clave «{k}»", f"missing key «{k}»")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(path, "se esperaba una lista", "expected a list")
    return value


def _str(value: object, path: str) -> str:
    if not isinstance(value, str):
        _fail(path, "se esperaba una cadena", "expected a string")
    return value


def _option(id_: str, label: str, kind: str, parties: list[str], candidate: str | None) -> dict[str, Any]:
    return {"id": id_, "label": label, "kind": kind, "parties": parties, "candidate": candidate}


def _candidacy(c: Mapping[str, Any], path: str, parties: Mapping[str, str]) -> tuple[list[Any], list[Any]]:
    running = [_str(p, f"{path}.parties[{i}]") for i, p in enumerate(_list(c.get("parties", []), f"{path}.parties"))]
    for i, p in enumerate(running):
        if p not in parties:
            _fail(f"{path}.parties[{i}]", f"el partido «{p}» no está en «parties» del borrador",
                  f"party «{p}» is not in the draft's «parties»")
        if running.index(p) != i:
            _fail(f"{path}.parties[{i}]", f"partido repetido «{p}»", f"repeated party «{p}»")
    candidates = c.get("candidates", {})
    if not isinstance(candidates, dict):
        _fail(f"{path}.candidates", "se esperaba un objeto {partido: candidato}",
              "expected an object {party: candidate}")
    for p in candidates:
        if p not in running:
            _fail(f"{path}.candidates.{p}", f"«{p}» no está en «parties» de esta elección",
                  f"«{p}» is not in this contest's «parties»")
    coalition_of: dict[str, dict[str, Any]] = {}
    coalitions = []
    for k, raw in enumerate(_list(c.get("coalitions", []), f"{path}.coalitions")):
        kpath = f"{path}.coalitions[{k}]"
        co = _obj(raw, kpath, {"id", "name", "parties", "candidate"})
        members = [_str(p, f"{kpath}.parties[{j}]") for j, p in enumerate(_list(co["parties"], f"{kpath}.parties"))]
        for j, p in enumerate(members):
            if p not in running:
                _fail(f"{kpath}.parties[{j}]", f"el partido «{p}» no está en «parties» de esta elección",
                      f"party «{p}» is not in this contest's «parties»")
            if members.index(p) != j:
                _fail(f"{kpath}.parties[{j}]", f"partido repetido «{p}»", f"repeated party «{p}»")
            if p in coalition_of:
                _fail(f"{kpath}.parties[{j}]", f"el partido «{p}» ya está en la coalición «{coalition_of[p]['id']}»",
                      f"party «{p}» is already in coalition «{coalition_of[p]['id']}»")
        # Coalition partners in ballot order, whatever order the draft lists them in.
        ordered = [p for p in running if p in members]
        entry: dict[str, Any] = {"id": _str(co["id"], f"{kpath}.id"), "name": _str(co["name"], f"{kpath}.name"),
                                 "parties": ordered, "candidate": _str(co["candidate"], f"{kpath}.candidate")}
        for p in ordered:
            coalition_of[p] = entry
            named = candidates.get(p)
            if named is not None and named != entry["candidate"]:
                _fail(f"{path}.candidates.{p}", f"«{p}» está en la coalición «{entry['id']}», que postula a "
                                                f"«{entry['candidate']}», no a «{named}»",
                      f"«{p}» is in coalition «{entry['id']}», which runs «{entry['candidate']}», not «{named}»")
        coalitions.append(entry)
    options = []
    for p in running:
        candidate = coalition_of[p]["candidate"] if p in coalition_of else candidates.get(p)
        if candidate is None:
            _fail(f"{path}.candidates", f"falta el candidato del partido «{p}» (no está en ninguna coalición)",
                  f"the candidate of party «{p}» is missing (it is in no coalition)")
        options.append(_option(p, f"{p}: {_str(candidate, f'{path}.candidates.{p}')}", "party", [p], candidate))
    for j, raw in enumerate(_list(c.get("independents", []), f"{path}.independents")):
        ipath = f"{path}.independents[{j}]"
        ind = _obj(raw, ipath, {"id", "candidate"})
        name = _str(ind["candidate"], f"{ipath}.candidate")
        options.append(_option(_str(ind["id"], f"{ipath}.id"), f"{name} (independiente)", "independent", [], name))
    for entry in coalitions:
        members = entry["parties"]
        for size in range(2, len(members) + 1):
            for combo in combinations(members, size):
                options.append(_option("_".join(combo), f"{'-'.join(combo)}: {entry['candidate']}", "combination",
                                       list(combo), entry["candidate"]))
    options.append(_option(WRITE_IN_ID, WRITE_IN_LABEL, "write_in", [], None))
    options.append(_option(NULL_ID, NULL_LABEL, "null", [], None))
    return options, coalitions


def _referendum(c: Mapping[str, Any], path: str) -> list[Any]:
    options = []
    for j, raw in enumerate(_list(c["answers"], f"{path}.answers")):
        apath = f"{path}.answers[{j}]"
        a = _obj(raw, apath, {"id", "label"})
        options.append(_option(_str(a["id"], f"{apath}.id"), _str(a["label"], f"{apath}.label"), "answer", [], None))
    options.append(_option(NULL_ID, NULL_LABEL, "null", [], None))
    return options


@dataclass(frozen=True)
class Expansion:
    manifest_json: dict[str, Any]
    path_map: dict[str, str]
    """Manifest path prefix → draft path (so that a manifest error points at the draft's line)."""


def _emblem(name: str, path: str, folder: Path | None) -> dict[str, str]:
    import hashlib

    from sivei.ballot.emblems import check_emblem
    from sivei.ballot.manifest import Emblem

    file = (folder / name) if folder is not None else None
    if file is None or "/" in name or "\\" in name or not file.is_file():
        _fail(path, f"no se encontró el emblema «{name}» en la carpeta emblemas/ junto al borrador",
              f"emblem «{name}» not found in the folder emblemas/ next to the draft")
    data = file.read_bytes()
    digest = hashlib.sha256(data).digest()
    try:
        check_emblem(Emblem(name, digest), data)
    except ManifestError as exc:
        _fail(path, str(exc), str(exc))
    return {"file": name, "sha256": digest.hex()}


def _expand(draft: object, emblem_folder: Path | None = None) -> Expansion:
    d = _obj(draft, "", set(DRAFT_KEYS) - {"display_timezone"}, {"display_timezone", "in_person"})
    parties: dict[str, str] = {}
    emblems: dict[str, dict[str, str]] = {}
    for i, raw in enumerate(_list(d["parties"], "parties")):
        p = _obj(raw, f"parties[{i}]", {"id", "name"}, {"emblem"})
        party_id = _str(p["id"], f"parties[{i}].id")
        parties[party_id] = _str(p["name"], f"parties[{i}].name")
        if "emblem" in p:
            emblems[party_id] = _emblem(_str(p["emblem"], f"parties[{i}].emblem"), f"parties[{i}].emblem",
                                        emblem_folder)
    contests = []
    path_map: dict[str, str] = {}
    contest_ids: list[str] = []
    for i, raw in enumerate(_list(d["contests"], "contests")):
        path = f"contests[{i}]"
        kind = raw.get("kind") if isinstance(raw, dict) else None
        if kind == "candidacy":
            c = _obj(raw, path, {"id", "title", "kind", "parties"}, CANDIDACY_KEYS)
            options, coalitions = _candidacy(c, path, parties)
        elif kind == "referendum":
            c = _obj(raw, path, REFERENDUM_KEYS)
            options, coalitions = _referendum(c, path), []
        else:
            _fail(f"{path}.kind" if isinstance(raw, dict) and "kind" in raw else path,
                  "«kind» debe ser \"candidacy\" o \"referendum\"", "«kind» must be \"candidacy\" or \"referendum\"")
        contest_id = _str(c["id"], f"{path}.id")
        contest_ids.append(contest_id)
        contests.append({"id": contest_id, "title": _str(c["title"], f"{path}.title"), "kind": kind,
                         "votes_allowed": 1, "options": options, "coalitions": coalitions})
        path_map[path] = path
        path_map[f"{path}.coalitions"] = f"{path}.coalitions"
    entities, styles = [], []
    for i, raw in enumerate(_list(d["entities"], "entities")):
        path = f"entities[{i}]"
        e = _obj(raw, path, {"code", "name", "contests"})
        code = _str(e["code"], f"{path}.code")
        wanted = [_str(x, f"{path}.contests[{j}]") for j, x in enumerate(_list(e["contests"], f"{path}.contests"))]
        for j, x in enumerate(wanted):
            if x not in contest_ids:
                _fail(f"{path}.contests[{j}]", f"la elección «{x}» no está en «contests»",
                      f"contest «{x}» is not in «contests»")
            if wanted.index(x) != j:
                _fail(f"{path}.contests[{j}]", f"elección repetida «{x}»", f"repeated contest «{x}»")
        style = code.lower() if isinstance(code, str) else code
        entities.append({"code": code, "name": _str(e["name"], f"{path}.name"), "ballot_style": style})
        styles.append({"id": style, "entity": code, "contests": sorted(wanted, key=contest_ids.index)})
        path_map[f"entities[{i}]"] = path
        path_map[f"ballot_styles[{i}]"] = path
    manifest = {
        "election_id": d["election_id"], "name": d["name"], "voting_opens": d["voting_opens"],
        "voting_closes": d["voting_closes"], "display_timezone": d.get("display_timezone", DEFAULT_DISPLAY_TIMEZONE),
        "counting_policy": "one-vote", "tie_rule": "party-order",
        "parties": [{"id": k, "name": v, **({"emblem": emblems[k]} if k in emblems else {})}
                    for k, v in parties.items()],
        "entities": entities, "contests": contests, "ballot_styles": styles,
    }
    if "in_person" in d:
        manifest["in_person"] = _in_person(d["in_person"], entities)
        manifest["counting_policy"] = "one-vote-per-person"
        path_map["in_person"] = "in_person"
    return Expansion(manifest, path_map)


def _in_person(raw: object, entities: list[dict[str, Any]]) -> dict[str, Any]:
    """The draft's ``in_person``: the entity that stands for unregistered voters at consulates (its
    ballot is what they vote) and the consulates, copied as the manifest has them."""
    ip = _obj(raw, "in_person", {"unregistered_entity", "consulates"})
    code = _str(ip["unregistered_entity"], "in_person.unregistered_entity")
    style = next((e["ballot_style"] for e in entities if e["code"] == code), None)
    if style is None:
        _fail("in_person.unregistered_entity", f"la entidad «{code}» no está en «entities»",
              f"entity «{code}» is not in «entities»")
    consulates = []
    for i, c in enumerate(_list(ip["consulates"], "in_person.consulates")):
        path = f"in_person.consulates[{i}]"
        consulates.append(dict(_obj(c, path, {"code", "name", "unregistered_cap", "log_key"})))
    return {"unregistered_style": style, "consulates": consulates}


def _manifest_path(message: str) -> str:
    """The JSON path a ManifestError starts with («contests[2].options[0].id: …»)."""
    head, sep, _ = message.partition(": ")
    return head if sep and " " not in head else ""


def _draft_path(manifest_path: str, path_map: Mapping[str, str]) -> str:
    """The draft path a manifest path comes from: the mapped prefix and the rest of the path (which
    ``_error`` trims to what the draft really has)."""
    probe = manifest_path
    while probe:
        if probe in path_map:
            return path_map[probe] + manifest_path[len(probe):]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return manifest_path


def _known_prefix(lines: Mapping[str, int], path: str) -> str:
    while path and path not in lines:
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return path


def _error(source: str, lines: Mapping[str, int], path: str, es: str, en: str) -> ManifestDraftError:
    known = _known_prefix(lines, path)
    line = line_of(dict(lines), known)
    where = f" ({known})" if known else ""
    return ManifestDraftError(tr(f"{source}, línea {line}{where}: {es}", f"{source}, line {line}{where}: {en}"))


def _parse(text: str, source: str) -> tuple[Any, dict[str, int]]:
    try:
        return parse_with_lines(text, source)
    except JsonLinesError as exc:
        raise ManifestDraftError(str(exc)) from None


def expand_draft_text(text: str, source: str) -> Manifest:
    """The manifest a draft gives; every error names the draft's line."""
    draft, lines = _parse(text, source)
    try:
        folder = Path(source).parent / "emblemas"
        expansion = _expand(draft, folder if folder.is_dir() else None)
    except _DraftProblemError as p:
        raise _error(source, lines, p.path, p.es, p.en) from None
    try:
        return Manifest.from_json(expansion.manifest_json)
    except ManifestError as exc:
        message = str(exc)
        mpath = _manifest_path(message)
        detail = message[len(mpath) + 2:] if mpath else message
        raise _error(source, lines, _draft_path(mpath, expansion.path_map), detail, detail) from None


def check_manifest_text(text: str, source: str) -> Manifest:
    """A finished manifest, checked with the line of each problem."""
    obj, lines = _parse(text, source)
    try:
        return Manifest.from_json(obj)
    except ManifestError as exc:
        message = str(exc)
        mpath = _manifest_path(message)
        detail = message[len(mpath) + 2:] if mpath else message
        raise _error(source, lines, mpath, detail, detail) from None


def is_draft(obj: object) -> bool:
    return isinstance(obj, dict) and "ballot_styles" not in obj


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ManifestDraftError(tr(f"no se puede leer {path}: {exc.strerror or exc}",
                                    f"cannot read {path}: {exc.strerror or exc}")) from None
    except UnicodeDecodeError as exc:
        raise ManifestDraftError(tr(f"{path}: no es UTF-8 (byte {exc.start})",
                                    f"{path}: not UTF-8 (byte {exc.start})")) from None


def load_any(path: Path) -> tuple[Manifest, bool]:
    """A draft or a finished manifest from ``path``, checked with line numbers; True if it was a draft."""
    text = read_text(path)
    obj, _ = _parse(text, str(path))
    if is_draft(obj):
        return expand_draft_text(text, str(path)), True
    return check_manifest_text(text, str(path)), False
