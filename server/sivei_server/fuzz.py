"""Hostile input against the JSON casting endpoint, the authentication forms and the board's query
parameters, generated with hypothesis and sent over HTTP through nginx (the load suite's stack).
What must hold: no answer is a 5xx, and nothing invalid is stored (every stored ballot passes the
library's full validation)."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_
from sqlalchemy import select

from sivei.ballot.encrypt import EncryptedBallot
from sivei.ballot.validate import validate_ballot
from sivei_server.db import session_scope
from sivei_server.models import CastBallot
from sivei_server.simulacro import Client

if TYPE_CHECKING:
    from sivei_server.carga import Stack

_HOSTILE_TEXT = st_.one_of(
    st_.text(max_size=80),
    st_.sampled_from(["\x00", "ı", "İ", "V\x00001", "' OR 1=1 --", "<script>", "%00", "\ud7ff" * 3, "9" * 40,
                      "-1", "2147483648", "1e309", "NaN", "../../etc/passwd", " " * 70, "é" * 200]),
)
_JSON_SCALAR = st_.one_of(st_.none(), st_.booleans(), st_.integers(min_value=-(2**70), max_value=2**70),
                          st_.floats(allow_nan=False), _HOSTILE_TEXT)


def _mutations(valid: dict[str, Any]) -> st_.SearchStrategy[bytes]:
    """A valid ballot with one part replaced, deleted or duplicated; raw garbage; deep nesting."""
    keys = sorted(valid)

    def replace(key: str, value: Any) -> bytes:
        return json.dumps({**valid, key: value}).encode()

    def drop(key: str) -> bytes:
        return json.dumps({k: v for k, v in valid.items() if k != key}).encode()

    def duplicate(key: str, value: Any) -> bytes:
        text = json.dumps(valid)
        return (text[:-1] + f", {json.dumps(key)}: {json.dumps(value)}" + "}").encode()

    def deep_selection(value: Any) -> bytes:
        obj = json.loads(json.dumps(valid))
        obj["contests"][0]["selections"][0]["ciphertext"]["alpha"] = value
        return json.dumps(obj).encode()

    return st_.one_of(
        st_.builds(replace, st_.sampled_from(keys), _JSON_SCALAR),
        st_.builds(drop, st_.sampled_from(keys)),
        st_.builds(duplicate, st_.sampled_from(keys), _JSON_SCALAR),
        st_.builds(deep_selection, _JSON_SCALAR),
        st_.binary(max_size=300),
        st_.integers(min_value=1, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    )


def fuzz(st: Stack, *, examples: int = 200) -> dict[str, Any]:
    voter = st.kit.roll[0].voter_id
    from sivei_server.carga import login

    voter_client = login(st, voter)
    valid = json.loads(st.kit.ballot(voter))
    statuses: Counter[int] = Counter()

    def record(status: int) -> None:
        statuses[status] += 1

    common = settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))

    @common
    @given(_mutations(valid))
    def ballots(body: bytes) -> None:
        record(voter_client.post_raw("/api/votar", body, headers=st.kit.cast_headers(voter))[0])

    @common
    @given(_HOSTILE_TEXT, _HOSTILE_TEXT, st_.sampled_from(["/cuenta/entrar", "/cuenta/olvide", "/operacion/entrar"]))
    def forms(user: str, password: str, path: str) -> None:
        status, _, _ = Client(st.base).submit(path, {"usuario": user, "clave": password})
        record(status)

    @common
    @given(_HOSTILE_TEXT, st_.sampled_from(["/api/tablero/boleta?indice=", "/api/tablero/eventos?desde=",
                                            "/api/tablero/buscar?codigo=", "/tablero?pagina=", "/tablero?codigo=",
                                            "/cuenta/activar?t=", "/cuenta/restablecer?t="]))
    def queries(value: str, prefix: str) -> None:
        from urllib.parse import quote

        status, _, _ = Client(st.base).request("GET", prefix + quote(value, safe=""))
        record(status)

    ballots()
    forms()
    queries()
    stored_invalid = 0
    with session_scope(st.engine) as s:
        from sivei_server.election import loaded

        election = loaded(s, st.config)
        rows = list(s.scalars(select(CastBallot.ballot_json)))
    for text in rows:
        try:
            ballot = EncryptedBallot.from_json(election.ctx.group, json.loads(text))
            validate_ballot(election.ctx, ballot, election.credential_list.style_of(ballot.credential))
        except Exception:
            stored_invalid += 1
    return {"requests": sum(statuses.values()), "4xx": sum(n for k, n in statuses.items() if 400 <= k < 500),
            "5xx": sum(n for k, n in statuses.items() if k >= 500), "stored": len(rows),
            "stored_invalid": stored_invalid, "statuses": dict(sorted(statuses.items()))}
