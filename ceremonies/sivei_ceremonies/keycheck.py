"""«Comprobar llave» (check your key): before the opening, a key-holder proves that their token unseals
a share s_i matching their public verification key K_i = g^{s_i}, without revealing it.

The proof is a Schnorr proof of knowledge of s_i bound to a fresh challenge the auditor provides, so it
cannot have been prepared in advance or copied from another session::

    context   = transcript hash (32 bytes: H("sivei/transcript", …), as the opening act names it)
    statement = string("sivei/key-check") ‖ u32(i) ‖ string(challenge)
    proof     = prove_schnorr(s_i, K_i; context, statement)

It travels in an envelope signed by the token's signing key (so the check exercises both keys of the
token)::

    type "key-check", election_id, ceremony_id = the key ceremony's id, round 0, sender "guardian-<i>",
    previous = transcript hash,
    body = {"guardian": i, "challenge": "<text>", "guardian_key": "<element K_i>",
            "proof": {"commitment", "response"}}

Anyone checks it against the transcript (``check_proof``): signature by guardian i's announced key,
K_i from the transcript, the challenge, and the Schnorr proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sivei.crypto.encoding import Encoder, element_from_hex, element_to_hex
from sivei.crypto.envelope import Envelope, seal
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.proofs import SchnorrProof, prove_schnorr, verify_schnorr
from sivei.custody import Sealer
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei_ceremonies.common import (
    Out,
    RefusalError,
    constancia_banner,
    custodian,
    guardian_name,
    keyholder_token,
    read_json,
    refuse_existing,
    signing_key_fingerprint,
    verification_key_fingerprint,
    write_json_new,
)
from sivei_ceremonies.keygen import PrivatePaths, Transcript, load_transcript, share_file

TYPE_KEY_CHECK = "key-check"
TAG_KEY_CHECK = "sivei/key-check"
MAX_CHALLENGE_CHARS = 1000


def _statement(index: int, challenge: str) -> bytes:
    return Encoder().string(TAG_KEY_CHECK).u32(index).string(challenge).to_bytes()


def _check_challenge(challenge: str) -> None:
    if not challenge.strip() or len(challenge) > MAX_CHALLENGE_CHARS:
        raise RefusalError(tr(f"el reto debe ser un texto no vacío de hasta {MAX_CHALLENGE_CHARS} caracteres",
                              f"the challenge must be a non-empty text of up to {MAX_CHALLENGE_CHARS} characters"))


def unseal_share(transcript: Transcript, index: int, path: Path, sealer: Sealer) -> int:
    """The key-holder's s_i, unsealed in memory and checked against K_i from the transcript."""
    plain = share_file(transcript.election_id, transcript.ceremony_id, index, path).read(sealer)
    if len(plain) != 32:
        raise RefusalError(tr(f"{path}: la parte sellada no tiene 32 bytes",
                              f"{path}: the sealed share is not 32 bytes"))
    share = int.from_bytes(plain, "big")
    del plain
    if not 0 < share < transcript.group.q or (
            transcript.group.g_pow(share) != transcript.outcome.guardian_keys[index - 1]):
        raise RefusalError(tr(f"la parte que abre el token no corresponde a K_{index} de la transcripción: ¿otro "
                              "token, otra ceremonia?",
                              f"the share the token opens does not match K_{index} of the transcript: another token, "
                              "another ceremony?"))
    return share


def prove_key(ceremony: Path, private: Path, index: int, token_label: str, module_path: str | None,
              challenge: str, output: Path, *, share_path: Path | None, allow_test_group: bool, out: Out) -> Envelope:
    out.title(tr(f"COMPROBACIÓN DE LLAVE — CUSTODIO {index}", f"KEY CHECK — KEY-HOLDER {index}"))
    constancia_banner(out)
    _check_challenge(challenge)
    transcript = load_transcript(ceremony, allow_test_group=allow_test_group)
    if not 1 <= index <= transcript.n:
        raise RefusalError(tr(f"el custodio debe estar entre 1 y {transcript.n}",
                              f"the key-holder must be between 1 and {transcript.n}"))
    out.step(tr(f"Transcripción de la ceremonia «{transcript.ceremony_id}» verificada",
                f"Transcript of ceremony «{transcript.ceremony_id}» verified"))
    out.info(tr(f"reto del auditor: «{challenge}»", f"auditor's challenge: «{challenge}»"))
    path = share_path or PrivatePaths.of(private, transcript.ceremony_id, index).share
    refuse_existing(output)
    with keyholder_token(token_label, module_path, out) as session:
        signer, sealer = session.signer(), session.sealer()
        if signer.public_key != transcript.signing_key(index):
            raise RefusalError(tr(f"la llave de firma del token «{token_label}» no es la que anunció el "
                                  f"{custodian(index)} en la ceremonia",
                                  f"the signing key of token «{token_label}» is not the one {custodian(index)} "
                                  "announced in the ceremony"))
        share = unseal_share(transcript, index, path, sealer)
        key = transcript.outcome.guardian_keys[index - 1]
        proof = prove_schnorr(transcript.group, share, key, context=transcript.hash,
                              statement=_statement(index, challenge))
        del share
        envelope = seal(signer, type=TYPE_KEY_CHECK, election_id=transcript.election_id,
                        ceremony_id=transcript.ceremony_id, round=0, sender=guardian_name(index),
                        previous=transcript.hash,
                        body={"guardian": index, "challenge": challenge,
                              "guardian_key": element_to_hex(transcript.group, key),
                              "proof": proof.to_json(transcript.group)})
    out.step(tr("El token abrió la parte y la parte corresponde a su llave de verificación",
                "The token opened the share and the share matches its verification key"))
    out.aloud(tr(f"K_{index}", f"K_{index}"), verification_key_fingerprint(transcript.group, index, key))
    write_json_new(output, envelope.to_json())
    out.step(tr(f"Prueba escrita en {output}: entréguela al auditor",
                f"Proof written to {output}: hand it to the auditor"))
    return envelope


@dataclass(frozen=True)
class KeyCheck:
    guardian: int
    challenge: str


def check_proof(transcript: Transcript, envelope: Envelope, challenge: str | None) -> KeyCheck:
    """Check a key-check envelope against a verified transcript; raise ``RefusalError`` naming the fault."""
    body = envelope.body
    if set(body) != {"guardian", "challenge", "guardian_key", "proof"} or envelope.type != TYPE_KEY_CHECK:
        raise RefusalError(tr("no es una prueba de comprobación de llave", "not a key-check proof"))
    index = body["guardian"]
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= transcript.n:
        raise RefusalError(tr("índice de custodio no válido", "invalid key-holder index"))
    if (envelope.election_id, envelope.ceremony_id, envelope.round, envelope.sender) != (
            transcript.election_id, transcript.ceremony_id, 0, guardian_name(index)):
        raise RefusalError(tr(f"la prueba es de otra elección o ceremonia («{envelope.election_id}», "
                              f"«{envelope.ceremony_id}») o de otro remitente",
                              f"the proof belongs to another election or ceremony («{envelope.election_id}», "
                              f"«{envelope.ceremony_id}») or another sender"))
    try:
        envelope.verify(transcript.signing_key(index))
    except SiveiError as exc:
        raise RefusalError(tr(f"{exc}: no la firmó el token del {custodian(index)}",
                              f"{exc}: it was not signed by {custodian(index)}'s token")) from None
    if envelope.previous != transcript.hash:
        raise RefusalError(tr("la prueba no nombra esta transcripción", "the proof does not name this transcript"))
    stated = body["challenge"]
    if not isinstance(stated, str):
        raise RefusalError(tr("reto no válido", "invalid challenge"))
    if challenge is not None and stated != challenge:
        raise RefusalError(tr(f"la prueba responde al reto «{stated}», no al reto «{challenge}» del auditor",
                              f"the proof answers the challenge «{stated}», not the auditor's «{challenge}»"))
    group = transcript.group
    try:
        key = element_from_hex(group, body["guardian_key"], "guardian_key", nonidentity=True)
        proof = SchnorrProof.from_json(group, body["proof"], "proof")
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    if key != transcript.outcome.guardian_keys[index - 1]:
        raise RefusalError(tr(f"la llave de verificación de la prueba no es K_{index} de la transcripción",
                              f"the proof's verification key is not K_{index} of the transcript"))
    if not verify_schnorr(group, proof, key, context=transcript.hash, statement=_statement(index, stated)):
        raise RefusalError(tr(f"la prueba del {custodian(index)} no es válida: su token no demostró conocer la parte",
                              f"{custodian(index)}'s proof is invalid: their token did not show it knows the share"))
    return KeyCheck(index, stated)


def verify_key_proof(ceremony: Path, proof_path: Path, challenge: str | None, *, allow_test_group: bool,
                     out: Out) -> KeyCheck:
    out.title(tr("VERIFICACIÓN DE UNA COMPROBACIÓN DE LLAVE", "VERIFYING A KEY CHECK"))
    constancia_banner(out)
    transcript = load_transcript(ceremony, allow_test_group=allow_test_group)
    out.step(tr(f"Transcripción de la ceremonia «{transcript.ceremony_id}» verificada "
                f"({fingerprint(transcript.hash)})",
                f"Transcript of ceremony «{transcript.ceremony_id}» verified ({fingerprint(transcript.hash)})"))
    try:
        envelope = Envelope.from_json(read_json(proof_path), str(proof_path))
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    result = check_proof(transcript, envelope, challenge)
    i = result.guardian
    out.step(tr(f"VÁLIDA: el token del {custodian(i)} (llave de firma "
                f"{signing_key_fingerprint(transcript.signing_key(i))}) abre una parte que corresponde a K_{i} "
                f"{verification_key_fingerprint(transcript.group, i, transcript.outcome.guardian_keys[i - 1])}, "
                f"para el reto «{result.challenge}»",
                f"VALID: {custodian(i)}'s token (signing key {signing_key_fingerprint(transcript.signing_key(i))}) "
                f"opens a share matching K_{i} "
                f"{verification_key_fingerprint(transcript.group, i, transcript.outcome.guardian_keys[i - 1])}, "
                f"for the challenge «{result.challenge}»"))
    if challenge is None:
        out.warn(tr("no se dio --reto: compruebe que el reto de la prueba es el que usted dictó",
                    "no --reto given: check that the proof's challenge is the one you dictated"))
    return result
