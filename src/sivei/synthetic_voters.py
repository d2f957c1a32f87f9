"""Synthetic voters casting ballots, fast enough for a national-size drill.

Each voter's ballot is encrypted and signed as a booth would, then checked as the server's casting
checks a received ballot: α and β treated as received (not yet known to be group members), the
credential list's style, the signature and every proof. Both happen in worker processes, one chunk
of voters at a time, so a drill uses every core; each chunk's received ballots are checked in ONE
batch (protocol §8.5: membership and proofs together, weights drawn by the worker after the chunk
is fixed). The coordinating process then applies the board's own rules in order — one ballot per
credential, unique α, the chain — exactly as ``Board.cast`` does, so what reaches the board is what
a one-process drill would have put there.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import credential_public_key, credential_seed
from sivei.ballot.encrypt import EncryptedBallot, UncheckedBallot, encrypt_ballot, new_ballot_nonce, sign_ballot
from sivei.ballot.validate import BallotCheck, check_ballots
from sivei.i18n import Language, language, set_language, tr
from sivei.problems import Problem

CHUNK_VOTERS = 48
"""Voters per worker task: one batch of received ballots (bigger batches are cheaper per ballot;
this keeps two tasks per worker in flight within a few tens of megabytes)."""


@dataclass(frozen=True)
class VoterTask:
    """One voter: the ballot style, the choices and the private credential (which only the voter's
    device holds; the worker derives the signing key from it, as the booth does)."""

    style: str
    choices: Mapping[str, str]
    credential: str


@dataclass(frozen=True)
class CastBallot:
    """A ballot as the server received it, after the checks of casting."""

    ballot: EncryptedBallot
    ballot_hash: bytes
    problems: tuple[Problem, ...]
    """Every problem the checks found (none for an honest voter); a non-member α or β is one too."""


def cast_chunk(ctx: ElectionContext, styles: Mapping[bytes, str], tasks: Sequence[VoterTask],
               bits: int) -> list[CastBallot]:
    """Encrypt and sign each voter's ballot, then check all of them as received, in one batch."""
    election_id = ctx.manifest.election_id
    ballots = []
    for task in tasks:
        public = credential_public_key(election_id, task.credential)
        ballot = encrypt_ballot(ctx, task.style, task.choices, public, new_ballot_nonce())
        ballots.append(sign_ballot(ctx, ballot, credential_seed(election_id, task.credential)))
    hashes = [b.ballot_hash(ctx) for b in ballots]
    where = tr("boleta", "ballot")
    checks = [BallotCheck(UncheckedBallot(b, where), styles.get(b.credential), where, ballot_hash=h)
              for b, h in zip(ballots, hashes, strict=True)]
    out = []
    for ballot, h, verdict in zip(ballots, hashes, check_ballots(ctx, checks, bits=bits), strict=True):
        problems = verdict.problems
        if verdict.not_member is not None:
            problems = (Problem("ballot.membership", where, verdict.not_member),)
        out.append(CastBallot(ballot, h, problems))
    return out


_worker: tuple[ElectionContext, Mapping[bytes, str]] | None = None


def _init(ctx: ElectionContext, styles: Mapping[bytes, str], lang: Language) -> None:
    global _worker
    _worker = (ctx, styles)
    set_language(lang)


def _cast_in_worker(tasks: Sequence[VoterTask], bits: int) -> list[CastBallot]:
    assert _worker is not None
    return cast_chunk(_worker[0], _worker[1], tasks, bits)


def cast_all(ctx: ElectionContext, styles: Mapping[bytes, str], tasks: Sequence[VoterTask], *, bits: int,
             jobs: int) -> Iterator[CastBallot]:
    """Every voter's received and checked ballot, in the order of ``tasks``: on this process for
    ``jobs`` = 1, else on ``jobs`` worker processes with two chunks in flight per worker."""
    chunks = [tasks[i:i + CHUNK_VOTERS] for i in range(0, len(tasks), CHUNK_VOTERS)]
    if jobs <= 1:
        for chunk in chunks:
            yield from cast_chunk(ctx, styles, chunk, bits)
        return
    from collections import deque

    mp = multiprocessing.get_context("spawn")  # no inherited PKCS#11 sessions or locks
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp, initializer=_init,
                             initargs=(ctx, dict(styles), language())) as pool:
        pending: deque[Callable[[], list[CastBallot]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_cast_in_worker, chunk, bits).result)
            if len(pending) >= 2 * jobs:
                yield from pending.popleft()()
        while pending:
            yield from pending.popleft()()
