"""The integrated tree: the integrator that gives pending leaves their indices and signs a
checkpoint, and the reads of the tree (tiles, entry bundles, proofs) a checkpoint commits to.

Stored: every complete subtree's hash (``tlog_nodes``: level, index), so a tile is one range
read (tiles at level L are the nodes at tree level 8L) and any subtree hash a proof needs is a
handful of nodes. Nodes are written once and never change; a checkpoint is signed in the same
transaction as the nodes and indices it covers, so a killed integrator leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

import keys.tlog
from licensesvc.domain.errors import NotFound, ValidationFailed
from licensesvc.models import LogCheckpoint, LogLeaf, LogNode, LogState
from licensesvc.platform.context import ServiceContext

from .log_keys import DEFAULT_ORIGIN, ensure_log_key, log_signer

#: the most leaves one integration takes (the rest wait for the next, a second later)
BATCH = 5000
Coord = tuple[int, int]


def _perfect(start: int, end: int) -> bool:
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def _coords(start: int, end: int, out: set[Coord]) -> None:
    """The complete-subtree nodes whose hashes make MTH(D[start:end])."""
    if _perfect(start, end):
        level = (end - start).bit_length() - 1
        out.add((level, start >> level))
        return
    k = 1 << ((end - start - 1).bit_length() - 1)
    _coords(start, start + k, out)
    _coords(start + k, end, out)


class NodeStore:
    """Complete-subtree hashes read from ``tlog_nodes`` (in one query per batch of ranges)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[Coord, bytes] = {}

    def load(self, coords: Iterable[Coord]) -> None:
        missing = [c for c in set(coords) if c not in self.known]
        for at in range(0, len(missing), 500):
            chunk = missing[at : at + 500]
            rows = self.session.execute(
                select(LogNode.level, LogNode.idx, LogNode.hash).where(
                    tuple_(LogNode.level, LogNode.idx).in_(chunk)
                )
            )
            for level, idx, value in rows:
                self.known[(level, idx)] = bytes(value)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) from the stored nodes (loaded first when missing)."""
        if end == start:
            return keys.tlog.EMPTY_ROOT
        if _perfect(start, end):
            level = (end - start).bit_length() - 1
            coord = (level, start >> level)
            if coord not in self.known:
                self.load([coord])
            if coord not in self.known:
                raise LookupError(f"node {coord} is not stored")
            return self.known[coord]
        k = 1 << ((end - start - 1).bit_length() - 1)
        return keys.tlog.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def preload_ranges(self, ranges: Iterable[tuple[int, int]]) -> None:
        coords: set[Coord] = set()
        for start, end in ranges:
            if end > start:
                _coords(start, end, coords)
        self.load(coords)


def _ranges_of(proof_maker: str, a: int, b: int) -> list[tuple[int, int]]:
    asked: list[tuple[int, int]] = []

    def record(start: int, end: int) -> bytes:
        asked.append((start, end))
        return bytes(32)

    if proof_maker == "inclusion":
        keys.tlog.inclusion_proof(a, b, record)
    else:
        keys.tlog.consistency_proof(a, b, record)
    return asked


# -- integrating -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Integration:
    """What one integration did: leaves added, the tree size after, the checkpoint signed."""

    added: int
    tree_size: int
    checkpoint_signed: bool


def _lock_state(ctx: ServiceContext) -> LogState:
    state = ctx.session.scalar(
        select(LogState)
        .where(LogState.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if state is None:  # a database made by create_all (tests); the migration inserts it
        state = LogState(id=1, tree_size=0, updated_at=ctx.now())
        ctx.session.add(state)
        ctx.session.flush()
    return state


def integrate(
    ctx: ServiceContext, *, batch: int = BATCH, origin: str = DEFAULT_ORIGIN
) -> Integration:
    """Give the pending leaves (oldest first) the next indices, store the new complete
    subtrees, and sign a checkpoint of the new size; a checkpoint of the empty tree when the
    log has none. Holds the log state's row lock until the caller commits, so integrators on
    any number of servers take turns. Flushes, does not commit. Raises LogKeyUnavailable."""
    # 1. the lock: one integrator at a time
    state = _lock_state(ctx)
    size = state.tree_size
    # 2. the pending leaves, in the order they were written
    pending = list(
        ctx.session.scalars(
            select(LogLeaf).where(LogLeaf.idx.is_(None)).order_by(LogLeaf.id).limit(batch)
        )
    )
    has_checkpoint = ctx.session.scalar(
        select(LogCheckpoint.id).where(LogCheckpoint.tree_size == size).limit(1)
    )
    if not pending and has_checkpoint is not None:
        return Integration(0, size, False)
    # 3. indices and the new complete subtrees; a left sibling comes from this batch or the store
    store = NodeStore(ctx.session)
    needed: set[Coord] = set()
    index = size
    for _ in pending:
        level, i = 0, index
        while i & 1:
            needed.add((level, i - 1))
            level, i = level + 1, i >> 1
        index += 1
    store.load(needed)
    new_nodes: list[LogNode] = []
    for leaf in pending:
        leaf.idx = size
        level, i, value = 0, size, bytes(leaf.leaf_hash)
        store.known[(0, i)] = value
        new_nodes.append(LogNode(level=0, idx=i, hash=value))
        while i & 1:
            value = keys.tlog.node_hash(store.known[(level, i - 1)], value)
            level, i = level + 1, i >> 1
            store.known[(level, i)] = value
            new_nodes.append(LogNode(level=level, idx=i, hash=value))
        size += 1
    ctx.session.add_all(new_nodes)
    # 4. the checkpoint of the new size, signed by the active log key
    store.preload_ranges([(0, size)])
    root = store.subtree(0, size)
    signer = log_signer(ctx, ensure_log_key(ctx, origin))
    note = keys.tlog.Checkpoint(signer.name, size, root).sign(signer)
    ctx.session.add(
        LogCheckpoint(
            tree_size=size,
            root_hash=root,
            note=note,
            key_id=signer.verifier.key_id.hex(),
            created_at=ctx.now(),
        )
    )
    state.tree_size = size
    state.updated_at = ctx.now()
    ctx.session.flush()
    return Integration(len(pending), size, True)


# -- reading -----------------------------------------------------------------------------------


def latest_checkpoint(ctx: ServiceContext) -> LogCheckpoint:
    """The newest signed checkpoint. Raises NotFound before the first integration."""
    found = ctx.session.scalar(
        select(LogCheckpoint).order_by(LogCheckpoint.tree_size.desc(), LogCheckpoint.id.desc())
    )
    if found is None:
        raise NotFound("the transparency log has no checkpoint yet")
    return found


def checkpoint_note(ctx: ServiceContext) -> str:
    """The newest checkpoint as a signed note (C2SP tlog-checkpoint)."""
    return latest_checkpoint(ctx).note


def tile(ctx: ServiceContext, level: int, index: int, width: int) -> bytes:
    """The hashes of tile ``level``/``index`` of ``width`` (C2SP tlog-tiles), within the newest
    checkpoint. Raises NotFound for a tile the checkpointed tree does not hold."""
    if not 0 <= level <= 63 or index < 0 or not 1 <= width <= keys.tlog.TILE_WIDTH:
        raise NotFound("no such tile")
    size = latest_checkpoint(ctx).tree_size
    available = size >> (keys.tlog.TILE_HEIGHT * level)
    first = index * keys.tlog.TILE_WIDTH
    if first + width > available:
        raise NotFound("no such tile in the checkpointed tree")
    tree_level = keys.tlog.TILE_HEIGHT * level
    rows = ctx.session.scalars(
        select(LogNode.hash)
        .where(LogNode.level == tree_level, LogNode.idx >= first, LogNode.idx < first + width)
        .order_by(LogNode.idx)
    ).all()
    if len(rows) != width:
        raise LookupError(f"tile {level}/{index} is missing nodes")
    return b"".join(bytes(r) for r in rows)


def entries(ctx: ServiceContext, index: int, width: int) -> bytes:
    """The entry bundle ``index`` of ``width`` leaves (C2SP tlog-tiles), within the newest
    checkpoint. Raises NotFound."""
    if index < 0 or not 1 <= width <= keys.tlog.TILE_WIDTH:
        raise NotFound("no such entry bundle")
    size = latest_checkpoint(ctx).tree_size
    first = index * keys.tlog.TILE_WIDTH
    if first + width > size:
        raise NotFound("no such entry bundle in the checkpointed tree")
    rows = ctx.session.scalars(
        select(LogLeaf.leaf)
        .where(LogLeaf.idx >= first, LogLeaf.idx < first + width)
        .order_by(LogLeaf.idx)
    ).all()
    return keys.tlog.entry_bundle([bytes(r) for r in rows])


@dataclass(frozen=True)
class InclusionProof:
    """A leaf's place in the tree of the newest checkpoint, and the path proving it."""

    index: int
    tree_size: int
    leaf: bytes
    leaf_hash: bytes
    proof: list[bytes]
    checkpoint: str


def inclusion(ctx: ServiceContext, serial: str, *, event: str = "issue") -> InclusionProof:
    """The inclusion proof of the ``event`` leaf of key ``serial`` in the newest checkpoint.
    Raises NotFound when the key has no such leaf yet integrated."""
    checkpoint = latest_checkpoint(ctx)
    leaf = ctx.session.scalar(
        select(LogLeaf)
        .where(
            LogLeaf.serial == serial,
            LogLeaf.event == event,
            LogLeaf.idx.is_not(None),
            LogLeaf.idx < checkpoint.tree_size,
        )
        .order_by(LogLeaf.idx)
        .limit(1)
    )
    if leaf is None or leaf.idx is None:
        raise NotFound(f"key {serial} is not in the log yet (it is integrated within seconds)")
    store = NodeStore(ctx.session)
    store.preload_ranges(_ranges_of("inclusion", leaf.idx, checkpoint.tree_size))
    proof = keys.tlog.inclusion_proof(leaf.idx, checkpoint.tree_size, store.subtree)
    return InclusionProof(
        leaf.idx,
        checkpoint.tree_size,
        bytes(leaf.leaf),
        bytes(leaf.leaf_hash),
        proof,
        checkpoint.note,
    )


def consistency(ctx: ServiceContext, old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof between two tree sizes up to the newest checkpoint's. Raises
    ValidationFailed (sizes out of order or beyond the checkpoint)."""
    size = latest_checkpoint(ctx).tree_size
    if not 0 <= old_size <= new_size <= size:
        raise ValidationFailed(
            f"from and to must satisfy 0 <= from <= to <= {size} (the newest checkpoint's size)"
        )
    store = NodeStore(ctx.session)
    store.preload_ranges(_ranges_of("consistency", old_size, new_size))
    return keys.tlog.consistency_proof(old_size, new_size, store.subtree)


def tree_size(ctx: ServiceContext) -> int:
    """The integrated tree's size (0 before the first integration)."""
    return ctx.session.scalar(select(LogState.tree_size).where(LogState.id == 1)) or 0


def pending_count(ctx: ServiceContext) -> int:
    """Leaves written but not yet integrated."""
    return ctx.session.scalar(select(func.count()).where(LogLeaf.idx.is_(None))) or 0


@dataclass(frozen=True)
class LogAudit:
    """What `licensesvc log verify` found: the tree size, checkpoints checked, problems."""

    tree_size: int
    checkpoints: int
    problems: list[str]


def verify_log(ctx: ServiceContext) -> LogAudit:
    """Recompute the tree from the stored leaves and compare it with every stored node and
    checkpoint (the root, and the signature under the key that signed it)."""
    from licensesvc.models import LogKeyRecord

    problems: list[str] = []
    leaves = ctx.session.execute(
        select(LogLeaf.idx, LogLeaf.leaf, LogLeaf.leaf_hash)
        .where(LogLeaf.idx.is_not(None))
        .order_by(LogLeaf.idx)
    ).all()
    hashes: list[bytes] = []
    for expected, (idx, data, stored_hash) in enumerate(leaves):
        if idx != expected:
            problems.append(f"index {expected} is missing or duplicated (found {idx})")
            break
        computed = keys.tlog.leaf_hash(bytes(data))
        if computed != bytes(stored_hash):
            problems.append(f"leaf {idx}: its stored hash is not the hash of its bytes")
        hashes.append(computed)
    size = tree_size(ctx)
    if len(hashes) != size:
        problems.append(f"the log state says {size} leaves, {len(hashes)} are integrated")
    # every stored node is the hash of its leaves
    levels: list[list[bytes]] = [hashes]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [keys.tlog.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        )
    for level, idx, value in ctx.session.execute(select(LogNode.level, LogNode.idx, LogNode.hash)):
        if level >= len(levels) or idx >= len(levels[level]) or levels[level][idx] != bytes(value):
            problems.append(f"node {level}/{idx} does not match the leaves")
    verifiers = {
        keys.tlog.LogVerifier.from_vkey(rec.vkey).key_id.hex(): keys.tlog.LogVerifier.from_vkey(
            rec.vkey
        )
        for rec in ctx.session.scalars(select(LogKeyRecord))
    }
    checkpoints = list(ctx.session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.id)))
    for cp in checkpoints:
        if cp.tree_size > len(hashes):
            problems.append(f"checkpoint {cp.id} is of {cp.tree_size} leaves, more than the tree")
            continue
        if keys.tlog.tree_hash(hashes[: cp.tree_size]) != bytes(cp.root_hash):
            problems.append(f"checkpoint {cp.id} (size {cp.tree_size}): root differs")
        verifier = verifiers.get(cp.key_id)
        try:
            if verifier is None:
                raise keys.tlog.BadCheckpoint("unknown key")
            signed = keys.tlog.verify_checkpoint(cp.note, verifier)
            if signed.tree_size != cp.tree_size or signed.root_hash != bytes(cp.root_hash):
                problems.append(f"checkpoint {cp.id}: the note says another tree head")
        except keys.tlog.BadCheckpoint as exc:
            problems.append(f"checkpoint {cp.id}: {exc.message}")
    return LogAudit(len(hashes), len(checkpoints), problems)


def leaves_for(
    ctx: ServiceContext, commitment: str, *, after: int = 0, limit: int = 1000
) -> Sequence[LogLeaf]:
    """Integrated leaves of one customer commitment from index ``after`` on, in index order."""
    return list(
        ctx.session.scalars(
            select(LogLeaf)
            .where(LogLeaf.commitment == commitment, LogLeaf.idx >= after)
            .order_by(LogLeaf.idx)
            .limit(limit)
        )
    )
