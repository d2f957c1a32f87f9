"""In-person electronic voting at consulates: the authority's declaration of each consulate's
credentials, and the consulate's signed log of the voters it served (docs/protocol.md §20).

Why
    INE's vote from abroad also runs, on the same system, kiosks in consulates (2024: 23 consulates,
    88 devices). Two kinds of voter come: those registered for the in-person modality at that
    consulate (on the list abroad, with their own credential, whose QR code they scan at the kiosk),
    and people not on the list who show a valid voter ID (up to a cap per consulate; INE 2024: 1,500,
    presidential contest only). The second kind needs credentials nobody was issued in advance, so the
    credential authority makes a **pool** per consulate — exactly its cap — on the same frozen list,
    with the ballot style the manifest gives unregistered voters. A pool credential is in the hands of
    the consulate's staff until they hand it to a voter, so the record must show that no pool
    credential was used for somebody who was not there: each consulate signs a **log** of the voters it
    served, and anyone can reconcile, from the record alone, pool credentials used against
    unregistered voters served (``sivei.record.consulates``).

The declaration (``consulados.json``, written by ``sivei credenciales generar``)
    ``{"format": "sivei-consulados", "version": 1, "election_id", "consulates": [{"code",
    "registered": [public credentials of the voters registered at that consulate, sorted],
    "pool": [the pool's public credentials, sorted]}, … in manifest order]}``. Its hash

        H("sivei/in-person", string(election_id) ‖ u32(#consulates) ‖ for each consulate:
          string(code) ‖ u32(#registered) ‖ fixed(pk, 32)… ‖ u32(#pool) ‖ fixed(pk, 32)…)

    is the signed list's ``in_person_hash``, so the declaration is frozen with the list at opening
    (H_E). It is public: it says which credentials vote in person and where (the channel of every
    ballot, and the pools to reconcile), never whose they are.

The log (``bitacora-<C>.json``), an envelope signed with the consulate's key named in the manifest
    ``type = "consulate-log"``, ``ceremony_id = sender = "consulado-<C>"``, ``round = 0``,
    ``previous = H_E``, body ``{"consulate": C, "registered_served": n, "unregistered": [keyed hashes
    of the voter-ID numbers of the unregistered voters served, sorted]}``. The keyed hash (HMAC under
    the voting server's secrets key, §20) lets anyone see that no person was served twice, at one
    consulate or at two, without publishing anybody's voter-ID number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sivei.ballot.manifest import Manifest
from sivei.crypto.ecdsa import Signer
from sivei.crypto.encoding import Encoder, tagged_hash
from sivei.crypto.envelope import Envelope, seal
from sivei.errors import SiveiError
from sivei.i18n import tr

TAG_DECLARATION = "sivei/in-person"
DECLARATION_FILE = "consulados.json"
DECLARATION_FORMAT = "sivei-consulados"
DECLARATION_VERSION = 1
LOG_TYPE = "consulate-log"
LOG_ROUND = 0

CHANNEL_INTERNET = "internet"
CHANNEL_CONSULATES = "consulados"
CHANNELS = (CHANNEL_INTERNET, CHANNEL_CONSULATES)
CHANNEL_MINIMUM = 30
"""Results per channel are decrypted for an (entity, contest) only when every channel has at least
this many ballots there (§20.5): a channel's result over a handful of ballots tells how those few
people voted."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
# INE's voter ID number (clave de elector): 18 characters, the first six letters (from the name),
# then digits and letters (birth date, state, sex, homoclave).
_CARD = re.compile(r"[A-Z]{6}[A-Z0-9]{12}")
_CARD_NOISE = re.compile(r"[\s.\-]")


class InPersonError(SiveiError):
    """A declaration or a consulate's log is malformed or does not match the election."""


def consulate_sender(code: str) -> str:
    """The sender (and ceremony id) of consulate ``code``'s log: ``consulado-<code>``."""
    return f"consulado-{code}"


def normal_voter_card(text: str) -> str | None:
    """The voter-ID number (clave de elector) as the keyed hash takes it: capitals, without spaces,
    dots or hyphens; None when it is not 18 characters whose first six are letters."""
    value = _CARD_NOISE.sub("", text).upper()
    return value if _CARD.fullmatch(value) else None


# -- the authority's declaration ------------------------------------------------------------------


@dataclass(frozen=True)
class ConsulateCredentials:
    """One consulate's credentials: its registered in-person voters' and its pool."""

    code: str
    registered: tuple[bytes, ...]
    pool: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "registered": [k.hex() for k in self.registered],
                "pool": [k.hex() for k in self.pool]}


@dataclass(frozen=True, eq=False)
class InPersonDeclaration:
    """The credential authority's statement of which listed credentials vote at which consulate."""

    election_id: str
    consulates: tuple[ConsulateCredentials, ...]

    @staticmethod
    def build(election_id: str, registered: Mapping[str, Iterable[bytes]], pools: Mapping[str, Iterable[bytes]],
              codes: Sequence[str]) -> InPersonDeclaration:
        """Sorted, one entry per consulate in ``codes`` (the manifest's order)."""
        return InPersonDeclaration(election_id, tuple(
            ConsulateCredentials(code, tuple(sorted(registered.get(code, ()))), tuple(sorted(pools.get(code, ()))))
            for code in codes))

    @property
    def hash(self) -> bytes:
        enc = Encoder().string(self.election_id).u32(len(self.consulates))
        for c in self.consulates:
            enc.string(c.code).u32(len(c.registered))
            for k in c.registered:
                enc.fixed(k, 32)
            enc.u32(len(c.pool))
            for k in c.pool:
                enc.fixed(k, 32)
        return tagged_hash(TAG_DECLARATION, enc.to_bytes())

    def to_json(self) -> dict[str, Any]:
        return {"format": DECLARATION_FORMAT, "version": DECLARATION_VERSION, "election_id": self.election_id,
                "consulates": [c.to_json() for c in self.consulates]}

    @staticmethod
    def from_json(obj: object, what: str = DECLARATION_FILE) -> InPersonDeclaration:
        """The declaration's shape (checked against the manifest and the list by ``problems``)."""
        def bad(es: str, en: str) -> InPersonError:
            return InPersonError(tr(f"{what}: {es}", f"{what}: {en}"))

        if (not isinstance(obj, dict) or set(obj) != {"format", "version", "election_id", "consulates"}
                or obj["format"] != DECLARATION_FORMAT or obj["version"] != DECLARATION_VERSION):
            raise bad(f"no es una declaración {DECLARATION_FORMAT} versión {DECLARATION_VERSION}",
                      f"not a {DECLARATION_FORMAT} version {DECLARATION_VERSION} declaration")
        if not isinstance(obj["election_id"], str) or not isinstance(obj["consulates"], list):
            raise bad("«election_id» o «consulates» mal formados", "malformed «election_id» or «consulates»")
        consulates = []
        for i, c in enumerate(obj["consulates"]):
            where = f"consulates[{i}]"
            if not isinstance(c, dict) or set(c) != {"code", "registered", "pool"} or not isinstance(c["code"], str):
                raise bad(f"{where}: se esperaban «code», «registered» y «pool»",
                          f"{where}: expected «code», «registered» and «pool»")
            lists = []
            for key in ("registered", "pool"):
                values = c[key]
                if not isinstance(values, list) or not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in values):
                    raise bad(f"{where}.{key}: se esperaban credenciales públicas (64 dígitos hexadecimales)",
                              f"{where}.{key}: expected public credentials (64 hex digits)")
                lists.append(tuple(bytes.fromhex(v) for v in values))
            consulates.append(ConsulateCredentials(c["code"], lists[0], lists[1]))
        return InPersonDeclaration(obj["election_id"], tuple(consulates))

    def problems(self, manifest: Manifest, styles: Mapping[bytes, str], stated_hash: object) -> list[str]:
        """Every way the declaration disagrees with the manifest, the signed list (``styles``: public
        credential → style, every entry of the list) and the list body's ``in_person_hash``."""
        out: list[str] = []
        w = DECLARATION_FILE
        ip = manifest.in_person
        if ip is None:
            return [tr(f"{w}: el manifiesto no tiene voto en consulados", f"{w}: the manifest has no consulate vote")]
        if self.election_id != manifest.election_id:
            out.append(tr(f"{w}: es de la elección {self.election_id!r}",
                          f"{w}: belongs to election {self.election_id!r}"))
        if stated_hash != self.hash.hex():
            out.append(tr(f"{w}: su hash no es el «in_person_hash» que firma la lista de credenciales",
                          f"{w}: its hash is not the «in_person_hash» the credential list signs"))
        codes = [c.code for c in self.consulates]
        if codes != list(ip.codes):
            out.append(tr(f"{w}: los consulados {codes} no son los del manifiesto {list(ip.codes)}, en su orden",
                          f"{w}: consulates {codes} are not the manifest's {list(ip.codes)}, in its order"))
        seen: dict[bytes, str] = {}
        for c in self.consulates:
            for kind, keys in (("registered", c.registered), ("pool", c.pool)):
                where = f"{w}: {c.code}.{kind}"
                if list(keys) != sorted(set(keys)):
                    out.append(tr(f"{where}: credenciales repetidas o fuera de orden",
                                  f"{where}: repeated or unsorted credentials"))
                for k in keys:
                    style = styles.get(k)
                    if style is None:
                        out.append(tr(f"{where}: la credencial {k.hex()[:16]}… no está en la lista",
                                      f"{where}: credential {k.hex()[:16]}… is not on the list"))
                    elif (kind == "pool") != (style == ip.unregistered_style):
                        out.append(tr(f"{where}: la credencial {k.hex()[:16]}… es del estilo {style!r}; el fondo es "
                                      f"del estilo {ip.unregistered_style!r} y los registrados, de su entidad",
                                      f"{where}: credential {k.hex()[:16]}… is of style {style!r}; the pool is of "
                                      f"style {ip.unregistered_style!r} and registered voters of their entity's"))
                    if k in seen:
                        out.append(tr(f"{where}: la credencial {k.hex()[:16]}… ya está en {seen[k]}",
                                      f"{where}: credential {k.hex()[:16]}… is already in {seen[k]}"))
                    seen[k] = f"{c.code}.{kind}"
            if c.code in ip.codes and len(c.pool) != ip.consulate(c.code).unregistered_cap:
                out.append(tr(f"{w}: {c.code}.pool tiene {len(c.pool)} credenciales; el tope del manifiesto es "
                              f"{ip.consulate(c.code).unregistered_cap}",
                              f"{w}: {c.code}.pool has {len(c.pool)} credentials; the manifest's cap is "
                              f"{ip.consulate(c.code).unregistered_cap}"))
        pooled = {k for c in self.consulates for k in c.pool}
        stray = sum(1 for k, style in styles.items() if style == ip.unregistered_style and k not in pooled)
        if stray:
            out.append(tr(f"{w}: {stray} credenciales del estilo {ip.unregistered_style!r} no están en ningún fondo "
                          "(solo se votan con una sesión de consulado)",
                          f"{w}: {stray} credentials of style {ip.unregistered_style!r} are in no pool (they are "
                          "voted only in a consulate's session)"))
        return out

    def pool_of(self, code: str) -> frozenset[bytes]:
        for c in self.consulates:
            if c.code == code:
                return frozenset(c.pool)
        return frozenset()

    def registered_of(self, code: str) -> frozenset[bytes]:
        for c in self.consulates:
            if c.code == code:
                return frozenset(c.registered)
        return frozenset()

    def channels(self) -> dict[bytes, str]:
        """Public credential → channel, for every credential that votes in person (the rest vote by
        internet)."""
        return {k: CHANNEL_CONSULATES for c in self.consulates for k in (*c.registered, *c.pool)}

    @property
    def pooled(self) -> int:
        return sum(len(c.pool) for c in self.consulates)


# -- a consulate's log of voters served -----------------------------------------------------------


@dataclass(frozen=True)
class ConsulateLog:
    """What a consulate attests at its close: how many registered voters it served, and the keyed
    hash of the voter-ID number of each unregistered voter it served."""

    consulate: str
    registered_served: int
    unregistered: tuple[bytes, ...]  # sorted, distinct 32-byte keyed hashes

    def body(self) -> dict[str, Any]:
        return {"consulate": self.consulate, "registered_served": self.registered_served,
                "unregistered": [h.hex() for h in self.unregistered]}

    def draft(self, election_id: str, election_hash: bytes) -> dict[str, Any]:
        """The unsigned envelope the official reviews and signs (``sivei consulado firmar``)."""
        return {"type": LOG_TYPE, "election_id": election_id, "ceremony_id": consulate_sender(self.consulate),
                "round": LOG_ROUND, "sender": consulate_sender(self.consulate), "previous": election_hash.hex(),
                "body": self.body()}

    def sign(self, signer: Signer, election_id: str, election_hash: bytes) -> Envelope:
        return seal(signer, type=LOG_TYPE, election_id=election_id, ceremony_id=consulate_sender(self.consulate),
                    round=LOG_ROUND, sender=consulate_sender(self.consulate), previous=election_hash,
                    body=self.body())


def sign_log_draft(draft: object, signer: Signer) -> Envelope:
    """Sign an unsigned log as the server wrote it (its fields are checked again on upload and by the
    verifier; here only its shape, so that the official signs nothing but a consulate log)."""
    if not isinstance(draft, dict) or set(draft) != {"type", "election_id", "ceremony_id", "round", "sender",
                                                     "previous", "body"} or draft.get("type") != LOG_TYPE:
        raise InPersonError(tr("no es una bitácora de consulado sin firmar", "not an unsigned consulate log"))
    log = parse_log_body(draft["body"], "body")
    previous = draft["previous"]
    if not isinstance(previous, str) or not _HEX64.fullmatch(previous) or not isinstance(draft["election_id"], str):
        raise InPersonError(tr("«previous» o «election_id» mal formados", "malformed «previous» or «election_id»"))
    if draft["sender"] != consulate_sender(log.consulate) or draft["ceremony_id"] != draft["sender"]:
        raise InPersonError(tr("el remitente no es el consulado de la bitácora",
                               "the sender is not the log's consulate"))
    return log.sign(signer, draft["election_id"], bytes.fromhex(previous))


def parse_log_body(body: object, what: str) -> ConsulateLog:
    if not isinstance(body, dict) or set(body) != {"consulate", "registered_served", "unregistered"}:
        raise InPersonError(tr(f"{what}: se esperaban «consulate», «registered_served» y «unregistered»",
                               f"{what}: expected «consulate», «registered_served» and «unregistered»"))
    served = body["registered_served"]
    if not isinstance(body["consulate"], str) or isinstance(served, bool) or not isinstance(served, int) or served < 0:
        raise InPersonError(tr(f"{what}: «consulate» o «registered_served» mal formados",
                               f"{what}: malformed «consulate» or «registered_served»"))
    hashes = body["unregistered"]
    if not isinstance(hashes, list) or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes):
        raise InPersonError(tr(f"{what}.unregistered: se esperaban hashes de 64 dígitos hexadecimales",
                               f"{what}.unregistered: expected 64-hex-digit hashes"))
    if hashes != sorted(set(hashes)):
        raise InPersonError(tr(f"{what}.unregistered: una persona aparece dos veces, o la lista no está ordenada",
                               f"{what}.unregistered: a person appears twice, or the list is not sorted"))
    return ConsulateLog(body["consulate"], served, tuple(bytes.fromhex(h) for h in hashes))


def check_log(manifest: Manifest, election_hash: bytes, code: str, envelope: Envelope, what: str
              ) -> tuple[ConsulateLog | None, list[str]]:
    """Consulate ``code``'s signed log: its header, its signature by the manifest's ``log_key``, its
    body (one line per person, at most the cap). Returns the log (None when unusable) and problems."""
    assert manifest.in_person is not None
    consulate = manifest.in_person.consulate(code)
    problems: list[str] = []
    sender = consulate_sender(code)
    header = {"type": (envelope.type, LOG_TYPE), "election_id": (envelope.election_id, manifest.election_id),
              "ceremony_id": (envelope.ceremony_id, sender), "sender": (envelope.sender, sender),
              "round": (envelope.round, LOG_ROUND)}
    for name, (got, want) in header.items():
        if got != want:
            problems.append(tr(f"{what}: «{name}» es {got!r}, se esperaba {want!r}",
                               f"{what}: «{name}» is {got!r}, expected {want!r}"))
    if envelope.previous != election_hash:
        problems.append(tr(f"{what}: «previous» no es la huella de esta elección (H_E)",
                           f"{what}: «previous» is not this election's hash (H_E)"))
    try:
        envelope.verify(consulate.log_key)
    except SiveiError:
        problems.append(tr(f"{what}: la firma no es de la llave de bitácora del consulado {code} (manifiesto)",
                           f"{what}: the signature is not by consulate {code}'s log key (manifest)"))
        return None, problems
    try:
        log = parse_log_body(envelope.body, f"{what}: body")
    except InPersonError as exc:
        return None, [*problems, str(exc)]
    if log.consulate != code:
        problems.append(tr(f"{what}: body.consulate es {log.consulate!r}, no {code!r}",
                           f"{what}: body.consulate is {log.consulate!r}, not {code!r}"))
    if len(log.unregistered) > consulate.unregistered_cap:
        problems.append(tr(f"{what}: {len(log.unregistered)} personas sin registro atendidas, más que el tope de "
                           f"{consulate.unregistered_cap}",
                           f"{what}: {len(log.unregistered)} unregistered voters served, more than the cap of "
                           f"{consulate.unregistered_cap}"))
    return (None if problems else log), problems


def log_file(code: str) -> str:
    """Where consulate ``code``'s signed log is in the record (under ``consulados/``)."""
    return f"bitacora-{code}.json"


def with_consulates(manifest: Manifest, consulates: Sequence[tuple[str, str, int, bytes]], *,
                    unregistered_entity: tuple[str, str] = ("SRE", "Personas sin registro previo (consulados)"),
                    unregistered_contests: Sequence[str] | None = None) -> Manifest:
    """``manifest`` with in-person voting at ``consulates`` ((code, name, cap, log key) each) and an
    entity for unregistered voters whose ballot has ``unregistered_contests`` (default: the contests
    every style shares, as the presidential contest is for INE). For drills and tests; a real
    election writes its ``in_person`` in the draft (docs/manifest.md)."""
    code, name = unregistered_entity
    if unregistered_contests is None:
        shared = set(manifest.ballot_styles[0].contests)
        for style in manifest.ballot_styles[1:]:
            shared &= set(style.contests)
        unregistered_contests = [c.id for c in manifest.contests if c.id in shared]
    obj = manifest.to_json()
    style_id = code.lower()
    obj["entities"].append({"code": code, "name": name, "ballot_style": style_id})
    obj["ballot_styles"].append({"id": style_id, "entity": code, "contests": list(unregistered_contests)})
    obj["counting_policy"] = "one-vote-per-person"
    obj["in_person"] = {"unregistered_style": style_id, "consulates": [
        {"code": c, "name": n, "unregistered_cap": cap, "log_key": key.hex()} for c, n, cap, key in consulates]}
    return Manifest.from_json(obj)
