"""Homomorphic aggregation of the counted ballots per (entity, contest, option).

Aggregates are kept per entity because results are reported per entity (state): a contest shared
by several entities, such as a national referendum, has one aggregate per entity. Guardians decrypt
nothing but these aggregates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import gmpy2

from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import EncryptedBallot
from sivei.crypto.elgamal import Ciphertext
from sivei.crypto.encoding import Encoder, tagged_hash
from sivei.crypto.group import Group
from sivei.errors import EncodingError
from sivei.i18n import tr

TAG_TALLY = "sivei/encrypted-tally"


@dataclass(frozen=True)
class TallyEntry:
    entity: str
    contest_index: int
    ballots: int
    ciphertexts: tuple[Ciphertext, ...]


@dataclass(frozen=True)
class EncryptedTally:
    entries: tuple[TallyEntry, ...]

    def hash(self, ctx: ElectionContext) -> bytes:
        enc = Encoder(ctx.group).fixed(ctx.election_hash, 32).u32(len(self.entries))
        for e in self.entries:
            enc.string(e.entity).u32(e.contest_index).u32(e.ballots).u32(len(e.ciphertexts))
            for ct in e.ciphertexts:
                ct.encode(enc)
        return tagged_hash(TAG_TALLY, enc.to_bytes())

    def to_json(self, group: Group) -> dict[str, Any]:
        return {"entries": [
            {"entity": e.entity, "contest_index": e.contest_index, "ballots": e.ballots,
             "ciphertexts": [ct.to_json(group) for ct in e.ciphertexts]}
            for e in self.entries
        ]}

    @staticmethod
    def from_json(group: Group, obj: object) -> EncryptedTally:
        if not isinstance(obj, dict) or set(obj) != {"entries"} or not isinstance(obj["entries"], list):
            raise EncodingError(tr("recuento cifrado: se esperaba {\"entries\": [...]}",
                                   "encrypted tally: expected {\"entries\": [...]}"))
        entries = []
        for i, raw in enumerate(obj["entries"]):
            w = f"entries[{i}]"
            if not isinstance(raw, dict) or set(raw) != {"entity", "contest_index", "ballots", "ciphertexts"}:
                raise EncodingError(tr(f"{w}: campos no válidos", f"{w}: invalid fields"))
            if (not isinstance(raw["entity"], str) or not isinstance(raw["contest_index"], int)
                    or not isinstance(raw["ballots"], int) or not isinstance(raw["ciphertexts"], list)):
                raise EncodingError(tr(f"{w}: tipos no válidos", f"{w}: invalid types"))
            entries.append(TallyEntry(
                raw["entity"], raw["contest_index"], raw["ballots"],
                tuple(Ciphertext.from_json(group, c, f"{w}.ciphertexts[{j}]")
                      for j, c in enumerate(raw["ciphertexts"])),
            ))
        return EncryptedTally(tuple(entries))


class TallyAccumulator:
    """Running products per (entity, contest, option), in gmpy2 integers; memory is bounded by the
    manifest's size, not the number of ballots. With in-person voting (``ctx.in_person``), the ballots
    of in-person credentials are also multiplied apart: the ``consulados`` channel's aggregates
    (``channel_result``; docs/protocol.md §20.5)."""

    def __init__(self, ctx: ElectionContext, *, channel: bool = True) -> None:
        self._ctx: ElectionContext | None = ctx
        self._channel = TallyAccumulator(ctx, channel=False) if channel and ctx.in_person else None
        self._p = gmpy2.mpz(ctx.group.p)
        self._style_entity = {s.id: s.entity for s in ctx.manifest.ballot_styles}
        self._acc: dict[tuple[str, int], list[list[Any]]] = {}
        self._counts: dict[tuple[str, int], int] = {}
        for entity in ctx.manifest.entities:
            for index, contest in ctx.manifest.style_contests(entity.ballot_style):
                self._acc[(entity.code, index)] = [[gmpy2.mpz(1), gmpy2.mpz(1)] for _ in contest.options]
                self._counts[(entity.code, index)] = 0

    def __getstate__(self) -> dict[str, Any]:
        """A chunk's partial tally goes back to the coordinator without the election context (its
        in-person set alone is ~2 MB at INE's scale): a received accumulator is only merged."""
        return {**self.__dict__, "_ctx": None}

    def add(self, ballot: EncryptedBallot) -> None:
        if self._ctx is None:
            raise TypeError("a received accumulator is only merged")
        if self._channel is not None and ballot.credential in self._ctx.in_person:
            self._channel.add(ballot)
        entity = self._style_entity[ballot.style]
        p = self._p
        for contest in ballot.contests:
            key = (entity, contest.index)
            rows = self._acc[key]
            self._counts[key] += 1
            for row, sel in zip(rows, contest.selections, strict=True):
                row[0] = row[0] * sel.ciphertext.alpha % p
                row[1] = row[1] * sel.ciphertext.beta % p

    def merge(self, other: TallyAccumulator) -> None:
        if self._channel is not None and other._channel is not None:
            self._channel.merge(other._channel)
        p = self._p
        for key, rows in other._acc.items():
            mine = self._acc[key]
            for a, b in zip(mine, rows, strict=True):
                a[0] = a[0] * b[0] % p
                a[1] = a[1] * b[1] % p
            self._counts[key] += other._counts[key]

    def result(self) -> EncryptedTally:
        return EncryptedTally(tuple(
            TallyEntry(entity, index, self._counts[(entity, index)],
                       tuple(Ciphertext(int(a), int(b)) for a, b in rows))
            for (entity, index), rows in self._acc.items()
        ))

    def channel_result(self) -> EncryptedTally | None:
        """The ``consulados`` channel's aggregates (the in-person ballots' product), or None without
        in-person voting."""
        return self._channel.result() if self._channel is not None else None


def aggregate(ctx: ElectionContext, ballots: Iterable[EncryptedBallot]) -> EncryptedTally:
    acc = TallyAccumulator(ctx)
    for ballot in ballots:
        acc.add(ballot)
    return acc.result()
