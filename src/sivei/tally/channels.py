"""Results per channel (internet, consulados) and the rule that keeps small cells combined
(docs/protocol.md §20.5).

A ballot's channel is its credential's (the authority's declaration): ``consulados`` for the kiosks of
every consulate, ``internet`` for the rest. For each (entity, contest) of the encrypted tally — a
**cell** — the ``consulados`` aggregate is the product of the in-person ballots
(``TallyAccumulator.channel_result``) and the ``internet`` aggregate the combined one divided by it.
A cell is **split** (its channels decrypted apart) only when every channel has at least
``CHANNEL_MINIMUM`` ballots there: one channel over a few ballots, or the combined result minus a big
channel, would tell how those few voted. Only the ``consulados`` aggregates of the split cells are
decrypted; ``internet`` = combined − ``consulados`` option by option.

``consulados/canales.json`` (what the count publishes; the verifier checks it, ``sivei.record.consulates``)::

    {"minimum": 30, "cells": [{"entity", "contest_index", "internet", "consulados"}, … every tally entry],
     "split": {"encrypted": {"entries": [… the split cells' consulados aggregates …]},
               "decryption": {"ceremony_id", "present", "weights", "envelopes"},
               "results": [{"entity", "contest_id",
                            "options": [{"id", "consulados", "internet"}, … the contest's options, in order]}, …]}}

``split`` is absent when no cell qualifies (or the split was not decrypted). Every count is named by
its option id, as in ``results.json`` of record format 2, whatever the record's format version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sivei.ballot.context import ElectionContext
from sivei.ballot.in_person import CHANNEL_CONSULATES, CHANNEL_INTERNET, CHANNEL_MINIMUM
from sivei.crypto.envelope import Envelope
from sivei.errors import EncodingError
from sivei.i18n import tr
from sivei.tally.aggregate import EncryptedTally, TallyEntry
from sivei.tally.decrypt import GuardianDecryption, TallyDecryption, combine_tally

CHANNELS_FILE = "canales.json"
CHANNELS_SESSION_SUFFIX = "-canales"


def channels_session_id(decryption_id: str) -> str:
    """The session id of the split's decryption shares: the vault opening's, suffixed, so that a share
    of the split never passes for one of the combined tally, nor the reverse (docs/protocol.md §20.5)."""
    return decryption_id + CHANNELS_SESSION_SUFFIX


@dataclass(frozen=True)
class ChannelCell:
    """The ballots of each channel in one (entity, contest) of the tally."""

    entity: str
    contest_index: int
    internet: int
    consulados: int

    @property
    def split(self) -> bool:
        """Every channel has at least ``CHANNEL_MINIMUM`` ballots here: its channels may be decrypted."""
        return min(self.internet, self.consulados) >= CHANNEL_MINIMUM

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "contest_index": self.contest_index, CHANNEL_INTERNET: self.internet,
                CHANNEL_CONSULATES: self.consulados}


def channel_cells(combined: EncryptedTally, consulados: EncryptedTally) -> tuple[ChannelCell, ...]:
    """Ballots per channel in every cell (both tallies in the manifest's entry order)."""
    return tuple(ChannelCell(c.entity, c.contest_index, c.ballots - k.ballots, k.ballots)
                 for c, k in zip(combined.entries, consulados.entries, strict=True))


def split_tally(consulados: EncryptedTally, cells: Sequence[ChannelCell]) -> EncryptedTally:
    """The ``consulados`` aggregates of the cells the rule lets be split: all that is ever decrypted
    per channel."""
    return EncryptedTally(tuple(e for e, cell in zip(consulados.entries, cells, strict=True) if cell.split))


@dataclass(frozen=True)
class ChannelSplit:
    """What the key-holders may decrypt per channel, recomputed from the board and the declaration:
    every cell's ballots per channel, and the ``consulados`` aggregates of the qualifying cells
    (``split``; no entries when none qualifies)."""

    cells: tuple[ChannelCell, ...]
    split: EncryptedTally

    @classmethod
    def of(cls, combined: EncryptedTally, consulados: EncryptedTally) -> ChannelSplit:
        cells = channel_cells(combined, consulados)
        return cls(cells, split_tally(consulados, cells))


def split_channels_json(ctx: ElectionContext, channels: ChannelSplit, session_id: str,
                        decryptions: Sequence[GuardianDecryption], *, n: int, t: int,
                        combined_counts: Mapping[tuple[str, str], Sequence[int]]) -> dict[str, Any]:
    """``canales.json`` from at least ``t`` verified shares of the split (session ``session_id``):
    the split combined, the consulados counts and internet = combined − consulados. Without a
    split, the cells only."""
    if not channels.split.entries:
        return channels_json(ctx, channels.cells)
    decryption = combine_tally(ctx, channels.split, decryptions, n=n, t=t)
    return channels_json(ctx, channels.cells, channels.split, decryption_id=session_id, decryption=decryption,
                         envelopes=[d.envelope for d in decryptions],
                         results=channel_results(ctx, channels.split, decryption, combined_counts))


@dataclass(frozen=True)
class ChannelResult:
    entity: str
    contest_id: str
    option_ids: tuple[str, ...]
    consulados: tuple[int, ...]
    internet: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "contest_id": self.contest_id,
                "options": [{"id": o, CHANNEL_CONSULATES: m, CHANNEL_INTERNET: rest}
                            for o, m, rest in zip(self.option_ids, self.consulados, self.internet, strict=True)]}


def channel_results(ctx: ElectionContext, split: EncryptedTally, decryption: TallyDecryption,
                    combined_counts: Mapping[tuple[str, str], Sequence[int]]) -> tuple[ChannelResult, ...]:
    """Per split cell: the decrypted ``consulados`` counts, and ``internet`` = combined − consulados."""
    out = []
    for entry, row in zip(split.entries, decryption.counts, strict=True):
        contest = ctx.manifest.contests[entry.contest_index]
        total = combined_counts[(entry.entity, contest.id)]
        out.append(ChannelResult(entry.entity, contest.id, tuple(o.id for o in contest.options), tuple(row),
                                 tuple(a - b for a, b in zip(total, row, strict=True))))
    return tuple(out)


def channels_json(ctx: ElectionContext, cells: Sequence[ChannelCell], split: EncryptedTally | None = None, *,
                  decryption_id: str = "", decryption: TallyDecryption | None = None,
                  envelopes: Sequence[Envelope] = (), results: Sequence[ChannelResult] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"minimum": CHANNEL_MINIMUM, "cells": [c.to_json() for c in cells]}
    if split is not None and split.entries and decryption is not None:
        out["split"] = {"encrypted": split.to_json(ctx.group),
                        "decryption": {"ceremony_id": decryption_id, **decryption.to_json(),
                                       "envelopes": [e.to_json() for e in sorted(envelopes, key=lambda e: e.sender)]},
                        "results": [r.to_json() for r in results]}
    return out


def parse_cells(obj: object) -> tuple[ChannelCell, ...]:
    if not isinstance(obj, list):
        raise EncodingError(tr("«cells»: se esperaba una lista", "«cells»: expected a list"))
    cells = []
    for i, c in enumerate(obj):
        keys = {"entity", "contest_index", CHANNEL_INTERNET, CHANNEL_CONSULATES}
        if (not isinstance(c, dict) or set(c) != keys or not isinstance(c["entity"], str)
                or not all(isinstance(c[k], int) and not isinstance(c[k], bool) for k in keys - {"entity"})):
            raise EncodingError(tr(f"cells[{i}]: campos no válidos", f"cells[{i}]: invalid fields"))
        cells.append(ChannelCell(c["entity"], c["contest_index"], c[CHANNEL_INTERNET], c[CHANNEL_CONSULATES]))
    return tuple(cells)


def entry_key(entry: TallyEntry) -> tuple[str, int]:
    return entry.entity, entry.contest_index
