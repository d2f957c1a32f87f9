"""What every ballot operation needs to know about its election, fixed at opening."""

from __future__ import annotations

from dataclasses import dataclass, field

from sivei.ballot.manifest import Manifest
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.group import Group


@dataclass(frozen=True)
class ElectionContext:
    """The manifest, the joint key K and H_E (which binds parameters, manifest, the key ceremony and
    the credential list)."""

    manifest: Manifest
    key: ElectionKey
    election_hash: bytes
    in_person: frozenset[bytes] = field(default=frozenset(), compare=False, repr=False)
    """The public credentials that vote in person at consulates (the authority's declaration, fixed
    with the list at opening, docs/protocol.md §20): the aggregation keeps their ballots' product apart
    too (the ``consulados`` channel). Empty without in-person voting."""

    @property
    def group(self) -> Group:
        return self.key.group
