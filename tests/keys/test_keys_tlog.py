"""keys.tlog: the Merkle math agrees with the published RFC 6962 vectors and with an
independent implementation (pymerkle), refuses every tampered proof, and reads and signs C2SP
signed notes and checkpoints as the C2SP example does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pymerkle import InmemoryTree

from keys import tlog

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "tlog-rfc6962.json").read_text("utf-8")
)
RFC_LEAVES = [tlog.leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves_hex"]]
MANY = [f"leaf {i}".encode() for i in range(70)]
MANY_HASHES = [tlog.leaf_hash(x) for x in MANY]
SIGNER = tlog.LogSigner("log.example.test/keys", bytes(range(32)))


def _unhex(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_roots_are_the_published_rfc6962_tree_heads() -> None:
    for size, root in enumerate(VECTORS["roots_hex"]):
        assert tlog.tree_hash(RFC_LEAVES[:size]).hex() == root, size
    assert tlog.tree_hash([]) == tlog.EMPTY_ROOT


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}-{c['size']}")
def test_inclusion_proofs_are_the_published_ones(case: dict[str, Any]) -> None:
    subtree = tlog.subtree_hash_from_leaves(RFC_LEAVES)
    proof = tlog.inclusion_proof(case["index"], case["size"], subtree)
    assert proof == _unhex(case["proof_hex"])
    root = bytes.fromhex(VECTORS["roots_hex"][case["size"]])
    tlog.verify_inclusion(RFC_LEAVES[case["index"]], case["index"], case["size"], proof, root)


@pytest.mark.parametrize(
    "case", VECTORS["consistency"], ids=lambda c: f"{c['first']}-{c['second']}"
)
def test_consistency_proofs_are_the_published_ones(case: dict[str, Any]) -> None:
    subtree = tlog.subtree_hash_from_leaves(RFC_LEAVES)
    proof = tlog.consistency_proof(case["first"], case["second"], subtree)
    assert proof == _unhex(case["proof_hex"])
    roots = _unhex(VECTORS["roots_hex"])
    tlog.verify_consistency(
        case["first"], case["second"], proof, roots[case["first"]], roots[case["second"]]
    )


def test_every_root_and_audit_path_agrees_with_pymerkle() -> None:
    oracle = InmemoryTree(algorithm="sha256")
    for leaf in MANY:
        oracle.append_entry(leaf)
    subtree = tlog.subtree_hash_from_leaves(MANY_HASHES)
    for size in range(1, len(MANY) + 1):
        root = tlog.tree_hash(MANY_HASHES[:size])
        assert root == oracle.get_root(size)
        for index in range(size):
            ours = tlog.inclusion_proof(index, size, subtree)
            # pymerkle's path starts with the leaf's own hash, then the audit path
            theirs = oracle.prove_inclusion(index + 1, size).serialize()["path"]
            assert [p.hex() for p in ours] == theirs[1:]
            tlog.verify_inclusion(MANY_HASHES[index], index, size, ours, root)


def test_every_consistency_proof_joins_pymerkles_roots() -> None:
    oracle = InmemoryTree(algorithm="sha256")
    for leaf in MANY[:40]:
        oracle.append_entry(leaf)
    subtree = tlog.subtree_hash_from_leaves(MANY_HASHES)
    for new in range(1, 41):
        for old in range(0, new + 1):
            proof = tlog.consistency_proof(old, new, subtree)
            old_root = oracle.get_root(old) if old else tlog.EMPTY_ROOT
            tlog.verify_consistency(old, new, proof, old_root, oracle.get_root(new))


def _tampered(proof: list[bytes]) -> list[list[bytes]]:
    out = [proof[:-1], [*proof, bytes(32)]]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 1]) + proof[i][1:]
        out.append(flipped)
    if len(proof) > 1 and proof[0] != proof[1]:
        out.append([proof[1], proof[0], *proof[2:]])
    return [p for p in out if p != proof]


def test_a_tampered_inclusion_proof_or_wrong_position_is_not_logged() -> None:
    subtree = tlog.subtree_hash_from_leaves(MANY_HASHES)
    for size in (2, 7, 8, 33, 69):
        root = tlog.tree_hash(MANY_HASHES[:size])
        for index in range(size):
            proof = tlog.inclusion_proof(index, size, subtree)
            for bad in _tampered(proof):
                with pytest.raises(tlog.NotLogged):
                    tlog.verify_inclusion(MANY_HASHES[index], index, size, bad, root)
            for wrong_index in {index - 1, index + 1, index ^ 2} - {index}:
                if 0 <= wrong_index < size:
                    with pytest.raises(tlog.NotLogged):
                        tlog.verify_inclusion(MANY_HASHES[index], wrong_index, size, proof, root)
            # the proof is for this tree head, not the next one
            grown = tlog.tree_hash(MANY_HASHES[: size + 1])
            with pytest.raises(tlog.NotLogged):
                tlog.verify_inclusion(MANY_HASHES[index], index, size + 1, proof, grown)
            other = MANY_HASHES[(index + 1) % size]
            with pytest.raises(tlog.NotLogged):
                tlog.verify_inclusion(other, index, size, proof, root)
    with pytest.raises(tlog.NotLogged):
        tlog.verify_inclusion(MANY_HASHES[0], 3, 3, [], tlog.EMPTY_ROOT)
    assert tlog.NotLogged.code == "not_logged"


def test_a_tampered_consistency_proof_or_forked_root_is_inconsistent() -> None:
    subtree = tlog.subtree_hash_from_leaves(MANY_HASHES)
    roots = [tlog.tree_hash(MANY_HASHES[:n]) for n in range(71)]
    for old, new in [(1, 2), (3, 7), (4, 8), (5, 33), (32, 70), (69, 70)]:
        proof = tlog.consistency_proof(old, new, subtree)
        for bad in _tampered(proof):
            with pytest.raises(tlog.LogInconsistent):
                tlog.verify_consistency(old, new, bad, roots[old], roots[new])
        forked = tlog.tree_hash([*MANY_HASHES[: old - 1], tlog.leaf_hash(b"forged")])
        with pytest.raises(tlog.LogInconsistent):
            tlog.verify_consistency(old, new, proof, forked, roots[new])
    with pytest.raises(tlog.LogInconsistent):
        tlog.verify_consistency(5, 5, [], roots[5], roots[6])
    with pytest.raises(tlog.LogInconsistent):
        tlog.verify_consistency(6, 5, [], roots[6], roots[5])


def test_the_c2sp_signed_note_example_verifies_and_a_changed_one_does_not() -> None:
    example = VECTORS["signed_note"]
    verifier = tlog.LogVerifier.from_vkey(example["vkey"])
    assert verifier.vkey == example["vkey"]
    assert tlog.open_note(example["note"], verifier) == example["text"]
    with pytest.raises(tlog.BadCheckpoint):
        tlog.open_note(example["note"].replace("example", "exemplary", 1), verifier)
    # a note signed only by a key the verifier does not know is refused, not ignored
    with pytest.raises(tlog.BadCheckpoint):
        tlog.open_note(SIGNER.sign_note("hello\n"), verifier)


def test_a_vkey_whose_id_does_not_match_its_key_is_a_configuration_error() -> None:
    good = SIGNER.verifier.vkey
    name, key_id, material = good.split("+", 2)
    bad_id = f"{int(key_id, 16) ^ 1:08x}"
    from keys.errors import KeyConfigurationError

    for bad in (
        f"{name}+{bad_id}+{material}",
        f"{name}+{key_id}",
        "x+y+z",
        f"other+{key_id}+{material}",
    ):
        with pytest.raises(KeyConfigurationError):
            tlog.LogVerifier.from_vkey(bad)
    assert tlog.LogVerifier.from_vkey(good) == SIGNER.verifier


def test_checkpoint_round_trip_and_refusals() -> None:
    root = tlog.tree_hash(MANY_HASHES[:9])
    note = tlog.Checkpoint(SIGNER.name, 9, root).sign(SIGNER)
    lines = note.split("\n")
    assert lines[:3] == [SIGNER.name, "9", tlog.b64encode(root)]
    assert lines[3] == "" and lines[4].startswith("\u2014 log.example.test/keys ")
    checkpoint = tlog.verify_checkpoint(note, SIGNER.verifier)
    assert (checkpoint.tree_size, checkpoint.root_hash) == (9, root)
    other = tlog.LogSigner("log.example.test/keys", bytes(32))
    with pytest.raises(tlog.BadCheckpoint):
        tlog.verify_checkpoint(note, other.verifier)
    with pytest.raises(tlog.BadCheckpoint):
        tlog.verify_checkpoint(note.replace("\n9\n", "\n10\n"), SIGNER.verifier)
    with pytest.raises(tlog.BadCheckpoint):
        tlog.verify_checkpoint(note, SIGNER.verifier, origin="another.example/log")
    # another key's signature beside the log's is ignored
    cosigned = note + other.sign_note(checkpoint.text()).split("\n\n")[1]
    assert tlog.verify_checkpoint(cosigned, SIGNER.verifier) == checkpoint


def test_a_smaller_or_different_checkpoint_is_a_rollback() -> None:
    seen = tlog.Checkpoint("o", 9, tlog.tree_hash(MANY_HASHES[:9]))
    smaller = tlog.Checkpoint("o", 8, tlog.tree_hash(MANY_HASHES[:8]))
    fork = tlog.Checkpoint("o", 9, tlog.tree_hash(MANY_HASHES[1:10]))
    with pytest.raises(tlog.LogRollback):
        tlog.check_not_rolled_back(seen, smaller)
    with pytest.raises(tlog.LogRollback):
        tlog.check_not_rolled_back(seen, fork)
    tlog.check_not_rolled_back(seen, seen)
    newer = tlog.Checkpoint("o", 20, tlog.tree_hash(MANY_HASHES[:20]))
    subtree = tlog.subtree_hash_from_leaves(MANY_HASHES)
    tlog.check_not_rolled_back(seen, newer, tlog.consistency_proof(9, 20, subtree))
    with pytest.raises(tlog.LogInconsistent):
        tlog.check_not_rolled_back(fork, newer, tlog.consistency_proof(9, 20, subtree))


def test_tile_paths_follow_c2sp_tlog_tiles() -> None:
    assert tlog.tile_index_path(1234067) == "x001/x234/067"
    assert tlog.tile_index_path(0) == "000"
    assert tlog.tile_path(0, 5) == "tile/0/005"
    assert tlog.tile_path(1, 1000, 17) == "tile/1/x001/000.p/17"
    assert tlog.tile_path("entries", 0, 3) == "tile/entries/000.p/3"
    assert tlog.parse_tile_index_path("x001/x234/067") == 1234067
    for bad in ("1", "x001", "001/002", "x000/001"):
        with pytest.raises(ValueError):
            tlog.parse_tile_index_path(bad)
    bundle = tlog.entry_bundle([b"", b"ab", bytes(300)])
    assert bundle[:4] == b"\x00\x00\x00\x02"
    assert tlog.split_entry_bundle(bundle) == [b"", b"ab", bytes(300)]
    with pytest.raises(ValueError):
        tlog.split_entry_bundle(bundle[:-1])
