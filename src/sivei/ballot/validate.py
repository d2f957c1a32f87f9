"""Validation of a received ballot, returning the precise reason for every rejection.

The server calls ``validate_ballot`` before storing a cast ballot; the verifier calls
``ballot_problems`` on every ballot of the board and reports each problem with its location.
Checks here concern one ballot; unique α and one ballot per credential are board-level checks.
"""

from __future__ import annotations

from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import (
    EncryptedBallot,
    contest_statement,
    selection_statement,
    signature_message,
)
from sivei.crypto import ed25519
from sivei.crypto.proofs import verify_chaum_pedersen, verify_zero_one
from sivei.errors import BallotError, ManifestError
from sivei.i18n import tr
from sivei.problems import Problem


def ballot_problems(ctx: ElectionContext, ballot: EncryptedBallot, listed_style: str | None,
                    location: str, *, require_signature: bool = True) -> list[Problem]:
    """Every problem of one (already parsed) ballot. ``listed_style`` is the ballot style the
    credential list gives its credential, or None when the credential is not listed."""
    problems: list[Problem] = []

    def report(check: str, where: str, es: str, en: str) -> None:
        problems.append(Problem(check, where, tr(es, en)))

    if listed_style is None:
        report("ballot.credential.unlisted", location,
               "la credencial pública no está en la lista firmada de credenciales",
               "the public credential is not in the signed credential list")
    elif ballot.style != listed_style:
        report("ballot.style.mismatch", location,
               f"la boleta es del tipo {ballot.style} pero su credencial es del tipo {listed_style}",
               f"the ballot is of style {ballot.style} but its credential is of style {listed_style}")
    try:
        style_contests = ctx.manifest.style_contests(ballot.style)
    except ManifestError:
        report("ballot.style.unknown", location,
               f"el tipo de boleta {ballot.style!r} no existe en el manifiesto",
               f"ballot style {ballot.style!r} does not exist in the manifest")
        return problems

    ballot_hash = ballot.ballot_hash(ctx)
    if require_signature:
        if not ballot.signature:
            report("ballot.signature", location, "la boleta no está firmada con su credencial",
                   "the ballot is not signed with its credential")
        elif not ed25519.verify(ballot.credential, signature_message(ctx, ballot_hash), ballot.signature):
            report("ballot.signature", location,
                   "la firma de la credencial no es válida", "the credential's signature is invalid")

    expected = [(i, c) for i, c in style_contests]
    if [c.index for c in ballot.contests] != [i for i, _ in expected]:
        report("ballot.shape", location,
               "las contiendas de la boleta no son exactamente las de su tipo, en orden",
               "the ballot's contests are not exactly those of its style, in order")
        return problems
    group, key, h_e = ctx.group, ctx.key, ctx.election_hash
    for enc_contest, (index, contest) in zip(ballot.contests, expected, strict=True):
        where = f"{location}, contienda {contest.id}"
        if len(enc_contest.selections) != len(contest.options):
            report("ballot.shape", where,
                   f"se esperaban {len(contest.options)} opciones, hay {len(enc_contest.selections)}",
                   f"expected {len(contest.options)} options, got {len(enc_contest.selections)}")
            continue
        total_alpha, total_beta = 1, 1
        for oi, sel in enumerate(enc_contest.selections):
            ct = sel.ciphertext
            if not verify_zero_one(key, ct, sel.proof, context=h_e,
                                   statement=selection_statement(ballot.credential, index, oi)):
                report("ballot.proof.zero-one", f"{where}, opción {contest.options[oi].id}",
                       "la prueba de que la opción cifra 0 o 1 no es válida",
                       "the proof that the option encrypts 0 or 1 is invalid")
            total_alpha = group.mul(total_alpha, ct.alpha)
            total_beta = group.mul(total_beta, ct.beta)
        votes = contest.votes_allowed
        if not verify_chaum_pedersen(
            group, enc_contest.sum_proof, key.element, total_alpha,
            group.div(total_beta, group.g_pow(votes)), context=h_e,
            statement=contest_statement(ballot.credential, index, votes), pow_h=key.k_table.pow,
        ):
            report("ballot.proof.sum", where,
                   f"la prueba de que las opciones suman {votes} no es válida",
                   f"the proof that the options sum to {votes} is invalid")
    return problems


def validate_ballot(ctx: ElectionContext, ballot: EncryptedBallot, listed_style: str | None) -> None:
    """Raise ``BallotError`` with the first precise reason when the ballot cannot be cast."""
    problems = ballot_problems(ctx, ballot, listed_style, tr("boleta", "ballot"))
    if problems:
        first = problems[0]
        raise BallotError(f"{first.message} ({first.location})")
