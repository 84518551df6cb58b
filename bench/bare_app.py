"""The baseline of bench/server_bench.py: a bare Flask app answering JSON of a given size
(`/bare/<bytes>`, the size of the endpoint it is compared with; `/bare`: `BENCH_BARE_BYTES`,
default 600) under the same gunicorn as licensesvc, for every method.

Two more routes measure what the endpoints' unavoidable parts cost on their own, so that the
benchmark can say how close to its target an endpoint could come at best:

* `/parts/verify/<bytes>`: the bare answer plus one Ed25519 verify (of a signature over a
  payload the size of a license key's) and one Ed25519 sign (of an answer the size of
  verify's), the cryptography every online verify must do;
* `/parts/insert/<bytes>`: the bare answer plus one INSERT and COMMIT on `BENCH_PARTS_DATABASE_URL`
  (a PostgreSQL URL; a table `bench_parts` is made), the least a key request writes.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

SIZE = int(os.environ.get("BENCH_BARE_BYTES", "600"))
#: `{"padding": "xxx…"}` is 15 bytes plus the padding
PADDING = "x" * max(0, SIZE - 15)

app = Flask(__name__)

_SIGNER = Ed25519PrivateKey.generate()
_PUBLIC = _SIGNER.public_key()
_PAYLOAD = b"licensesvc/key/v1\n" + b"p" * 420  # a key's signed bytes are about this long
_SIGNATURE = _SIGNER.sign(_PAYLOAD)
_ANSWER = b"a" * 300
_local = threading.local()


_paddings: dict[int, str] = {}


def _padding(size: int | None) -> str:
    if size is None:
        return PADDING
    found = _paddings.get(size)
    if found is None:
        found = _paddings[size] = "x" * max(0, size - 15)
    return found


@app.route("/bare", methods=["GET", "POST"])
@app.route("/bare/<int:size>", methods=["GET", "POST"])
def bare(size: int | None = None) -> ResponseReturnValue:
    return jsonify(padding=_padding(size))


@app.route("/parts/verify/<int:size>", methods=["GET", "POST"])
def parts_verify(size: int) -> ResponseReturnValue:
    _PUBLIC.verify(_SIGNATURE, _PAYLOAD)
    _SIGNER.sign(_ANSWER)
    return jsonify(padding=_padding(size))


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        import psycopg

        url = os.environ["BENCH_PARTS_DATABASE_URL"].replace(
            "postgresql+psycopg://", "postgresql://"
        )
        conn = psycopg.connect(url)
        conn.execute("CREATE TABLE IF NOT EXISTS bench_parts (id serial PRIMARY KEY, x text)")
        conn.commit()
        _local.conn = conn
    return conn


@app.route("/parts/insert/<int:size>", methods=["GET", "POST"])
def parts_insert(size: int) -> ResponseReturnValue:
    conn = _connection()
    conn.execute("INSERT INTO bench_parts (x) VALUES (%s)", (PADDING[:64],))
    conn.commit()
    return jsonify(padding=_padding(size))


@app.get("/readyz")
def readyz() -> ResponseReturnValue:
    return jsonify(status="ok")
