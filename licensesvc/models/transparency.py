"""The transparency log (docs/transparency.md): leaves written with the key change they
record, the integrated tree's complete subtrees, the signed checkpoints, the log's signing keys
and the one state row the integrator locks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, intpk

LOG_KEY_STATUSES = ("active", "retired")


class LogLeaf(Base):
    """One event of the log: `leaf` is its canonical JSON, `leaf_hash` its RFC 6962 hash.
    `idx` is NULL until the integrator gives it its place in the tree."""

    __tablename__ = "tlog_leaves"
    __table_args__ = (
        # the integrator's queue: leaves not yet in the tree, oldest first
        Index(
            "ix_tlog_leaves_pending",
            "id",
            sqlite_where=text("idx IS NULL"),
            postgresql_where=text("idx IS NULL"),
        ),
    )

    id: Mapped[intpk]
    idx: Mapped[int | None] = mapped_column(unique=True)
    serial: Mapped[str] = mapped_column(String(40), index=True)
    event: Mapped[str] = mapped_column(String(20))
    #: the customer's HMAC commitment (hex), also inside `leaf`: what a customer monitors
    commitment: Mapped[str] = mapped_column(String(64), index=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]


class LogNode(Base):
    """The hash of a complete subtree: MTH of leaves [index * 2**level, (index + 1) * 2**level).
    Level 0 holds the leaf hashes. Written once, never changed."""

    __tablename__ = "tlog_nodes"

    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogCheckpoint(Base):
    """A signed tree head: the C2SP checkpoint note as served."""

    __tablename__ = "tlog_checkpoints"

    id: Mapped[intpk]
    tree_size: Mapped[int] = mapped_column(index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]


class LogState(Base):
    """One row (id 1): the integrated tree's size. The integrator locks it (SELECT ... FOR
    UPDATE), so one integrator at a time extends the tree, whatever the number of servers."""

    __tablename__ = "tlog_state"

    id: Mapped[intpk]
    tree_size: Mapped[int]
    updated_at: Mapped[datetime]


class LogKeyRecord(Base):
    """A log signing key: Ed25519, the private half PKCS#8 PEM encrypted under
    LICENSESVC_SIGNING_KEY_PASSPHRASE; `vkey` is its C2SP verifier key."""

    __tablename__ = "tlog_keys"
    __table_args__ = (CheckConstraint("status IN ('active', 'retired')", name="status"),)

    id: Mapped[intpk]
    vkey: Mapped[str] = mapped_column(String(300), unique=True)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
