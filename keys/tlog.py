"""The transparency log's offline side: RFC 6962 Merkle hashing, inclusion and consistency
proofs (RFC 9162 sections 2.1.3 and 2.1.4), and checkpoints (C2SP ``tlog-checkpoint``, a
C2SP ``signed-note`` signed with Ed25519, trusted through a C2SP verifier key).

Standard library and ``cryptography`` only. docs/transparency.md describes the log; the
license file's ``log`` section is in docs/key-format.md.

Verification returns the verified value or raises a :class:`keys.errors.LicenseKeyError`
subclass with a stable code: :class:`NotLogged` (a proof that does not prove inclusion),
:class:`LogInconsistent` (two tree heads that no consistency proof joins), :class:`LogRollback`
(a checkpoint smaller than, or different from, one already trusted), :class:`BadCheckpoint`
(a note that is malformed or not signed by the trusted log key).
"""

from __future__ import annotations

import binascii
import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence

from keys.errors import InvalidValue, KeyConfigurationError, LicenseKeyError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
ED25519_TYPE = b"\x01"
#: RFC 6962 section 2.1: the hash of the empty tree is SHA-256 of the empty string
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: C2SP tlog-tiles: a tile holds 2**8 hashes
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
#: the most signature lines read from a note (C2SP signed-note: at least 16 must be accepted)
MAX_SIGNATURES = 16
MAX_NOTE_LENGTH = 16384
SIGNATURE_DASH = "\u2014 "


class NotLogged(LicenseKeyError):
    code = "not_logged"
    default_message = "The license key is not proved to be in the transparency log."


class LogInconsistent(LicenseKeyError):
    code = "log_inconsistent"
    default_message = "The transparency log's tree heads are not consistent with each other."


class LogRollback(LicenseKeyError):
    code = "log_rollback"
    default_message = (
        "The transparency log's checkpoint is older than, or different from, one seen before."
    )


class BadCheckpoint(LicenseKeyError):
    code = "bad_checkpoint"
    default_message = "The checkpoint is malformed or not signed by the trusted log key."


# -- hashing (RFC 6962 section 2.1) -----------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    """Return the RFC 6962 hash of one leaf: ``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (RFC 6962 MTH) of the leaves whose hashes are given."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # bottom-up, carrying an odd last node upwards unchanged: the same tree as MTH's split at
    # the largest power of two
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


SubtreeHash = Callable[[int, int], bytes]
"""``subtree(start, end)`` -> MTH(D[start:end]); a store of the tree answers it."""


def subtree_hash_from_leaves(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    """Return a :data:`SubtreeHash` computing from a list of leaf hashes (tests, small logs)."""

    def subtree(start: int, end: int) -> bytes:
        return tree_hash(leaf_hashes[start:end])

    return subtree


def inclusion_proof(index: int, tree_size: int, subtree: SubtreeHash) -> list[bytes]:
    """Return the RFC 6962 audit path ``PATH(index, D[0:tree_size])``, leaf end first.

    Raises InvalidValue when ``index`` is not below ``tree_size``.
    """
    if not 0 <= index < tree_size:
        raise InvalidValue(f"leaf {index} is not in a tree of {tree_size}")
    proof: list[bytes] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """Return the RFC 6962 ``PROOF(old_size, D[0:new_size])``, smallest subtree first.

    Empty when the sizes are equal or the old tree is empty. Raises InvalidValue when
    ``old_size`` is greater than ``new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise InvalidValue(f"no consistency proof from {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    # SUBPROOF(m, D[start:end], whole)
    while True:
        n = end - start
        if m == n:
            if not whole:
                proof.append(subtree(start, end))
            break
        k = _split(n)
        if m <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start += k
            m -= k
            whole = False
    proof.reverse()
    return proof


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise InvalidValue(f"{what} must be {HASH_SIZE} bytes")


def verify_inclusion(
    leaf_hash_: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf hashed ``leaf_hash_`` is at ``index`` in the tree of ``tree_size``
    leaves whose root is ``root`` (RFC 9162 section 2.1.3.2). Returns None; raises NotLogged.
    """
    if not 0 <= index < tree_size:
        raise NotLogged(f"index {index} is not in a tree of {tree_size} leaves")
    if any(len(p) != HASH_SIZE for p in proof) or len(leaf_hash_) != HASH_SIZE:
        raise NotLogged("a proof hash is not 32 bytes")
    # 1. fn = index, sn = tree_size - 1, r = the leaf's hash
    fn, sn, r = index, tree_size - 1, leaf_hash_
    # 2. for each p in the path
    for p in proof:
        if sn == 0:
            raise NotLogged("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 3. sn is 0 and r is the root
    if sn != 0 or r != root:
        raise NotLogged("the inclusion proof does not lead to the checkpoint's root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``new_size`` leaves rooted at ``new_root`` extends the tree of
    ``old_size`` leaves rooted at ``old_root`` (RFC 9162 section 2.1.4.2). Returns None;
    raises LogInconsistent.
    """
    if not 0 <= old_size <= new_size:
        raise LogInconsistent(f"a tree of {new_size} cannot extend one of {old_size}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise LogInconsistent("a proof hash is not 32 bytes")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise LogInconsistent(f"two different roots for a tree of {old_size} leaves")
        return
    if old_size == 0:
        if proof:
            raise LogInconsistent("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise LogInconsistent("the consistency proof is empty")
    path = list(proof)
    # 1. if old_size is a power of two, the old root is the first node
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 2-3. fn = old_size - 1, sn = new_size - 1; shift both right while fn's low bit is set
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 4. fr = sr = the first node
    fr = sr = path[0]
    # 5. for each later node c
    for c in path[1:]:
        if sn == 0:
            raise LogInconsistent("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 6. fr is the old root, sr the new one, and sn is 0
    if sn != 0 or fr != old_root or sr != new_root:
        raise LogInconsistent(
            f"the consistency proof from {old_size} to {new_size} does not join the two roots"
        )


# -- signed notes and verifier keys (C2SP signed-note) ----------------------------------------

_NAME_RE = re.compile(r"[^\s+]+")
_KEY_ID_RE = re.compile(r"[0-9a-f]{8}")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4), as the C2SP formats use."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode standard padded base64; raise ValueError on anything but its canonical form."""
    data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    if b64encode(data) != text:
        raise ValueError("not canonical base64")
    return data


def note_key_id(name: str, signature_type: bytes, public_key: bytes) -> bytes:
    """The 4-byte key ID: ``SHA-256(name || 0x0A || type || public key)[:4]``."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + signature_type + public_key).digest()[:4]


def _check_key_name(name: str) -> None:
    if not _NAME_RE.fullmatch(name):
        raise InvalidValue("a key name must be non-empty, without spaces or '+'")


@dataclasses.dataclass(frozen=True)
class LogVerifier:
    """A trusted log public key: name, key ID and the raw 32-byte Ed25519 key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> LogVerifier:
        """Parse a C2SP verifier key ``name+hex(keyid)+base64(0x01 || pubkey)``.

        Raises KeyConfigurationError when it is not an Ed25519 vkey whose key ID matches.
        """
        parts = vkey.strip().split("+", 2)  # the base64 part may hold "+" itself
        if len(parts) != 3 or not _NAME_RE.fullmatch(parts[0]):
            raise KeyConfigurationError("a log key must be name+keyid+base64(key)")
        name, key_id_hex, material_b64 = parts
        if not _KEY_ID_RE.fullmatch(key_id_hex):
            raise KeyConfigurationError("a log key's ID must be 8 lowercase hex digits")
        try:
            material = b64decode(material_b64)
        except ValueError:
            raise KeyConfigurationError("a log key's key material is not base64") from None
        if len(material) != 33 or material[:1] != ED25519_TYPE:
            raise KeyConfigurationError("a log key must be an Ed25519 key (type 0x01)")
        key_id = bytes.fromhex(key_id_hex)
        if note_key_id(name, ED25519_TYPE, material[1:]) != key_id:
            raise KeyConfigurationError("a log key's ID does not match its name and key")
        return cls(name=name, key_id=key_id, public_key=material[1:])

    @property
    def vkey(self) -> str:
        """This key as a C2SP verifier key string."""
        return f"{self.name}+{self.key_id.hex()}+{b64encode(ED25519_TYPE + self.public_key)}"

    def verifies(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class LogSigner:
    """A log signing key: a name and an Ed25519 private key (raw 32-byte seed)."""

    def __init__(self, name: str, private_key: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        _check_key_name(name)
        if len(private_key) != 32:
            raise KeyConfigurationError("a log signing key is a 32-byte Ed25519 seed")
        self.name = name
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)
        public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = LogVerifier(
            name=name, key_id=note_key_id(name, ED25519_TYPE, public), public_key=public
        )

    @classmethod
    def generate(cls, name: str) -> LogSigner:
        """Return a new random log signing key named ``name``."""
        import os

        return cls(name, os.urandom(32))

    def sign_note(self, text: str) -> str:
        """Return ``text`` (which must end in a newline) as a signed note signed by this key."""
        _check_note_text(text)
        signature = self._key.sign(text.encode("utf-8"))
        line = f"{SIGNATURE_DASH}{self.name} {b64encode(self.verifier.key_id + signature)}\n"
        return f"{text}\n{line}"


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise InvalidValue("a note's text must end in a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise InvalidValue("a note may hold no control character but newline")


def open_note(note: str, verifier: LogVerifier) -> str:
    """Return the text of the signed ``note`` once ``verifier``'s signature on it checks out.

    Signatures of other keys are ignored (C2SP signed-note). Raises BadCheckpoint when the note
    is malformed, has no signature of ``verifier``, or that signature does not verify.
    """
    # 1. size and characters
    if len(note) > MAX_NOTE_LENGTH:
        raise BadCheckpoint("the note is too long")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note) or not note.endswith("\n"):
        raise BadCheckpoint("the note holds a control character or lacks its final newline")
    # 2. the text ends at the last blank line
    cut = note.rfind("\n\n")
    if cut < 0:
        raise BadCheckpoint("the note has no blank line before its signatures")
    text, signature_block = note[: cut + 1], note[cut + 2 :]
    lines = signature_block.split("\n")[:-1]
    if not lines or len(lines) > MAX_SIGNATURES:
        raise BadCheckpoint("the note has no signature, or too many")
    # 3. each signature line; only the trusted key's (name and key ID both) is checked
    verified = False
    for line in lines:
        if not line.startswith(SIGNATURE_DASH):
            raise BadCheckpoint("a signature line does not start with an em dash")
        name, _, encoded = line[len(SIGNATURE_DASH) :].rpartition(" ")
        try:
            blob = b64decode(encoded)
        except ValueError:
            raise BadCheckpoint("a signature is not base64") from None
        if not _NAME_RE.fullmatch(name) or len(blob) < 5:
            raise BadCheckpoint("a signature line is malformed")
        if name != verifier.name or blob[:4] != verifier.key_id:
            continue
        if not verifier.verifies(text.encode("utf-8"), blob[4:]):
            raise BadCheckpoint("the log key's signature on the note does not verify")
        verified = True
    if not verified:
        raise BadCheckpoint("the note carries no signature of the trusted log key")
    return text


# -- checkpoints (C2SP tlog-checkpoint) -------------------------------------------------------

_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A verified tree head: the log's origin, its size and root hash, extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The checkpoint's note text (what the log signs)."""
        lines = [self.origin, str(self.tree_size), b64encode(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"

    def sign(self, signer: LogSigner) -> str:
        """Return this checkpoint as a signed note."""
        return signer.sign_note(self.text())


def parse_checkpoint_text(text: str) -> Checkpoint:
    """Parse a checkpoint's note text (unsigned). Raises BadCheckpoint."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise BadCheckpoint("a checkpoint is at least three non-empty lines")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not _SIZE_RE.fullmatch(size_text) or int(size_text) > 2**63 - 1:
        raise BadCheckpoint("the checkpoint's tree size is not a decimal number")
    try:
        root = b64decode(root_text)
    except ValueError:
        raise BadCheckpoint("the checkpoint's root hash is not base64") from None
    if len(root) != HASH_SIZE:
        raise BadCheckpoint("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def verify_checkpoint(note: str, verifier: LogVerifier, *, origin: str | None = None) -> Checkpoint:
    """Return the checkpoint in the signed ``note`` once ``verifier`` signed it.

    ``origin`` defaults to the verifier's key name (the log's name and origin are one here).
    Raises BadCheckpoint.
    """
    checkpoint = parse_checkpoint_text(open_note(note, verifier))
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise BadCheckpoint(f"the checkpoint is of log {checkpoint.origin!r}, not {expected!r}")
    return checkpoint


def check_not_rolled_back(
    seen: Checkpoint | None,
    new: Checkpoint,
    consistency: Sequence[bytes] | None = None,
) -> None:
    """Refuse ``new`` if it is smaller than the checkpoint ``seen`` before, or the same size
    with a different root, or (given ``consistency``, the proof from ``seen`` to ``new``) not
    an extension of it. Returns None; raises LogRollback or LogInconsistent.
    """
    if seen is None:
        return
    if new.tree_size < seen.tree_size:
        raise LogRollback(
            f"the checkpoint of {new.tree_size} leaves is older than one of {seen.tree_size}"
        )
    if new.tree_size == seen.tree_size and new.root_hash != seen.root_hash:
        raise LogRollback(f"two different checkpoints of {new.tree_size} leaves: a forked log")
    if consistency is not None:
        verify_consistency(
            seen.tree_size, new.tree_size, consistency, seen.root_hash, new.root_hash
        )


# -- tiles (C2SP tlog-tiles) -------------------------------------------------------------------


def tile_index_path(index: int) -> str:
    """Encode a tile index as zero-padded 3-digit path elements: 1234067 -> x001/x234/067."""
    if index < 0:
        raise InvalidValue("a tile index is not negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def parse_tile_index_path(path: str) -> int:
    """Decode a tile index path (:func:`tile_index_path`); raise ValueError otherwise."""
    parts = path.split("/")
    if not all(re.fullmatch(r"x[0-9]{3}", p) for p in parts[:-1]) or not re.fullmatch(
        r"[0-9]{3}", parts[-1]
    ):
        raise ValueError(f"not a tile index path: {path!r}")
    index = int("".join(p.lstrip("x") for p in parts))
    if tile_index_path(index) != path:
        raise ValueError(f"not the canonical path of tile {index}")
    return index


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """The path of a tile under the log's prefix: ``tile/<L>/<N>[.p/<W>]`` (``L`` may be
    ``"entries"``)."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{tile_index_path(index)}{suffix}"


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Concatenate entries as a tlog-tiles entry bundle (big-endian uint16 length prefixes)."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise InvalidValue("a log entry is at most 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def split_entry_bundle(bundle: bytes) -> list[bytes]:
    """The entries of an entry bundle; raise ValueError when it is truncated."""
    entries: list[bytes] = []
    at = 0
    while at < len(bundle):
        if at + 2 > len(bundle):
            raise ValueError("truncated entry bundle")
        size = int.from_bytes(bundle[at : at + 2], "big")
        if at + 2 + size > len(bundle):
            raise ValueError("truncated entry bundle")
        entries.append(bundle[at + 2 : at + 2 + size])
        at += 2 + size
    return entries


# -- the log proof a license file carries (docs/key-format.md, "The log proof") -------------

PROOF_BEGIN = "-----BEGIN LICENSESVC LOG PROOF-----"
PROOF_END = "-----END LICENSESVC LOG PROOF-----"
PROOF_LINE_WIDTH = 64


@dataclasses.dataclass(frozen=True)
class LogProof:
    """A key's issue leaf, its index, the tree size and audit path, and the signed checkpoint
    of that size: what a license file carries so an installer can check, offline, that the key
    is in the log."""

    index: int
    tree_size: int
    leaf: bytes
    proof: tuple[bytes, ...]
    checkpoint: str

    def to_dict(self) -> dict[str, object]:
        return {
            "checkpoint": self.checkpoint,
            "index": self.index,
            "leaf": self.leaf.decode("ascii"),
            "proof": [b64encode(p) for p in self.proof],
            "tree_size": self.tree_size,
        }

    def render(self) -> str:
        """The proof as its armored block (ends with a newline)."""
        import json

        body = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        encoded = b64encode(body.encode("ascii"))
        lines = [
            encoded[at : at + PROOF_LINE_WIDTH] for at in range(0, len(encoded), PROOF_LINE_WIDTH)
        ]
        return "\n".join([PROOF_BEGIN, *lines, PROOF_END]) + "\n"


def split_license_file(text: str) -> tuple[str, LogProof | None]:
    """Split a license file into its license block and its log proof (None when it carries
    none). Raises NotLogged when a proof block is there but cannot be read."""
    at = text.find(PROOF_BEGIN)
    if at < 0:
        return text, None
    license_text, block = text[:at], text[at:].strip()
    lines = block.split("\n")
    if len(lines) < 3 or lines[-1] != PROOF_END:
        raise NotLogged("the license file's log proof has no END line")
    try:
        import json

        obj = json.loads(b64decode("".join(lines[1:-1])))
        proof = LogProof(
            index=obj["index"],
            tree_size=obj["tree_size"],
            leaf=obj["leaf"].encode("ascii"),
            proof=tuple(b64decode(p) for p in obj["proof"]),
            checkpoint=obj["checkpoint"],
        )
        if not (isinstance(proof.index, int) and isinstance(proof.tree_size, int)):
            raise TypeError("index and tree size are integers")
        if not isinstance(proof.checkpoint, str):
            raise TypeError("the checkpoint is text")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise NotLogged("the license file's log proof cannot be read") from None
    return license_text, proof


def verify_key_logged(
    text_key: str, serial: str, proof: LogProof | None, log_key: LogVerifier
) -> Checkpoint:
    """Check that the key ``text_key`` (compact form) with ``serial`` is in the log: the proof's
    checkpoint is signed by ``log_key``, its leaf is this key's issue leaf (serial and SHA-256 of
    the key text), and the audit path leads from the leaf to the checkpoint's root.

    Returns the checkpoint; raises NotLogged (no proof, or one that does not prove this key),
    BadCheckpoint (a checkpoint not signed by the log key).
    """
    import json

    # 1. a proof is there
    if proof is None:
        raise NotLogged("the license file carries no transparency-log proof")
    # 2. its checkpoint is the log's, of the size the proof is for
    checkpoint = verify_checkpoint(proof.checkpoint, log_key)
    if checkpoint.tree_size != proof.tree_size:
        raise NotLogged("the log proof is for another tree size than its checkpoint")
    # 3. the leaf is this key's issue leaf
    try:
        leaf = json.loads(proof.leaf)
    except ValueError:
        raise NotLogged("the log proof's leaf is not JSON") from None
    if not isinstance(leaf, dict) or leaf.get("event") != "issue" or leaf.get("serial") != serial:
        raise NotLogged("the log proof's leaf is not this key's issue")
    if leaf.get("key_sha256") != hashlib.sha256(text_key.encode("ascii")).hexdigest():
        raise NotLogged("the log proof's leaf records another key text")
    # 4. the audit path leads to the signed root
    verify_inclusion(
        leaf_hash(proof.leaf), proof.index, proof.tree_size, proof.proof, checkpoint.root_hash
    )
    return checkpoint


def text_key_of(license_text: str) -> str:
    """The compact text key inside a license block (or ``license_text`` itself when it is a
    compact key): what a leaf's ``key_sha256`` is the hash of."""
    stripped = license_text.strip()
    if not stripped.startswith("-----BEGIN "):
        return stripped
    lines = stripped.split("\n")
    try:
        blank = lines.index("")
    except ValueError:
        raise NotLogged("the license file has no blank line before its key") from None
    return "".join(line.strip() for line in lines[blank + 1 : -1])


__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "BadCheckpoint",
    "Checkpoint",
    "LogInconsistent",
    "LogRollback",
    "LogSigner",
    "LogProof",
    "LogVerifier",
    "NotLogged",
    "SubtreeHash",
    "b64decode",
    "b64encode",
    "check_not_rolled_back",
    "consistency_proof",
    "entry_bundle",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "note_key_id",
    "open_note",
    "parse_checkpoint_text",
    "parse_tile_index_path",
    "split_entry_bundle",
    "split_license_file",
    "subtree_hash_from_leaves",
    "text_key_of",
    "tile_index_path",
    "tile_path",
    "tree_hash",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_key_logged",
]
