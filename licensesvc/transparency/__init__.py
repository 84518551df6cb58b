"""The transparency log (docs/transparency.md): every issue, supersession and revocation of a
key is a leaf of an RFC 6962 Merkle tree, written in the key change's transaction; an
integrator gives leaves their indices and signs C2SP checkpoints with the log's own key; the
tree is read as C2SP tiles and as inclusion and consistency proofs.

It sits below issuance in the domain order (issuance calls ``record_key_event``) and uses no
other domain package."""

from .leaves import (
    EVENTS,
    customer_commitment,
    encode_leaf,
    record_key_event,
)
from .log_keys import (
    DEFAULT_ORIGIN,
    LogKeyUnavailable,
    active_log_key,
    ensure_log_key,
    generate_log_key,
    list_log_keys,
    log_signer,
    rotate_log_key,
)
from .tree import (
    InclusionProof,
    Integration,
    LogAudit,
    checkpoint_note,
    consistency,
    entries,
    inclusion,
    integrate,
    latest_checkpoint,
    leaves_for,
    pending_count,
    tile,
    tree_size,
    verify_log,
)

__all__ = [
    "DEFAULT_ORIGIN",
    "EVENTS",
    "InclusionProof",
    "Integration",
    "LogAudit",
    "LogKeyUnavailable",
    "active_log_key",
    "checkpoint_note",
    "consistency",
    "customer_commitment",
    "encode_leaf",
    "ensure_log_key",
    "entries",
    "generate_log_key",
    "inclusion",
    "integrate",
    "latest_checkpoint",
    "leaves_for",
    "list_log_keys",
    "log_signer",
    "pending_count",
    "record_key_event",
    "rotate_log_key",
    "tile",
    "tree_size",
    "verify_log",
]
