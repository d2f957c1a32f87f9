"""The key-ceremony transcript as the record holds it: ``ceremony.json``.

{"ceremony_id": str, "n": int, "t": int, "rounds": [[envelope, …] per round]} — every envelope of
every round as the coordinator bundled it, signed and hash-chained (see ``sivei.crypto.dkg``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sivei.crypto.encoding import Encoder, tagged_hash
from sivei.crypto.envelope import Envelope, bundle_hash
from sivei.errors import RecordError
from sivei.i18n import tr


def ceremony_json(ceremony_id: str, n: int, t: int,
                  rounds: Sequence[Sequence[Envelope]]) -> dict[str, Any]:
    return {"ceremony_id": ceremony_id, "n": n, "t": t,
            "rounds": [[env.to_json() for env in bundle] for bundle in rounds]}


def parse_ceremony(data: object) -> tuple[str, int, int, tuple[tuple[Envelope, ...], ...]]:
    if not isinstance(data, dict) or set(data) != {"ceremony_id", "n", "t", "rounds"}:
        raise RecordError(tr("ceremony.json: se esperaban los campos ceremony_id, n, t, rounds",
                             "ceremony.json: expected the fields ceremony_id, n, t, rounds"))
    ceremony_id, n, t, rounds = data["ceremony_id"], data["n"], data["t"], data["rounds"]
    if not isinstance(ceremony_id, str) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in (n, t)) or not 1 <= t <= n <= 255:
        raise RecordError(tr("ceremony.json: ceremony_id, n o t no válidos",
                             "ceremony.json: invalid ceremony_id, n or t"))
    if not isinstance(rounds, list) or not all(isinstance(r, list) for r in rounds):
        raise RecordError(tr("ceremony.json: rounds debe ser una lista de listas",
                             "ceremony.json: rounds must be a list of lists"))
    parsed = tuple(
        tuple(Envelope.from_json(env, f"rounds[{r}][{i}]") for i, env in enumerate(bundle))
        for r, bundle in enumerate(rounds)
    )
    return ceremony_id, n, t, parsed


def transcript_hash(election_id: str, ceremony_id: str, rounds: Sequence[Sequence[Envelope]]) -> bytes:
    """H("sivei/transcript", election ‖ ceremony ‖ every round's bundle hash): what acts name."""
    enc = Encoder().string(election_id).string(ceremony_id).u32(len(rounds))
    for r, bundle in enumerate(rounds):
        enc.fixed(bundle_hash(election_id, ceremony_id, r, bundle), 32)
    return tagged_hash("sivei/transcript", enc.to_bytes())
