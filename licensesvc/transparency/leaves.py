"""The log's leaves: one per issue, supersession and revocation of a key, written in the key
change's transaction (deferred to commit with the transaction's other writes: on PostgreSQL one
statement makes them all).

A leaf is canonical JSON (sorted keys, no spaces, ASCII) of what was done. The customer appears
only as an HMAC commitment under a key derived from LICENSESVC_SECRET_KEY: the log is public,
the customer learns its commitment from the portal (or an analyst) and monitors for it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import keys.tlog
from licensesvc.models import IssuedKey, LogLeaf
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.transactions import defer_insert_object

#: the leaf format's version (docs/transparency.md, "Leaves")
LEAF_VERSION = 1
EVENTS = ("issue", "supersede", "revoke")


def customer_commitment(ctx: ServiceContext, customer_id: int) -> str:
    """The customer's commitment in the log: hex HMAC-SHA256 of ``customer:<id>`` under the
    server's log-commitment key. The same customer always gets the same commitment."""
    key = ctx.settings.derived_key("log-commitment")
    return hmac.new(key, f"customer:{customer_id}".encode(), hashlib.sha256).hexdigest()


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def leaf_document(ctx: ServiceContext, key: IssuedKey, event: str, **extra: Any) -> dict[str, Any]:
    """What the leaf of ``event`` on ``key`` says (before encoding)."""
    claims = key.claims or {}
    return {
        "v": LEAF_VERSION,
        "event": event,
        "at": _timestamp(ctx.now()),
        "serial": key.serial,
        "kind": key.kind,
        "product": claims.get("product"),
        "not_before": _timestamp(key.not_before),
        "expires_at": _timestamp(key.expires_at),
        "key_sha256": hashlib.sha256(key.key_text.encode("utf-8")).hexdigest(),
        "replaces": key.supersedes,
        "case": key.case_number,
        "customer": customer_commitment(ctx, key.customer_id),
        **extra,
    }


def encode_leaf(document: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, ASCII only."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


def record_key_event(ctx: ServiceContext, key: IssuedKey, event: str, **extra: Any) -> LogLeaf:
    """Have the leaf of ``event`` ("issue", "supersede", "revoke") on ``key`` inserted with the
    transaction's other writes at commit (platform/transactions.py `defer_insert_object`: on
    PostgreSQL in the same statement): it commits with the key change or not at all, and the
    integrator gives it its index later. ``extra`` adds fields (``by`` for a supersession,
    ``code`` for a revocation). Returns the leaf row (in the session once inserted)."""
    assert event in EVENTS, event
    document = leaf_document(ctx, key, event, **extra)
    data = encode_leaf(document)
    leaf = LogLeaf(
        idx=None,
        serial=key.serial,
        event=event,
        commitment=document["customer"],
        leaf=data,
        leaf_hash=keys.tlog.leaf_hash(data),
        created_at=ctx.now(),
    )
    defer_insert_object(ctx.session, leaf)
    return leaf
