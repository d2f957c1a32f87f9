"""Ballot encryption (booth), parsing and validation (server / verifier), both ballot shapes,
production group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from benchmarks import workloads as w
from sivei.ballot.encrypt import EncryptedBallot

Run = Callable[..., Any]


def _sizes(benchmark: Any, election: w.Election, ballot: EncryptedBallot) -> None:
    info = benchmark.extra_info
    info["shape"] = election.shape.name
    info["options"] = election.shape.options
    info["contests"] = len(ballot.contests)
    info["ballot_json_bytes"] = len(w.ballot_json_bytes(election, ballot))
    info["ballot_binary_bytes"] = len(ballot.encode(election.group)) + len(ballot.signature)


@pytest.mark.benchmark(group="ballot: encrypt + sign (tables built)")
def test_encrypt_and_sign(benchmark: Any, run: Run, election: w.Election) -> None:
    ballot = run(w.encrypt_and_sign, election, w.voter(0), election.shape.choices, w.ballot_nonce(0),
                 rounds=20, per=(election.shape.options, "option"))
    _sizes(benchmark, election, ballot)
    assert ballot.signature
    assert w.validate(election, ballot) == []


@pytest.mark.benchmark(group="ballot: parse JSON (α, β in one batched membership test)")
def test_parse_ballot(benchmark: Any, run: Run, election: w.Election, cast_ballot: EncryptedBallot) -> None:
    data = w.ballot_json_bytes(election, cast_ballot)
    parsed = run(w.parse_ballot, election, data, rounds=10, per=(election.shape.options, "option"))
    _sizes(benchmark, election, cast_ballot)
    assert parsed == cast_ballot


@pytest.mark.benchmark(group="ballot: one x^q test per α and β (parsing before batching)")
def test_membership_checks(benchmark: Any, run: Run, election: w.Election,
                           cast_ballot: EncryptedBallot) -> None:
    elements = 2 * election.shape.options
    assert run(w.membership_checks, election, cast_ballot, rounds=10, per=(elements, "element"))
    benchmark.extra_info["shape"] = election.shape.name


@pytest.mark.benchmark(group="ballot: validate (signature + proofs in one batch, parsed ballot)")
def test_validate(benchmark: Any, run: Run, election: w.Election, cast_ballot: EncryptedBallot) -> None:
    problems = run(w.validate, election, cast_ballot, rounds=5, per=(election.shape.options, "option"))
    _sizes(benchmark, election, cast_ballot)
    assert problems == []


@pytest.mark.benchmark(group="ballot: credential token check (server, per cast)")
def test_credential_token_check(benchmark: Any, run: Run) -> None:
    """The server's check that the ballot's credential is the logged-in voter's (protocol 11.6): one
    P-256 ECDSA verification over a tagged hash, independent of the group and the ballot's size."""
    from sivei.ballot.credential_tokens import sign_token, verify_token
    from sivei.ballot.credentials import credential_public_key, generate_credential
    from sivei.crypto.ecdsa import SoftwareSigner

    authority = SoftwareSigner()
    public = credential_public_key("bench-2027", generate_credential())
    token = sign_token(authority, "bench-2027", "V00000001", public)
    assert run(verify_token, authority.public_key, "bench-2027", "V00000001", public, token, rounds=200)
