"""``sivei simulacro``: a complete mock election in one process, on embedded defaults.

Sample manifest → credentials issued by the credential authority → a t-of-n key ceremony exchanging
the real signed messages → synthetic voters (some challenge a ballot and check it on their side, then
cast a fresh one) → close → aggregation → decryption by t guardians with the others absent →
results → the election record → the offline verifier. With a vote script the drill reconciles the
decrypted counts against the script and fails loudly on any difference, as INE's drills do; without
one it reconciles against the choices it made itself.
"""

from __future__ import annotations

import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sivei.ballot.board import EVENT_CLOSE, Board, BoardEvent, BoardSink
from sivei.ballot.challenge import ChallengedBallot, check_challenge
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import (
    CredentialList,
    Delivery,
    IssuedCredentials,
    RollEntry,
    credential_public_key,
    issue_credentials,
    synthetic_roll,
)
from sivei.ballot.encrypt import encrypt_ballot, new_ballot_nonce
from sivei.ballot.manifest import Manifest, sample_manifest
from sivei.crypto.batch import DEFAULT_BITS
from sivei.crypto.context import base_hash, election_hash
from sivei.crypto.dkg import CeremonyOutcome, run_ceremony, verify_transcript
from sivei.crypto.ecdsa import Signer, SoftwareSigner
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.envelope import Envelope
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import Group
from sivei.custody import (
    SEALED_SHARE_PURPOSE,
    SealContext,
    Sealer,
    SoftHsmEnvironment,
    SoftwareSealer,
    TokenSession,
    softhsm_available,
)
from sivei.election_kind import derived_manifest, kind_of
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import IntegrityConstancia, installation_constancia
from sivei.record import layout
from sivei.record.acts import SignedAct, closing_act, opening_act
from sivei.record.board_check import default_jobs
from sivei.record.board_file import BoardFileWriter
from sivei.record.writer import add_decryption, write_closed_record
from sivei.synthetic_voters import VoterTask, cast_all
from sivei.tally.aggregate import EncryptedTally, TallyAccumulator, aggregate
from sivei.tally.decrypt import (
    TallyDecryption,
    combine_tally,
    decrypt_tally_share,
    guardian_name,
    parse_guardian_decryption,
)
from sivei.tally.results import ElectionResults, compute_results
from sivei.vote_script import read_vote_script

Say = Callable[[str], None]
Counts = dict[tuple[str, str], list[int]]


class DrillError(SiveiError):
    """The drill's results differ from what was expected, or its input is invalid."""


@dataclass(frozen=True)
class DrillOptions:
    group: Group
    voters: int = 200
    guardians: int = 5
    threshold: int = 3
    absent: tuple[int, ...] | None = None  # guardians absent at the count; default: the last n−t
    challenges: int = 3
    vote_script: Path | None = None
    manifest: Manifest | None = None
    output: Path = Path("simulacro-record")
    seed: int | None = None
    tokens: bool = True
    """Keep the guardians' and the credential authority's keys in SoftHSM2 tokens (PKCS#11)."""
    lote_bits: int = DEFAULT_BITS
    """λ of the batched proof checks at casting (64 is allowed in drills, protocol §8.5)."""
    jobs: int | None = None
    """Processes that encrypt and check ballots; None: every core."""


@dataclass(frozen=True)
class DrillGuardians:
    """Every guardian's signing key and sealed share: in a drill one process plays every role. Each
    share is sealed by its guardian's sealing key (in the guardian's token by default) right after
    the ceremony and unsealed only to decrypt."""

    n: int
    t: int
    ceremony_id: str
    rounds: tuple[tuple[Envelope, ...], ...]
    signers: tuple[Signer, ...]
    sealers: tuple[Sealer, ...]
    sealed_shares: tuple[bytes, ...]
    guardian_keys: tuple[int, ...]
    election_id: str

    def seal_context(self, i: int) -> SealContext:
        return SealContext(SEALED_SHARE_PURPOSE, self.election_id, self.ceremony_id, guardian_name(i),
                           "election-secret-share")

    def secret_share(self, i: int) -> int:
        plain = self.sealers[i - 1].unseal(self.sealed_shares[i - 1], self.seal_context(i).associated_data())
        return int.from_bytes(plain, "big")


class DrillKeys:
    """The drill's key custody: one SoftHSM2 token per guardian and one for the credential
    authority, in a private temporary folder removed at the end — or software keys (``tokens=False``)."""

    def __init__(self, n: int, *, tokens: bool) -> None:
        self._folder: str | None = None
        self._env: SoftHsmEnvironment | None = None
        self._sessions: list[TokenSession] = []
        self.signers: list[Signer] = []
        self.sealers: list[Sealer] = []
        if not tokens:
            self.signers = [SoftwareSigner() for _ in range(n + 1)]
            self.sealers = [SoftwareSealer() for _ in range(n + 1)]
            return
        if not softhsm_available():
            raise DrillError(tr("SoftHSM2 no está instalado: ejecute «make setup-system» o use --sin-tokens",
                                "SoftHSM2 is not installed: run «make setup-system» or use --no-tokens"))
        self._folder = tempfile.mkdtemp(prefix="sivei-simulacro-tokens-")
        self._env = SoftHsmEnvironment(self._folder)
        module = self._env.module()
        pin, so_pin = secrets.token_hex(8), secrets.token_hex(8)  # the drill's own, never shown
        for label in ["autoridad-credenciales", *(f"custodio-{i}" for i in range(1, n + 1))]:
            module.initialize_token(label, so_pin, pin)
            session = module.open_token(label, pin)
            self._sessions.append(session)
            signer, sealer = session.generate_keys()
            self.signers.append(signer)
            self.sealers.append(sealer)

    @property
    def authority(self) -> Signer:
        return self.signers[0]

    @property
    def guardian_signers(self) -> list[Signer]:
        return self.signers[1:]

    @property
    def guardian_sealers(self) -> list[Sealer]:
        return self.sealers[1:]

    def close(self) -> None:
        for session in self._sessions:
            session.close()
        self._sessions = []
        if self._env is not None:
            self._env.deactivate()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


@dataclass(frozen=True)
class DrillOutcome:
    """What a drill leaves. With tokens, the guardians' keys are closed when ``run_drill`` returns."""

    record: Path
    results: ElectionResults
    ctx: ElectionContext
    head: bytes
    noted_heads: tuple[bytes, ...]
    guardians: DrillGuardians
    credential_list: CredentialList
    deliveries: tuple[Delivery, ...]
    present: tuple[int, ...]
    opening_act: SignedAct
    constancia: IntegrityConstancia


def _random_choices(manifest: Manifest, roll: Sequence[RollEntry], rng: random.Random
                    ) -> list[dict[str, str]]:
    out = []
    for voter in roll:
        style = manifest.style_for_entity(voter.entity)
        choice = {}
        for _, contest in manifest.style_contests(style.id):
            # Weighted towards the first options so results look like an election, not noise.
            weights = [len(contest.options) - i for i in range(len(contest.options))]
            choice[contest.id] = rng.choices(contest.options, weights=weights)[0].id
        out.append(choice)
    return out


def _expected_counts(manifest: Manifest, roll: Sequence[RollEntry],
                     choices: Sequence[Mapping[str, str]]) -> Counts:
    counts: Counts = {}
    for entity in manifest.entities:
        for _, contest in manifest.style_contests(entity.ballot_style):
            counts[(entity.code, contest.id)] = [0] * len(contest.options)
    for voter, choice in zip(roll, choices, strict=True):
        style = manifest.style_for_entity(voter.entity)
        for _, contest in manifest.style_contests(style.id):
            option = choice.get(contest.id)
            oi = contest.option_index(option) if option else contest.null_option_index
            counts[(voter.entity, contest.id)][oi] += 1
    return counts


# -- the drill ------------------------------------------------------------------------------------


def _progress(say: Say, label: str, done: int, total: int, start: float) -> None:
    elapsed = time.monotonic() - start
    eta = elapsed / done * (total - done) if done else 0.0
    say(tr(f"  {label}: {done}/{total} ({elapsed:.0f} s, faltan ~{eta:.0f} s)",
           f"  {label}: {done}/{total} ({elapsed:.0f} s, ~{eta:.0f} s left)"))


def run_drill(options: DrillOptions, say: Say = print) -> DrillOutcome:
    group = options.group
    rng = random.Random(options.seed)  # noqa: S311 - simulated voters' choices, not a secret
    base = options.manifest or sample_manifest()
    n, t = options.guardians, options.threshold
    if not 1 <= t <= n:
        raise DrillError(tr("se necesita 1 ≤ umbral ≤ custodios", "need 1 ≤ threshold ≤ guardians"))
    absent = options.absent if options.absent is not None else tuple(range(t + 1, n + 1))
    present = [i for i in range(1, n + 1) if i not in absent]
    if len(present) < t:
        raise DrillError(tr(f"con {len(absent)} custodios ausentes quedan {len(present)}; se necesitan {t}",
                            f"with {len(absent)} guardians absent {len(present)} remain; {t} are needed"))
    # A drill's record must never pass for the real election's: its id and name say "simulacro".
    manifest = base if kind_of(base.election_id) == "drill" else derived_manifest(base, "drill")

    # 1. The roll and the voters' choices.
    if options.vote_script is not None:
        scripted = read_vote_script(options.vote_script, manifest).ballots()
        roll: list[RollEntry] = []
        choices: list[dict[str, str]] = []
        for code, ballots in scripted.items():
            for k, scripted_choice in enumerate(ballots):
                roll.append(RollEntry(f"{code}-{k + 1:06d}", code, f"Votante {code} {k + 1}",
                                      f"votante.{code.lower()}.{k + 1}@example.org"))
                choices.append(scripted_choice)
    else:
        roll = synthetic_roll(manifest, options.voters, seed=options.seed or 0)
        choices = _random_choices(manifest, roll, rng)
    expected = _expected_counts(manifest, roll, choices)
    say(tr(f"Simulacro: «{manifest.name}» ({manifest.election_id}), grupo {group.name}",
           f"Drill: «{manifest.name}» ({manifest.election_id}), group {group.name}"))
    opens, closes = manifest.local_window()
    say(tr(f"  ventana de votación: {opens} → {closes}", f"  voting window: {opens} → {closes}"))

    keys = DrillKeys(n, tokens=options.tokens)
    try:
        return _run_drill(options, manifest, roll, choices, expected, keys, present, absent, say)
    finally:
        keys.close()


def _run_drill(options: DrillOptions, manifest: Manifest, roll: list[RollEntry], choices: list[dict[str, str]],
               expected: Counts, keys: DrillKeys, present: list[int], absent: tuple[int, ...],
               say: Say) -> DrillOutcome:
    group, n, t = options.group, options.guardians, options.threshold
    custody = tr("tokens SoftHSM2 (PKCS#11)", "SoftHSM2 tokens (PKCS#11)") if options.tokens else tr(
        "llaves en software", "software keys")
    say(tr(f"  custodia de llaves: {custody}", f"  key custody: {custody}"))

    # 2. The credential authority issues credentials and signs the public list.
    issued = issue_credentials(manifest, roll, keys.authority, retain=True)
    say(tr(f"1. Autoridad de credenciales: {len(issued.deliveries)} credenciales emitidas y lista firmada",
           f"1. Credential authority: {len(issued.deliveries)} credentials issued and list signed"))

    # 3. Key ceremony.
    started = time.monotonic()
    ctx, guardians, outcome = in_process_ceremony(group, manifest, keys, n, t, issued.credential_list)
    ceremony_id, signers = guardians.ceremony_id, keys.guardian_signers
    say(tr(f"2. Ceremonia de llaves {t} de {n}: llave conjunta generada en {time.monotonic() - started:.1f} s",
           f"2. Key ceremony {t} of {n}: joint key generated in {time.monotonic() - started:.1f} s"))

    # The opening act: the server's receipt key, this installation's integrity constancia, and
    # every value the voting rests on, signed by all n guardians.
    receipt_signer = SoftwareSigner()
    constancia = installation_constancia()
    opening = opening_act(ctx, credential_list=issued.credential_list, ceremony_id=ceremony_id, n=n, t=t,
                          rounds=guardians.rounds, signing_keys=outcome.signing_keys,
                          receipt_key=receipt_signer.public_key, integrity_digest=constancia.digest)
    for i, signer in enumerate(signers, start=1):
        opening = opening.signed_by(signer, guardian_name(i))
    say(tr(f"   acta de inicio firmada por los {n} custodios: {fingerprint(opening.content_hash)}",
           f"   opening act signed by the {n} guardians: {fingerprint(opening.content_hash)}"))
    election_fp = fingerprint(ctx.election_hash)
    say(tr(f"   huella de la elección: {election_fp}", f"   election fingerprint: {election_fp}"))

    # 4. Voting: the board streamed to a file next to the record, the tally accumulated on the way.
    jobs = options.jobs or default_jobs()
    say(tr(f"3. Votación: {len(roll)} votantes ({jobs} procesos)", f"3. Voting: {len(roll)} voters ({jobs} processes)"))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{options.output.name}.tablero-", dir=options.output.parent))
    try:
        return _vote_and_count(options, ctx, manifest, roll, choices, expected, issued, guardians, opening,
                               constancia, present, absent, staging, jobs, say)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _vote_and_count(options: DrillOptions, ctx: ElectionContext, manifest: Manifest, roll: list[RollEntry],
                    choices: list[dict[str, str]], expected: Counts, issued: IssuedCredentials,
                    guardians: DrillGuardians, opening: SignedAct, constancia: IntegrityConstancia,
                    present: list[int], absent: tuple[int, ...], staging: Path, jobs: int, say: Say) -> DrillOutcome:
    board_path = staging / layout.board_name(layout.VERSION)
    accumulated = TallyAccumulator(ctx)
    board, noted_heads = run_voting(ctx, issued.credential_list, issued.deliveries, roll, choices,
                                    challenges=options.challenges, say=say, lote_bits=options.lote_bits, jobs=jobs,
                                    sink=BoardFileWriter(board_path, ctx), tally=accumulated)
    close = board.last
    assert close is not None
    say(tr(f"4. Cierre: {len(roll)} boletas; cabeza del tablero {fingerprint(close.head)}",
           f"4. Close: {len(roll)} ballots; board head {fingerprint(close.head)}"))

    # 5. Tally and decryption with the absent guardians missing.
    started = time.monotonic()
    counted = count_tally(ctx, accumulated.result(), guardians, present)
    say(tr(f"5. Apertura de la bóveda: custodios presentes {present}, ausentes {list(absent)} "
           f"({time.monotonic() - started:.1f} s)",
           f"5. Vault opening: guardians present {present}, absent {list(absent)} "
           f"({time.monotonic() - started:.1f} s)"))

    # 6. Reconcile.
    counts = counted.counts
    differences = [
        (key, oi, expected[key][oi], counts[key][oi])
        for key in expected for oi in range(len(expected[key])) if expected[key][oi] != counts[key][oi]
    ]
    if differences:
        lines = "\n".join(
            f"  {e}/{c}/{manifest.contest(c).options[oi].id}: "
            + tr(f"esperado {want}, obtenido {got}", f"expected {want}, got {got}")
            for (e, c), oi, want, got in differences)
        raise DrillError(tr(f"¡LOS RESULTADOS NO COINCIDEN CON LO ESPERADO!\n{lines}",
                            f"THE RESULTS DO NOT MATCH WHAT WAS EXPECTED!\n{lines}"))
    say(tr("6. Conciliación: los resultados coinciden exactamente con los votos emitidos",
           "6. Reconciliation: the results match the votes cast exactly"))

    # 7. The record.
    path = write_record(options.output, ctx, guardians, issued.credential_list, BoardOnDisk(board_path, close),
                        counted, opening, constancia)
    say(tr(f"7. Registro de la elección escrito en {path}", f"7. Election record written to {path}"))
    if noted_heads:
        say(tr(f"   cabeza anotada a mitad de la votación: {fingerprint(noted_heads[0])}",
               f"   head noted halfway through voting: {fingerprint(noted_heads[0])}"))
    return DrillOutcome(path, counted.results, ctx, close.head, tuple(noted_heads), guardians,
                        issued.credential_list, issued.deliveries, tuple(present), opening, constancia)


def in_process_ceremony(group: Group, manifest: Manifest, keys: DrillKeys, n: int, t: int,
                        credential_list: CredentialList
                        ) -> tuple[ElectionContext, DrillGuardians, CeremonyOutcome]:
    """Run the t-of-n key ceremony in this process with ``keys``' signers, exchanging the real signed
    messages, and seal each guardian's share with that guardian's sealing key at once."""
    h_b = base_hash(group, manifest.hash)
    ceremony_id = f"{manifest.election_id}-llaves-1"
    run = run_ceremony(group, manifest.election_id, ceremony_id, h_b, n, t, keys.guardian_signers)
    h_e = election_hash(group, h_b, run.outcome.joint_key, run.outcome.commitments, credential_list.hash)
    ctx = ElectionContext(manifest, ElectionKey(group, run.outcome.joint_key), h_e)
    sealed = []
    for i, share in enumerate(run.secret_shares, start=1):
        context = SealContext(SEALED_SHARE_PURPOSE, manifest.election_id, ceremony_id, guardian_name(i),
                              "election-secret-share")
        sealed.append(keys.guardian_sealers[i - 1].seal(share.to_bytes(32, "big"), context.associated_data()))
    guardians = DrillGuardians(n, t, ceremony_id, run.rounds, tuple(keys.guardian_signers),
                               tuple(keys.guardian_sealers), tuple(sealed), run.outcome.guardian_keys,
                               manifest.election_id)
    return ctx, guardians, run.outcome


def context_from_ceremony(group: Group, manifest: Manifest, ceremony_id: str, n: int, t: int,
                          rounds: Sequence[Sequence[Envelope]], credential_list: CredentialList
                          ) -> tuple[ElectionContext, CeremonyOutcome]:
    """The election context once a key ceremony (run anywhere) and the credential list exist; the
    transcript is verified as an auditor would."""
    h_b = base_hash(group, manifest.hash)
    outcome = verify_transcript(group, manifest.election_id, ceremony_id, h_b, n, t, rounds)
    h_e = election_hash(group, h_b, outcome.joint_key, outcome.commitments, credential_list.hash)
    return ElectionContext(manifest, ElectionKey(group, outcome.joint_key), h_e), outcome


def run_voting(ctx: ElectionContext, credential_list: CredentialList, deliveries: Sequence[Delivery],
               roll: Sequence[RollEntry], choices: Sequence[Mapping[str, str]], *, challenges: int = 0,
               say: Say = print, incident: bool = True, lote_bits: int = DEFAULT_BITS, jobs: int = 1,
               sink: BoardSink | None = None, tally: TallyAccumulator | None = None) -> tuple[Board, list[bytes]]:
    """Synthetic voters: the first ``challenges`` challenge a ballot and check it on their side, then
    every voter casts. An operator incident is logged halfway (its head is returned as an observer's
    note). The board is closed at the end.

    Ballots are encrypted and checked as received on ``jobs`` processes, in batches
    (``sivei.synthetic_voters``); the board applies its rules in roll order. With a ``sink`` the board
    is streamed to it (bounded memory) and ``tally``, if given, accumulates every ballot admitted."""
    manifest = ctx.manifest
    board = Board(ctx, credential_list.styles, lote_bits=lote_bits, sink=sink)
    try:
        by_voter = {d.voter_id: d for d in deliveries}
        started = time.monotonic()
        step = max(1, len(roll) // 10)
        noted_heads: list[bytes] = []
        tasks = []
        for k, (voter, choice) in enumerate(zip(roll, choices, strict=True)):
            credential = by_voter[voter.voter_id].credential
            style = manifest.style_for_entity(voter.entity).id
            if k < challenges:
                public = credential_public_key(manifest.election_id, credential)
                nonce = new_ballot_nonce()
                audited = encrypt_ballot(ctx, style, choice, public, nonce)
                problems = check_challenge(ctx, ChallengedBallot(audited, choice, nonce))
                if problems:
                    raise DrillError(tr(f"la boleta impugnada no se verificó: {problems[0]}",
                                        f"the challenged ballot did not verify: {problems[0]}"))
                say(tr(f"   boleta impugnada {audited.tracking_code(ctx)} verificada del lado del votante",
                       f"   challenged ballot {audited.tracking_code(ctx)} checked on the voter's side"))
            tasks.append(VoterTask(style, choice, credential))
        for k, cast in enumerate(cast_all(ctx, credential_list.styles, tasks, bits=lote_bits, jobs=jobs)):
            board.cast_checked(cast.ballot, cast.problems, cast.ballot_hash)
            if tally is not None:
                tally.add(cast.ballot)
            if k == len(roll) // 2 and incident:
                board.operator_event("incident", {"description": tr(
                    "simulacro: incidente de prueba registrado a mitad de la votación",
                    "drill: test incident logged halfway through voting")})
            if k == len(roll) // 2:
                noted_heads.append(board.head)
            if (k + 1) % step == 0 or k + 1 == len(roll):
                _progress(say, tr("boletas depositadas", "ballots cast"), k + 1, len(roll), started)
        board.close()
    except BaseException:
        board.release()
        raise
    return board, noted_heads


def draft_closing_act(ctx: ElectionContext, events: Sequence[BoardEvent] | BoardOnDisk,
                      tally: EncryptedTally | None = None) -> tuple[SignedAct, EncryptedTally]:
    """The unsigned closing act of a closed board, and the encrypted tally it names (aggregated from
    the board's events unless the caller already has it: a board on disk needs it)."""
    close_event = events.close if isinstance(events, BoardOnDisk) else events[-1]
    if close_event.type != EVENT_CLOSE:
        raise DrillError(tr("el tablero no está cerrado", "the board is not closed"))
    if tally is None:
        assert not isinstance(events, BoardOnDisk)
        tally = aggregate(ctx, (e.ballot for e in events if e.ballot is not None))
    act = closing_act(ctx, closed_at=ctx.manifest.to_json()["voting_closes"], close_event=close_event,
                      late=int((close_event.payload or {}).get("late", 0)), encrypted_tally_hash=tally.hash(ctx))
    return act, tally


@dataclass(frozen=True)
class BoardOnDisk:
    """A closed board already written to a board file of the current record format (a drill's)."""

    path: Path
    close: BoardEvent


@dataclass(frozen=True)
class CountedBoard:
    """The vault opening's products: the encrypted tally, the guardians' signed shares, the
    combination and the results."""

    tally: EncryptedTally
    decryption_id: str
    envelopes: tuple[Envelope, ...]
    decryption: TallyDecryption
    counts: Counts
    results: ElectionResults


def count_board(ctx: ElectionContext, events: Sequence[BoardEvent], guardians: DrillGuardians,
                present: Sequence[int]) -> CountedBoard:
    """Aggregate the board's ballots, have the ``present`` guardians decrypt, combine, decode."""
    return count_tally(ctx, aggregate(ctx, (e.ballot for e in events if e.ballot is not None)), guardians, present)


def count_tally(ctx: ElectionContext, tally: EncryptedTally, guardians: DrillGuardians,
                present: Sequence[int]) -> CountedBoard:
    """Have the ``present`` guardians decrypt the encrypted tally, combine, decode."""
    manifest = ctx.manifest
    decryption_id = f"{manifest.election_id}-boveda-1"
    envelopes = tuple(
        decrypt_tally_share(ctx, tally, guardian=i, secret_share=guardians.secret_share(i),
                            guardian_key=guardians.guardian_keys[i - 1], signer=guardians.signers[i - 1],
                            ceremony_id=decryption_id)
        for i in present
    )
    decryptions = [parse_guardian_decryption(ctx, env, env.sender) for env in envelopes]
    combined = combine_tally(ctx, tally, decryptions, n=guardians.n, t=guardians.t)
    counts = {(entry.entity, manifest.contests[entry.contest_index].id): list(row)
              for entry, row in zip(tally.entries, combined.counts, strict=True)}
    return CountedBoard(tally, decryption_id, envelopes, combined, counts, compute_results(manifest, counts))


def write_record(output: Path, ctx: ElectionContext, guardians: DrillGuardians,
                 credential_list: CredentialList, events: Sequence[BoardEvent] | BoardOnDisk, counted: CountedBoard,
                 opening: SignedAct, constancia: IntegrityConstancia) -> Path:
    """Write the complete record: the closed record (its closing act drawn up from the closed board
    and signed by the guardians present at the count), then the decryption and the results. A board
    on disk is moved into the record."""
    closing: SignedAct | None = None
    last = events.close if isinstance(events, BoardOnDisk) else events[-1] if events else None
    if last is not None and last.type == EVENT_CLOSE:
        closing, _ = draft_closing_act(ctx, events, counted.tally)
        for i in counted.decryption.present:
            closing = closing.signed_by(guardians.signers[i - 1], guardian_name(i))
    path = write_closed_record(output, ctx, ceremony_id=guardians.ceremony_id, n=guardians.n, t=guardians.t,
                               rounds=guardians.rounds, credential_list=credential_list,
                               events=events.path if isinstance(events, BoardOnDisk) else events,
                               tally=counted.tally, opening=opening, closing=closing, constancia=constancia)
    add_decryption(path, manifest=ctx.manifest, decryption_id=counted.decryption_id, decryption=counted.decryption,
                   envelopes=counted.envelopes, results=counted.results)
    return path


def default_say(message: str) -> None:
    print(message, file=sys.stdout, flush=True)
