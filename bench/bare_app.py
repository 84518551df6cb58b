"""The baseline of bench/server_bench.py: a bare Flask app answering JSON of a given size
(`BENCH_BARE_BYTES`, default 600) under the same gunicorn as licensesvc, for every method."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

SIZE = int(os.environ.get("BENCH_BARE_BYTES", "600"))
#: `{"padding": "xxx…"}` is 15 bytes plus the padding
PADDING = "x" * max(0, SIZE - 15)

app = Flask(__name__)


@app.route("/bare", methods=["GET", "POST"])
def bare() -> ResponseReturnValue:
    return jsonify(padding=PADDING)


@app.get("/readyz")
def readyz() -> ResponseReturnValue:
    return jsonify(status="ok")
