"""The key-generation ceremony as separate steps exchanging files (a USB stick between laptops).

The coordinator prepares an exchange folder (``prepare``). Each key-holder then runs one command per
round (``keyholder_step``): it reads the coordinator's bundle of the previous round from the exchange
folder and writes its own signed envelope there; the coordinator collects the round's envelopes, checks
them all and writes the next bundle (``coordinator_collect``); after the fifth round it writes the
transcript ``ceremony.json`` and a summary. A last step per key-holder checks the whole transcript and
seals the election secret share. Every check and message is the library's (``sivei.crypto.dkg``).

Exchange folder (public; copied between laptops)::

    ceremonia.json              the setup: election, ceremony id, group, n, t, manifest hash, H_B
    manifest.json               the manifest (every key-holder recomputes its hash and H_B)
    ronda-<r>/custodio-<i>.json key-holder i's envelope of round r (the library's envelope JSON)
    paquete-<r>.json            the coordinator's bundle of round r
    ceremony.json               the transcript (the record's file), after round 4
    resumen.txt                 the summary to read aloud

Key-holder's private folder (their laptop; nothing in it is readable without their token)::

    <ceremony id>-custodio-<i>/estado.sellado         the DKG working state, sealed (between steps)
    <ceremony id>-custodio-<i>/enviados/ronda-<r>.json a copy of every envelope sent (public data)
    <ceremony id>-custodio-<i>/parte.sellado          the election secret share, sealed (at the end)

The working state (the library's ``GuardianState``: secret polynomial, X25519 transport key, received
shares, finally the secret share) exists unsealed only in the memory of one command; it is sealed by
the token's AES key with the election, ceremony, key-holder and purpose as associated data. It only
moves forward: the state records the last round sent, the bundle it answered and the envelope, so
running a round again re-emits the very same envelope for the same bundle and refuses any other
bundle; and a state older than a message already sent (an old copy restored) is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sivei.ballot.manifest import Manifest, load_manifest, parse_manifest_bytes
from sivei.crypto.context import base_hash
from sivei.crypto.dkg import (
    NUM_ROUNDS,
    ROUND_TYPES,
    STAGE_NEW,
    CeremonyAbortError,
    CeremonyOutcome,
    Coordinator,
    GuardianState,
    advance,
    conclude,
    new_guardian,
    verify_transcript,
)
from sivei.crypto.ecdsa import Signer
from sivei.crypto.encoding import Encoder, canonical_json, element_to_hex
from sivei.crypto.envelope import Envelope, bundle_hash, seal
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import Group
from sivei.custody import SEALED_SHARE_PURPOSE, SealContext, SealedFile, Sealer
from sivei.errors import CeremonyError, EncodingError, SiveiError
from sivei.i18n import tr
from sivei.record import layout
from sivei.record.ceremony_io import ceremony_json, parse_ceremony, transcript_hash
from sivei.record.context import load_group
from sivei_ceremonies.common import (
    Out,
    RefusalError,
    check_ceremony_kind,
    check_election,
    check_folder_election,
    constancia_banner,
    custodian,
    group_named,
    guardian_name,
    joint_key_fingerprint,
    json_text,
    keyholder_token,
    read_json,
    signing_key_fingerprint,
    verification_key_fingerprint,
    write_json_new,
    write_text_atomic,
)

SETUP_FILE = "ceremonia.json"
MANIFEST_FILE = "manifest.json"
TRANSCRIPT_FILE = layout.CEREMONY
SUMMARY_FILE = "resumen.txt"
SETUP_FORMAT = "sivei-ceremonia-llaves"
BUNDLE_FORMAT = "sivei-paquete"
FORMAT_VERSION = 1

STATE_PURPOSE = "sivei/dkg-guardian-state"
STATE_WHAT = "dkg-working-state"
SHARE_WHAT = "election-secret-share"
_STATE_MAGIC = "sivei-ceremonias/estado-custodio"
_STATE_VERSION = 1

CONCLUDE = NUM_ROUNDS  # the step after the last round: check the transcript, seal the share
_CEREMONY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SETUP_FIELDS = {"format", "version", "election_id", "ceremony_id", "group", "n", "t", "manifest_hash",
                 "base_hash", "guardians"}
_BUNDLE_FIELDS = {"format", "version", "election_id", "ceremony_id", "round", "bundle_hash", "envelopes"}


def bundle_path(exchange: Path, rnd: int) -> Path:
    return exchange / f"paquete-{rnd}.json"


def round_dir(exchange: Path, rnd: int) -> Path:
    return exchange / f"ronda-{rnd}"


def envelope_path(exchange: Path, rnd: int, index: int) -> Path:
    return round_dir(exchange, rnd) / f"custodio-{index}.json"


def round_name(rnd: int) -> str:
    names = {
        0: ("anuncio de llaves", "key announcement"),
        1: ("compromisos", "commitments"),
        2: ("envío de partes cifradas", "encrypted shares"),
        3: ("verificación de partes", "share verification"),
        4: ("llave de verificación y llave conjunta", "verification key and joint key"),
        5: ("conclusión", "conclusion"),
    }
    es, en = names.get(rnd, ("?", "?"))
    return tr(f"ronda {rnd} ({es})", f"round {rnd} ({en})") if rnd < NUM_ROUNDS else tr(es, en)


# -- the setup --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CeremonySetup:
    group: Group
    manifest: Manifest
    ceremony_id: str
    n: int
    t: int
    h_b: bytes
    names: tuple[str, ...]

    @property
    def election_id(self) -> str:
        return self.manifest.election_id

    def to_json(self) -> dict[str, Any]:
        return {"format": SETUP_FORMAT, "version": FORMAT_VERSION, "election_id": self.election_id,
                "ceremony_id": self.ceremony_id, "group": self.group.name, "n": self.n, "t": self.t,
                "manifest_hash": self.manifest.hash.hex(), "base_hash": self.h_b.hex(),
                "guardians": list(self.names)}


def check_ceremony_id(ceremony_id: str) -> None:
    if not _CEREMONY_ID.fullmatch(ceremony_id):
        raise RefusalError(tr(f"identificador de ceremonia no válido «{ceremony_id}»: use letras, dígitos, '.', '_' "
                              "o '-' (hasta 100), empezando por letra o dígito",
                              f"invalid ceremony id «{ceremony_id}»: use letters, digits, '.', '_' or '-' (up to "
                              "100), starting with a letter or digit"))


def prepare(exchange: Path, manifest_path: Path, group: Group, ceremony_id: str, n: int, t: int,
            names: Sequence[str], out: Out, *, usb_path: str = "E:/ceremonia",
            private_path: str = "C:/custodio") -> CeremonySetup:
    """The coordinator's first command: a new exchange folder with the setup, the manifest and the
    printed material (``material``)."""
    out.title(tr("CEREMONIA DE LLAVES — PREPARACIÓN (coordinador)", "KEY CEREMONY — SETUP (coordinator)"))
    constancia = constancia_banner(out)
    check_ceremony_id(ceremony_id)
    if not 1 <= t <= n <= 255:
        raise RefusalError(tr("se requiere 1 ≤ umbral ≤ custodios ≤ 255",
                              "1 ≤ threshold ≤ key-holders ≤ 255 is needed"))
    if names and len(names) != n:
        raise RefusalError(tr(f"se dieron {len(names)} nombres para {n} custodios",
                              f"{len(names)} names were given for {n} key-holders"))
    if exchange.exists() and any(exchange.iterdir()):
        raise RefusalError(tr(f"la carpeta de intercambio {exchange} no está vacía: use una carpeta nueva por "
                              "ceremonia",
                              f"the exchange folder {exchange} is not empty: use a new folder per ceremony"))
    manifest = load_manifest(manifest_path)
    check_election(manifest.election_id, str(manifest_path))
    check_ceremony_kind(manifest.election_id, ceremony_id)
    setup = CeremonySetup(group, manifest, ceremony_id, n, t, base_hash(group, manifest.hash), tuple(names))
    exchange.mkdir(parents=True, exist_ok=True)
    write_json_new(exchange / MANIFEST_FILE, manifest.to_json())
    write_json_new(exchange / SETUP_FILE, setup.to_json())
    _print_setup(setup, out)
    from sivei.crypto.group import TEST_GROUP
    from sivei_ceremonies.material import write_ceremony_material

    known = {"constancia": constancia.fingerprint, "manifest": fingerprint(manifest.hash),
             "h_b": fingerprint(setup.h_b)}
    folder = write_ceremony_material(exchange, election_id=setup.election_id, election_name=manifest.name,
                                     ceremony_id=ceremony_id, n=n, t=t, names=tuple(names), known=known,
                                     usb=usb_path, private=private_path, test_group=group is TEST_GROUP, out=out)
    out.step(tr(f"Material para imprimir en {folder}: tarjeta de comandos y hoja de huellas de cada custodio, guion "
                "de lectura del coordinador",
                f"Material to print in {folder}: each key-holder's command card and fingerprint sheet, the "
                "coordinator's read-aloud script"))
    out.step(tr(f"Carpeta de intercambio lista: {exchange}", f"Exchange folder ready: {exchange}"))
    out.info(tr("copie la carpeta a la memoria USB de cada custodio; cada uno ejecuta ahora la ronda 0",
                "copy the folder to each key-holder's USB stick; each now runs round 0"))
    return setup


def _print_setup(setup: CeremonySetup, out: Out) -> None:
    out.step(tr(f"Elección «{setup.manifest.name}» ({setup.election_id}); ceremonia «{setup.ceremony_id}»; "
                f"umbral {setup.t} de {setup.n} custodios; grupo {setup.group.name}",
                f"Election «{setup.manifest.name}» ({setup.election_id}); ceremony «{setup.ceremony_id}»; "
                f"threshold {setup.t} of {setup.n} key-holders; group {setup.group.name}"))
    out.aloud(tr("huella del manifiesto", "manifest fingerprint"), fingerprint(setup.manifest.hash))
    out.aloud(tr("huella de H_B (grupo y manifiesto)", "H_B fingerprint (group and manifest)"), fingerprint(setup.h_b))


def load_setup(exchange: Path, *, allow_test_group: bool) -> CeremonySetup:
    """Read the setup and the manifest, recomputing the manifest hash and H_B (never trusting them)."""
    where = str(exchange / SETUP_FILE)
    data = read_json(exchange / SETUP_FILE)
    if not isinstance(data, dict) or set(data) != _SETUP_FIELDS or data.get("format") != SETUP_FORMAT:
        raise RefusalError(tr(f"{where}: no es la preparación de una ceremonia de llaves de SIVEI",
                              f"{where}: not the setup of a SIVEI key ceremony"))
    check_election(data["election_id"], where)
    if data["version"] != FORMAT_VERSION:
        raise RefusalError(tr(f"{where}: versión {data['version']!r} no soportada",
                              f"{where}: unsupported version {data['version']!r}"))
    group = group_named(data["group"], allow_test_group=allow_test_group, where=where)
    n, t, ceremony_id, names = data["n"], data["t"], data["ceremony_id"], data["guardians"]
    if not (isinstance(n, int) and isinstance(t, int) and not isinstance(n, bool) and not isinstance(t, bool)
            and 1 <= t <= n <= 255):
        raise RefusalError(tr(f"{where}: n o t no válidos", f"{where}: invalid n or t"))
    if not isinstance(ceremony_id, str):
        raise RefusalError(tr(f"{where}: ceremony_id no válido", f"{where}: invalid ceremony_id"))
    check_ceremony_id(ceremony_id)
    check_ceremony_kind(str(data["election_id"]), ceremony_id)
    if not isinstance(names, list) or not all(isinstance(x, str) for x in names) or len(names) not in (0, n):
        raise RefusalError(tr(f"{where}: lista de nombres no válida", f"{where}: invalid list of names"))
    try:
        manifest = parse_manifest_bytes((exchange / MANIFEST_FILE).read_bytes(), MANIFEST_FILE)
    except OSError as exc:
        raise RefusalError(tr(f"no se puede leer {exchange / MANIFEST_FILE}: {exc.strerror}",
                              f"cannot read {exchange / MANIFEST_FILE}: {exc.strerror}")) from None
    h_b = base_hash(group, manifest.hash)
    if data["election_id"] != manifest.election_id or data["manifest_hash"] != manifest.hash.hex():
        raise RefusalError(tr(f"{where}: la elección o el hash del manifiesto no corresponden a {MANIFEST_FILE}",
                              f"{where}: the election or manifest hash do not match {MANIFEST_FILE}"))
    if data["base_hash"] != h_b.hex():
        raise RefusalError(tr(f"{where}: H_B no corresponde al grupo y al manifiesto",
                              f"{where}: H_B does not match the group and the manifest"))
    return CeremonySetup(group, manifest, ceremony_id, n, t, h_b, tuple(names))


# -- bundles ----------------------------------------------------------------------------------------


def bundle_json(setup: CeremonySetup, rnd: int, envelopes: Sequence[Envelope]) -> dict[str, Any]:
    return {"format": BUNDLE_FORMAT, "version": FORMAT_VERSION, "election_id": setup.election_id,
            "ceremony_id": setup.ceremony_id, "round": rnd,
            "bundle_hash": bundle_hash(setup.election_id, setup.ceremony_id, rnd, envelopes).hex(),
            "envelopes": [e.to_json() for e in envelopes]}


def read_bundle(setup: CeremonySetup, exchange: Path, rnd: int) -> tuple[tuple[Envelope, ...], bytes]:
    """The coordinator's bundle of round ``rnd`` and its hash (recomputed)."""
    path = bundle_path(exchange, rnd)
    if not path.exists():
        raise RefusalError(tr(f"todavía no está el paquete de la {round_name(rnd)} ({path}): espere al coordinador",
                              f"the bundle of {round_name(rnd)} is not there yet ({path}): wait for the coordinator"))
    data = read_json(path)
    if not isinstance(data, dict) or set(data) != _BUNDLE_FIELDS or data.get("format") != BUNDLE_FORMAT:
        raise RefusalError(tr(f"{path}: no es un paquete de ronda de SIVEI", f"{path}: not a SIVEI round bundle"))
    if (data["election_id"], data["ceremony_id"], data["round"]) != (setup.election_id, setup.ceremony_id, rnd):
        raise RefusalError(tr(
            f"{path}: es de la elección «{data['election_id']}», ceremonia «{data['ceremony_id']}», ronda "
            f"{data['round']}; se esperaba «{setup.election_id}», «{setup.ceremony_id}», ronda {rnd}",
            f"{path}: belongs to election «{data['election_id']}», ceremony «{data['ceremony_id']}», round "
            f"{data['round']}; expected «{setup.election_id}», «{setup.ceremony_id}», round {rnd}"))
    if not isinstance(data["envelopes"], list):
        raise RefusalError(tr(f"{path}: envelopes debe ser una lista", f"{path}: envelopes must be a list"))
    try:
        envelopes = tuple(Envelope.from_json(e, f"{path.name}: envelopes[{k}]")
                          for k, e in enumerate(data["envelopes"]))
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    digest = bundle_hash(setup.election_id, setup.ceremony_id, rnd, envelopes)
    if data["bundle_hash"] != digest.hex():
        raise RefusalError(tr(f"{path}: el hash declarado no es el de sus sobres (archivo alterado o dañado)",
                              f"{path}: the stated hash is not that of its envelopes (altered or damaged file)"))
    return envelopes, digest


def read_bundles(setup: CeremonySetup, exchange: Path) -> list[tuple[Envelope, ...]]:
    bundles: list[tuple[Envelope, ...]] = []
    while len(bundles) < NUM_ROUNDS and bundle_path(exchange, len(bundles)).exists():
        bundles.append(read_bundle(setup, exchange, len(bundles))[0])
    return bundles


# -- the key-holder's sealed state --------------------------------------------------------------------


@dataclass(frozen=True)
class SentRecord:
    """The last message a key-holder sent: its round, what it answered (the hash of the previous
    round's bundle, or H_B for round 0) and the envelope itself."""

    round: int
    answered: bytes
    envelope: Envelope


@dataclass(frozen=True)
class KeyholderState:
    guardian: GuardianState
    last: SentRecord | None

    def to_bytes(self) -> bytes:
        enc = Encoder().string(_STATE_MAGIC).u32(_STATE_VERSION).blob(self.guardian.to_bytes())
        if self.last is None:
            enc.u32(0)
        else:
            enc.u32(1).u32(self.last.round).fixed(self.last.answered, 32)
            enc.blob(canonical_json(self.last.envelope.to_json()))
        return enc.to_bytes()

    @staticmethod
    def from_bytes(data: bytes) -> KeyholderState:
        pos = 0

        def take(n: int) -> bytes:
            nonlocal pos
            if pos + n > len(data):
                raise EncodingError(tr("estado truncado", "truncated state"))
            chunk = data[pos:pos + n]
            pos += n
            return chunk

        def u32() -> int:
            return int.from_bytes(take(4), "big")

        def blob() -> bytes:
            return take(u32())

        if blob() != _STATE_MAGIC.encode() or u32() != _STATE_VERSION:
            raise EncodingError(tr("no es un estado de custodio de esta versión",
                                   "not a key-holder state of this version"))
        guardian = GuardianState.from_bytes(blob())
        last = None
        flag = u32()
        if flag == 1:
            rnd, answered = u32(), take(32)
            envelope = Envelope.from_json(json.loads(blob().decode("utf-8")), "state.envelope")
            last = SentRecord(rnd, answered, envelope)
        elif flag != 0:
            raise EncodingError(tr("estado mal formado", "malformed state"))
        if pos != len(data):
            raise EncodingError(tr("bytes sobrantes en el estado", "trailing bytes in the state"))
        return KeyholderState(guardian, last)


@dataclass(frozen=True)
class PrivatePaths:
    """Where a key-holder keeps their sealed files for one ceremony."""

    root: Path

    @staticmethod
    def of(private: Path, ceremony_id: str, index: int) -> PrivatePaths:
        return PrivatePaths(private / f"{ceremony_id}-custodio-{index}")

    @property
    def state(self) -> Path:
        return self.root / "estado.sellado"

    @property
    def share(self) -> Path:
        return self.root / "parte.sellado"

    def sent(self, rnd: int) -> Path:
        return self.root / "enviados" / f"ronda-{rnd}.json"

    @property
    def sealed_confirmation(self) -> Path:
        return self.root / "enviados" / "sellado.json"

    def sent_rounds(self) -> list[int]:
        return sorted(r for r in range(NUM_ROUNDS) if self.sent(r).exists())

    def create(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.root / "enviados").mkdir(mode=0o700, exist_ok=True)


def state_file(setup: CeremonySetup, index: int, paths: PrivatePaths) -> SealedFile:
    return SealedFile(paths.state, SealContext(STATE_PURPOSE, setup.election_id, setup.ceremony_id,
                                               guardian_name(index), STATE_WHAT))


def share_file(election_id: str, ceremony_id: str, index: int, path: Path) -> SealedFile:
    """The sealed election secret share (32 bytes, big-endian s_i), as the library's drill seals it."""
    return SealedFile(path, SealContext(SEALED_SHARE_PURPOSE, election_id, ceremony_id, guardian_name(index),
                                        SHARE_WHAT))


def load_state(setup: CeremonySetup, index: int, paths: PrivatePaths, sealer: Sealer) -> KeyholderState:
    """Unseal (in memory) and check the key-holder's working state."""
    plain = state_file(setup, index, paths).read(sealer)
    try:
        state = KeyholderState.from_bytes(plain)
    except (SiveiError, ValueError) as exc:
        raise RefusalError(tr(f"{paths.state}: estado ilegible ({exc})",
                              f"{paths.state}: unreadable state ({exc})")) from None
    finally:
        del plain
    g = state.guardian
    if (g.group, g.election_id, g.ceremony_id, g.h_b, g.n, g.t, g.index) != (
            setup.group, setup.election_id, setup.ceremony_id, setup.h_b, setup.n, setup.t, index):
        raise RefusalError(tr(f"{paths.state}: el estado no es de esta ceremonia y este custodio",
                              f"{paths.state}: the state does not belong to this ceremony and key-holder"))
    return state


def save_state(setup: CeremonySetup, index: int, paths: PrivatePaths, sealer: Sealer, state: KeyholderState) -> None:
    state_file(setup, index, paths).write(sealer, state.to_bytes(), overwrite=True)


# -- the key-holder's step ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    round: int
    envelope: Envelope | None
    outcome: CeremonyOutcome | None = None
    reemitted: bool = False


def keyholder_step(exchange: Path, private: Path, index: int, token_label: str, module_path: str | None, *,
                   expected_round: int | None, allow_test_group: bool, out: Out) -> StepResult:
    """One key-holder's next step (or the given round): see the module documentation."""
    out.title(tr(f"CEREMONIA DE LLAVES — CUSTODIO {index}", f"KEY CEREMONY — KEY-HOLDER {index}"))
    constancia_banner(out)
    setup = load_setup(exchange, allow_test_group=allow_test_group)
    if not 1 <= index <= setup.n:
        raise RefusalError(tr(f"el custodio debe estar entre 1 y {setup.n}",
                              f"the key-holder must be between 1 and {setup.n}"))
    _print_setup(setup, out)
    who = f": {setup.names[index - 1]}" if setup.names else ""
    out.info(tr(f"usted es el custodio {index}{who}", f"you are key-holder {index}{who}"))
    paths = PrivatePaths.of(private, setup.ceremony_id, index)
    if paths.share.exists() and not paths.state.exists():
        out.step(tr(f"Este custodio ya concluyó la ceremonia: su parte está sellada en {paths.share}",
                    f"This key-holder has already concluded the ceremony: their share is sealed in {paths.share}"))
        if paths.sealed_confirmation.exists():
            confirmation = envelope_path(exchange, CONCLUDE, index)
            confirmation.parent.mkdir(exist_ok=True)
            write_json_new(confirmation, read_json(paths.sealed_confirmation))
            out.info(tr(f"su confirmación firmada está en {confirmation}: entréguela al coordinador",
                        f"your signed confirmation is in {confirmation}: hand it to the coordinator"))
        return StepResult(CONCLUDE, None)
    with keyholder_token(token_label, module_path, out) as session:
        signer, sealer = session.signer(), session.sealer()
        out.aloud(tr("huella de la llave de firma del token", "fingerprint of the token's signing key"),
                  signing_key_fingerprint(signer.public_key))
        if paths.state.exists():
            state = load_state(setup, index, paths, sealer)
        else:
            if paths.sent_rounds():
                raise RefusalError(tr(
                    f"no está el estado sellado {paths.state}, pero este custodio ya envió mensajes "
                    f"({paths.root / 'enviados'}): no se empieza de nuevo; si el estado se perdió, la ceremonia debe "
                    "repetirse con un identificador nuevo",
                    f"the sealed state {paths.state} is missing, but this key-holder has already sent messages "
                    f"({paths.root / 'enviados'}): it does not start again; if the state was lost, the ceremony must "
                    "be repeated under a new id"))
            state = KeyholderState(new_guardian(setup.group, setup.election_id, setup.ceremony_id, setup.h_b,
                                                setup.n, setup.t, index), None)
        stage = state.guardian.stage
        newer = [r for r in paths.sent_rounds() if r >= stage]
        if newer:
            raise RefusalError(tr(
                f"el estado sellado es anterior al mensaje de la ronda {newer[-1]} que este custodio ya envió "
                f"({paths.sent(newer[-1])}): se restauró una copia vieja del estado; el estado solo avanza",
                f"the sealed state predates the round {newer[-1]} message this key-holder already sent "
                f"({paths.sent(newer[-1])}): an old copy of the state was restored; the state only moves forward"))
        rnd = _target_round(exchange, stage, expected_round)
        if rnd == stage - 1 and stage >= 1:
            return _reemit(setup, exchange, index, paths, state, rnd, out)
        if rnd == CONCLUDE:
            return _conclude(setup, exchange, index, paths, signer, sealer, state, out)
        return _send_round(setup, exchange, index, paths, signer, sealer, state, rnd, out)


def _target_round(exchange: Path, stage: int, expected: int | None) -> int:
    rnd = expected
    if rnd is None:
        rnd = stage if stage == STAGE_NEW or bundle_path(exchange, stage - 1).exists() else stage - 1
    if rnd > CONCLUDE or rnd < 0:
        raise RefusalError(tr(f"no hay ronda {rnd}: las rondas van de 0 a {NUM_ROUNDS - 1}, y luego la conclusión "
                              f"({CONCLUDE})",
                              f"there is no round {rnd}: rounds go from 0 to {NUM_ROUNDS - 1}, then the conclusion "
                              f"({CONCLUDE})"))
    if rnd > stage:
        raise RefusalError(tr(f"este custodio aún no ha hecho la {round_name(stage)}: hágala primero",
                              f"this key-holder has not done {round_name(stage)} yet: do it first"))
    if rnd < stage - 1:
        raise RefusalError(tr(f"la {round_name(rnd)} ya pasó y el estado solo avanza; este custodio va en la "
                              f"{round_name(stage)}",
                              f"{round_name(rnd)} is over and the state only moves forward; this key-holder is at "
                              f"{round_name(stage)}"))
    return rnd


def _answered(setup: CeremonySetup, exchange: Path, rnd: int) -> tuple[tuple[Envelope, ...], bytes]:
    if rnd == 0:
        return (), setup.h_b
    return read_bundle(setup, exchange, rnd - 1)


def _reemit(setup: CeremonySetup, exchange: Path, index: int, paths: PrivatePaths, state: KeyholderState,
            rnd: int, out: Out) -> StepResult:
    """The round was already sent: write the very same envelope again, if it answers the same bundle."""
    last = state.last
    assert last is not None and last.round == rnd
    out.step(tr(f"La {round_name(rnd)} ya fue enviada por este custodio", f"{round_name(rnd)} was already sent by this "
                "key-holder"))
    _, answered = _answered(setup, exchange, rnd)
    if answered != last.answered:
        raise RefusalError(tr(
            f"este custodio ya firmó su mensaje de la {round_name(rnd)} a partir de otro paquete (huella "
            f"{fingerprint(last.answered)}; el de la carpeta es {fingerprint(answered)}): no se firma un segundo "
            "mensaje distinto para la misma ronda. El coordinador muestra paquetes distintos: avise a todos",
            f"this key-holder already signed its {round_name(rnd)} message from another bundle (fingerprint "
            f"{fingerprint(last.answered)}; the folder's is {fingerprint(answered)}): a second, different message "
            "is not signed for the same round. The coordinator shows different bundles: tell everyone"))
    _deliver(exchange, paths, index, last.envelope, out)
    out.ok(tr("se volvió a escribir exactamente el mismo sobre firmado",
              "exactly the same signed envelope was written again"))
    return StepResult(rnd, last.envelope, reemitted=True)


def _deliver(exchange: Path, paths: PrivatePaths, index: int, envelope: Envelope, out: Out) -> None:
    text = json_text(envelope.to_json())
    paths.create()
    if not paths.sent(envelope.round).exists():
        write_text_atomic(paths.sent(envelope.round), text, mode=0o600)
    round_dir(exchange, envelope.round).mkdir(exist_ok=True)
    dest = envelope_path(exchange, envelope.round, index)
    write_text_atomic(dest, text)
    out.step(tr(f"Sobre firmado escrito en {dest}", f"Signed envelope written to {dest}"))
    out.info(tr("entréguelo al coordinador (copie la carpeta ronda-* a su memoria USB)",
                "hand it to the coordinator (copy the ronda-* folder to their USB stick)"))


def _send_round(setup: CeremonySetup, exchange: Path, index: int, paths: PrivatePaths, signer: Signer,
                sealer: Sealer, state: KeyholderState, rnd: int, out: Out) -> StepResult:
    out.step(tr(f"Esta es la {round_name(rnd)}", f"This is {round_name(rnd)}"))
    if state.last is not None and rnd >= 2:
        # The bundle this key-holder answered last time must not have changed since.
        _, again = _answered(setup, exchange, state.last.round)
        if again != state.last.answered:
            raise RefusalError(tr(
                f"el paquete de la ronda {state.last.round - 1} cambió desde que este custodio lo respondió: el "
                "coordinador muestra paquetes distintos; avise a todos (la ceremonia debe abortarse)",
                f"the round {state.last.round - 1} bundle changed since this key-holder answered it: the coordinator "
                "shows different bundles; tell everyone (the ceremony must abort)"))
    bundle, answered = _answered(setup, exchange, rnd)
    if rnd >= 1:
        out.aloud(tr(f"huella del paquete de la ronda {rnd - 1} recibido (todos deben oír la misma)",
                     f"fingerprint of the round {rnd - 1} bundle received (everyone must hear the same)"),
                  fingerprint(answered))
    dest = envelope_path(exchange, rnd, index)
    if dest.exists():
        raise RefusalError(tr(f"{dest} ya existe, pero el estado de este custodio no registra haberlo enviado: no se "
                              "sobrescribe (¿una copia vieja del estado?)",
                              f"{dest} already exists, but this key-holder's state does not record sending it: it is "
                              "not overwritten (an old copy of the state?)"))
    new_guardian_state, envelope = advance(state.guardian, signer, bundle)  # CeremonyAbortError propagates
    _describe_round(setup, index, rnd, envelope, new_guardian_state, out)
    new_state = KeyholderState(new_guardian_state, SentRecord(rnd, answered, envelope))
    paths.create()
    save_state(setup, index, paths, sealer, new_state)  # first: a crash after this re-emits the same envelope
    out.ok(tr(f"estado sellado con el token en {paths.state}", f"state sealed with the token in {paths.state}"))
    _deliver(exchange, paths, index, envelope, out)
    return StepResult(rnd, envelope)


def _describe_round(setup: CeremonySetup, index: int, rnd: int, envelope: Envelope, state: GuardianState,
                    out: Out) -> None:
    body = envelope.body
    if rnd == 0:
        out.ok(tr("se anuncian la llave de firma del token y una llave de transporte X25519 nueva (sellada)",
                  "the token's signing key and a new X25519 transport key (sealed) are announced"))
    elif rnd == 1:
        out.ok(tr(f"las llaves de firma de los {setup.n} custodios recibidas:",
                  f"the signing keys of the {setup.n} key-holders received:"))
        for j, key in enumerate(state.signing_keys, start=1):
            out.info(f"{custodian(j)}: {signing_key_fingerprint(key)}")
        out.ok(tr(f"se publican {setup.t} compromisos del polinomio secreto con sus pruebas",
                  f"{setup.t} commitments to the secret polynomial are published with their proofs"))
    elif rnd == 2:
        out.ok(tr(f"se envía a cada uno de los otros {setup.n - 1} custodios su parte firmada y cifrada; el "
                  "polinomio secreto se borra del estado",
                  f"each of the other {setup.n - 1} key-holders is sent their signed, encrypted share; the secret "
                  "polynomial is erased from the state"))
    elif rnd == 3:
        accepted = body.get("accepted", [])
        out.ok(tr(f"partes recibidas y comprobadas contra los compromisos; aceptadas las de: {accepted}",
                  f"shares received and checked against the commitments; accepted from: {accepted}"))
        for complaint in body.get("complaints", []):
            out.warn(tr(f"QUEJA contra el {custodian(int(complaint['dealer']))} ({complaint['kind']}): la prueba va "
                        "en el sobre; la ceremonia se abortará",
                        f"COMPLAINT against {custodian(int(complaint['dealer']))} ({complaint['kind']}): the proof "
                        "goes in the envelope; the ceremony will abort"))
        out.ok(tr("la llave de transporte X25519 se borra del estado",
                  "the X25519 transport key is erased from the state"))
    elif rnd == 4:
        own = int(body["guardian_key"], 16)
        out.aloud(tr("huella de su llave de verificación K_i", "fingerprint of your verification key K_i"),
                  verification_key_fingerprint(setup.group, index, own))
        out.aloud(tr("huella de la llave pública de la elección K", "fingerprint of the election public key K"),
                  joint_key_fingerprint(setup.group, int(body["joint_key"], 16)))


def _conclude(setup: CeremonySetup, exchange: Path, index: int, paths: PrivatePaths, signer: Signer,
              sealer: Sealer, state: KeyholderState, out: Out) -> StepResult:
    out.step(tr("Conclusión: se comprueba la transcripción completa y se sella la parte secreta",
                "Conclusion: the whole transcript is checked and the secret share is sealed"))
    bundle, answered = read_bundle(setup, exchange, NUM_ROUNDS - 1)
    out.aloud(tr(f"huella del paquete de la ronda {NUM_ROUNDS - 1} recibido",
                 f"fingerprint of the round {NUM_ROUNDS - 1} bundle received"), fingerprint(answered))
    final, outcome = conclude(state.guardian, bundle)
    rounds = _check_transcript(setup, exchange, outcome, answered)
    share = final.secret_share
    if share is None:  # pragma: no cover - the library keeps it from finalize on
        raise CeremonyError(tr("el estado no tiene la parte secreta", "the state has no secret share"))
    if setup.group.g_pow(share) != outcome.guardian_keys[index - 1]:  # pragma: no cover - finalize checked it
        raise CeremonyError(tr("la parte secreta no corresponde a K_i", "the secret share does not match K_i"))
    sealed = share_file(setup.election_id, setup.ceremony_id, index, paths.share)
    plain = share.to_bytes(32, "big")
    if sealed.exists():
        if sealed.read(sealer) != plain:
            raise RefusalError(tr(f"{paths.share} ya existe con otra parte: no se sobrescribe",
                                  f"{paths.share} already exists with another share: it is not overwritten"))
    else:
        sealed.write(sealer, plain)
    del plain, share
    paths.state.unlink()
    out.ok(tr(f"parte secreta sellada con el token en {paths.share}; el estado de trabajo se borró",
              f"secret share sealed with the token in {paths.share}; the working state was deleted"))
    confirmation = sealed_confirmation(setup, index, rounds, outcome, signer)
    write_json_new(paths.sealed_confirmation, confirmation.to_json())
    target = envelope_path(exchange, CONCLUDE, index)
    target.parent.mkdir(exist_ok=True)
    write_json_new(target, confirmation.to_json())
    out.ok(tr(f"confirmación firmada con el token en {target}: entréguela al coordinador (así consta que los "
              f"{setup.n} custodios sellaron su parte)",
              f"confirmation signed with the token in {target}: hand it to the coordinator (so that it is on record "
              f"that the {setup.n} key-holders sealed their share)"))
    print_summary(setup, outcome, rounds, out, own=index)
    return StepResult(CONCLUDE, None, outcome)


TYPE_SHARE_SEALED = "share-sealed"


def sealed_confirmation(setup: CeremonySetup, index: int, rounds: Sequence[Sequence[Envelope]],
                        outcome: CeremonyOutcome, signer: Signer) -> Envelope:
    """A key-holder's statement, signed by their token, that they checked the transcript and sealed
    the share matching K_i: round 5 of the ceremony, chained to the transcript hash."""
    return seal(signer, type=TYPE_SHARE_SEALED, election_id=setup.election_id, ceremony_id=setup.ceremony_id,
                round=CONCLUDE, sender=guardian_name(index),
                previous=transcript_hash(setup.election_id, setup.ceremony_id, rounds),
                body={"guardian": index,
                      "verification_key": element_to_hex(setup.group, outcome.guardian_keys[index - 1])})


def check_sealed_confirmations(setup: CeremonySetup, exchange: Path, outcome: CeremonyOutcome,
                               rounds: Sequence[Sequence[Envelope]], out: Out) -> list[int]:
    """Which key-holders confirmed, with their token's signature, that they sealed their share."""
    t_hash = transcript_hash(setup.election_id, setup.ceremony_id, rounds)
    confirmed, problems = [], []
    for i in range(1, setup.n + 1):
        path = envelope_path(exchange, CONCLUDE, i)
        if not path.exists():
            continue
        try:
            env = Envelope.from_json(read_json(path), path.name)
            env.verify(outcome.signing_keys[i - 1])
        except SiveiError as exc:
            problems.append(f"{path}: {exc}")
            continue
        expected = (TYPE_SHARE_SEALED, setup.election_id, setup.ceremony_id, CONCLUDE, guardian_name(i), t_hash,
                    {"guardian": i, "verification_key": element_to_hex(setup.group, outcome.guardian_keys[i - 1])})
        if (env.type, env.election_id, env.ceremony_id, env.round, env.sender, env.previous, dict(env.body)) \
                != expected:
            problems.append(tr(f"{path}: no es la confirmación de sellado del {custodian(i)} para esta transcripción",
                               f"{path}: not {custodian(i)}'s sealing confirmation for this transcript"))
            continue
        confirmed.append(i)
    if problems:
        raise RefusalError(tr("confirmaciones de sellado no válidas:\n  ", "invalid sealing confirmations:\n  ")
                           + "\n  ".join(problems))
    missing = [i for i in range(1, setup.n + 1) if i not in confirmed]
    if not missing:
        out.ok(tr(f"los {setup.n} custodios confirmaron, con la firma de su token, que comprobaron la transcripción "
                  "y sellaron su parte",
                  f"all {setup.n} key-holders confirmed, signed by their token, that they checked the transcript and "
                  "sealed their share"))
    elif confirmed:
        where = f"{round_dir(exchange, CONCLUDE)}/custodio-<i>.json"
        out.warn(tr(f"sellado confirmado por: {', '.join(map(str, confirmed))}; falta la confirmación de: "
                    f"{', '.join(custodian(i) for i in missing)} (copie {where} de su memoria)",
                    f"sealing confirmed by: {', '.join(map(str, confirmed))}; confirmation missing from: "
                    f"{', '.join(custodian(i) for i in missing)} (copy {where} from their stick)"))
    return confirmed


def _check_transcript(setup: CeremonySetup, exchange: Path, outcome: CeremonyOutcome,
                      last_bundle: bytes) -> tuple[tuple[Envelope, ...], ...]:
    """The coordinator's transcript must verify and be the chain this key-holder saw."""
    path = exchange / TRANSCRIPT_FILE
    try:
        ceremony_id, n, t, rounds = parse_ceremony(read_json(path))
    except SiveiError as exc:
        raise RefusalError(tr(f"{path}: {exc}", f"{path}: {exc}")) from None
    if (ceremony_id, n, t) != (setup.ceremony_id, setup.n, setup.t):
        raise RefusalError(tr(f"{path}: es de otra ceremonia o con otros n, t",
                              f"{path}: another ceremony or other n, t"))
    checked = verify_transcript(setup.group, setup.election_id, ceremony_id, setup.h_b, n, t, rounds)
    if len(rounds) != NUM_ROUNDS or bundle_hash(setup.election_id, ceremony_id, NUM_ROUNDS - 1,
                                                 rounds[-1]) != last_bundle or checked != outcome:
        raise RefusalError(tr(f"{path}: la transcripción no es la cadena de paquetes que vio este custodio",
                              f"{path}: the transcript is not the chain of bundles this key-holder saw"))
    return rounds


def print_summary(setup: CeremonySetup, outcome: CeremonyOutcome, rounds: Sequence[Sequence[Envelope]], out: Out,
                  *, own: int | None = None) -> list[str]:
    lines = summary_lines(setup, outcome, rounds)
    out.step(tr("Resultado de la ceremonia:", "Outcome of the ceremony:"))
    out.aloud(tr("llave pública de la elección K", "election public key K"),
              joint_key_fingerprint(setup.group, outcome.joint_key))
    out.aloud(tr("transcripción de la ceremonia", "ceremony transcript"),
              fingerprint(transcript_hash(setup.election_id, setup.ceremony_id, rounds)))
    if own is not None:
        out.aloud(tr(f"su llave de verificación K_{own}", f"your verification key K_{own}"),
                  verification_key_fingerprint(setup.group, own, outcome.guardian_keys[own - 1]))
    for line in lines[3:]:
        out.info(line)
    return lines


def summary_lines(setup: CeremonySetup, outcome: CeremonyOutcome, rounds: Sequence[Sequence[Envelope]]) -> list[str]:
    t_hash = transcript_hash(setup.election_id, setup.ceremony_id, rounds)
    lines = [
        tr(f"Ceremonia «{setup.ceremony_id}» de la elección «{setup.election_id}»: {setup.t} de {setup.n} custodios",
           f"Ceremony «{setup.ceremony_id}» of election «{setup.election_id}»: {setup.t} of {setup.n} key-holders"),
        tr(f"Llave pública de la elección K: {joint_key_fingerprint(setup.group, outcome.joint_key)}",
           f"Election public key K: {joint_key_fingerprint(setup.group, outcome.joint_key)}"),
        tr(f"Transcripción: {fingerprint(t_hash)}  ({t_hash.hex()})",
           f"Transcript: {fingerprint(t_hash)}  ({t_hash.hex()})"),
    ]
    for j in range(1, setup.n + 1):
        k_j = verification_key_fingerprint(setup.group, j, outcome.guardian_keys[j - 1])
        s_j = signing_key_fingerprint(outcome.signing_keys[j - 1])
        who = f"{setup.names[j - 1]} ({custodian(j)})" if setup.names else custodian(j)
        lines.append(tr(f"{who}: K_{j} {k_j}; llave de firma {s_j}", f"{who}: K_{j} {k_j}; signing key {s_j}"))
    return lines


# -- the coordinator ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectResult:
    round: int
    bundle: tuple[Envelope, ...]
    outcome: CeremonyOutcome | None = None


def _read_round_envelopes(setup: CeremonySetup, exchange: Path, rnd: int) -> list[Envelope]:
    """Every key-holder's envelope of the round, with file-level checks that refuse (nothing is
    accepted, the ceremony does not abort: the right file can still be brought)."""
    missing, problems, envelopes = [], [], []
    for i in range(1, setup.n + 1):
        path = envelope_path(exchange, rnd, i)
        if not path.exists():
            missing.append(i)
            continue
        try:
            env = Envelope.from_json(read_json(path), path.name)
        except SiveiError as exc:
            problems.append(f"{path}: {exc}")
            continue
        expected = (setup.election_id, setup.ceremony_id, rnd, ROUND_TYPES[rnd], guardian_name(i))
        found = (env.election_id, env.ceremony_id, env.round, env.type, env.sender)
        if found != expected:
            problems.append(tr(
                f"{path}: es un sobre de la elección «{env.election_id}», ceremonia «{env.ceremony_id}», ronda "
                f"{env.round} («{env.type}»), de «{env.sender}»; se esperaba «{setup.election_id}», "
                f"«{setup.ceremony_id}», ronda {rnd} («{ROUND_TYPES[rnd]}»), de «{guardian_name(i)}»",
                f"{path}: is an envelope of election «{env.election_id}», ceremony «{env.ceremony_id}», round "
                f"{env.round} («{env.type}»), from «{env.sender}»; expected «{setup.election_id}», "
                f"«{setup.ceremony_id}», round {rnd} («{ROUND_TYPES[rnd]}»), from «{guardian_name(i)}»"))
            continue
        envelopes.append(env)
    if missing:
        problems.append(tr(f"faltan los sobres de la {round_name(rnd)} de: "
                           + ", ".join(custodian(i) for i in missing)
                           + f" (se esperan en {round_dir(exchange, rnd)}/custodio-<i>.json)",
                           f"the {round_name(rnd)} envelopes are missing from: "
                           + ", ".join(custodian(i) for i in missing)
                           + f" (expected in {round_dir(exchange, rnd)}/custodio-<i>.json)"))
    if problems:
        raise RefusalError(tr("no se recoge la ronda; nada cambió:\n  ",
                              "the round is not collected; nothing changed:\n  ")
                           + "\n  ".join(problems))
    return envelopes


def coordinator_collect(exchange: Path, *, allow_test_group: bool, out: Out) -> CollectResult:
    """Check and bundle the next round (or, after the last one, write the transcript again if needed)."""
    out.title(tr("CEREMONIA DE LLAVES — COORDINADOR", "KEY CEREMONY — COORDINATOR"))
    constancia_banner(out)
    setup = load_setup(exchange, allow_test_group=allow_test_group)
    _print_setup(setup, out)
    bundles = read_bundles(setup, exchange)
    try:
        coordinator = Coordinator.resume(setup.group, setup.election_id, setup.ceremony_id, setup.h_b, setup.n,
                                         setup.t, bundles)
    except CeremonyError as exc:
        raise RefusalError(tr(f"los paquetes ya escritos en {exchange} no verifican: {exc}",
                              f"the bundles already written in {exchange} do not verify: {exc}")) from None
    rnd = coordinator.round
    if rnd < NUM_ROUNDS:
        out.step(tr(f"Se recoge la {round_name(rnd)}", f"Collecting {round_name(rnd)}"))
        envelopes = _read_round_envelopes(setup, exchange, rnd)
        out.ok(tr(f"{len(envelopes)} sobres leídos de {round_dir(exchange, rnd)}",
                  f"{len(envelopes)} envelopes read from {round_dir(exchange, rnd)}"))
        bundle = coordinator.collect(envelopes)  # CeremonyAbortError propagates: nothing is written
        out.ok(tr("firmas, encadenamiento, formatos y pruebas comprobados", "signatures, chaining, formats and proofs "
                  "checked"))
        write_json_new(bundle_path(exchange, rnd), bundle_json(setup, rnd, bundle))
        out.step(tr(f"Paquete escrito en {bundle_path(exchange, rnd)}",
                    f"Bundle written to {bundle_path(exchange, rnd)}"))
        out.aloud(tr(f"huella del paquete de la ronda {rnd} (cada custodio oirá la misma)",
                     f"fingerprint of the round {rnd} bundle (each key-holder will hear the same)"),
                  fingerprint(bundle_hash(setup.election_id, setup.ceremony_id, rnd, bundle)))
    else:
        bundle = coordinator.bundles[-1]
        out.step(tr("Las cinco rondas ya están recogidas", "The five rounds are already collected"))
    outcome = None
    if coordinator.round == NUM_ROUNDS:
        outcome = coordinator.outcome()
        rounds = coordinator.bundles
        write_json_new(exchange / TRANSCRIPT_FILE, ceremony_json(setup.ceremony_id, setup.n, setup.t, rounds))
        out.step(tr(f"Transcripción escrita en {exchange / TRANSCRIPT_FILE}",
                    f"Transcript written to {exchange / TRANSCRIPT_FILE}"))
        lines = summary_lines(setup, outcome, rounds)
        text = "\n".join(lines) + "\n"
        if not (exchange / SUMMARY_FILE).exists():
            write_text_atomic(exchange / SUMMARY_FILE, text)
        print_summary(setup, outcome, rounds, out)
        out.step(tr("Conclusión: confirmaciones de sellado de los custodios", "Conclusion: the key-holders' sealing "
                    "confirmations"))
        if len(check_sealed_confirmations(setup, exchange, outcome, rounds, out)) < setup.n:
            out.info(tr("cada custodio ejecuta su último paso (conclusión), que sella su parte y firma su "
                        "confirmación; luego vuelva a ejecutar «llaves recoger»",
                        "each key-holder runs their last step (conclusion), which seals their share and signs their "
                        "confirmation; then run «keys collect» again"))
    else:
        out.info(tr(f"cada custodio ejecuta ahora la {round_name(coordinator.round)}",
                    f"each key-holder now runs {round_name(coordinator.round)}"))
    return CollectResult(rnd, bundle, outcome)


def print_abort(exc: CeremonyAbortError, out: Out, ceremony_id: str | None = None) -> None:
    """What everyone must hear when the ceremony aborts: the culprit, the round, and what next."""
    out.blank()
    out.raw(tr("*** CEREMONIA ABORTADA ***", "*** CEREMONY ABORTED ***"))
    for p in exc.problems:
        out.raw(f"  - {p.message}")
    who = custodian(exc.guardian) if exc.guardian is not None else tr("no se puede señalar a un custodio",
                                                                      "no single key-holder can be named")
    out.raw(tr(f"Responsable: {who}; ronda {exc.round} ({ROUND_TYPES[exc.round] if exc.round < NUM_ROUNDS else '?'})",
               f"Culprit: {who}; round {exc.round} ({ROUND_TYPES[exc.round] if exc.round < NUM_ROUNDS else '?'})"))
    new_id = f"{ceremony_id}-bis" if ceremony_id else tr("un identificador nuevo", "a new id")
    out.raw(tr("No se escribió nada. Esta ceremonia no se repara: TODOS deben realizar una ceremonia nueva con un "
               f"identificador de ceremonia nuevo (p. ej. «{new_id}»), con polinomios y llaves de transporte nuevos. "
               "Conserve los archivos de esta ronda como evidencia: cualquiera reproduce este veredicto.",
               "Nothing was written. This ceremony is not repaired: EVERYONE must run a new ceremony under a new "
               f"ceremony id (e.g. «{new_id}»), with new polynomials and transport keys. Keep this round's files as "
               "evidence: anyone can reproduce this verdict."))


# -- the transcript, for the later ceremonies ---------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """A verified key-ceremony transcript with its election (from an exchange folder or a record)."""

    group: Group
    manifest: Manifest
    ceremony_id: str
    n: int
    t: int
    h_b: bytes
    rounds: tuple[tuple[Envelope, ...], ...]
    outcome: CeremonyOutcome

    @property
    def election_id(self) -> str:
        return self.manifest.election_id

    @property
    def hash(self) -> bytes:
        return transcript_hash(self.election_id, self.ceremony_id, self.rounds)

    def signing_key(self, index: int) -> bytes:
        return self.outcome.signing_keys[index - 1]


def load_transcript(directory: Path, *, allow_test_group: bool) -> Transcript:
    """Read and verify ``ceremony.json`` with its manifest and group, from a ceremony exchange folder
    (``ceremonia.json``) or an election record (``parameters.json``)."""
    check_folder_election(directory)
    if (directory / SETUP_FILE).exists():
        setup = load_setup(directory, allow_test_group=allow_test_group)
        group, manifest = setup.group, setup.manifest
    elif (directory / layout.PARAMETERS).exists():
        try:
            group = load_group(layout.RecordReader(directory), allow_test_group=allow_test_group)
            manifest = parse_manifest_bytes((directory / layout.MANIFEST).read_bytes(), layout.MANIFEST)
        except OSError as exc:
            raise RefusalError(tr(f"no se puede leer {directory / layout.MANIFEST}: {exc.strerror}",
                                  f"cannot read {directory / layout.MANIFEST}: {exc.strerror}")) from None
    else:
        raise RefusalError(tr(f"{directory}: no es una carpeta de ceremonia ({SETUP_FILE}) ni un registro "
                              f"({layout.PARAMETERS})",
                              f"{directory}: neither a ceremony folder ({SETUP_FILE}) nor a record "
                              f"({layout.PARAMETERS})"))
    path = directory / TRANSCRIPT_FILE
    try:
        ceremony_id, n, t, rounds = parse_ceremony(read_json(path))
    except SiveiError as exc:
        raise RefusalError(f"{path}: {exc}") from None
    h_b = base_hash(group, manifest.hash)
    outcome = verify_transcript(group, manifest.election_id, ceremony_id, h_b, n, t, rounds)
    return Transcript(group, manifest, ceremony_id, n, t, h_b, rounds, outcome)

