"""The transparency log on the service side: every issue, supersession and revocation leaves a
leaf in the key change's transaction; the integrator gives them indices and signs a checkpoint
that proves them; the tiles and proofs served agree with an independent recomputation; a
tampered database is caught by `verify_log`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import sessionmaker

import keys.tlog
from licensesvc import transparency
from licensesvc.config import ConfigurationError, Settings
from licensesvc.domain.errors import NotFound
from licensesvc.issuance import revoke_key
from licensesvc.models import AuditRecord, LogCheckpoint, LogLeaf
from licensesvc.platform.key_envelopes import protection
from tests.conftest import Contexts, World
from tests.licensesvc.service_helpers import ask, first_key


def _vkey(contexts: Contexts) -> keys.tlog.LogVerifier:
    rec = transparency.active_log_key(contexts.analyst())
    assert rec is not None
    return keys.tlog.LogVerifier.from_vkey(rec.vkey)


def test_each_key_change_is_a_leaf_and_integrated_keys_prove_inclusion(
    world: World, contexts: Contexts
) -> None:
    analyst = contexts.analyst()
    first = first_key(analyst, world.base_license)
    moved = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "replacement",
        host="new.acme.example",
    ).key
    revoke_key(analyst, moved.serial, "test: the server was stolen")
    rows = contexts.session.scalars(select(LogLeaf).order_by(LogLeaf.id)).all()
    assert [(r.event, r.serial) for r in rows] == [
        ("issue", first.serial),
        ("issue", moved.serial),
        ("supersede", first.serial),
        ("revoke", moved.serial),
    ]
    assert all(r.idx is None for r in rows)  # written with the key, integrated later
    # the leaf names no customer, only its commitment, and pins the key text
    doc = json.loads(rows[1].leaf)
    assert "Acme" not in rows[1].leaf.decode()
    assert doc["customer"] == transparency.customer_commitment(analyst, world.base_customer)
    assert doc["customer"] != transparency.customer_commitment(analyst, world.premium_customer)
    assert doc["replaces"] == first.serial and doc["kind"] == "replacement"
    assert doc["key_sha256"] == __import__("hashlib").sha256(moved.key_text.encode()).hexdigest()

    done = transparency.integrate(analyst)
    assert (done.added, done.tree_size, done.checkpoint_signed) == (4, 4, True)
    assert transparency.integrate(analyst).checkpoint_signed is False  # nothing new

    verifier = _vkey(contexts)
    for serial in (first.serial, moved.serial):
        proof = transparency.inclusion(analyst, serial)
        checkpoint = keys.tlog.verify_checkpoint(proof.checkpoint, verifier)
        assert checkpoint.tree_size == 4
        keys.tlog.verify_inclusion(
            keys.tlog.leaf_hash(proof.leaf), proof.index, 4, proof.proof, checkpoint.root_hash
        )
    assert transparency.verify_log(analyst).problems == []


def test_checkpoints_grow_consistently_and_tiles_match_the_leaves(
    world: World, contexts: Contexts
) -> None:
    analyst = contexts.analyst()
    transparency.integrate(analyst)  # the empty tree's checkpoint
    sizes = [0]
    for _ in range(3):
        for _ in range(3):
            ask(analyst, world.premium_license, "standard")
        sizes.append(transparency.integrate(analyst).tree_size)
    assert sizes[-1] > sizes[1] > 0
    notes = contexts.session.scalars(select(LogCheckpoint.note).order_by(LogCheckpoint.id)).all()
    verifier = _vkey(contexts)
    heads = [keys.tlog.verify_checkpoint(n, verifier) for n in notes]
    for old in heads:
        for new in heads:
            if old.tree_size <= new.tree_size:
                proof = transparency.consistency(analyst, old.tree_size, new.tree_size)
                keys.tlog.verify_consistency(
                    old.tree_size, new.tree_size, proof, old.root_hash, new.root_hash
                )
    size = heads[-1].tree_size
    bundle = transparency.entries(analyst, 0, size)
    leaves = keys.tlog.split_entry_bundle(bundle)
    hashes = transparency.tile(analyst, 0, 0, size)
    assert [hashes[i * 32 : i * 32 + 32] for i in range(size)] == [
        keys.tlog.leaf_hash(x) for x in leaves
    ]
    assert keys.tlog.tree_hash([keys.tlog.leaf_hash(x) for x in leaves]) == heads[-1].root_hash


def test_verify_log_catches_a_rewritten_leaf(world: World, contexts: Contexts) -> None:
    analyst = contexts.analyst()
    first_key(analyst, world.base_license)
    first_key(analyst, world.premium_license)
    transparency.integrate(analyst)
    assert transparency.verify_log(analyst).problems == []
    contexts.session.execute(
        update(LogLeaf).where(LogLeaf.idx == 1).values(leaf=b'{"forged":true}')
    )
    problems = transparency.verify_log(analyst).problems
    assert any("leaf 1" in p for p in problems), problems


def _add_leaves(contexts: Contexts, count: int, start: int = 0) -> list[bytes]:
    data = [f'{{"filler":{start + i}}}'.encode() for i in range(count)]
    for item in data:
        contexts.session.add(
            LogLeaf(
                idx=None,
                serial="SN-FILLER",
                event="issue",
                commitment="00" * 32,
                leaf=item,
                leaf_hash=keys.tlog.leaf_hash(item),
                created_at=contexts.clock(),
            )
        )
    contexts.session.flush()
    return data


def test_tiles_above_level_zero_hash_full_tiles_below(contexts: Contexts) -> None:
    analyst = contexts.analyst()
    leaves = _add_leaves(contexts, 300)
    transparency.integrate(analyst, batch=130)  # three batches: nodes cross batch edges
    transparency.integrate(analyst, batch=130)
    assert transparency.integrate(analyst, batch=130).tree_size == 300
    hashes = [keys.tlog.leaf_hash(x) for x in leaves]
    full = transparency.tile(analyst, 0, 0, 256)
    assert full == b"".join(hashes[:256])
    assert transparency.tile(analyst, 0, 1, 44) == b"".join(hashes[256:])
    # level 1: one hash per full level-0 tile (C2SP tlog-tiles)
    assert transparency.tile(analyst, 1, 0, 1) == keys.tlog.tree_hash(hashes[:256])
    for missing in ((0, 1, 256), (0, 1, 45), (1, 0, 2), (2, 0, 1)):
        with pytest.raises(NotFound):
            transparency.tile(analyst, *missing)
    root = keys.tlog.verify_checkpoint(
        transparency.checkpoint_note(analyst), _vkey(contexts)
    ).root_hash
    assert root == keys.tlog.tree_hash(hashes)
    assert transparency.verify_log(analyst).problems == []


def test_a_rotated_log_key_signs_new_checkpoints_and_old_ones_still_verify(
    contexts: Contexts,
) -> None:
    analyst = contexts.analyst()
    _add_leaves(contexts, 3)
    transparency.integrate(analyst)
    old = _vkey(contexts)
    new_rec = transparency.rotate_log_key(analyst)
    new = keys.tlog.LogVerifier.from_vkey(new_rec.vkey)
    assert new.name == old.name and new.key_id != old.key_id
    _add_leaves(contexts, 2, start=3)
    transparency.integrate(analyst)
    head = keys.tlog.verify_checkpoint(transparency.checkpoint_note(analyst), new)
    assert head.tree_size == 5
    with pytest.raises(keys.tlog.BadCheckpoint):
        keys.tlog.verify_checkpoint(transparency.checkpoint_note(analyst), old)
    assert transparency.verify_log(analyst).problems == []  # each under the key that signed it
    # stored like the signing keys: PKCS#8, PBKDF2-HMAC-SHA256 with the configured rounds
    stored = protection(new_rec.private_key_encrypted)
    rounds = contexts.settings.signing_key_kdf_rounds
    assert (stored.kdf, stored.rounds) == ("pbkdf2-sha256", rounds)
    events = contexts.session.scalars(
        select(AuditRecord.action).where(AuditRecord.action.like("log_key.%"))
    ).all()
    assert sorted(events) == ["log_key.generated", "log_key.rotated"]


def test_the_apps_integrator_runs_in_its_own_committed_unit_of_work(
    world: World, contexts: Contexts, settings: Settings
) -> None:
    from licensesvc.log_integrator import LogIntegrator, every_from_env
    from licensesvc.runtime import Runtime

    assert every_from_env({}) == 1.0
    assert every_from_env({"LICENSESVC_LOG_INTEGRATE_EVERY": "0"}) == 0
    with pytest.raises(ConfigurationError):
        every_from_env({"LICENSESVC_LOG_INTEGRATE_EVERY": "soon"})
    connection = contexts.session.connection()
    sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    runtime = Runtime(settings, connection.engine, sessions, contexts.clock)
    first = first_key(contexts.analyst(), world.base_license)
    contexts.session.commit()
    done = LogIntegrator(runtime, 1.0).run_once()
    assert (done.added, done.tree_size, done.checkpoint_signed) == (1, 1, True)
    assert transparency.inclusion(contexts.analyst(), first.serial).index == 0


def test_the_leaves_of_a_key_change_cost_one_insert_each(world: World, contexts: Contexts) -> None:
    analyst = contexts.analyst()
    first_key(analyst, world.base_license)
    contexts.session.commit()  # the first key's own writes happen at its commit
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    connection = contexts.session.connection()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        ask(
            contexts.customer(world.base_customer),
            world.base_license,
            "replacement",
            host="new.acme.example",
        )
        contexts.session.commit()
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    leaf_writes = [s for s in statements if "tlog_" in s]
    # two events (the replacement's issue, the old key's supersession): one INSERT each, no
    # read of the log, nothing else (on PostgreSQL both are members of the one statement of the
    # transaction's writes: platform/transactions.py `defer_insert`)
    inserts = sum(w.upper().count("INSERT INTO TLOG_LEAVES") for w in leaf_writes)
    assert inserts == 2, leaf_writes
    assert not any(" FROM TLOG_" in w.upper() or "UPDATE TLOG_" in w.upper() for w in leaf_writes)
