"""The election manifest: the sample, strict reading with exact error paths, and the LGIPE mark rules."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import chain, combinations
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.ballot.manifest import (
    Contest,
    Manifest,
    load_manifest,
    parse_manifest_bytes,
    sample_manifest,
)
from sivei.crypto.encoding import canonical_json, tagged_hash
from sivei.errors import ManifestError
from sivei.i18n import set_language

Obj = dict[str, Any]


@pytest.fixture(autouse=True)
def _spanish_after_each_test() -> Iterator[None]:
    yield
    set_language("es")


def sample_json() -> Obj:
    return copy.deepcopy(sample_manifest().to_json())


def contest_json(obj: Obj, contest_id: str) -> Obj:
    return next(c for c in obj["contests"] if c["id"] == contest_id)


def option_pos(contest: Obj, option_id: str) -> int:
    return next(i for i, o in enumerate(contest["options"]) if o["id"] == option_id)


def expect_error(obj: object, *fragments: str) -> str:
    with pytest.raises(ManifestError) as info:
        Manifest.from_json(obj)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    return message


# -- the sample -----------------------------------------------------------------------------------


def test_sample_loads_and_round_trips_exactly() -> None:
    m = sample_manifest()
    again = Manifest.from_json(m.to_json())
    assert again == m
    assert again.to_json() == m.to_json()
    assert again.hash == m.hash
    assert m.hash == tagged_hash("sivei/manifest", canonical_json(m.to_json()))
    assert len(m.hash) == 32


def test_sample_hash_does_not_depend_on_file_layout(tmp_path: Path) -> None:
    m = sample_manifest()
    path = tmp_path / "m.json"
    # Different whitespace and key order, same content.
    path.write_text(json.dumps(m.to_json(), indent=7, ensure_ascii=True), encoding="utf-8")
    assert load_manifest(path).hash == m.hash
    reordered = {k: m.to_json()[k] for k in reversed(list(m.to_json()))}
    path.write_text(json.dumps(reordered), encoding="utf-8")
    assert load_manifest(path) == m


def test_sample_content_matches_the_2027_scenario() -> None:
    m = sample_manifest()
    assert m.election_id == "mx-2027-local-ext"
    assert [p.id for p in m.parties] == ["PAN", "PRI", "PRD", "PT", "PVEM", "MC", "MORENA"]
    assert m.voting_opens == datetime(2027, 5, 23, 2, 0, tzinfo=UTC)
    assert m.voting_closes == datetime(2027, 6, 7, 0, 0, tzinfo=UTC)
    assert m.counting_policy == "one-vote" and m.tie_rule == "party-order"
    assert 5 <= len(m.entities) <= 6
    referendum = [c for c in m.contests if c.kind == "referendum"]
    assert len(referendum) == 1
    sizes = []
    for entity in m.entities:
        style = m.style_for_entity(entity.code)
        assert style.entity == entity.code
        contests = m.style_contests(style.id)
        assert 2 <= len(contests) <= 3
        assert referendum[0] in [c for _, c in contests]
        sizes.append(sum(len(c.options) for _, c in contests))
    assert 20 <= max(sizes) <= 30
    kinds = {o.kind for c in m.contests for o in c.options}
    assert kinds == {"party", "independent", "combination", "write_in", "null", "answer"}
    for contest in m.contests:
        if contest.kind == "candidacy":
            assert [o.id for o in contest.options[-2:]] == ["CNR", "NULO"]
    assert any(k.name.startswith("Candidatura común") for c in m.contests for k in c.coalitions)


def test_local_window_in_spanish_and_english() -> None:
    m = sample_manifest()
    assert m.local_window() == (
        "sábado 22 de mayo de 2027, 20:00 (hora del centro de México)",
        "domingo 6 de junio de 2027, 18:00 (hora del centro de México)",
    )
    set_language("en")
    assert m.local_window() == (
        "Saturday 22 May 2027, 20:00 (central Mexico time)",
        "Sunday 6 June 2027, 18:00 (central Mexico time)",
    )


def test_local_window_in_another_zone() -> None:
    m = dataclasses.replace(sample_manifest(), display_timezone="America/Tijuana")
    opens, _ = m.local_window()
    # Baja California keeps daylight time: UTC-7 in May.
    assert opens.startswith("sábado 22 de mayo de 2027, 19:00")


def test_lookups() -> None:
    m = sample_manifest()
    assert m.contest_index("gob-chih") == 0
    assert m.contest_index("rm-2027") == len(m.contests) - 1
    assert m.entity("CDMX").name == "Ciudad de México"
    assert m.style("chih").entity == "CHIH"
    assert m.style_for_entity("COAH").id == "coah"
    chih = m.style_contests("chih")
    assert [(i, c.id) for i, c in chih] == [(0, "gob-chih"), (2, "sen-norte"), (7, "rm-2027")]
    assert m.party_index("PAN") == 0 and m.party_index("MORENA") == 6
    for call in (lambda: m.contest_index("nada"), lambda: m.entity("SON"), lambda: m.style("son"),
                 lambda: m.style_for_entity("SON"), lambda: m.party_index("PXX")):
        with pytest.raises(ManifestError):
            call()


def test_option_indices() -> None:
    m = sample_manifest()
    gob = m.contest("gob-chih")
    assert gob.option_index("PAN") == 0
    assert gob.option_index("PAN_PRI_PRD") == 10
    assert gob.write_in_option_index == len(gob.options) - 2
    assert gob.null_option_index == len(gob.options) - 1
    rm = m.contest("rm-2027")
    assert rm.write_in_option_index is None
    assert rm.null_option_index == 2
    with pytest.raises(ManifestError, match="XYZ"):
        gob.option_index("XYZ")


# -- LGIPE arts. 288 and 290 ------------------------------------------------------------------------


def test_option_for_marks_lgipe_cases() -> None:
    gob = sample_manifest().contest("gob-chih")
    null = gob.null_option_index
    assert gob.option_for_marks(["PAN"]) == gob.option_index("PAN")
    assert gob.option_for_marks({"MC"}) == gob.option_index("MC")
    assert gob.option_for_marks(["PVEM"]) == gob.option_index("PVEM")
    # Partners of one coalition: the combination of exactly those parties, whatever the order.
    assert gob.option_for_marks(["PRI", "PAN"]) == gob.option_index("PAN_PRI")
    assert gob.option_for_marks(["PRD", "PAN"]) == gob.option_index("PAN_PRD")
    assert gob.option_for_marks(("PRI", "PRD")) == gob.option_index("PRI_PRD")
    assert gob.option_for_marks(["PRD", "PRI", "PAN"]) == gob.option_index("PAN_PRI_PRD")
    assert gob.option_for_marks(["MORENA", "PT"]) == gob.option_index("PT_MORENA")
    # Parties of different coalitions, or a party outside any coalition: null.
    assert gob.option_for_marks(["PAN", "MORENA"]) == null
    assert gob.option_for_marks(["PAN", "PRI", "PT"]) == null
    assert gob.option_for_marks(["PAN", "MC"]) == null
    assert gob.option_for_marks(["PVEM", "MC"]) == null
    # Nothing marked: null.
    assert gob.option_for_marks([]) == null
    assert sample_manifest().contest("rm-2027").option_for_marks(set()) == 2


def test_option_for_marks_rejects_parties_without_an_option() -> None:
    gob = sample_manifest().contest("gob-chih")
    with pytest.raises(ManifestError, match="PXX"):
        gob.option_for_marks(["PAN", "PXX"])
    with pytest.raises(TypeError):
        gob.option_for_marks("PAN")


def _all_subsets(items: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    return chain.from_iterable(combinations(items, n) for n in range(len(items) + 1))


def test_option_for_marks_every_subset_of_every_sample_contest() -> None:
    """Exhaustive check of the rule against an independent statement of it."""
    for contest in sample_manifest().contests:
        parties = contest.party_ids
        for marks in _all_subsets(parties):
            got = contest.option_for_marks(marks)
            coalition_sets = [set(k.parties) for k in contest.coalitions]
            if len(marks) == 1:
                assert contest.options[got].parties == marks
            elif len(marks) >= 2 and any(set(marks) <= s for s in coalition_sets):
                assert contest.options[got].kind == "combination"
                assert set(contest.options[got].parties) == set(marks)
            else:
                assert got == contest.null_option_index, (contest.id, marks)


# -- random valid manifests -------------------------------------------------------------------------

PARTY_POOL = ("PA", "PB", "PC", "PD", "PE", "PF")


@st.composite
def manifests(draw: st.DrawFn) -> Obj:
    """A valid manifest with random parties and random coalitions (all combinations present)."""
    n_parties = draw(st.integers(2, len(PARTY_POOL)))
    parties = list(PARTY_POOL[:n_parties])
    running = draw(st.lists(st.sampled_from(parties), min_size=1, unique=True))
    running.sort(key=parties.index)
    pool = list(running)
    coalitions: list[list[str]] = []
    while len(pool) >= 2 and draw(st.booleans()):
        size = draw(st.integers(2, min(4, len(pool))))
        members = pool[:size]
        pool = pool[size:]
        coalitions.append(members)
    options: list[Obj] = [{"id": p, "label": f"Partido {p}", "kind": "party", "parties": [p],
                           "candidate": None} for p in running]
    for members in coalitions:
        for sub in _all_subsets(tuple(members)):
            if len(sub) >= 2:
                options.append({"id": "_".join(sub), "label": "-".join(sub), "kind": "combination",
                                "parties": list(sub), "candidate": None})
    if draw(st.booleans()):
        options.append({"id": "IND", "label": "Independiente", "kind": "independent", "parties": [],
                        "candidate": "Persona Independiente"})
    options += [{"id": "CNR", "label": "No registrado", "kind": "write_in", "parties": [], "candidate": None},
                {"id": "NULO", "label": "Nulo", "kind": "null", "parties": [], "candidate": None}]
    hours = draw(st.integers(1, 24 * 30))
    return {
        "election_id": "prueba-" + draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
        "name": "Elección de prueba",
        "voting_opens": "2027-05-23T02:00:00Z",
        "voting_closes": (datetime(2027, 5, 23, 2, tzinfo=UTC) + timedelta(hours=hours))
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "display_timezone": draw(st.sampled_from(["America/Mexico_City", "America/Cancun", "UTC"])),
        "counting_policy": "one-vote",
        "tie_rule": "party-order",
        "parties": [{"id": p, "name": f"Partido {p}"} for p in parties],
        "entities": [{"code": "AA", "name": "Entidad A", "ballot_style": "a"}],
        "contests": [
            {"id": "c1", "title": "Cargo", "kind": "candidacy", "votes_allowed": 1, "options": options,
             "coalitions": [{"id": f"K{i}", "name": f"Coalición {i}", "parties": members,
                             "candidate": f"Persona {i}"} for i, members in enumerate(coalitions)]},
        ],
        "ballot_styles": [{"id": "a", "entity": "AA", "contests": ["c1"]}],
    }


@given(manifests())
def test_random_manifests_round_trip_and_follow_the_mark_rules(obj: Obj) -> None:
    m = Manifest.from_json(obj)
    assert m.to_json() == obj
    assert Manifest.from_json(m.to_json()).hash == m.hash
    contest = m.contests[0]
    groups = {p: k.id for k in contest.coalitions for p in k.parties}
    for marks in _all_subsets(contest.party_ids):
        got = contest.option_for_marks(marks)
        same_coalition = len({groups.get(p) for p in marks}) == 1 and marks[0] in groups if marks else False
        if len(marks) == 1 or (len(marks) >= 2 and same_coalition):
            assert set(contest.options[got].parties) == set(marks)
        else:
            assert got == contest.null_option_index


@given(manifests(), st.data())
def test_dropping_any_combination_is_reported(obj: Obj, data: st.DataObject) -> None:
    options = obj["contests"][0]["options"]
    combos = [i for i, o in enumerate(options) if o["kind"] == "combination"]
    if not combos:
        return
    victim = options.pop(data.draw(st.sampled_from(combos)))
    expect_error(obj, "contests[0].coalitions[", "+".join(victim["parties"]))


# -- malformed manifests: each names its path ---------------------------------------------------------

Mutation = Callable[[Obj], None]


def _set(path: list[Any], value: Any) -> Mutation:
    def apply(obj: Obj) -> None:
        target: Any = obj
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return apply


def _delete(path: list[Any]) -> Mutation:
    def apply(obj: Obj) -> None:
        target: Any = obj
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
    return apply


def _remove_option(contest_id: str, option_id: str) -> Mutation:
    def apply(obj: Obj) -> None:
        contest = contest_json(obj, contest_id)
        del contest["options"][option_pos(contest, option_id)]
    return apply


def _append_entity(obj: Obj) -> None:
    obj["entities"].append({"code": "SON", "name": "Sonora", "ballot_style": "son"})


def _swap_chih_contests(obj: Obj) -> None:
    obj["ballot_styles"][0]["contests"] = ["sen-norte", "gob-chih", "rm-2027"]


def _two_styles_one_entity(obj: Obj) -> None:
    obj["ballot_styles"].append({"id": "chih2", "entity": "CHIH", "contests": ["rm-2027"]})


def _repeat_party(obj: Obj) -> None:
    obj["parties"].append({"id": "PAN", "name": "Otro PAN"})


def _party_in_two_coalitions(obj: Obj) -> None:
    contest_json(obj, "gob-chih")["coalitions"][1]["parties"] = ["PRD", "PT", "MORENA"]


def _duplicate_combination(obj: Obj) -> None:
    contest = contest_json(obj, "gob-chih")
    contest["options"][option_pos(contest, "PAN_PRD")]["parties"] = ["PRI", "PAN"]


def _referendum_with_write_in(obj: Obj) -> None:
    contest_json(obj, "rm-2027")["options"].insert(
        0, {"id": "CNR", "label": "No registrado", "kind": "write_in", "parties": [], "candidate": None})


def _unused_contest(obj: Obj) -> None:
    for style in obj["ballot_styles"]:
        style["contests"] = [c for c in style["contests"] if c != "sen-norte"]


MALFORMED: list[tuple[str, Mutation, str]] = [
    ("unknown top-level key", _set(["color"], "azul"), "color:"),
    ("unknown nested key", _set(["contests", 0, "options", 2, "emblema"], "x"),
     "contests[0].options[2].emblema:"),
    ("missing key", _delete(["tie_rule"]), "tie_rule:"),
    ("missing nested key", _delete(["contests", 1, "options", 0, "candidate"]),
     "contests[1].options[0].candidate:"),
    ("duplicate party id", _repeat_party, "parties[7].id:"),
    ("duplicate option id", _set(["contests", 0, "options", 1, "id"], "PAN"), "contests[0].options[1].id:"),
    ("duplicate contest id", _set(["contests", 1, "id"], "gob-chih"), "contests[1].id:"),
    ("unknown party in option", _set(["contests", 2, "options", 5, "parties"], ["PXX"]),
     'contests[2].options[5].parties: el partido "PXX" no está declarado'),
    ("combination with a non-coalition party", _set(["contests", 0, "options", 7, "parties"], ["PAN", "MC"]),
     "contests[0].options[7].parties:"),
    ("combination across two coalitions", _set(["contests", 0, "options", 7, "parties"], ["PAN", "PT"]),
     "contests[0].options[7].parties:"),
    ("missing coalition subset", _remove_option("gob-chih", "PAN_PRD"), "contests[0].coalitions[0]: "),
    ("duplicate combination", _duplicate_combination, "contests[0].options[8].parties:"),
    ("two null options", _set(["contests", 0, "options", 12, "kind"], "null"), "contests[0].options:"),
    ("no write-in", _remove_option("gob-coah", "CNR"), "contests[1].options:"),
    ("votes_allowed 2", _set(["contests", 0, "votes_allowed"], 2), "contests[0].votes_allowed:"),
    ("votes_allowed true", _set(["contests", 0, "votes_allowed"], True), "contests[0].votes_allowed:"),
    ("votes_allowed string", _set(["contests", 0, "votes_allowed"], "1"), "contests[0].votes_allowed:"),
    ("style contests out of order", _swap_chih_contests, "ballot_styles[0].contests[1]:"),
    ("style contest repeated", _set(["ballot_styles", 2, "contests"], ["dip-mig-jal", "dip-mig-jal"]),
     "ballot_styles[2].contests[1]:"),
    ("style with unknown contest", _set(["ballot_styles", 2, "contests", 0], "nada"),
     "ballot_styles[2].contests[0]:"),
    ("style without contests", _set(["ballot_styles", 2, "contests"], []), "ballot_styles[2].contests:"),
    ("entity without style", _append_entity, "entities[6].ballot_style:"),
    ("style of undeclared entity", _set(["ballot_styles", 0, "entity"], "SON"), "ballot_styles[0].entity:"),
    ("entity pointing at another style", _set(["entities", 0, "ballot_style"], "coah"),
     "ballot_styles[0].entity:"),
    ("two styles for one entity", _two_styles_one_entity, "ballot_styles[6].entity:"),
    ("duplicate entity code", _set(["entities", 1, "code"], "CHIH"), "entities[1].code:"),
    ("naive datetime", _set(["voting_opens"], "2027-05-23T02:00:00"), "voting_opens:"),
    ("offset datetime", _set(["voting_opens"], "2027-05-22T20:00:00-06:00"), "voting_opens:"),
    ("impossible date", _set(["voting_opens"], "2027-02-30T02:00:00Z"), "voting_opens:"),
    ("closes before opens", _set(["voting_closes"], "2027-05-22T02:00:00Z"), "voting_closes:"),
    ("closes when opens", _set(["voting_closes"], "2027-05-23T02:00:00Z"), "voting_closes:"),
    ("bad timezone", _set(["display_timezone"], "America/Ciudad_Gotica"), "display_timezone:"),
    ("timezone path", _set(["display_timezone"], "../../etc/passwd"), "display_timezone:"),
    ("bad counting policy", _set(["counting_policy"], "two-votes"), "counting_policy:"),
    ("bad tie rule", _set(["tie_rule"], "coin"), "tie_rule:"),
    ("bad election id", _set(["election_id"], "MX 2027"), "election_id:"),
    ("short election id", _set(["election_id"], "mx"), "election_id:"),
    ("empty name", _set(["name"], ""), "name:"),
    ("whitespace label", _set(["contests", 0, "options", 0, "label"], "   "),
     "contests[0].options[0].label:"),
    ("padded label", _set(["contests", 0, "options", 0, "label"], " PAN"), "contests[0].options[0].label:"),
    ("control char in label", _set(["contests", 0, "options", 0, "label"], "PAN\x07"),
     "contests[0].options[0].label:"),
    ("bidi override in title", _set(["contests", 0, "title"], "Gubernatura \u202e"), "contests[0].title:"),
    ("non-NFC label", _set(["parties", 0, "name"], "Partido Accio\u0301n Nacional"), "parties[0].name:"),
    ("lower-case option id", _set(["contests", 0, "options", 0, "id"], "pan"), "contests[0].options[0].id:"),
    ("unknown option kind", _set(["contests", 0, "options", 0, "kind"], "other"),
     "contests[0].options[0].kind:"),
    ("party option with two parties", _set(["contests", 0, "options", 5, "parties"], ["MC", "PVEM"]),
     "contests[0].options[5].parties:"),
    ("second option for one party", _set(["contests", 0, "options", 5, "parties"], ["PVEM"]),
     "contests[0].options[5].parties:"),
    ("independent without candidate", _set(["contests", 1, "options", 7, "candidate"], None),
     "contests[1].options[7].candidate:"),
    ("null option with parties", _set(["contests", 0, "options", 13, "parties"], ["PAN"]),
     "contests[0].options[13].parties:"),
    ("combination naming another candidate", _set(["contests", 0, "options", 7, "candidate"], "Otra Persona"),
     "contests[0].options[7].candidate:"),
    ("coalition with one party", _set(["contests", 0, "coalitions", 1, "parties"], ["PT"]),
     "contests[0].coalitions[1].parties:"),
    ("party in two coalitions", _party_in_two_coalitions, "contests[0].coalitions[1].parties:"),
    ("coalition party without own option", _remove_option("sen-norte", "PRI"),
     'contests[2].coalitions[0].parties: el partido "PRI" no tiene su propia opción'),
    ("coalition id clashing with an option", _set(["contests", 0, "coalitions", 1, "id"], "PT_MORENA"),
     "contests[0].coalitions[1].id:"),
    ("referendum with a write-in", _referendum_with_write_in, "contests[7].options[0].kind:"),
    ("referendum with one answer", _remove_option("rm-2027", "SIGA"), "contests[7].options:"),
    ("referendum with a coalition",
     _set(["contests", 7, "coalitions"],
          [{"id": "K", "name": "K", "parties": ["PAN", "PRI"], "candidate": "X"}]),
     "contests[7].coalitions[0]:"),
    ("contest in no style", _unused_contest, "contests[2]:"),
    ("no parties but party options", _set(["parties"], []), "contests[0].coalitions[0].parties:"),
    ("parties not a list", _set(["parties"], {"PAN": "PAN"}), "parties:"),
    ("contest not an object", _set(["contests", 0], "gob-chih"), "contests[0]:"),
    ("option parties not strings", _set(["contests", 0, "options", 0, "parties"], [1]),
     "contests[0].options[0].parties[0]:"),
]


@pytest.mark.parametrize(("mutate", "fragment"), [(m, f) for _, m, f in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_malformed_manifest_names_its_path(mutate: Mutation, fragment: str) -> None:
    obj = sample_json()
    mutate(obj)
    expect_error(obj, fragment)


def test_the_sample_itself_passes_the_malformed_table_baseline() -> None:
    Manifest.from_json(sample_json())


def test_error_messages_in_english() -> None:
    set_language("en")
    obj = sample_json()
    obj["contests"][2]["options"][5]["parties"] = ["PXX"]
    message = expect_error(obj)
    assert message == 'contests[2].options[5].parties: party "PXX" is not declared'
    obj = sample_json()
    _remove_option("gob-chih", "PAN_PRD")(obj)
    assert expect_error(obj) == "contests[0].coalitions[0]: missing the combination option for PAN+PRD"


def test_top_level_must_be_an_object() -> None:
    expect_error([1, 2], "manifest:")


def test_constructed_manifests_are_validated_too() -> None:
    m = sample_manifest()
    with pytest.raises(ManifestError, match="voting_opens"):
        dataclasses.replace(m, voting_opens=datetime(2027, 5, 23, 2, 0))  # naive
    with pytest.raises(ManifestError, match="voting_opens"):
        central = timezone(timedelta(hours=-6))
        dataclasses.replace(m, voting_opens=datetime(2027, 5, 22, 20, 0, tzinfo=central))
    with pytest.raises(ManifestError, match="voting_opens"):
        dataclasses.replace(m, voting_opens=datetime(2027, 5, 23, 2, 0, 0, 5, tzinfo=UTC))
    with pytest.raises(ManifestError, match="display_timezone"):
        dataclasses.replace(m, display_timezone="Mars/Olympus_Mons")
    bad_contest = dataclasses.replace(m.contests[0], votes_allowed=3)
    with pytest.raises(ManifestError, match=r"contests\[0\]\.votes_allowed"):
        dataclasses.replace(m, contests=(bad_contest, *m.contests[1:]))
    assert isinstance(m.contests[0], Contest)


# -- files ----------------------------------------------------------------------------------------


def test_invalid_json_file_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text('{\n  "election_id": "mx-2027",\n  "name": ,\n}\n', encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert "línea 3, columna 11" in str(info.value)
    assert str(path) in str(info.value)
    set_language("en")
    with pytest.raises(ManifestError, match="line 3, column 11"):
        load_manifest(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no-existe\.json"):
        load_manifest(tmp_path / "no-existe.json")
    with pytest.raises(ManifestError):
        load_manifest(tmp_path)  # a directory


def test_file_errors_name_the_file_and_path(tmp_path: Path) -> None:
    obj = sample_json()
    obj["contests"][0]["votes_allowed"] = 2
    path = tmp_path / "m.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value).startswith(f"{path}: contests[0].votes_allowed: ")


@pytest.mark.parametrize("data", [
    b'{"election_id": "a", "election_id": "b"}',
    b'{"votes": NaN}',
    b"\xff\xfe{}",
    b"[" * 100_000,
    b"",
])
def test_bad_bytes_are_manifest_errors(data: bytes) -> None:
    with pytest.raises(ManifestError):
        parse_manifest_bytes(data, "x.json")


# -- party emblems (sivei.ballot.emblems) ----------------------------------------------------------------------

def test_sample_emblems_are_the_files_the_manifest_names() -> None:
    from sivei.ballot.emblems import load_emblems, sample_emblem_folder
    from sivei.ballot.manifest import EMBLEM_MAX_BYTES

    m = sample_manifest()
    emblems = load_emblems(m, sample_emblem_folder())
    assert sorted(emblems) == sorted(f"{p.id}.svg" for p in m.parties)
    assert all(len(data) <= EMBLEM_MAX_BYTES for data in emblems.values())
    # The emblem is part of the canonical JSON, hence of the hash; without it the manifest hashes as before.
    plain = Manifest.from_json({**m.to_json(), "parties": [{"id": p.id, "name": p.name} for p in m.parties]})
    assert plain.hash != m.hash and "emblem" not in json.dumps(plain.to_json())
    assert Manifest.from_json(m.to_json()) == m


def test_emblems_that_are_not_the_named_file_or_not_inert_are_refused(tmp_path: Path) -> None:
    import hashlib

    from sivei.ballot.emblems import check_emblem, load_emblems
    from sivei.ballot.manifest import Emblem

    good = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'

    def named(data: bytes) -> Emblem:
        return Emblem("X.svg", hashlib.sha256(data).digest())

    check_emblem(named(good), good)
    with pytest.raises(ManifestError, match="SHA-256"):
        check_emblem(named(good), good.replace(b"10", b"11", 1))
    big = good.replace(b"</svg>", b"<desc>" + b"x" * 3100 + b"</desc></svg>")
    with pytest.raises(ManifestError, match="3072"):
        check_emblem(named(big), big)
    for bad, why in ((good.replace(b"<rect", b"<script>alert(1)</script><rect"), "script"),
                     (good.replace(b"<rect", b'<rect onclick="x()"'), "onclick"),
                     (good.replace(b"<rect", b'<rect fill="url(https://e.example/a)"'), "extern"),
                     (b'<!DOCTYPE svg [<!ENTITY a "b">]>' + good, "DTD"),
                     (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "<svg>"),
                     (b"<svg", "XML")):
        with pytest.raises(ManifestError, match=why):
            check_emblem(named(bad), bad)
    # The manifest's emblem names a flat .svg file with a lowercase SHA-256.
    base = sample_manifest().to_json()
    for emblem, where in (({"file": "../PAN.svg", "sha256": "0" * 64}, "emblem.file"),
                          ({"file": "PAN.png", "sha256": "0" * 64}, "emblem.file"),
                          ({"file": "PAN.svg", "sha256": "A" * 64}, "emblem.sha256"),
                          ({"file": "PAN.svg"}, "emblem.sha256")):
        obj = json.loads(json.dumps(base))
        obj["parties"][0]["emblem"] = emblem
        with pytest.raises(ManifestError, match=re.escape(f"parties[0].{where}")):
            Manifest.from_json(obj)
    obj = json.loads(json.dumps(base))
    obj["parties"][1]["emblem"] = obj["parties"][0]["emblem"]
    with pytest.raises(ManifestError, match=r"duplicado|duplicate"):
        Manifest.from_json(obj)
    # A missing file is named.
    with pytest.raises(ManifestError, match=r"PAN\.svg"):
        load_emblems(sample_manifest(), tmp_path)
