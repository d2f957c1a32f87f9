"""The election context (manifest, joint key, H_E) rebuilt from the public files of a record.

Only the files fixed at opening are needed — parameters, manifest, key-ceremony transcript and the
signed credential list — so a voter's second device or an auditor can check a challenged ballot
during voting, before the board is closed. Everything read is verified as the verifier does.
"""

from __future__ import annotations

from pathlib import Path

from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import check_credential_list, load_credential_list_files
from sivei.ballot.manifest import Manifest
from sivei.crypto.context import base_hash, election_hash
from sivei.crypto.dkg import verify_transcript
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.group import GROUPS, TEST_GROUP, Group
from sivei.errors import RecordError
from sivei.i18n import tr
from sivei.record import layout
from sivei.record.ceremony_io import parse_ceremony


def load_group(reader: layout.RecordReader, *, allow_test_group: bool) -> Group:
    params = reader.read_json(layout.PARAMETERS)
    name = params.get("name") if isinstance(params, dict) else None
    group = GROUPS.get(name) if isinstance(name, str) else None
    if group is None or params != layout.parameters_json(group):
        raise RecordError(tr("parameters.json: no son los parámetros de un grupo conocido",
                             "parameters.json: not the parameters of a known group"))
    if group is TEST_GROUP and not allow_test_group:
        raise RecordError(tr("el registro usa el grupo de prueba; solo se acepta con --test-group",
                             "the record uses the test group; it is accepted only with --test-group"))
    return group


def load_election_context(directory: Path, *, allow_test_group: bool = False) -> ElectionContext:
    """Read and verify the opening-time files of a record and return the election's context."""
    reader = layout.RecordReader(directory)
    group = load_group(reader, allow_test_group=allow_test_group)
    manifest = Manifest.from_json(reader.read_json(layout.MANIFEST))
    h_b = base_hash(group, manifest.hash)
    ceremony_id, n, t, rounds = parse_ceremony(reader.read_json(layout.CEREMONY))
    outcome = verify_transcript(group, manifest.election_id, ceremony_id, h_b, n, t, rounds)
    envelope, entries = load_credential_list_files(directory)
    problems = check_credential_list(manifest, envelope, entries)
    if problems:
        raise RecordError(problems[0])
    h_e = election_hash(group, h_b, outcome.joint_key, outcome.commitments, envelope.content_hash)
    return ElectionContext(manifest, ElectionKey(group, outcome.joint_key), h_e)
