"""The transparency log (docs/transparency.md), no token needed: the static C2SP tlog-tiles
API under /log/ (checkpoint, tiles, entry bundles), and proofs and the log key under /v1/log."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from marshmallow import fields, validate
from werkzeug.wrappers import Response

import keys.tlog
from licensesvc import transparency
from licensesvc.domain.errors import NotFound
from licensesvc.platform import inputs

from .auth import public_context
from .blueprint import ApiBlueprint
from .schemas import RequestSchema

blp = ApiBlueprint(
    "log",
    __name__,
    url_prefix="/v1/log",
    description="No token needed: the transparency log's proofs and key.",
)
tiles = ApiBlueprint(
    "log_tiles",
    __name__,
    url_prefix="/log",
    description="No token needed: the transparency log as C2SP tlog-tiles (static, cacheable).",
)
_NO_TOKEN: list[dict[str, list[str]]] = []
_OCTETS = "application/octet-stream"
#: tiles and entry bundles never change once served (a partial one is named by its width)
IMMUTABLE = "public, max-age=31536000, immutable"
#: the checkpoint moves at least once a second while keys are issued
CHECKPOINT_CACHE = "public, max-age=1"
_WIDTH_RE = re.compile(r"[1-9][0-9]{0,2}")


class InclusionQuery(RequestSchema):
    serial = fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata={"example": "SN-..."}
    )


class ConsistencyQuery(RequestSchema):
    from_ = fields.Integer(
        data_key="from", required=True, validate=validate.Range(min=0, max=inputs.DB_INT_MAX)
    )
    to = fields.Integer(required=True, validate=validate.Range(min=0, max=inputs.DB_INT_MAX))


class InclusionSchema(ma.Schema):
    index = fields.Integer(metadata={"description": "the leaf's index in the tree"})
    tree_size = fields.Integer(metadata={"description": "the size of `checkpoint`'s tree"})
    leaf = fields.String(metadata={"description": "the leaf: canonical JSON of the event"})
    leaf_hash = fields.String(metadata={"description": "SHA-256(0x00 || leaf), base64"})
    proof = fields.List(
        fields.String(), metadata={"description": "RFC 9162 inclusion path, base64 hashes"}
    )
    checkpoint = fields.String(metadata={"description": "the C2SP checkpoint (signed note)"})


class ConsistencySchema(ma.Schema):
    from_ = fields.Integer(data_key="from")
    to = fields.Integer()
    proof = fields.List(
        fields.String(), metadata={"description": "RFC 9162 consistency path, base64 hashes"}
    )


class LogKeySchema(ma.Schema):
    vkey = fields.String(metadata={"description": "the active log key as a C2SP vkey"})
    origin = fields.String(metadata={"description": "the checkpoints' origin line"})
    retired = fields.List(fields.String(), metadata={"description": "retired log keys' vkeys"})


@blp.route("/inclusion")
class Inclusion(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.arguments(InclusionQuery, location="query")
    @blp.response(200, InclusionSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The inclusion proof of a key's issue in the newest checkpoint

        404 until the key is integrated (within seconds of issue).
        """
        found = transparency.inclusion(public_context(), query["serial"])
        return {
            "index": found.index,
            "tree_size": found.tree_size,
            "leaf": found.leaf.decode("ascii"),
            "leaf_hash": keys.tlog.b64encode(found.leaf_hash),
            "proof": [keys.tlog.b64encode(p) for p in found.proof],
            "checkpoint": found.checkpoint,
        }


@blp.route("/consistency")
class Consistency(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.arguments(ConsistencyQuery, location="query")
    @blp.response(200, ConsistencySchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The consistency proof between two tree sizes (up to the newest checkpoint's)"""
        old, new = query["from_"], query["to"]
        proof = transparency.consistency(public_context(), old, new)
        return {"from_": old, "to": new, "proof": [keys.tlog.b64encode(p) for p in proof]}


@blp.route("/key")
class LogKey(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.response(200, LogKeySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self) -> dict[str, Any]:
        """The log's public key as a C2SP verifier key (vkey)"""
        ctx = public_context()
        records = transparency.list_log_keys(ctx)
        active = [r.vkey for r in records if r.status == "active"]
        if not active:
            raise NotFound("the transparency log has no key yet")
        return {
            "vkey": active[0],
            "origin": keys.tlog.LogVerifier.from_vkey(active[0]).name,
            "retired": [r.vkey for r in records if r.status != "active"],
        }


def _octets(data: bytes) -> Response:
    response = current_app.response_class(data, mimetype=_OCTETS)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def _index_and_width(rest: str) -> tuple[int, int]:
    """`<N>[.p/<W>]` of a tile path. Raises NotFound for anything else."""
    path, width = rest, keys.tlog.TILE_WIDTH
    if ".p/" in rest:
        path, _, width_text = rest.partition(".p/")
        if not _WIDTH_RE.fullmatch(width_text) or not 1 <= int(width_text) <= 255:
            raise NotFound("a partial tile's width is 1 to 255")
        width = int(width_text)
    try:
        return keys.tlog.parse_tile_index_path(path), width
    except ValueError:
        raise NotFound("not a tile path") from None


@tiles.route("/checkpoint")
class Checkpoint(MethodView):
    @tiles.doc(
        security=_NO_TOKEN,
        responses={
            "200": {
                "description": "the signed note; Cache-Control max-age=1",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    @tiles.alt_response(404, response="NOT_FOUND")
    def get(self) -> Response:
        """The newest checkpoint (C2SP tlog-checkpoint, a signed note)"""
        note = transparency.checkpoint_note(public_context())
        response = current_app.response_class(note, mimetype="text/plain")
        response.headers["Cache-Control"] = CHECKPOINT_CACHE
        return response


@tiles.route("/tile/<level>/<path:rest>")
class Tile(MethodView):
    @tiles.doc(
        security=_NO_TOKEN,
        responses={
            "200": {
                "description": "immutable bytes; Cache-Control immutable",
                "content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    @tiles.alt_response(404, response="NOT_FOUND")
    def get(self, level: str, rest: str) -> Response:
        """A Merkle tree tile `<L>/<N>[.p/<W>]`: W (256 when full) hashes of 32 bytes"""
        # L is 0 to 63 without leading zeroes; anything else is a 404 problem, not Flask's page
        if not re.fullmatch(r"0|[1-9][0-9]?", level) or int(level) > 63:
            raise NotFound("a tile's level is 0 to 63")
        index, width = _index_and_width(rest)
        return _octets(transparency.tile(public_context(), int(level), index, width))


@tiles.route("/tile/entries/<path:rest>")
class Entries(MethodView):
    @tiles.doc(
        security=_NO_TOKEN,
        responses={
            "200": {
                "description": "immutable bytes; Cache-Control immutable",
                "content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    @tiles.alt_response(404, response="NOT_FOUND")
    def get(self, rest: str) -> Response:
        """An entry bundle `<N>[.p/<W>]`: the leaves, each after its big-endian uint16 length"""
        index, width = _index_and_width(rest)
        return _octets(transparency.entries(public_context(), index, width))
