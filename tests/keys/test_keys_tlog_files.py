"""A license file with its log proof, checked offline by `licensesvc verify --log-key
--require-logged` and by the JavaScript verifier alike (docs/key-format.md section 13): a
logged key passes, a file without a proof, a proof stapled from another key, a proof whose
path was changed and a checkpoint of another log are refused with the same codes."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import keys
from cli import offline_verify
from keys import tlog
from tests.keys.keys_helpers import IN_CI, REPO_ROOT, VENDOR, make_claims

LOG = tlog.LogSigner("log.vendor.example/keys", bytes([7]) * 32)
OTHER_LOG = tlog.LogSigner("log.vendor.example/keys", bytes([8]) * 32)
AT = "2025-06-01T00:00:00Z"


def _leaf(serial: str, text_key: str) -> bytes:
    doc = {
        "v": 1,
        "event": "issue",
        "serial": serial,
        "key_sha256": hashlib.sha256(text_key.encode()).hexdigest(),
        "kind": "standard",
        "customer": "00" * 32,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _logged_files(tmp_path: Path) -> dict[str, Path]:
    """Two keys in a log of five leaves, their files with and without proofs."""
    texts = {
        name: keys.sign_key(make_claims(serial=f"SN-TEST-{name.upper()}-0001"), VENDOR)
        for name in ("acme", "globex")
    }
    leaves = [b'{"filler":1}', _leaf("SN-TEST-ACME-0001", texts["acme"]), b'{"filler":2}']
    leaves += [_leaf("SN-TEST-GLOBEX-0001", texts["globex"]), b'{"filler":3}']
    hashes = [tlog.leaf_hash(x) for x in leaves]
    note = tlog.Checkpoint(LOG.name, 5, tlog.tree_hash(hashes)).sign(LOG)
    subtree = tlog.subtree_hash_from_leaves(hashes)

    def proof(index: int, checkpoint: str = note) -> tlog.LogProof:
        path = tuple(tlog.inclusion_proof(index, 5, subtree))
        return tlog.LogProof(index, 5, leaves[index], path, checkpoint)

    files: dict[str, str] = {
        "logged": keys.license_file(texts["acme"]) + proof(1).render(),
        "unlogged": keys.license_file(texts["acme"]),
        "stapled": keys.license_file(texts["globex"]) + proof(1).render(),
    }
    bent = proof(1)
    files["bent"] = (
        keys.license_file(texts["acme"])
        + tlog.LogProof(
            bent.index, bent.tree_size, bent.leaf, bent.proof[::-1], bent.checkpoint
        ).render()
    )
    other_note = tlog.Checkpoint(LOG.name, 5, tlog.tree_hash(hashes)).sign(OTHER_LOG)
    files["other_log"] = keys.license_file(texts["acme"]) + proof(1, other_note).render()
    out = {}
    for name, text in files.items():
        out[name] = tmp_path / f"{name}.lic"
        out[name].write_text(text)
    out["pem"] = tmp_path / "vendor.pem"
    out["pem"].write_text(VENDOR.public_key.to_pem())
    return out


EXPECTED = {
    "logged": "valid",
    "unlogged": "not_logged",
    "stapled": "not_logged",
    "bent": "not_logged",
    "other_log": "bad_checkpoint",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_python_verifier(tmp_path: Path, name: str) -> None:
    made = _logged_files(tmp_path)
    status = offline_verify.run(
        [
            str(made[name]),
            "--public-key",
            str(made["pem"]),
            "--at",
            AT,
            "--log-key",
            LOG.verifier.vkey,
            "--require-logged",
        ]
    )
    assert (status == 0) == (EXPECTED[name] == "valid")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_python_and_javascript_agree(tmp_path: Path, name: str) -> None:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is required in CI to run examples/verify-js")
        pytest.skip("node is not installed; the JavaScript verifier was not run")
    made = _logged_files(tmp_path)
    args = [str(made[name]), "--public-key", str(made["pem"]), "--at", AT, "--log-key"]
    args += [LOG.verifier.vkey, "--require-logged"]
    js = subprocess.run(
        [node, "examples/verify-js/verify-file.js", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert js.stdout.split("\n")[0].split(":")[0] == EXPECTED[name], js.stdout + js.stderr
    _, out = offline_verify._verify(args, False, io.StringIO())
    assert out.split("\n")[0].split(":")[0] == EXPECTED[name]
