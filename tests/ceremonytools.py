"""Helpers for the ceremony tests: a "world" of folders (the coordinator's exchange folder, each
key-holder's USB stick and private folder) sharing one SoftHSM2 token folder, key-holders' commands run
as separate ``sivei`` processes, the coordinator's in this process, snapshots of the world between
rounds, and a check that a refused command changed nothing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import (
    CredentialList,
    Delivery,
    IssuedCredentials,
    RollEntry,
    issue_credentials,
    synthetic_roll,
)
from sivei.ballot.manifest import Manifest, sample_manifest
from sivei.cli.main import main
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.group import TEST_GROUP
from sivei.custody import PIN_ENV, SO_PIN_ENV, SoftHsmEnvironment, find_softhsm_module
from sivei.drill import context_from_ceremony, run_voting
from sivei.i18n import set_language
from sivei.integrity import IntegrityConstancia, installation_constancia
from sivei.record import layout
from sivei.record.acts import SignedAct
from sivei.record.ceremony_io import parse_ceremony
from sivei.record.writer import add_files, write_closed_record
from sivei.tally.aggregate import aggregate
from sivei_ceremonies.vault import channels_share_path

SIVEI = str(Path(sys.executable).with_name("sivei"))
N, T = 5, 3
SO_PIN = "so-pin-de-la-ceremonia"
CEREMONY_ID = "prueba-llaves-1"


def pin(i: int) -> str:
    return f"pin-del-custodio-{i}"


def token(i: int) -> str:
    return f"custodio-{i}"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def ok(self) -> Result:
        assert self.code == 0, f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"
        return self


def tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` with its SHA-256 (and every folder): to show nothing changed."""
    out: dict[str, str] = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


class World:
    """One ceremony's folders. ``root`` holds ``coordinador/`` and ``custodio-<i>/{usb,privado}``; each
    key-holder's token lives in their own SoftHSM2 folder, as on separate laptops."""

    def __init__(self, root: Path, hsm: dict[int, SoftHsmEnvironment]) -> None:
        self.root = root
        self.hsm = hsm  # each key-holder's own SoftHSM2 token folder (their laptop's token)
        root.mkdir(parents=True, exist_ok=True)

    # folders --------------------------------------------------------------------------------------

    @property
    def exchange(self) -> Path:
        """The coordinator's exchange folder."""
        return self.root / "coordinador" / "intercambio"

    def usb(self, i: int) -> Path:
        return self.root / f"custodio-{i}" / "usb"

    def private(self, i: int) -> Path:
        return self.root / f"custodio-{i}" / "privado"

    def to_keyholders(self, which: Sequence[int] = range(1, N + 1)) -> None:
        """The coordinator's folder copied to each key-holder's USB stick."""
        for i in which:
            shutil.copytree(self.exchange, self.usb(i), dirs_exist_ok=True)

    def to_coordinator(self, rnd: int, which: Sequence[int] = range(1, N + 1)) -> None:
        """Each key-holder's envelope of the round copied to the coordinator's folder."""
        (self.exchange / f"ronda-{rnd}").mkdir(exist_ok=True)
        for i in which:
            name = f"ronda-{rnd}/custodio-{i}.json"
            shutil.copy2(self.usb(i) / name, self.exchange / name)

    def snapshot(self, store: Path, name: str) -> None:
        shutil.copytree(self.root, store / name)

    # running commands -----------------------------------------------------------------------------

    def environ(self, keyholder: int, pin_value: str | None) -> dict[str, str]:
        env = self.hsm[keyholder].environ()
        env.pop(PIN_ENV, None)
        env.pop(SO_PIN_ENV, None)
        if pin_value is not None:
            env[PIN_ENV] = pin_value
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def spawn(self, keyholder: int, args: Sequence[str], *, pin_value: str | None = None,
              so_pin: str | None = None) -> subprocess.Popen[str]:
        """A key-holder's command in its own process (the PKCS#11 module is opened there)."""
        env = self.environ(keyholder, pin_value)
        if so_pin is not None:
            env[SO_PIN_ENV] = so_pin
        return subprocess.Popen([SIVEI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=self.root)

    def keyholders(self, calls: Sequence[tuple[int, Sequence[str]]], *, so_pin: str | None = None
                   ) -> dict[int, Result]:
        """Run key-holders' commands in parallel, one process each, with each one's PIN."""
        procs = {i: self.spawn(i, args, pin_value=pin(i), so_pin=so_pin) for i, args in calls}
        results = {}
        for i, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            results[i] = Result(proc.returncode, out, err)
        return results

    def cli(self, args: Sequence[str], *, keyholder: int | None = None, pin_value: str | None = None) -> Result:
        """A command in this process: the coordinator's, or (refusal tests) one on ``keyholder``'s laptop."""
        out, err = io.StringIO(), io.StringIO()
        with self.pin_env(keyholder, pin_value), redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
            finally:
                set_language("es")
        return Result(code, out.getvalue(), err.getvalue())

    @contextlib.contextmanager
    def pin_env(self, keyholder: int | None, pin_value: str | None = None) -> Iterator[None]:
        """This process as ``keyholder``'s laptop: their token folder and PIN (nothing for the coordinator)."""
        saved = {k: os.environ.get(k) for k in (PIN_ENV, SO_PIN_ENV)}
        os.environ.pop(SO_PIN_ENV, None)
        if pin_value is None:
            os.environ.pop(PIN_ENV, None)
        else:
            os.environ[PIN_ENV] = pin_value
        try:
            with self.hsm[keyholder] if keyholder is not None else contextlib.nullcontext():
                yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    # key-holders' steps ----------------------------------------------------------------------------

    def step_args(self, i: int, rnd: int | None = None) -> list[str]:
        args = ["ceremonia", "llaves", "paso", "--intercambio", str(self.usb(i)), "--carpeta", str(self.private(i)),
                "--custodio", str(i), "--token", token(i), "--test-group"]
        if rnd is not None:
            args += ["--ronda", str(rnd)]
        return args

    def collect(self) -> Result:
        return self.cli(["ceremonia", "llaves", "recoger", "--intercambio", str(self.exchange), "--test-group"])


# -- the session's ceremony ----------------------------------------------------------------------------


MANIFEST = Path(__file__).resolve().parents[1] / "src" / "sivei" / "data" / "sample-manifest.json"
VOTERS = 12


@dataclass
class Ceremony:
    """Everything the session's ceremony produced."""

    world: World
    snapshots: Path
    timings: dict[str, float] = field(default_factory=dict)
    steps: dict[tuple[int, int], Result] = field(default_factory=dict)  # (round, key-holder) → output
    manifest: Manifest = field(default_factory=sample_manifest)
    credentials: Path = Path()
    credential_list: CredentialList | None = None
    expected: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    roll: list[RollEntry] = field(default_factory=list)  # who voted (pool card users included), in order
    choices: list[dict[str, str]] = field(default_factory=list)  # what each of them chose
    receipt_key: Path = Path()
    constancia: Path = Path()
    opening_draft: Path = Path()
    opening_signatures: dict[int, Path] = field(default_factory=dict)
    opening: Path = Path()
    closing_draft: Path = Path()
    closing_signatures: dict[int, Path] = field(default_factory=dict)
    closed: Path = Path()
    exports: dict[str, Path] = field(default_factory=dict)
    shares: dict[tuple[str, int], Path] = field(default_factory=dict)
    full: dict[str, Path] = field(default_factory=dict)
    combined: dict[str, Result] = field(default_factory=dict)

    def snapshot(self, name: str) -> None:
        self.world.snapshot(self.snapshots, name)

    def restore(self, name: str, dest: Path) -> World:
        """A copy of the world as it was at snapshot ``name`` (same tokens)."""
        import shutil

        shutil.copytree(self.snapshots / name, dest)
        return World(dest, self.world.hsm)


def _require_softhsm() -> None:
    if find_softhsm_module() is None:
        import os

        if os.environ.get("CI"):
            pytest.fail("CI must install SoftHSM2 (libsofthsm2.so): .ci/run runs make setup-system")
        pytest.skip("SoftHSM2 (libsofthsm2.so) is not installed: run `make setup-system`")


def _all_ok(results: dict[int, Result]) -> dict[int, Result]:
    for r in results.values():
        r.ok()
    return results


def _expected_counts(manifest: Manifest, roll: list, choices: list) -> dict[tuple[str, str], list[int]]:  # type: ignore[type-arg]
    counts: dict[tuple[str, str], list[int]] = {}
    for entity in manifest.entities:
        for _, contest in manifest.style_contests(entity.ballot_style):
            counts[(entity.code, contest.id)] = [0] * len(contest.options)
    for voter, choice in zip(roll, choices, strict=True):
        style = manifest.style_for_entity(voter.entity)
        for _, contest in manifest.style_contests(style.id):
            counts[(voter.entity, contest.id)][contest.option_index(choice[contest.id])] += 1
    return counts


def _key_ceremony(c: Ceremony, manifest: Path = MANIFEST) -> None:
    w = c.world
    # Each key-holder initialises their token (own process, own PIN).
    _all_ok(w.keyholders([(i, ["ceremonia", "token", "inicializar", "--token", token(i)]) for i in range(1, N + 1)],
                         so_pin=SO_PIN))
    started = time.monotonic()
    w.cli(["ceremonia", "llaves", "preparar", "--intercambio", str(w.exchange), "--manifiesto", str(manifest),
           "--id", CEREMONY_ID, "--custodios", str(N), "--umbral", str(T), "--test-group"]).ok()
    for rnd in range(5):
        w.to_keyholders()
        c.snapshot(f"antes-paso-{rnd}")
        for i, r in _all_ok(w.keyholders([(i, w.step_args(i, rnd)) for i in range(1, N + 1)])).items():
            c.steps[(rnd, i)] = r
        w.to_coordinator(rnd)
        c.snapshot(f"antes-recoger-{rnd}")
        w.collect().ok()
    w.to_keyholders()
    c.snapshot("antes-conclusion")
    for i, r in _all_ok(w.keyholders([(i, w.step_args(i, 5)) for i in range(1, N + 1)])).items():
        c.steps[(5, i)] = r
    c.timings["ceremonia de llaves 3 de 5 (procesos separados)"] = time.monotonic() - started
    c.snapshot("llaves-concluidas")


def _opening(c: Ceremony, tmp: Path, roll: Sequence[RollEntry] | None = None, *, pool_voters: int = 0,
             closed_files: Callable[[IssuedCredentials, ElectionContext], Mapping[str, bytes]] | None = None
             ) -> IssuedCredentials:
    """The opening act signed by all five, the voting simulated with the library (``roll``, and
    ``pool_voters`` unregistered voters with the first consulate's pool cards) and the closed record
    (with ``closed_files`` added, as the server exports the consulates' files)."""
    w = c.world
    manifest = c.manifest
    roll = list(synthetic_roll(manifest, VOTERS, seed=7) if roll is None else roll)
    issued = issue_credentials(manifest, roll, SoftwareSigner(), retain=True)
    c.credentials = tmp / "credenciales"
    c.credentials.mkdir()
    issued.credential_list.write(c.credentials)
    c.credential_list = issued.credential_list
    c.receipt_key = tmp / "llave-recibos.hex"
    c.receipt_key.write_text(SoftwareSigner().public_key.hex() + "\n")
    c.constancia = tmp / "constancia.json"
    c.constancia.write_text(installation_constancia().dumps())
    c.opening_draft = tmp / "acta-inicio-borrador.json"
    w.cli(["ceremonia", "acta", "borrador-inicio", "--ceremonia", str(w.exchange), "--credenciales",
           str(c.credentials), "--llave-recibos", str(c.receipt_key), "--constancia", str(c.constancia),
           "--salida", str(c.opening_draft), "--test-group"]).ok()
    c.opening_signatures = {i: tmp / f"firma-inicio-{i}.json" for i in range(1, N + 1)}
    _all_ok(w.keyholders([(i, ["ceremonia", "acta", "firmar", str(c.opening_draft), "--custodio", str(i),
                               "--token", token(i), "--ceremonia", str(w.usb(i)), "--credenciales",
                               str(c.credentials), "--salida", str(c.opening_signatures[i]), "--test-group"])
                          for i in range(1, N + 1)]))
    c.opening = tmp / "acta-inicio.json"
    w.cli(["ceremonia", "acta", "reunir", str(c.opening_draft), *map(str, c.opening_signatures.values()),
           "--ceremonia", str(w.exchange), "--salida", str(c.opening), "--test-group"]).ok()

    # Voting, simulated with the library on the context the ceremony produced.
    deliveries = list(issued.deliveries)
    if pool_voters:
        assert manifest.in_person is not None
        code = manifest.in_person.consulates[0].code
        entity = next(e.code for e in manifest.entities if e.ballot_style == manifest.in_person.unregistered_style)
        for k, card in enumerate(issued.pools[code][:pool_voters]):
            roll.append(RollEntry(f"FONDO-{code}-{k}", entity, "", ""))
            deliveries.append(Delivery(f"FONDO-{code}-{k}", "", "", entity, card))
    rng = random.Random(11)
    choices = []
    for voter in roll:
        style = manifest.style_for_entity(voter.entity)
        choices.append({contest.id: rng.choice(contest.options).id for _, contest in manifest.style_contests(style.id)})
    c.expected = _expected_counts(manifest, roll, choices)
    c.roll, c.choices = roll, choices
    ceremony_id, n, t, rounds = parse_ceremony(json.loads((w.exchange / layout.CEREMONY).read_text()))
    ctx, _ = context_from_ceremony(TEST_GROUP, manifest, ceremony_id, n, t, rounds, issued.credential_list)
    board, _ = run_voting(ctx, issued.credential_list, deliveries, roll, choices, say=lambda _m: None)
    tally = aggregate(ctx, (e.ballot for e in board.events if e.ballot is not None))
    c.closed = tmp / "registro-cerrado"
    write_closed_record(c.closed, ctx, ceremony_id=ceremony_id, n=n, t=t, rounds=rounds,
                        credential_list=issued.credential_list, events=board.events, tally=tally,
                        opening=SignedAct.from_json(json.loads(c.opening.read_text()), "acta"), closing=None,
                        constancia=IntegrityConstancia.load(c.constancia))
    if closed_files is not None:
        add_files(c.closed, closed_files(issued, ctx))
    return issued


def _closing(c: Ceremony, tmp: Path) -> None:
    w = c.world
    c.closing_draft = tmp / "acta-cierre-borrador.json"
    w.cli(["ceremonia", "acta", "borrador-cierre", "--registro", str(c.closed), "--salida", str(c.closing_draft),
           "--test-group"]).ok()
    c.closing_signatures = {i: tmp / f"firma-cierre-{i}.json" for i in (1, 3, 5)}
    _all_ok(w.keyholders([(i, ["ceremonia", "acta", "firmar", str(c.closing_draft), "--custodio", str(i), "--token",
                               token(i), "--registro", str(c.closed), "--salida", str(c.closing_signatures[i]),
                               "--test-group"]) for i in c.closing_signatures]))
    w.cli(["ceremonia", "acta", "reunir", str(c.closing_draft), *map(str, c.closing_signatures.values()),
           "--registro", str(c.closed), "--test-group"]).ok()


def _vault(c: Ceremony, tmp: Path, opening_id: str, present: tuple[int, ...], lote_bits: str = "128") -> None:
    w = c.world
    export = c.exports[opening_id] = tmp / f"{opening_id}.json"
    w.cli(["ceremonia", "boveda", "exportar", "--registro", str(c.closed), "--apertura", opening_id, "--salida",
           str(export), "--test-group", "--jobs", "1"]).ok()
    for i in present:
        c.shares[(opening_id, i)] = tmp / f"{opening_id}-parte-{i}.json"
    _all_ok(w.keyholders([(i, ["ceremonia", "boveda", "descifrar", "--registro", str(c.closed), "--exportacion",
                               str(export), "--carpeta", str(w.private(i)), "--custodio", str(i), "--token", token(i),
                               "--salida", str(c.shares[(opening_id, i)]), "--test-group", "--jobs", "1"])
                          for i in present]))
    c.full[opening_id] = tmp / f"registro-{opening_id}"
    # with in-person voting, each key-holder also wrote a share of the channel split beside their share
    per_channel = [p for i in present if (p := channels_share_path(c.shares[(opening_id, i)])).exists()]
    c.combined[opening_id] = w.cli(
        ["ceremonia", "boveda", "combinar", "--registro", str(c.closed), "--exportacion", str(export), "--partes",
         *(str(c.shares[(opening_id, i)]) for i in present), *map(str, per_channel), "--salida",
         str(c.full[opening_id]), "--test-group", "--jobs", "1", "--lote-bits", lote_bits]).ok()


_BUILT: dict[str, Ceremony] = {}


def built_ceremony(factory: pytest.TempPathFactory) -> Ceremony:
    """The session's one ceremony, built on first use (both test modules share it)."""
    if "c" not in _BUILT:
        _require_softhsm()
        base = factory.mktemp("ceremonia")
        hsm = {i: SoftHsmEnvironment(base / "softhsm" / f"custodio-{i}") for i in range(1, N + 1)}
        c = Ceremony(World(base / "mundo", hsm), base / "instantaneas")
        _key_ceremony(c)
        _opening(c, base)
        _closing(c, base)
        started = time.monotonic()
        _vault(c, base, "boveda-1", (1, 2, 3))
        c.timings["apertura de la bóveda con 3 custodios (procesos separados)"] = time.monotonic() - started
        _vault(c, base, "boveda-2", (2, 4, 5), lote_bits="64")
        _BUILT["c"] = c
    return _BUILT["c"]
