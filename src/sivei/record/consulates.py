"""The verifier's stage for in-person voting at consulates (docs/protocol.md §20, checks §18.1).

It runs when the manifest has ``in_person`` (counting policy ``one-vote-per-person``) and reads, under
``consulados/`` in the record:

* ``consulados.json`` — the credential authority's declaration of each consulate's credentials
  (its registered in-person voters' and its pool), which the signed list binds (``in_person_hash``);
* ``bitacora-<C>.json`` — each consulate's log of voters served, signed with the key the manifest
  names for it.

and checks, from the record alone, that nobody voted for people who were not there:

* ``consulates.declaration`` — the declaration is the one the list signs and agrees with the list and
  the manifest (pool sizes, styles, no credential twice, every credential of the unregistered style in
  a pool);
* ``consulates.log`` — every consulate's log is there, of this election (``previous`` = H_E), signed
  by the consulate's key, one line per person, within the cap;
* ``consulates.one-person`` — no unregistered voter (keyed hash of their voter-ID number) is in two
  consulates' logs;
* ``consulates.reconciliation`` — at each consulate, pool credentials used on the board ≤ unregistered
  voters served, and ballots of its registered voters' credentials ≤ registered voters served.

The stage is a module of its own so that the board's format can change around it (it reads format 1's
``board.jsonl`` and format 2's ``board.bin`` alike): it needs only the set of in-person credentials
that cast a ballot, which the board stage collects on its way (bounded by the declaration's size, not
the board's).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass

from sivei.ballot.context import ElectionContext
from sivei.ballot.in_person import (
    CHANNEL_CONSULATES,
    CHANNEL_INTERNET,
    CHANNEL_MINIMUM,
    DECLARATION_FILE,
    ConsulateLog,
    InPersonDeclaration,
    check_log,
    log_file,
)
from sivei.crypto.envelope import Envelope
from sivei.errors import EncodingError, SiveiError
from sivei.i18n import tr
from sivei.record import layout
from sivei.record.report import VerificationReport
from sivei.tally.aggregate import EncryptedTally
from sivei.tally.channels import CHANNELS_FILE, channel_cells, parse_cells, split_tally
from sivei.tally.decrypt import (
    GuardianDecryption,
    failing_shares,
    parse_guardian_decryption,
    require_share_members,
    stated_weights_match,
)
from sivei.tally.results import ElectionResults

RECORD_DIR = "consulados"
DECLARATION = f"{RECORD_DIR}/{DECLARATION_FILE}"


def log_path(code: str) -> str:
    return f"{RECORD_DIR}/{log_file(code)}"


@dataclass(frozen=True)
class ConsulateCount:
    """What the record shows of one consulate (the verifier's report lists it)."""

    code: str
    cap: int
    pool_used: int
    unregistered_served: int | None  # None: no usable log
    registered_ballots: int
    registered_served: int | None


def in_person_credentials(reader: layout.RecordReader, credential_body: Mapping[str, object]) -> frozenset[bytes]:
    """The credentials the declaration says vote in person — read before the board, so that the
    aggregation keeps their channel apart — when it is the declaration the list signs (else empty:
    the stage reports why)."""
    try:
        declaration = InPersonDeclaration.from_json(reader.read_json(DECLARATION), DECLARATION)
    except SiveiError:
        return frozenset()
    if declaration.hash.hex() != credential_body.get("in_person_hash"):
        return frozenset()
    return frozenset(declaration.channels())


def check_consulates(reader: layout.RecordReader, ctx: ElectionContext, credential_body: Mapping[str, object],
                     styles: Mapping[bytes, str], cast: Container[bytes], report: VerificationReport
                     ) -> list[ConsulateCount]:
    """The stage: problems go to ``report``; returns each consulate's counts (for facts and tests)."""
    manifest = ctx.manifest
    ip = manifest.in_person
    if ip is None:
        return []
    report.add_fact("one_vote_per_person", tr(
        "un voto por persona en todos los canales (internet y consulados)",
        "one vote per person across channels (internet and consulates)"),
        tr(f"{len(ip.consulates)} consulados; sus bitácoras firmadas se concilian con las boletas del tablero",
           f"{len(ip.consulates)} consulates; their signed logs are reconciled with the board's ballots"))
    declaration = _declaration(reader, ctx, credential_body, styles, report)
    logs: dict[str, ConsulateLog] = {}
    for c in ip.consulates:
        log = _log(reader, ctx, c.code, report)
        if log is not None:
            logs[c.code] = log
    _one_person(logs, report)
    if declaration is None:
        return []
    out = []
    for c in ip.consulates:
        pool_used = sum(1 for k in declaration.pool_of(c.code) if k in cast)
        registered_ballots = sum(1 for k in declaration.registered_of(c.code) if k in cast)
        log = logs.get(c.code)
        where = log_path(c.code)
        if log is not None and pool_used > len(log.unregistered):
            report.add("consulates.reconciliation", where, tr(
                f"consulado {c.code}: se usaron {pool_used} credenciales de su fondo y su bitácora firmada registra "
                f"{len(log.unregistered)} personas sin registro atendidas: {pool_used - len(log.unregistered)} "
                "boletas sin una persona atendida",
                f"consulate {c.code}: {pool_used} credentials of its pool were used and its signed log records "
                f"{len(log.unregistered)} unregistered voters served: {pool_used - len(log.unregistered)} ballots "
                "without a voter served"))
        if log is not None and registered_ballots > log.registered_served:
            report.add("consulates.reconciliation", where, tr(
                f"consulado {c.code}: {registered_ballots} boletas de credenciales de sus votantes registrados y su "
                f"bitácora firmada registra {log.registered_served} votantes registrados atendidos",
                f"consulate {c.code}: {registered_ballots} ballots of its registered voters' credentials and its "
                f"signed log records {log.registered_served} registered voters served"))
        count = ConsulateCount(c.code, c.unregistered_cap, pool_used, len(log.unregistered) if log else None,
                               registered_ballots, log.registered_served if log else None)
        out.append(count)
        served = "?" if count.unregistered_served is None else count.unregistered_served
        registered = "?" if count.registered_served is None else count.registered_served
        report.add_fact(f"consulate_{c.code}", tr(f"consulado {c.code}", f"consulate {c.code}"), tr(
            f"credenciales del fondo usadas {pool_used}, personas sin registro atendidas {served} "
            f"(tope {c.unregistered_cap}); boletas de votantes registrados {registered_ballots}, "
            f"registrados atendidos {registered}",
            f"pool credentials used {pool_used}, unregistered voters served {served} (cap {c.unregistered_cap}); "
            f"ballots of registered voters {registered_ballots}, registered voters served {registered}"))
    return out


def _declaration(reader: layout.RecordReader, ctx: ElectionContext, body: Mapping[str, object],
                 styles: Mapping[bytes, str], report: VerificationReport) -> InPersonDeclaration | None:
    try:
        declaration = InPersonDeclaration.from_json(reader.read_json(DECLARATION), DECLARATION)
    except SiveiError as exc:
        report.add("consulates.declaration", DECLARATION, str(exc))
        return None
    problems = declaration.problems(ctx.manifest, styles, body.get("in_person_hash"))
    for message in problems:
        report.add("consulates.declaration", DECLARATION, message)
    return None if problems else declaration


def _log(reader: layout.RecordReader, ctx: ElectionContext, code: str, report: VerificationReport
         ) -> ConsulateLog | None:
    where = log_path(code)
    if not reader.exists(where):
        report.add("consulates.log", where, tr(f"falta la bitácora firmada del consulado {code}",
                                               f"the signed log of consulate {code} is missing"))
        return None
    what = tr("bitácora", "log")
    try:
        envelope = Envelope.from_json(reader.read_json(where), what)
    except SiveiError as exc:
        report.add("consulates.log", where, str(exc))
        return None
    log, problems = check_log(ctx.manifest, ctx.election_hash, code, envelope, what)
    for message in problems:
        report.add("consulates.log", where, message)
    return log


def _one_person(logs: Mapping[str, ConsulateLog], report: VerificationReport) -> None:
    first: dict[bytes, str] = {}
    for code, log in logs.items():
        for h in log.unregistered:
            if h in first:
                report.add("consulates.one-person", log_path(code), tr(
                    f"la persona sin registro {h.hex()[:16]}… ya fue atendida en el consulado {first[h]}: "
                    "votó dos veces",
                    f"unregistered voter {h.hex()[:16]}… was already served at consulate {first[h]}: they voted "
                    "twice"))
            else:
                first[h] = code


# -- results per channel (§20.5) ------------------------------------------------------------------------


def channels_path() -> str:
    return f"{RECORD_DIR}/{CHANNELS_FILE}"


def check_channels(reader: layout.RecordReader, ctx: ElectionContext, combined: EncryptedTally,
                   consulados: EncryptedTally | None, guardian_keys: Sequence[int], signing_keys: Sequence[bytes],
                   threshold: tuple[int, int], report: VerificationReport, *, bits: int, closed: bool) -> None:
    """``consulados/canales.json`` against the board: ballots per channel and cell, the 30-ballot rule
    (a cell split against it is a secrecy breach), the split aggregates, their decryption and counts,
    and internet = combined − consulados."""
    if consulados is None:
        return
    cells = channel_cells(combined, consulados)
    split_cells = [c for c in cells if c.split]
    report.add_fact("channel_cells", tr(
        f"celdas (entidad × elección) con al menos {CHANNEL_MINIMUM} boletas en cada canal",
        f"cells (entity × contest) with at least {CHANNEL_MINIMUM} ballots in each channel"),
        f"{len(split_cells)} / {len(cells)}")
    path = channels_path()
    if not reader.exists(path):
        if not closed:
            report.notes.append(tr("no se publicaron resultados por canal (consulados/canales.json): solo los "
                                   "resultados combinados", "no results per channel were published "
                                   "(consulados/canales.json): only the combined results"))
        return
    fail = _failer(report, path)
    try:
        data = reader.read_json(path)
        if not isinstance(data, dict) or not {"minimum", "cells"} <= set(data) <= {"minimum", "cells", "split"}:
            raise EncodingError(tr("campos no válidos", "invalid fields"))
        stated = parse_cells(data["cells"])
    except SiveiError as exc:
        fail(path, str(exc))
        return
    if data["minimum"] != CHANNEL_MINIMUM:
        fail(path, tr(f"«minimum» es {data['minimum']!r}; la regla es {CHANNEL_MINIMUM}",
                      f"«minimum» is {data['minimum']!r}; the rule is {CHANNEL_MINIMUM}"))
    if stated != cells:
        fail(f"{path}: cells", tr("las boletas por canal no son las del tablero y la declaración de consulados",
                                  "the ballots per channel are not those of the board and the consulates' declaration"))
    if "split" not in data:
        return
    split = data["split"]
    if closed:
        fail(f"{path}: split", tr("un registro cerrado no lleva resultados por canal",
                                  "a closed record carries no results per channel"))
        return
    try:
        if not isinstance(split, dict) or set(split) != {"encrypted", "decryption", "results"}:
            raise EncodingError(tr("campos no válidos", "invalid fields"))
        published = EncryptedTally.from_json(ctx.group, split["encrypted"])
    except SiveiError as exc:
        fail(f"{path}: split", str(exc))
        return
    allowed = {(c.entity, c.contest_index) for c in split_cells}
    for entry in published.entries:
        if (entry.entity, entry.contest_index) not in allowed:
            contest = ctx.manifest.contests[entry.contest_index].id if entry.contest_index < len(
                ctx.manifest.contests) else entry.contest_index
            fail(f"{path}: split.encrypted {entry.entity}/{contest}", tr(
                f"se descifró por canal una celda con menos de {CHANNEL_MINIMUM} boletas en algún canal: revela "
                "cómo votaron esas personas (el secreto del voto)",
                f"a cell with fewer than {CHANNEL_MINIMUM} ballots in some channel was decrypted per channel: it "
                "reveals how those voters voted (ballot secrecy)"))
    expected = split_tally(consulados, cells)
    if published != expected:
        fail(f"{path}: split.encrypted", tr(
            "los agregados por canal no son los productos de las boletas presenciales de las celdas permitidas",
            "the channel aggregates are not the products of the in-person ballots of the allowed cells"))
        return
    decrypted = _split_decryption(ctx, expected, split["decryption"], guardian_keys, signing_keys, threshold,
                                  fail, f"{path}: split.decryption", bits)
    if decrypted is None:
        return
    _split_results(reader, ctx, expected, decrypted, split["results"], fail, f"{path}: split.results")


def _failer(report: VerificationReport, path: str) -> Callable[[str, str], None]:
    def fail(where: str, message: str) -> None:
        report.add("consulates.channels", where, message)
    return fail


def _split_decryption(ctx: ElectionContext, split: EncryptedTally, obj: object, guardian_keys: Sequence[int],
                      signing_keys: Sequence[bytes], threshold: tuple[int, int], fail: Callable[[str, str], None],
                      where: str, bits: int) -> dict[tuple[int, int], int] | None:
    """The split's decryption, as ``decryption.json`` is checked: g^m per (entry, option), or None."""
    n, t = threshold
    try:
        if not isinstance(obj, dict) or set(obj) != {"ceremony_id", "present", "weights", "envelopes"}:
            raise EncodingError(tr("campos no válidos", "invalid fields"))
        envelopes = [Envelope.from_json(e, f"envelopes[{i}]") for i, e in enumerate(obj["envelopes"])]
        decryptions = [parse_guardian_decryption(ctx, env, f"envelopes[{i}]", membership=False)
                       for i, env in enumerate(envelopes)]
        require_share_members(ctx, [(d, f"envelopes[{i}]") for i, d in enumerate(decryptions)], bits=bits)
    except SiveiError as exc:
        fail(where, str(exc))
        return None
    t_hash = split.hash(ctx)
    candidates: list[GuardianDecryption] = []
    for d in decryptions:
        who = tr(f"{where}, custodio {d.guardian}", f"{where}, guardian {d.guardian}")
        if not 1 <= d.guardian <= n:
            fail(who, tr("custodio fuera de 1..n", "guardian outside 1..n"))
            continue
        try:
            d.envelope.verify(signing_keys[d.guardian - 1])
        except SiveiError as exc:
            fail(who, str(exc))
            continue
        if (d.envelope.election_id != ctx.manifest.election_id or d.envelope.ceremony_id != obj["ceremony_id"]
                or d.tally_hash != t_hash or d.envelope.previous != t_hash or len(d.shares) != len(split.entries)
                or any(len(r) != len(e.ciphertexts) for r, e in zip(d.shares, split.entries, strict=True))):
            fail(who, tr("las partes no descifran los agregados por canal de esta elección",
                         "the shares do not decrypt this election's channel aggregates"))
            continue
        candidates.append(d)
    failures = failing_shares(ctx, split, [(d, guardian_keys[d.guardian - 1]) for d in candidates], bits=bits)
    valid = [d for d, failed in zip(candidates, failures, strict=True) if not failed]
    for d, failed in zip(candidates, failures, strict=True):
        if failed:
            fail(tr(f"{where}, custodio {d.guardian}", f"{where}, guardian {d.guardian}"),
                 tr("una prueba de descifrado parcial no es válida", "a partial decryption proof is invalid"))
    present = sorted(d.guardian for d in valid)
    if present != sorted(set(present)) or obj["present"] != present or len(present) < t:
        fail(where, tr(f"custodios presentes {obj['present']}, con partes válidas {present} (se necesitan {t})",
                       f"guardians present {obj['present']}, with valid shares {present} ({t} needed)"))
        return None
    weights, weights_match = stated_weights_match(ctx, obj["weights"], present)
    if not weights_match:
        fail(where, tr("los pesos de Lagrange no son los del conjunto presente",
                       "the Lagrange weights are not those of the present set"))
    group = ctx.group
    ordered = sorted(valid, key=lambda d: d.guardian)
    return {(ei, oi): group.div(ct.beta, group.mul(*(group.pow(d.shares[ei][oi].share, w)
                                                     for d, w in zip(ordered, weights, strict=True))))
            for ei, entry in enumerate(split.entries) for oi, ct in enumerate(entry.ciphertexts)}


def _split_results(reader: layout.RecordReader, ctx: ElectionContext, split: EncryptedTally,
                   decrypted: Mapping[tuple[int, int], int], obj: object, fail: Callable[[str, str], None],
                   where: str) -> None:
    """Each split cell's consulados counts decrypt its aggregate; internet = combined − consulados."""
    try:
        combined = ElectionResults.from_json(ctx.manifest, reader.read_json(layout.RESULTS))
    except SiveiError as exc:
        fail(where, str(exc))
        return
    if not isinstance(obj, list) or len(obj) != len(split.entries):
        fail(where, tr("se esperaba un resultado por celda separada", "expected one result per split cell"))
        return
    group = ctx.group
    for ei, (entry, r) in enumerate(zip(split.entries, obj, strict=True)):
        contest = ctx.manifest.contests[entry.contest_index]
        cell = f"{where} {entry.entity}/{contest.id}"
        option_keys = {"id", CHANNEL_CONSULATES, CHANNEL_INTERNET}
        options = r.get("options") if isinstance(r, dict) else None
        if (not isinstance(r, dict) or set(r) != {"entity", "contest_id", "options"} or r["entity"] != entry.entity
                or r["contest_id"] != contest.id or not isinstance(options, list)
                or [o.get("id") if isinstance(o, dict) else None for o in options] != [o.id for o in contest.options]
                or not all(set(o) == option_keys and all(isinstance(o[k], int) and not isinstance(o[k], bool)
                                                         for k in (CHANNEL_CONSULATES, CHANNEL_INTERNET))
                           for o in options)):
            fail(cell, tr("resultado mal formado o de otra celda (se espera cada opción de la elección, en orden, "
                          "con sus conteos por canal)",
                          "malformed result, or another cell's (expected each option of the contest, in order, with "
                          "its counts per channel)"))
            continue
        total = combined.result(entry.entity, contest.id).option_counts
        for oi, (option, named) in enumerate(zip(contest.options, options, strict=True)):
            m, rest = named[CHANNEL_CONSULATES], named[CHANNEL_INTERNET]
            if not 0 <= m <= entry.ballots or group.g_pow(m) != decrypted[(ei, oi)]:
                fail(f"{cell}/{option.id}", tr(f"el conteo de consulados {m} no es el descifrado del agregado",
                                               f"the consulados count {m} is not the decryption of the aggregate"))
            if rest != total[oi] - m or rest < 0:
                fail(f"{cell}/{option.id}", tr(f"el conteo de internet {rest} no es el combinado menos el de "
                                               "consulados",
                                               f"the internet count {rest} is not the combined minus the consulados"))
