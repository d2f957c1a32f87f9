"""Validation of received ballots, returning the precise reason for every rejection.

The server calls ``validate_ballot`` before storing a cast ballot; the verifier calls
``check_ballots`` on each chunk of the board and reports each problem with its location. Checks here
concern ballots one by one; unique α and one ballot per credential are board-level checks.

Proofs are checked in batches (protocol §8.5): the challenges and their sums per proof, then every
equation of every ballot given together in one random-weight test, and the α and β of ballots read
without the membership test (``UncheckedBallot``) in one batched membership test. A failing batch is
bisected, so every problem keeps its check identifier, message and location.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gmpy2 import mpz

from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import (
    EncryptedBallot,
    UncheckedBallot,
    contest_statement,
    selection_statement,
    signature_message,
)
from sivei.crypto import ed25519
from sivei.crypto.batch import DEFAULT_BITS, BatchVerifier
from sivei.crypto.proofs import batch_chaum_pedersen, batch_zero_one
from sivei.errors import BallotError, GroupMembershipError, ManifestError
from sivei.i18n import tr
from sivei.problems import Problem

SUM = -1
"""Option position of a contest's sum proof in a label."""

_Label = tuple[int, int, int]
"""(ballot position in the batch, contest position in the ballot, option index or SUM)."""
_ElementLabel = tuple[int, int, int, str]
"""(ballot position, contest position, option index, "alpha" | "beta")."""


@dataclass(frozen=True)
class BallotCheck:
    """One ballot to check: ``listed_style`` is the style the credential list gives its credential,
    or None when the credential is not listed."""

    ballot: EncryptedBallot | UncheckedBallot
    listed_style: str | None
    location: str
    require_signature: bool = True
    ballot_hash: bytes | None = None
    """The ballot hash if the caller already computed it (the board's payload hash)."""


@dataclass(frozen=True)
class BallotVerdict:
    """The problems of one ballot, in the order the checks are listed in protocol §12.7.

    ``ballot`` is the ballot with its membership established, or None when one of its α or β is not in
    the subgroup: then ``not_member`` is the message naming that element (what a parse with the
    one-element test would have raised) and no other check is reported."""

    ballot: EncryptedBallot | None
    problems: tuple[Problem, ...]
    not_member: str | None = None


def check_ballots(ctx: ElectionContext, items: Sequence[BallotCheck], *,
                  bits: int = DEFAULT_BITS) -> list[BallotVerdict]:
    """Check many ballots in one batch of security ``bits`` (λ, protocol §8.5)."""
    group, key = ctx.group, ctx.key
    batch: BatchVerifier[_Label | _ElementLabel] = BatchVerifier(group, bits=bits)
    g = batch.known(group.g, key.g_table)
    k = batch.known(key.element, key.k_table)
    slots = [_add_ballot(ctx, batch, n, item, g, k) for n, item in enumerate(items)]
    outcome = batch.run()
    bad_elements: dict[int, _ElementLabel] = {}
    for label in outcome.bad_elements:
        assert len(label) == 4
        bad_elements.setdefault(label[0], label)
    failed = set(outcome.bad_equations)
    verdicts = []
    for n, (item, ballot_slots) in enumerate(zip(items, slots, strict=True)):
        if n in bad_elements:
            _, ci, oi, component = bad_elements[n]
            assert isinstance(item.ballot, UncheckedBallot)
            message = group.not_member_message(item.ballot.element_path(ci, oi, component))
            verdicts.append(BallotVerdict(None, (), message))
            continue
        ballot = item.ballot.unchecked if isinstance(item.ballot, UncheckedBallot) else item.ballot
        problems = tuple(p for label, p in ballot_slots if label is None or label in failed)
        verdicts.append(BallotVerdict(ballot, problems))
    return verdicts


def _add_ballot(ctx: ElectionContext, batch: BatchVerifier[_Label | _ElementLabel], n: int, item: BallotCheck,
                g: int, k: int) -> list[tuple[_Label | _ElementLabel | None, Problem]]:
    """Add one ballot's elements and proof equations to ``batch``; return its problem slots: problems
    already found (label None) and the problem each label stands for if its proof fails."""
    unchecked = isinstance(item.ballot, UncheckedBallot)
    ballot = item.ballot.unchecked if isinstance(item.ballot, UncheckedBallot) else item.ballot
    location = item.location
    slots: list[tuple[_Label | _ElementLabel | None, Problem]] = []

    def report(check: str, where: str, es: str, en: str, label: _Label | _ElementLabel | None = None) -> None:
        slots.append((label, Problem(check, where, tr(es, en))))

    listed_style = item.listed_style
    if listed_style is None:
        report("ballot.credential.unlisted", location,
               "la credencial pública no está en la lista firmada de credenciales",
               "the public credential is not in the signed credential list")
    elif ballot.style != listed_style:
        report("ballot.style.mismatch", location,
               f"la boleta es del tipo {ballot.style} pero su credencial es del tipo {listed_style}",
               f"the ballot is of style {ballot.style} but its credential is of style {listed_style}")
    # α and β take part in the membership test even when later checks stop early.
    alphas: list[list[int]] = []
    betas: list[list[int]] = []
    for ci, encrypted in enumerate(ballot.contests):
        alphas.append([])
        betas.append([])
        for oi, s in enumerate(encrypted.selections):  # document order: α then β of each option
            if unchecked:
                alphas[ci].append(batch.element(s.ciphertext.alpha, (n, ci, oi, "alpha")))
                betas[ci].append(batch.element(s.ciphertext.beta, (n, ci, oi, "beta")))
            else:  # an EncryptedBallot's elements are members (its invariant)
                alphas[ci].append(batch.known(s.ciphertext.alpha))
                betas[ci].append(batch.known(s.ciphertext.beta))
    try:
        style_contests = ctx.manifest.style_contests(ballot.style)
    except ManifestError:
        report("ballot.style.unknown", location,
               f"el tipo de boleta {ballot.style!r} no existe en el manifiesto",
               f"ballot style {ballot.style!r} does not exist in the manifest")
        return slots

    if item.require_signature:
        if not ballot.signature:
            report("ballot.signature", location, "la boleta no está firmada con su credencial",
                   "the ballot is not signed with its credential")
        elif not ed25519.verify(ballot.credential,
                                signature_message(ctx, item.ballot_hash or ballot.ballot_hash(ctx)),
                                ballot.signature):
            report("ballot.signature", location,
                   "la firma de la credencial no es válida", "the credential's signature is invalid")

    if [c.index for c in ballot.contests] != [i for i, _ in style_contests]:
        report("ballot.shape", location,
               "las contiendas de la boleta no son exactamente las de su tipo, en orden",
               "the ballot's contests are not exactly those of its style, in order")
        return slots
    group, key, h_e = ctx.group, ctx.key, ctx.election_hash
    p = mpz(group.p)
    for ci, (enc_contest, (index, contest)) in enumerate(zip(ballot.contests, style_contests, strict=True)):
        where = f"{location}, contienda {contest.id}"
        if len(enc_contest.selections) != len(contest.options):
            report("ballot.shape", where,
                   f"se esperaban {len(contest.options)} opciones, hay {len(enc_contest.selections)}",
                   f"expected {len(contest.options)} options, got {len(enc_contest.selections)}")
            continue
        total_alpha, total_beta = mpz(1), mpz(1)
        for oi, sel in enumerate(enc_contest.selections):
            ct = sel.ciphertext
            proof_label: _Label | _ElementLabel = (n, ci, oi)
            # When the challenges do not add up the proof fails whatever the batch says (label None).
            label = proof_label if batch_zero_one(
                batch, proof_label, key, ct, sel.proof, context=h_e,
                statement=selection_statement(ballot.credential, index, oi),
                g=g, k=k, alpha=alphas[ci][oi], beta=betas[ci][oi]) else None
            report("ballot.proof.zero-one", f"{where}, opción {contest.options[oi].id}",
                   "la prueba de que la opción cifra 0 o 1 no es válida",
                   "the proof that the option encrypts 0 or 1 is invalid", label=label)
            total_alpha = total_alpha * ct.alpha % p
            total_beta = total_beta * ct.beta % p
        votes = contest.votes_allowed
        sum_label: _Label | _ElementLabel = (n, ci, SUM)
        batch_chaum_pedersen(
            batch, sum_label, enc_contest.sum_proof, key.element, int(total_alpha),
            group.div(int(total_beta), group.g_pow(votes)), context=h_e,
            statement=contest_statement(ballot.credential, index, votes), g=g, h_terms=((k, 1),),
            x_terms=[(a, 1) for a in alphas[ci]], y_terms=[*((b, 1) for b in betas[ci]), (g, -votes)])
        report("ballot.proof.sum", where,
               f"la prueba de que las opciones suman {votes} no es válida",
               f"the proof that the options sum to {votes} is invalid", label=sum_label)
    return slots


def ballot_problems(ctx: ElectionContext, ballot: EncryptedBallot, listed_style: str | None,
                    location: str, *, require_signature: bool = True, bits: int = DEFAULT_BITS) -> list[Problem]:
    """Every problem of one (already parsed) ballot, its proofs checked as one batch."""
    verdict = check_ballots(ctx, [BallotCheck(ballot, listed_style, location, require_signature)], bits=bits)[0]
    return list(verdict.problems)


def validate_ballot(ctx: ElectionContext, ballot: EncryptedBallot | UncheckedBallot, listed_style: str | None, *,
                    bits: int = DEFAULT_BITS) -> EncryptedBallot:
    """The ballot, ready to be cast; else ``BallotError`` with the first precise reason.

    A ballot received as an ``UncheckedBallot`` (parsed with ranges only) is checked in ONE batch:
    the membership of its α and β together with its proofs, instead of a batch at parsing and
    another here. An α or β outside the subgroup raises ``GroupMembershipError`` naming it, the
    message a parse with the membership test gives: the ballot is malformed."""
    verdict = check_ballots(ctx, [BallotCheck(ballot, listed_style, tr("boleta", "ballot"))], bits=bits)[0]
    if verdict.ballot is None:
        assert verdict.not_member is not None
        raise GroupMembershipError(verdict.not_member)
    if verdict.problems:
        first = verdict.problems[0]
        raise BallotError(f"{first.message} ({first.location})")
    return verdict.ballot
