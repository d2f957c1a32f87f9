"""Refusals of the ceremony commands, each started from a copy of the session's ceremony files (taken
between rounds) with the same SoftHSM2 tokens: a clear message, and nothing changed on disk.

Key-holders' commands run in this process here (their separate-process runs are in test_ceremony.py);
a dishonest guardian or coordinator is played with the library and the guardian's own token.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nacl.public
import pytest

from ceremonytools import CEREMONY_ID, Ceremony, World, built_ceremony, pin, token, tree
from recordtools import board_lines, write_board
from sivei.crypto.dkg import commit, deal, share_digest, verify_shares
from sivei.crypto.encoding import scalar_to_hex
from sivei.crypto.envelope import Envelope, seal
from sivei.custody import SEALED_SHARE_PURPOSE, SealContext, SealedFile, find_softhsm_module, open_token
from sivei_ceremonies.keygen import PrivatePaths, bundle_json, load_setup, load_state, read_bundle

OTHER = "pin-que-no-es"


@pytest.fixture(scope="session")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Ceremony:
    return built_ceremony(tmp_path_factory)


def _flip(path: Path, offset: int = -5) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _json(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())


def _write(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def _private_dir(w: World, i: int) -> Path:
    return PrivatePaths.of(w.private(i), CEREMONY_ID, i).root


# -- the key-generation ceremony -----------------------------------------------------------------------


def test_wrong_pin_and_missing_token_change_nothing(ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("antes-paso-2", tmp_path / "w")
    before = tree(w.root)
    r = w.cli(w.step_args(1, 2), keyholder=1, pin_value=OTHER)
    assert r.code == 2 and "PIN incorrecto para el token «custodio-1»" in r.err and OTHER not in r.text
    args = w.step_args(1, 2)
    args[args.index(token(1))] = "token-ausente"
    r = w.cli(args, keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "no se encontró el token «token-ausente»" in r.err and "«custodio-1»" in r.err
    r = w.cli([*w.step_args(1, 2), "--pkcs11-module", str(tmp_path / "no-existe.so")], keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "no existe el módulo PKCS#11" in r.err
    r = w.cli(["--english", *w.step_args(1, 2)], keyholder=1, pin_value=OTHER)
    assert r.code == 2 and "incorrect PIN for token «custodio-1»; nothing was changed" in r.err
    assert "KEY CEREMONY — KEY-HOLDER 1" in r.out and "READ ALOUD" in r.out
    assert tree(w.root) == before


def test_tampered_sealed_state_is_refused(ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("antes-paso-2", tmp_path / "w")
    _flip(_private_dir(w, 1) / "estado.sellado")
    before = tree(w.root)
    r = w.cli(w.step_args(1, 2), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "el sello no es válido" in r.err
    assert tree(w.root) == before
    # another key-holder's state (sealed by another token, bound to another key-holder) does not open either
    shutil.copy(_private_dir(w, 2) / "estado.sellado", _private_dir(w, 1) / "estado.sellado")
    before = tree(w.root)
    r = w.cli(w.step_args(1, 2), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "custodio «guardian-2», se esperaba «guardian-1»" in r.err
    assert tree(w.root) == before and not (w.usb(1) / "ronda-2" / "custodio-1.json").exists()


def test_missing_envelope_or_envelope_of_another_ceremony_is_refused_without_abort(
        ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("antes-recoger-1", tmp_path / "w")
    path = w.exchange / "ronda-1" / "custodio-3.json"
    env = _json(path)
    _write(path, {**env, "ceremony_id": "otra-ceremonia-7"})
    other_election = w.exchange / "ronda-1" / "custodio-4.json"
    _write(other_election, {**_json(other_election), "election_id": "otra-eleccion"})
    (w.exchange / "ronda-1" / "custodio-5.json").unlink()
    before = tree(w.root)
    r = w.collect()
    assert r.code == 2 and "ABORTADA" not in r.text
    assert "custodio-3.json: es un sobre de la elección «mx-2027-local-ext», ceremonia «otra-ceremonia-7»" in r.err
    assert "custodio-4.json: es un sobre de la elección «otra-eleccion»" in r.err
    assert "faltan los sobres de la ronda 1 (compromisos) de: custodio 5" in r.err
    assert tree(w.root) == before and not (w.exchange / "paquete-1.json").exists()
    # with the right files the round is collected
    shutil.copytree(ceremony.snapshots / "antes-recoger-1" / "coordinador", w.root / "coordinador", dirs_exist_ok=True)
    w.collect().ok()


def test_envelope_with_a_bad_signature_aborts_naming_whose_and_which_round(ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("antes-recoger-1", tmp_path / "w")
    path = w.exchange / "ronda-1" / "custodio-2.json"
    env = _json(path)
    proof = env["body"]["proofs"][0]
    proof["response"] = scalar_to_hex((int(proof["response"], 16) + 1) % 2**255)
    _write(path, env)
    before = tree(w.root)
    r = w.collect()
    assert r.code == 3
    assert "ronda 1 («dkg-commitments»), custodio 2: firma inválida" in r.out
    assert "Responsable: custodio 2; ronda 1" in r.out and "identificador de ceremonia nuevo" in r.out
    assert tree(w.root) == before
    # a key-holder handed a bundle with that envelope (its hash recomputed) aborts the same way
    w = ceremony.restore("antes-paso-2", tmp_path / "w2")
    bundle_file = w.usb(1) / "paquete-1.json"
    bundle = _json(bundle_file)
    bundle["envelopes"][1] = env
    setup = load_setup(w.usb(1), allow_test_group=True)
    envelopes = [Envelope.from_json(e) for e in bundle["envelopes"]]
    _write(bundle_file, bundle_json(setup, 1, envelopes))
    before = tree(w.root)
    r = w.cli(w.step_args(1, 2), keyholder=1, pin_value=pin(1))
    assert r.code == 3 and "custodio 2: firma inválida" in r.out and "Responsable: custodio 2; ronda 1" in r.out
    assert tree(w.root) == before


def test_round_replay_gives_the_same_envelope_and_never_a_second_one(ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("antes-paso-2", tmp_path / "w")
    old_state = (_private_dir(w, 1) / "estado.sellado").read_bytes()
    sent = w.usb(1) / "ronda-2" / "custodio-1.json"
    w.cli(w.step_args(1, 2), keyholder=1, pin_value=pin(1)).ok()
    first = sent.read_bytes()
    r = w.cli(w.step_args(1), keyholder=1, pin_value=pin(1)).ok()  # no bundle 2 yet: the same round again
    assert "exactamente el mismo sobre firmado" in r.out and sent.read_bytes() == first
    # the coordinator now shows another bundle 1: no second, different message for round 2
    bundle_file = w.usb(1) / "paquete-1.json"
    setup = load_setup(w.usb(1), allow_test_group=True)
    envelopes = [Envelope.from_json(e) for e in _json(bundle_file)["envelopes"]]
    _write(bundle_file, bundle_json(setup, 1, envelopes[::-1]))
    before = tree(w.root)
    r = w.cli(w.step_args(1, 2), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "no se firma un segundo mensaje distinto para la misma ronda" in r.err
    r = w.cli(w.step_args(1, 1), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "la ronda 1 (compromisos) ya pasó y el estado solo avanza" in r.err
    # an old copy of the sealed state is recognised and refused
    (_private_dir(w, 1) / "estado.sellado").write_bytes(old_state)
    shutil.copy(ceremony.snapshots / "antes-paso-2" / "custodio-1" / "usb" / "paquete-1.json", bundle_file)
    before = tree(w.root)
    r = w.cli(w.step_args(1, 2), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "se restauró una copia vieja del estado" in r.err
    assert tree(w.root) == before and sent.read_bytes() == first


def test_coordinator_showing_two_guardians_different_bundles_is_caught(ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("antes-recoger-1", tmp_path / "w")
    setup = load_setup(w.exchange, allow_test_group=True)
    # Guardian 2's working state before round 1 (a second message for the same round: what the
    # replay protection prevents an honest key-holder's script from ever producing).
    old = ceremony.restore("antes-paso-1", tmp_path / "old")
    bundle0, _ = read_bundle(setup, w.exchange, 0)
    with w.pin_env(2), open_token(token(2), pin(2)) as session:
        state = load_state(setup, 2, PrivatePaths.of(old.private(2), CEREMONY_ID, 2), session.sealer())
        _, second = commit(state.guardian, session.signer(), bundle0)
    w.collect().ok()
    honest = read_bundle(setup, w.exchange, 1)[0]
    forked = tuple(second if e.sender == "guardian-2" else e for e in honest)
    w.to_keyholders()
    _write(w.usb(5) / "paquete-1.json", bundle_json(setup, 1, forked))
    steps = {i: w.cli(w.step_args(i, 2), keyholder=i, pin_value=pin(i)).ok() for i in range(1, 6)}
    heard = {i: next(line for line in r.out.splitlines() if "paquete de la ronda 1" in line).rsplit(": ", 1)[1]
             for i, r in steps.items()}
    assert heard[1] == heard[2] == heard[3] == heard[4] != heard[5]  # read aloud, the fork is heard
    w.to_coordinator(2)
    before = tree(w.root)
    r = w.collect()
    assert r.code == 3 and "ronda 2 («dkg-shares»), custodio 5" in r.out and "vio otro paquete" in r.out
    assert tree(w.root) == before and not (w.exchange / "paquete-2.json").exists()


def test_bad_share_is_proven_by_the_complaint_and_the_ceremony_aborts(ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("antes-paso-2", tmp_path / "w")
    setup = load_setup(w.exchange, allow_test_group=True)
    group = setup.group
    for i in (1, 3, 4, 5):
        w.cli(w.step_args(i, 2), keyholder=i, pin_value=pin(i)).ok()
    bundle1, _ = read_bundle(setup, w.usb(2), 1)
    with w.pin_env(2), open_token(token(2), pin(2)) as session:
        signer = session.signer()
        state = load_state(setup, 2, PrivatePaths.of(w.private(2), CEREMONY_ID, 2), session.sealer()).guardian
        bad = (sum(a * 3**k for k, a in enumerate(state.coefficients)) + 1) % group.q  # P_2(3) + 1
        dealt, honest = deal(state, signer, bundle1)
        signature = signer.sign_digest(share_digest(group, setup.h_b, CEREMONY_ID, 2, 3, bad))
        box = nacl.public.SealedBox(nacl.public.PublicKey(state.transport_keys[2])).encrypt(
            bad.to_bytes(32, "big") + signature)
        boxes = [dict(b, box=bytes(box).hex()) if b["recipient"] == 3 else b for b in honest.body["boxes"]]
        malicious = seal(signer, type=honest.type, election_id=honest.election_id, ceremony_id=honest.ceremony_id,
                         round=2, sender=honest.sender, previous=honest.previous, body={"boxes": boxes})
    _write(w.exchange / "ronda-2" / "custodio-2.json", malicious.to_json())
    w.to_coordinator(2, [1, 3, 4, 5])
    w.collect().ok()  # the boxes are sealed: the coordinator cannot see the bad share
    w.to_keyholders()
    steps = {i: w.cli(w.step_args(i, 3), keyholder=i, pin_value=pin(i)).ok() for i in (1, 3, 4, 5)}
    assert "QUEJA contra el custodio 2 (bad-share)" in steps[3].out
    assert "QUEJA" not in steps[1].out
    bundle2, _ = read_bundle(setup, w.exchange, 2)
    from dataclasses import replace

    with w.pin_env(2), open_token(token(2), pin(2)) as session:
        _, verification = verify_shares(replace(dealt, last_sent=malicious.content_hash), session.signer(), bundle2)
    _write(w.exchange / "ronda-3" / "custodio-2.json", verification.to_json())
    w.to_coordinator(3, [1, 3, 4, 5])
    complaint = _json(w.exchange / "ronda-3" / "custodio-3.json")["body"]["complaints"]
    assert complaint == [{"kind": "bad-share", "dealer": 2, "share": scalar_to_hex(bad), "signature": signature.hex()}]
    before = tree(w.root)
    r = w.collect()
    assert r.code == 3 and "Responsable: custodio 2; ronda 3" in r.out
    assert ("queja fundada del custodio 3 contra el custodio 2: la parte firmada no concuerda con sus "
            "compromisos") in r.out
    assert tree(w.root) == before and not (w.exchange / "paquete-3.json").exists()


# -- key check ------------------------------------------------------------------------------------------


def test_key_check_proves_the_token_opens_the_share(ceremony: Ceremony, tmp_path: Path) -> None:
    w = ceremony.restore("llaves-concluidas", tmp_path / "w")
    proof = tmp_path / "prueba-4.json"
    challenge = "reto del auditor 2027-05-20 09:14 «ñ»"
    r = w.cli(["ceremonia", "comprobar-llave", "--ceremonia", str(w.usb(4)), "--carpeta", str(w.private(4)),
               "--custodio", "4", "--token", token(4), "--reto", challenge, "--salida", str(proof), "--test-group"],
              keyholder=4, pin_value=pin(4)).ok()
    assert "El token abrió la parte y la parte corresponde a su llave de verificación" in r.out
    body = _json(proof)["body"]
    assert set(body) == {"guardian", "challenge", "guardian_key", "proof"} and body["challenge"] == challenge
    check = ["ceremonia", "verificar-comprobacion", "--ceremonia", str(w.exchange), "--prueba", str(proof),
             "--test-group"]
    assert "VÁLIDA: el token del custodio 4" in w.cli([*check, "--reto", challenge]).ok().out
    r = w.cli(check)  # without the auditor's challenge a proof proves nothing: refused
    assert r.code == 2 and "--reto" in r.err
    r = w.cli([*check, "--reto", "otro reto"])
    assert r.code == 2 and "responde al reto" in r.err
    forged = _json(proof)
    forged["body"]["guardian"] = 3
    forged["sender"] = "guardian-3"
    _write(proof, forged)
    r = w.cli([*check, "--reto", challenge])
    assert r.code == 2 and "firma inválida" in r.err and "custodio 3" in r.err
    # the same against the published record (the transcript is in it)
    proof.unlink()
    w.cli(["ceremonia", "comprobar-llave", "--ceremonia", str(ceremony.closed), "--carpeta", str(w.private(2)),
           "--custodio", "2", "--token", token(2), "--reto", "x", "--salida", str(proof), "--test-group"],
          keyholder=2, pin_value=pin(2)).ok()
    w.cli(["ceremonia", "verificar-comprobacion", "--ceremonia", str(ceremony.closed), "--prueba", str(proof),
           "--reto", "x", "--test-group"]).ok()


# -- acts -----------------------------------------------------------------------------------------------


def test_acts_refuse_missing_or_foreign_signatures_and_changed_content(ceremony: Ceremony, tmp_path: Path) -> None:
    c = ceremony
    w = c.restore("llaves-concluidas", tmp_path / "w")
    out = tmp_path / "acta.json"
    four = [str(c.opening_signatures[i]) for i in (1, 2, 3, 4)]
    r = w.cli(["ceremonia", "acta", "reunir", str(c.opening_draft), *four, "--ceremonia", str(w.exchange),
               "--salida", str(out), "--test-group"])
    assert r.code == 2 and "requiere 5 firmas válidas y hay 4; faltan las de: custodio 5" in r.err
    closing_sig = str(c.closing_signatures[1])
    r = w.cli(["ceremonia", "acta", "reunir", str(c.opening_draft), *four, closing_sig, "--ceremonia",
               str(w.exchange), "--salida", str(out), "--test-group"])
    assert r.code == 2 and "la firma de «guardian-1» es de otra acta" in r.err
    assert not out.exists()
    # a key-holder does not sign an act whose content differs from what their script recomputes
    changed = tmp_path / "acta-cambiada.json"
    act = _json(c.opening_draft)
    act["body"]["threshold"] = 2
    _write(changed, act)
    r = w.cli(["ceremonia", "acta", "firmar", str(changed), "--custodio", "1", "--token", token(1), "--ceremonia",
               str(w.exchange), "--credenciales", str(c.credentials), "--salida", str(out), "--test-group"],
              keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "campos distintos: threshold" in r.err and not out.exists()
    # nor with another key-holder's token
    r = w.cli(["ceremonia", "acta", "firmar", str(c.opening_draft), "--custodio", "1", "--token", token(2),
               "--ceremonia", str(w.exchange), "--credenciales", str(c.credentials), "--salida", str(out),
               "--test-group"], keyholder=2, pin_value=pin(2))
    assert r.code == 2 and "no es la del custodio 1" in r.err and not out.exists()


# -- the vault opening ----------------------------------------------------------------------------------


def _decrypt(c: Ceremony, w: World, i: int, out: Path, *, export: Path | None = None, record: Path | None = None,
             pin_value: str | None = None, token_label: str | None = None) -> list[str]:
    return ["ceremonia", "boveda", "descifrar", "--registro", str(record or c.closed), "--exportacion",
            str(export or c.exports["boveda-1"]), "--carpeta", str(w.private(i)), "--custodio", str(i), "--token",
            token_label or token(i), "--salida", str(out), "--test-group", "--jobs", "1"]


def test_decryption_refuses_wrong_pin_missing_token_and_bad_sealed_shares(ceremony: Ceremony, tmp_path: Path) -> None:
    c = ceremony
    w = c.restore("llaves-concluidas", tmp_path / "w")
    out = tmp_path / "parte.json"
    before = tree(w.root), tree(c.closed)
    r = w.cli(_decrypt(c, w, 1, out), keyholder=1, pin_value=OTHER)
    assert r.code == 2 and "PIN incorrecto para el token «custodio-1»" in r.err
    r = w.cli(_decrypt(c, w, 1, out, token_label="custodio-9"), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "no se encontró el token «custodio-9»" in r.err
    share = _private_dir(w, 1) / "parte.sellado"
    original = share.read_bytes()
    _flip(share)
    r = w.cli(_decrypt(c, w, 1, out), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "el sello no es válido" in r.err
    # another key-holder's sealed share
    shutil.copy(_private_dir(w, 2) / "parte.sellado", share)
    r = w.cli(_decrypt(c, w, 1, out), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "custodio «guardian-2», se esperaba «guardian-1»" in r.err
    # a share sealed by this very token for another election and ceremony, even with its clear label edited
    foreign = SealContext(SEALED_SHARE_PURPOSE, "otra-eleccion", "otra-ceremonia", "guardian-1",
                          "election-secret-share")
    with w.pin_env(1), open_token(token(1), pin(1)) as session:
        SealedFile(share, foreign).write(session.sealer(), bytes(range(32)), overwrite=True)
    r = w.cli(_decrypt(c, w, 1, out), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "elección «otra-eleccion», se esperaba «mx-2027-local-ext»" in r.err
    assert "ceremonia «otra-ceremonia», se esperaba «prueba-llaves-1»" in r.err
    # the clear copy of the context edited to match: the seal (GCM associated data) still refuses it
    data = share.read_bytes()
    ad = foreign.associated_data()
    sealed = data[8 + 4 + len(ad):]
    expected = SealContext(SEALED_SHARE_PURPOSE, "mx-2027-local-ext", CEREMONY_ID, "guardian-1",
                           "election-secret-share").associated_data()
    share.write_bytes(data[:8] + len(expected).to_bytes(4, "big") + expected + sealed)
    r = w.cli(_decrypt(c, w, 1, out), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "el sello no es válido" in r.err
    share.write_bytes(original)
    assert (tree(w.root), tree(c.closed)) == before and not out.exists()
    w.cli(_decrypt(c, w, 1, out), keyholder=1, pin_value=pin(1)).ok()


def test_decryption_refuses_a_tally_that_is_not_the_closed_records(ceremony: Ceremony, tmp_path: Path) -> None:
    c = ceremony
    w = c.restore("llaves-concluidas", tmp_path / "w")
    export = tmp_path / "exportacion.json"
    data = _json(c.exports["boveda-1"])
    entry = data["encrypted_tally"]["entries"][0]
    entry["ciphertexts"][0], entry["ciphertexts"][1] = entry["ciphertexts"][1], entry["ciphertexts"][0]
    _write(export, data)
    out = tmp_path / "parte.json"
    r = w.cli(_decrypt(c, w, 1, out, export=export), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "NO es el recalculado del registro cerrado; no se descifra nada" in r.err
    contest = c.manifest.contests[entry["contest_index"]].id
    assert f"el agregado {entry['entity']}/{contest} no es el producto de las boletas del tablero" in r.err
    assert not out.exists()
    # a doctored closed record (a ballot removed, index rewritten) is refused before anything else
    record = tmp_path / "registro"
    shutil.copytree(c.closed, record)
    lines = board_lines(record)
    write_board(record, lines[:2] + lines[3:])  # and the index rewritten
    r = w.cli(_decrypt(c, w, 1, out, record=record), keyholder=1, pin_value=pin(1))
    assert r.code == 2 and "el registro cerrado NO verifica; no se produce nada" in r.err and not out.exists()


def _combine(c: Ceremony, shares: list[Path], out: Path, opening: str = "boveda-1") -> list[str]:
    return ["ceremonia", "boveda", "combinar", "--registro", str(c.closed), "--exportacion", str(c.exports[opening]),
            "--partes", *map(str, shares), "--salida", str(out), "--test-group", "--jobs", "1"]


def test_combination_refuses_fewer_than_t_and_invalid_shares(ceremony: Ceremony, tmp_path: Path) -> None:
    c = ceremony
    w = c.world
    out = tmp_path / "registro-completo"
    one, two, three = (c.shares[("boveda-1", i)] for i in (1, 2, 3))
    r = w.cli(_combine(c, [one, two], out))
    assert r.code == 2 and "se necesitan partes de al menos 3 custodios y hay 2 (custodio 1, custodio 2)" in r.err
    assert "faltan 1 de: custodio 3, custodio 4, custodio 5" in r.err and not out.exists()
    # a share of another vault opening
    r = w.cli(_combine(c, [one, two, c.shares[("boveda-2", 4)]], out))
    assert r.code == 2 and "la parte del custodio 4 es de otra elección o apertura" in r.err
    # a share whose proof is bad, signed by the key-holder's own token
    env = Envelope.from_json(_json(three))
    body = json.loads(json.dumps(env.body))
    proof = body["shares"][0][1]["proof"]
    proof["response"] = scalar_to_hex((int(proof["response"], 16) + 1) % 2**255)
    with w.pin_env(3), open_token(token(3), pin(3)) as session:
        bad = seal(session.signer(), type=env.type, election_id=env.election_id, ceremony_id=env.ceremony_id,
                   round=env.round, sender=env.sender, previous=env.previous, body=body)
    bad_file = tmp_path / "parte-3-mala.json"
    _write(bad_file, bad.to_json())
    r = w.cli(_combine(c, [one, two, bad_file], out))
    entry = _json(c.exports["boveda-1"])["encrypted_tally"]["entries"][0]
    contest = c.manifest.contests[entry["contest_index"]]
    assert r.code == 2 and (f"la prueba de descifrado del custodio 3 no es válida en {entry['entity']}/{contest.id}/"
                            f"{contest.options[1].id}") in r.err
    # the same share altered without the token's signature
    unsigned = tmp_path / "parte-3-sin-firma.json"
    _write(unsigned, {**bad.to_json(), "signature": env.signature.hex()})
    r = w.cli(_combine(c, [one, two, unsigned], out))
    assert r.code == 2 and "firma inválida" in r.err and "no está firmada por el token del custodio 3" in r.err
    assert not out.exists()


# -- the tokens -----------------------------------------------------------------------------------------


def test_keys_cannot_be_read_out_of_the_token(ceremony: Ceremony) -> None:
    w = ceremony.world
    module = find_softhsm_module()
    assert module is not None
    env = w.environ(1, None)
    shown = w.cli(["ceremonia", "token", "mostrar", "--token", token(1)], keyholder=1, pin_value=pin(1)).ok()
    protected = "extraíble no, sensible sí, nunca extraíble sí, generada en el token sí, valor legible no"
    assert shown.out.count(protected) == 2
    tool = subprocess.run(["pkcs11-tool", "--module", module, "--token-label", token(1), "--login", "--pin", pin(1),
                           "--read-object", "--type", "secrkey", "--label", "sivei-sello"],
                          env=env, capture_output=True, text=True, check=False)
    assert tool.returncode != 0 and "CKR_ATTRIBUTE_SENSITIVE" in tool.stdout + tool.stderr
    script = f"""
import pkcs11
from pkcs11 import Attribute, KeyType, ObjectClass, Mechanism
from pkcs11 import exceptions as e
lib = pkcs11.lib({module!r})
with lib.get_token(token_label={token(1)!r}).open(rw=True, user_pin={pin(1)!r}) as s:
    wrapper = s.generate_key(KeyType.AES, 256, store=False, template={{Attribute.WRAP: True}})
    for cls, label in ((ObjectClass.PRIVATE_KEY, "sivei-firma"), (ObjectClass.SECRET_KEY, "sivei-sello")):
        key = s.get_key(object_class=cls, label=label)
        try:
            key[Attribute.VALUE]
            print("LEIDA", label)
        except e.AttributeSensitive:
            print("sensible", label)
        try:
            wrapper.wrap_key(key, mechanism=Mechanism.AES_KEY_WRAP_PAD)
            print("EXTRAIDA", label)
        except (e.KeyUnextractable, e.KeyNotWrappable, e.MechanismInvalid) as exc:
            print("no-extraible", label, type(exc).__name__)
"""
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split("\n")
    assert "sensible sivei-firma" in lines and "sensible sivei-sello" in lines
    assert any(x.startswith("no-extraible sivei-firma KeyUnextractable") for x in lines), run.stdout
    assert any(x.startswith("no-extraible sivei-sello KeyUnextractable") for x in lines), run.stdout
