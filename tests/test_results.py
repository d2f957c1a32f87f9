"""Results as the actas show them: candidate totals, the art. 311 split, strict JSON, comparison, tables."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.ballot.manifest import Manifest, sample_manifest
from sivei.crypto.encoding import canonical_json
from sivei.i18n import set_language
from sivei.tally.results import (
    ContestResult,
    ElectionResults,
    ResultsError,
    compute_results,
    contest_totals,
    first_difference,
    format_results,
)

Counts = dict[tuple[str, str], list[int]]


@pytest.fixture(autouse=True)
def _spanish_after_each_test() -> Iterator[None]:
    yield
    set_language("es")


def zero_counts(m: Manifest) -> Counts:
    return {(e.code, c.id): [0] * len(c.options)
            for e in m.entities for _, c in m.style_contests(e.ballot_style)}


def set_votes(m: Manifest, counts: Counts, entity: str, contest_id: str, votes: Mapping[str, int]) -> None:
    contest = m.contest(contest_id)
    for option_id, n in votes.items():
        counts[(entity, contest_id)][contest.option_index(option_id)] = n


def result_for(m: Manifest, entity: str, contest_id: str, votes: Mapping[str, int]) -> ContestResult:
    counts = zero_counts(m)
    set_votes(m, counts, entity, contest_id, votes)
    return compute_results(m, counts).result(entity, contest_id)


def random_counts(m: Manifest, seed: int) -> Counts:
    rng = random.Random(seed)
    return {k: [rng.randrange(0, 500) for _ in v] for k, v in zero_counts(m).items()}


# -- the art. 311 split ---------------------------------------------------------------------------


def test_split_ten_votes_over_three_parties_remainder_to_most_voted() -> None:
    m = sample_manifest()
    r = result_for(m, "CHIH", "gob-chih", {"PAN": 5, "PRI": 7, "PRD": 2, "PAN_PRI_PRD": 10})
    dist = dict(r.party_distribution)
    # 10 = 3 + 3 + 3, remainder 1 to PRI (7 own votes, the most).
    assert (dist["PAN"], dist["PRI"], dist["PRD"]) == (5 + 3, 7 + 3 + 1, 2 + 3)


def test_split_tie_broken_by_party_order() -> None:
    m = sample_manifest()
    # 11 = 3 + 3 + 3, remainder 2: PRD (9, the most), then PAN over PRI (4 each; PAN registered first).
    r = result_for(m, "CHIH", "gob-chih", {"PAN": 4, "PRI": 4, "PRD": 9, "PAN_PRI_PRD": 11})
    dist = dict(r.party_distribution)
    assert (dist["PAN"], dist["PRI"], dist["PRD"]) == (4 + 3 + 1, 4 + 3, 9 + 3 + 1)
    # No own votes at all: 5 = 2 + 2, the odd vote to PAN.
    r = result_for(m, "CHIH", "gob-chih", {"PAN_PRI": 5})
    assert dict(r.party_distribution)["PAN"] == 3 and dict(r.party_distribution)["PRI"] == 2


def test_split_tie_follows_registration_order_not_ballot_order() -> None:
    obj = copy.deepcopy(sample_manifest().to_json())
    parties = obj["parties"]
    morena = next(p for p in parties if p["id"] == "MORENA")
    parties.remove(morena)
    parties.insert(0, morena)  # MORENA now registered first; the ballot still lists it last
    m = Manifest.from_json(obj)
    r = result_for(m, "CHIH", "sen-norte", {"PVEM": 6, "MORENA": 6, "PVEM_MORENA": 3})
    dist = dict(r.party_distribution)
    assert (dist["PVEM"], dist["MORENA"]) == (6 + 1, 6 + 2)
    r = result_for(sample_manifest(), "CHIH", "sen-norte", {"PVEM": 6, "MORENA": 6, "PVEM_MORENA": 3})
    dist = dict(r.party_distribution)
    assert (dist["PVEM"], dist["MORENA"]) == (6 + 2, 6 + 1)


def test_split_ranks_by_own_votes_not_by_running_totals() -> None:
    m = sample_manifest()
    # PAN_PRI gives PAN 5 more, but PAN_PRD's odd vote still goes to PRD: 6 own votes against PAN's 5.
    r = result_for(m, "CHIH", "gob-chih", {"PAN": 5, "PRD": 6, "PAN_PRI": 10, "PAN_PRD": 1})
    dist = dict(r.party_distribution)
    assert (dist["PAN"], dist["PRI"], dist["PRD"]) == (5 + 5, 5, 6 + 1)


def test_several_combinations_add_up() -> None:
    m = sample_manifest()
    votes = {"PAN": 10, "PRI": 3, "PRD": 3, "PAN_PRI": 7, "PRI_PRD": 5, "PAN_PRD": 2, "PAN_PRI_PRD": 4,
             "PT": 8, "MORENA": 9, "PT_MORENA": 3, "MC": 4, "PVEM": 1}
    r = result_for(m, "CHIH", "gob-chih", votes)
    # PAN_PRI 7: 3/3 +1 PAN. PRI_PRD 5: 2/2 +1 PRI (3-3 tie, PRI registered first). PAN_PRD 2: 1/1.
    # PAN_PRI_PRD 4: 1/1/1 +1 PAN. PT_MORENA 3: 1/1 +1 MORENA (9 > 8).
    assert r.party_distribution == (
        ("PAN", 10 + 4 + 1 + 2),
        ("PRI", 3 + 3 + 3 + 1),
        ("PRD", 3 + 2 + 1 + 1),
        ("PT", 8 + 1),
        ("PVEM", 1),
        ("MC", 4),
        ("MORENA", 9 + 2),
    )


# -- candidate totals -------------------------------------------------------------------------------


def test_candidate_totals_coalitions_sum_parties_and_combinations() -> None:
    m = sample_manifest()
    votes = {"PAN": 10, "PRI": 3, "PRD": 3, "PAN_PRI": 7, "PRI_PRD": 5, "PAN_PRD": 2, "PAN_PRI_PRD": 4,
             "PT": 8, "MORENA": 9, "PT_MORENA": 3, "MC": 4, "PVEM": 1, "CNR": 2, "NULO": 6}
    r = result_for(m, "CHIH", "gob-chih", votes)
    assert r.candidate_totals == (("PAN-PRI-PRD", 34), ("PT-MORENA", 20), ("PVEM", 1), ("MC", 4))
    assert r.total == sum(votes.values()) == 67
    assert r.option_counts[m.contest("gob-chih").write_in_option_index or 0] == 2
    assert r.option_counts[m.contest("gob-chih").null_option_index] == 6


def test_candidate_totals_with_independent_and_candidatura_comun() -> None:
    m = sample_manifest()
    r = result_for(m, "COAH", "gob-coah", {"PAN": 1, "PRI": 2, "PAN_PRI_PRD": 3, "IND_1": 7, "MORENA": 5})
    assert r.candidate_totals == (("PAN-PRI-PRD", 6), ("PT", 0), ("PVEM", 0), ("MC", 0), ("MORENA", 5),
                                  ("IND_1", 7))
    r = result_for(m, "COAH", "sen-norte", {"PAN": 4, "PRI": 1, "PAN_PRI": 2, "PRD": 3})
    assert dict(r.candidate_totals)["CC-PAN-PRI"] == 7
    assert dict(r.party_distribution) == {"PAN": 5, "PRI": 2, "PRD": 3, "PT": 0, "PVEM": 0, "MC": 0,
                                          "MORENA": 0}


def test_referendum_has_no_candidates_nor_distribution() -> None:
    m = sample_manifest()
    r = result_for(m, "JAL", "rm-2027", {"REVOCA": 3, "SIGA": 5, "NULO": 1})
    assert r.option_counts == (3, 5, 1) and r.total == 9
    assert r.candidate_totals == () and r.party_distribution == ()


@given(st.data())
def test_invariants_on_random_counts(data: st.DataObject) -> None:
    m = sample_manifest()
    counts = {k: data.draw(st.lists(st.integers(0, 10_000), min_size=len(v), max_size=len(v)))
              for k, v in zero_counts(m).items()}
    results = compute_results(m, counts)
    for r in results.contests:
        contest = m.contest(r.contest_id)
        assert r.option_counts == tuple(counts[(r.entity, r.contest_id)])
        assert r.total == sum(r.option_counts)
        if contest.kind == "referendum":
            continue
        not_candidates = r.option_counts[contest.null_option_index]
        not_candidates += r.option_counts[contest.write_in_option_index or 0]
        assert sum(v for _, v in r.candidate_totals) == r.total - not_candidates
        party_and_combination = sum(n for o, n in zip(contest.options, r.option_counts, strict=True)
                                    if o.kind in ("party", "combination"))
        assert sum(v for _, v in r.party_distribution) == party_and_combination
        own = {o.parties[0]: n for o, n in zip(contest.options, r.option_counts, strict=True)
               if o.kind == "party"}
        for option, n in zip(contest.options, r.option_counts, strict=True):
            if option.kind == "combination":
                k = len(option.parties)
                # Each party of the combination gets floor(n/k) or one more, never less.
                assert all(dict(r.party_distribution)[p] >= own[p] + n // k for p in option.parties)
        assert [p for p, _ in r.party_distribution] == list(contest.party_ids)
    for version in (1, 2):
        assert ElectionResults.from_json(m, json.loads(json.dumps(results.to_json(m, version))), version) == results


# -- compute_results input checks ------------------------------------------------------------------


def test_results_in_manifest_order() -> None:
    m = sample_manifest()
    results = compute_results(m, zero_counts(m))
    expected = [(e.code, c.id) for e in m.entities for _, c in m.style_contests(e.ballot_style)]
    assert [(r.entity, r.contest_id) for r in results.contests] == expected
    assert results.election_id == m.election_id and results.manifest_hash == m.hash


def test_missing_count_is_an_error() -> None:
    m = sample_manifest()
    counts = zero_counts(m)
    del counts[("COAH", "sen-norte")]
    with pytest.raises(ResultsError, match="COAH/sen-norte"):
        compute_results(m, counts)


@pytest.mark.parametrize(("key", "row", "fragment"), [
    (("CHIH", "gob-chih"), [0] * 13, "CHIH/gob-chih"),
    (("CHIH", "gob-chih"), [0] * 15, "CHIH/gob-chih"),
    (("CHIH", "rm-2027"), [0, -1, 0], "CHIH/rm-2027/SIGA"),
    (("CHIH", "rm-2027"), [0, True, 0], "CHIH/rm-2027/SIGA"),
    (("CHIH", "rm-2027"), [0, 1.0, 0], "CHIH/rm-2027/SIGA"),
    (("CHIH", "rm-2027"), [0, 2**53, 0], "CHIH/rm-2027/SIGA"),
    (("CHIH", "rm-2027"), "000", "CHIH/rm-2027"),
    (("JAL", "gob-chih"), [0] * 14, "JAL/gob-chih"),
    (("SON", "rm-2027"), [0, 0, 0], "SON/rm-2027"),
])
def test_bad_counts_are_errors(key: tuple[str, str], row: Any, fragment: str) -> None:
    m = sample_manifest()
    counts: dict[tuple[str, str], Any] = dict(zero_counts(m))
    counts[key] = row
    with pytest.raises(ResultsError, match=fragment):
        compute_results(m, counts)


def test_counts_may_be_any_sequence() -> None:
    m = sample_manifest()
    tuples = {k: tuple(v) for k, v in random_counts(m, 3).items()}
    assert compute_results(m, tuples) == compute_results(m, random_counts(m, 3))


# -- JSON -------------------------------------------------------------------------------------------


def test_results_json_round_trip_and_canonical() -> None:
    m = sample_manifest()
    results = compute_results(m, random_counts(m, 7))
    obj = results.to_json(m)
    canonical_json(obj)  # only JSON types, no floats
    again = ElectionResults.from_json(m, json.loads(json.dumps(obj)))
    assert again == results
    assert again.to_json(m) == obj
    first = obj["contests"][0]
    assert set(first) == {"entity", "contest_id", "options", "total", "candidate_totals",
                          "party_distribution"}
    contest = m.contest(first["contest_id"])
    assert first["options"] == [{"id": o.id, "votes": v} for o, v in zip(contest.options, results.contests[0]
                                                                            .option_counts, strict=True)]
    # Format 1 (still read): the same counts by position.
    assert results.to_json(m, 1)["contests"][0]["option_counts"] == list(results.contests[0].option_counts)
    coalition_votes = results.contests[0].candidate_totals[0][1]
    assert first["candidate_totals"][0] == {"id": "PAN-PRI-PRD", "votes": coalition_votes}


def _mutate(obj: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target: Any = obj
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


_DELETE = object()


@pytest.mark.parametrize(("path", "value", "fragment"), [
    (["extra"], 1, "results.extra"),
    (["contests", 0, "color"], 1, "results.contests[0].color"),
    (["contests", 0, "total"], _DELETE, "results.contests[0].total"),
    (["election_id"], "otra-eleccion", "results.election_id"),
    (["manifest_hash"], "00" * 32, "results.manifest_hash"),
    (["manifest_hash"], "AB" * 32, "results.manifest_hash"),
    (["contests", 0, "contest_id"], "gob-coah", "results.contests[0]"),
    (["contests", 1, "contest_id"], "gob-chih", "results.contests[1]"),
    (["contests", 0, "options"], [{"id": "PAN", "votes": 0}], "results.contests[0].options"),
    (["contests", 0, "options", 3, "votes"], -1, "results.contests[0].options[3].votes"),
    (["contests", 0, "options", 3, "votes"], True, "results.contests[0].options[3].votes"),
    (["contests", 0, "options", 3, "id"], "XYZ", "results.contests[0].options"),
    (["contests", 0, "options", 3, "name"], "x", "results.contests[0].options[3].name"),
    (["contests", 0, "total"], "10", "results.contests[0].total"),
    (["contests", 0, "candidate_totals", 0, "votes"], 1.5, "results.contests[0].candidate_totals[0].votes"),
    (["contests", 0, "party_distribution", 0], ["PAN", 1], "results.contests[0].party_distribution[0]"),
    (["contests"], {}, "results.contests"),
])
def test_results_from_json_is_strict(path: list[Any], value: Any, fragment: str) -> None:
    m = sample_manifest()
    obj = _mutate(compute_results(m, random_counts(m, 1)).to_json(m), path, value)
    with pytest.raises(ResultsError) as info:
        ElectionResults.from_json(m, obj, 2)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("path", "value", "fragment"), [
    (["contests", 0, "option_counts"], [0, 0], "results.contests[0].option_counts"),
    (["contests", 0, "option_counts", 3], -1, "results.contests[0].option_counts[3]"),
    (["contests", 0, "option_counts", 3], True, "results.contests[0].option_counts[3]"),
])
def test_version_1_results_from_json_is_strict(path: list[Any], value: Any, fragment: str) -> None:
    m = sample_manifest()
    obj = _mutate(compute_results(m, random_counts(m, 1)).to_json(m, 1), path, value)
    with pytest.raises(ResultsError) as info:
        ElectionResults.from_json(m, obj, 1)
    assert fragment in str(info.value)


# -- comparison -------------------------------------------------------------------------------------


def _tampered(results: ElectionResults, index: int, **changes: Any) -> ElectionResults:
    contests = list(results.contests)
    contests[index] = dataclasses.replace(contests[index], **changes)
    return dataclasses.replace(results, contests=tuple(contests))


def test_first_difference_names_entity_contest_and_option() -> None:
    m = sample_manifest()
    mine = compute_results(m, random_counts(m, 5))
    assert first_difference(m, mine, mine) is None
    r0 = mine.contests[0]
    assert (r0.entity, r0.contest_id) == ("CHIH", "gob-chih")

    counts = list(r0.option_counts)
    counts[1] += 1
    message = first_difference(m, mine, _tampered(mine, 0, option_counts=tuple(counts)))
    assert message is not None and message.startswith("CHIH/gob-chih/PRI:")

    message = first_difference(m, mine, _tampered(mine, 0, total=r0.total + 1))
    assert message is not None and message.startswith("CHIH/gob-chih/total:")

    cands = list(r0.candidate_totals)
    cands[1] = (cands[1][0], cands[1][1] - 1)
    message = first_difference(m, mine, _tampered(mine, 0, candidate_totals=tuple(cands)))
    assert message is not None and message.startswith("CHIH/gob-chih/PT-MORENA:")

    dist = list(r0.party_distribution)
    dist[0], dist[1] = (dist[0][0], dist[0][1] + 1), (dist[1][0], dist[1][1] - 1)
    message = first_difference(m, mine, _tampered(mine, 0, party_distribution=tuple(dist)))
    assert message is not None and message.startswith("CHIH/gob-chih/PAN:")

    message = first_difference(m, mine, _tampered(mine, 0, party_distribution=r0.party_distribution[:-1]))
    assert message is not None and "MORENA" in message

    swapped = dataclasses.replace(mine, contests=(mine.contests[1], mine.contests[0], *mine.contests[2:]))
    message = first_difference(m, mine, swapped)
    assert message is not None and message.startswith("contests[0]:")
    message = first_difference(m, mine, dataclasses.replace(mine, contests=mine.contests[:-1]))
    assert message is not None

    set_language("en")
    message = first_difference(m, mine, _tampered(mine, 0, option_counts=tuple(counts)))
    assert message == f"CHIH/gob-chih/PRI: published {counts[1]}, recomputed {counts[1] - 1}"


# -- totals across entities and tables --------------------------------------------------------------


def test_contest_totals_sum_over_entities() -> None:
    m = sample_manifest()
    counts = zero_counts(m)
    for i, entity in enumerate(m.entities):
        set_votes(m, counts, entity.code, "rm-2027", {"REVOCA": i, "SIGA": 10, "NULO": 1})
    set_votes(m, counts, "CHIH", "sen-norte", {"PAN": 2, "PAN_PRI": 1})
    set_votes(m, counts, "COAH", "sen-norte", {"PRI": 3, "MC": 4})
    totals = {t.contest_id: t for t in contest_totals(m, compute_results(m, counts))}
    assert [t for t in totals] == [c.id for c in m.contests]
    rm = totals["rm-2027"]
    assert rm.entities == ("CHIH", "COAH", "JAL", "CDMX", "GTO", "OAX")
    assert rm.option_counts == (0 + 1 + 2 + 3 + 4 + 5, 60, 6) and rm.total == 81
    sen = totals["sen-norte"]
    assert sen.entities == ("CHIH", "COAH")
    assert dict(sen.candidate_totals)["CC-PAN-PRI"] == 6 and dict(sen.candidate_totals)["MC"] == 4


def test_format_results_spanish_and_english() -> None:
    m = sample_manifest()
    results = compute_results(m, random_counts(m, 11))
    text = format_results(m, results)
    for word in ("Entidad", "Votos", "Total", "Candidato no registrado", "Votos nulos",
                 "Distribución de votos de coalición (informativa)", "Chihuahua (CHIH)",
                 "Totales por elección", "Entidades: CHIH, COAH, JAL, CDMX, GTO, OAX"):
        assert word in text
    r = results.result("OAX", "dip-mig-oax")
    assert f"{r.total:,}" in text
    english = format_results(m, results, "en")
    for word in ("Entity", "Votes", "Total", "Non-registered candidate", "Null votes",
                 "Coalition vote distribution (informative)", "Entities: CHIH, COAH"):
        assert word in english
    assert "Votos nulos" not in english
    set_language("en")
    assert format_results(m, results) == english
    assert format_results(m, results, "es") == text
