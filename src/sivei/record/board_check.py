"""The board's ballots checked in chunks, each chunk one batch (protocol §8.5).

The coordinator cuts the board file into chunks of raw events without parsing them
(``sivei.record.board_file``); a checker parses each chunk and checks every ballot in it as one
batch — on this process, on a pool of worker processes (``--jobs``), or on a Dask cluster
(``sivei.record.cluster``, ``--scheduler``) — and the results come back in file order, so the
coordinator applies the global rules (chain, one ballot per credential, unique α, aggregation)
exactly as a one-process run does: the report does not depend on where the chunks were checked.
Weights are drawn inside ``check_ballots``, by whichever process checks the chunk, after the chunk
has been read; they never leave it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from sivei.ballot.board import BoardEvent, alpha_key
from sivei.ballot.context import ElectionContext
from sivei.ballot.validate import BallotCheck, check_ballots
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import SiveiError
from sivei.i18n import Language, language, set_language, tr
from sivei.problems import Problem
from sivei.record.board_file import RawEvent, iter_raw_events, parse_event
from sivei.tally.aggregate import TallyAccumulator

MAX_CHUNK_BYTES = 32 << 20
MIN_CHUNK_BYTES = 256 << 10
MAX_CHUNK_EVENTS = 2000
"""A chunk of the board is one batch: at most this many bytes (about 470 ballots of the sample
manifest in a version-2 board) or events. Bigger batches are cheaper per ballot, slowly (production
group, λ = 128: 21.0 / 19.5 / 18.5 / 17.7 ms per ballot for batches of 120 / 240 / 470 / 940
ballots) and cost memory (about 4.5 bytes of a worker's memory per byte of chunk)."""

MEMORY_BUDGET = 900 << 20
"""What the verifier may use on this machine, coordinator and worker processes together, whatever
the size of the board: chunks are sized to stay within it (``chunk_bytes``)."""
COORDINATOR_BASE = 170 << 20
"""The coordinator without chunks: Python, the credential list, the index's page cache (64 MiB)."""
WORKER_BASE = 100 << 20
"""A worker process without a chunk: Python, gmpy2, the fixed-base tables of g and K."""
WORKER_PER_CHUNK_BYTE = 4.5
"""A worker's memory per byte of the chunk it checks (the parsed ballots and the batch)."""
COORDINATOR_PER_CHUNK_BYTE = 1.2
"""The coordinator's memory per byte of a chunk in flight (the raw events, until the result)."""


@dataclass(frozen=True)
class LineResult:
    """What the coordinator needs of one event after its chunk was checked."""

    lineno: int
    """The event's position in the board file, from 1 (its line in a version-1 board)."""
    index: int | None
    type: str | None
    stated_head: bytes | None
    payload_hash: bytes | None
    payload: dict[str, Any] | None
    problems: tuple[Problem, ...]
    credential: bytes | None
    style: str | None
    alpha_keys: tuple[int, ...]


@dataclass(frozen=True)
class Chunk:
    name: str
    """The board file's name (for locations)."""
    items: list[tuple[int, RawEvent]]
    """(position, raw event)."""
    end_offset: int
    """Byte offset of the board file after the chunk's last event (progress and ETA)."""


ChunkResult = tuple[list[LineResult], TallyAccumulator]


def _encoding_failure(lineno: int, where: str, message: str) -> LineResult:
    return LineResult(lineno, None, None, None, None, None, (Problem("board.encoding", where, message),),
                      None, None, ())


def check_chunk(ctx: ElectionContext, name: str, items: Sequence[tuple[int, RawEvent]], bits: int) -> ChunkResult:
    """Check one chunk of raw events: parse every event (ranges only for α and β), then every ballot
    of the chunk in ONE batch (membership of α and β, every proof; protocol §8.5)."""
    acc = TallyAccumulator(ctx)
    out: list[LineResult | None] = []
    ballots: list[tuple[int, int, BoardEvent, bytes]] = []  # (position in out, lineno, event, p_hash)
    checks: list[BallotCheck] = []
    for lineno, raw in items:
        where = f"{name}:{lineno}"
        try:
            event, p_hash = parse_event(ctx, raw, name, lineno, membership=False)
        except SiveiError as exc:
            out.append(_encoding_failure(lineno, where, str(exc)))
            continue
        if event.unchecked_ballot is None:
            out.append(LineResult(lineno, event.index, event.type, event.head, p_hash,
                                  dict(event.payload or {}), (), None, None, ()))
            continue
        loc = tr(f"{where} (boleta {fingerprint(p_hash)})", f"{where} (ballot {fingerprint(p_hash)})")
        # The credential list's style is the coordinator's check: here the ballot is compared with its
        # own style, so no list problem is reported twice.
        checks.append(BallotCheck(event.unchecked_ballot, event.unchecked_ballot.unchecked.style, loc,
                                  ballot_hash=p_hash))
        ballots.append((len(out), lineno, event, p_hash))
        out.append(None)
    for (position, lineno, event, p_hash), verdict in zip(ballots, check_ballots(ctx, checks, bits=bits),
                                                          strict=True):
        ballot = verdict.ballot
        if ballot is None:  # an α or β outside the subgroup: the event does not parse, as before batching
            assert verdict.not_member is not None
            out[position] = _encoding_failure(lineno, f"{name}:{lineno}", verdict.not_member)
            continue
        if not any(p.check in ("ballot.shape", "ballot.style.unknown") for p in verdict.problems):
            acc.add(ballot)
        keys = tuple(alpha_key(s.ciphertext.alpha) for c in ballot.contests for s in c.selections)
        out[position] = LineResult(lineno, event.index, event.type, event.head, p_hash, None, verdict.problems,
                                   ballot.credential, ballot.style, keys)
    return [r for r in out if r is not None], acc


def check_chunk_in(lang: Language, ctx: ElectionContext, name: str, items: Sequence[tuple[int, RawEvent]],
                   bits: int) -> ChunkResult:
    """``check_chunk`` with the report's language set first (for workers of another process)."""
    set_language(lang)
    return check_chunk(ctx, name, items, bits)


def chunk_bytes(board_bytes: int, checker: ChunkChecker) -> int:
    """Target size of one chunk: as big as the memory budget allows (one batch per chunk, and
    bigger batches are cheaper per ballot), but with several workers about three chunks per worker,
    to keep them all busy to the end. The budget counts the chunks in flight, held by the
    coordinator, and the worker processes on this machine, each checking one chunk."""
    local = checker.local_workers
    room = MEMORY_BUDGET - COORDINATOR_BASE - local * WORKER_BASE
    per_byte = local * WORKER_PER_CHUNK_BYTE + checker.window * COORDINATOR_PER_CHUNK_BYTE
    target = min(MAX_CHUNK_BYTES, int(room / per_byte))
    if checker.workers > 1:
        target = min(target, board_bytes // (3 * checker.workers))
    return max(MIN_CHUNK_BYTES, target)


def chunks(path: os.PathLike[str], name: str, target: int, max_events: int = MAX_CHUNK_EVENTS) -> Iterator[Chunk]:
    """The board file cut into chunks of about ``target`` bytes or ``max_events`` events."""
    from pathlib import Path

    items: list[tuple[int, RawEvent]] = []
    size = 0
    offset = 0
    for position, raw, offset in iter_raw_events(Path(path), name):
        items.append((position, raw))
        size += len(raw)
        if size >= target or len(items) >= max_events:
            yield Chunk(name, items, offset)
            items, size = [], 0
    if items:
        yield Chunk(name, items, offset)


class _Waitable(Protocol):
    def result(self) -> ChunkResult: ...


def in_order(submit: Callable[[Chunk], _Waitable], work: Iterable[Chunk], window: int
             ) -> Iterator[tuple[ChunkResult, int]]:
    """Submit chunks with at most ``window`` in flight; yield (result, end offset) in file order."""
    pending: deque[tuple[_Waitable, int]] = deque()
    for chunk in work:
        pending.append((submit(chunk), chunk.end_offset))
        if len(pending) >= window:
            fut, end = pending.popleft()
            yield fut.result(), end
    while pending:
        fut, end = pending.popleft()
        yield fut.result(), end


class ChunkChecker(Protocol):
    """Where chunks are checked; ``run`` yields results in file order. The sizes below set the size
    of the chunks (``chunk_bytes``)."""

    @property
    def workers(self) -> int:
        """Chunks checked at the same time."""

    @property
    def window(self) -> int:
        """Chunks in flight at most (held by the coordinator until their result)."""

    @property
    def local_workers(self) -> int:
        """Worker processes on this machine (the coordinator itself counts as one when it checks)."""

    def run(self, ctx: ElectionContext, work: Iterable[Chunk], bits: int) -> Iterator[tuple[ChunkResult, int]]: ...


class LocalChecker:
    """Every chunk in this process."""

    workers = 1
    window = 1
    local_workers = 1

    def run(self, ctx: ElectionContext, work: Iterable[Chunk], bits: int) -> Iterator[tuple[ChunkResult, int]]:
        for chunk in work:
            yield check_chunk(ctx, chunk.name, chunk.items, bits), chunk.end_offset


_worker_ctx: ElectionContext | None = None


def _init_worker(ctx: ElectionContext, lang: Language) -> None:
    global _worker_ctx
    _worker_ctx = ctx
    set_language(lang)


def _worker_check(name: str, items: Sequence[tuple[int, RawEvent]], bits: int) -> ChunkResult:
    assert _worker_ctx is not None
    return check_chunk(_worker_ctx, name, items, bits)


class ProcessChecker:
    """Chunks on ``jobs`` worker processes of this machine (spawned: no inherited state such as
    PKCS#11 sessions or locks), one chunk per worker in flight and one more waiting."""

    def __init__(self, jobs: int) -> None:
        self.workers = self.local_workers = jobs
        self.window = jobs + 1

    def run(self, ctx: ElectionContext, work: Iterable[Chunk], bits: int) -> Iterator[tuple[ChunkResult, int]]:
        mp = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=mp, initializer=_init_worker,
                                 initargs=(ctx, language())) as pool:
            yield from in_order(lambda c: pool.submit(_worker_check, c.name, c.items, bits), work, self.window)


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def local_checker(jobs: int | None) -> ChunkChecker:
    """One process for ``jobs`` = 1, else a pool of ``jobs`` processes (None: every core)."""
    n = jobs or default_jobs()
    return LocalChecker() if n <= 1 else ProcessChecker(n)
