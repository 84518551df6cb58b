"""Verification benchmark: ``keys.verify`` against raw Ed25519, PyJWT, PASETO and a process.

Run from the repository root::

    .venv/bin/python -m bench.verify_bench            # full run, rewrites docs/performance.md
    .venv/bin/python -m bench.verify_bench --quick    # short run, prints only
    .venv/bin/python -m bench.verify_bench --check    # exit 1 when a target is missed

One run measures, on the same machine and for the same claims:

1. ``keys.verify`` of a text key (verifications per second);
2. the baseline: ``Ed25519PublicKey.verify`` of the very same signature over the very same
   signed bytes (docs/key-format.md section 2: ``b"licensesvc/key/v1\\n" || payload``);
3. PyJWT ``jwt.decode(token, public_key, algorithms=["EdDSA"])`` of an equivalent JWT;
4. pyseto ``pyseto.decode(key, token, deserializer=json)`` of an equivalent v4.public token;
5. whole processes: ``licensesvc verify KEYFILE --public-key PEM`` against ``python -c`` doing
   one raw Ed25519 verify, plus a check that the offline path imports no server module.

Every figure in docs/performance.md is written by this module; none is typed by hand.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import gc
import importlib.metadata
import json
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cryptography
import jwt
import pyseto
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import keys
import keys.signing
from tests.support.claims import make_claims

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "performance.md"
RERUN_COMMAND = ".venv/bin/python -m bench.verify_bench"

# docs/key-format.md section 2: a license key is "LK1." b64url(payload) "." b64url(signature)
# and the signature covers CONTEXT || payload. Written here from the spec on purpose (not
# imported from keys/) so that the baseline checks the spec, not the implementation.
KEY_PREFIX = "LK1."
KEY_CONTEXT = b"licensesvc/key/v1\n"

# A fixed 32-byte seed: every run signs the same bytes (Ed25519 signatures are deterministic).
SEED = b"licensesvc-verify-benchmark-seed"
assert len(SEED) == 32
# keys.verify's "at": inside the key's validity window.
VERIFY_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# Targets.
MIN_RATIO_TO_RAW = 0.9
MAX_PROCESS_RATIO = 1.5
# Modules the offline `licensesvc verify` path must never import (the server stack).
SERVER_STACK = (
    "flask",
    "flask_smorest",
    "werkzeug",
    "jinja2",
    "sqlalchemy",
    "alembic",
    "marshmallow",
    "psycopg",
    "gunicorn",
    "argon2",
    "holidays",
    "licensesvc.app",
    "licensesvc.api",
    "licensesvc.db",
    "licensesvc.models",
    "licensesvc.domain",
    "licensesvc.platform",
    "licensesvc.migrate",
    "licensesvc.runtime",
)

RAW = "raw"
LICENSESVC = "licensesvc"
PYJWT = "pyjwt"
PASETO = "paseto"
LABELS = {
    RAW: "raw `Ed25519PublicKey.verify` (context + payload) — baseline",
    LICENSESVC: "`keys.verify` (text key `LK1.…`)",
    PYJWT: 'PyJWT `jwt.decode(…, algorithms=["EdDSA"])`',
    PASETO: "pyseto `pyseto.decode(…, deserializer=json)` v4.public",
}


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How long and how often to measure."""

    mode: str
    warmup_seconds: float  # per in-process path, before its first timed batch
    batch_seconds: float  # a batch is calibrated to last at least this long
    repeats: int  # timed batches per path, interleaved across paths
    fixed_batch: int | None = None  # calls per batch, skipping calibration (tests)
    profile_calls: int = 2000
    process_runs: int = 31
    process_warmups: int = 2
    importtime_runs: int = 5


FULL = Settings(mode="full", warmup_seconds=1.0, batch_seconds=0.25, repeats=15)
QUICK = Settings(
    mode="quick",
    warmup_seconds=0.1,
    batch_seconds=0.03,
    repeats=5,
    profile_calls=300,
    process_runs=5,
    process_warmups=1,
    importtime_runs=2,
)
# For the unit tests: proves the harness, measures nothing worth reading.
TINY = Settings(
    mode="tiny",
    warmup_seconds=0.0,
    batch_seconds=0.0,
    repeats=2,
    fixed_batch=3,
    profile_calls=5,
    process_runs=1,
    process_warmups=0,
    importtime_runs=1,
)


# --------------------------------------------------------------------------------------------
# The fixture: one claim set, signed four ways
# --------------------------------------------------------------------------------------------


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (the benchmark's own decoder, for the raw baseline)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def split_text_key(text_key: str) -> tuple[bytes, bytes]:
    """Return (payload, signature) of a text key, per docs/key-format.md section 2."""
    if not text_key.startswith(KEY_PREFIX):
        raise ValueError("not a license key")
    payload_b64, signature_b64 = text_key[len(KEY_PREFIX) :].split(".")
    return b64url_decode(payload_b64), b64url_decode(signature_b64)


def benchmark_claims() -> keys.Claims:
    """The claim set every path carries: the tests' (tests/support/claims.py, the example of
    docs/key-format.md section 5), valid until 2099."""
    return make_claims(
        expires_at=datetime(2099, 12, 31, tzinfo=UTC), maintenance_until=date(2099, 12, 31)
    )


def jwt_claims(claims: keys.Claims) -> dict[str, Any]:
    """The equivalent JWT claim set: the same members, times also as registered NumericDates.

    ``nbf``, ``exp`` and ``iat`` let PyJWT run the validity checks keys.verify runs.
    """
    wire = claims.to_dict()
    wire["nbf"] = int(claims.not_before.timestamp())
    wire["iat"] = int(claims.issued_at.timestamp())
    assert claims.expires_at is not None
    wire["exp"] = int(claims.expires_at.timestamp())
    return wire


def paseto_claims(claims: keys.Claims) -> dict[str, Any]:
    """The equivalent PASETO claim set: the same members plus registered ISO 8601 times."""
    wire = claims.to_dict()
    wire["nbf"] = wire["not_before"]
    wire["iat"] = wire["issued_at"]
    wire["exp"] = wire["expires_at"]
    return wire


@dataclass(frozen=True)
class Fixture:
    """One claim set as a licensesvc text key, a JWT and a PASETO, with the public keys."""

    claims: keys.Claims
    public_key: keys.PublicKey  # what keys.verify trusts
    ed25519_public: Ed25519PublicKey  # the same key for the baseline and PyJWT
    public_pem: bytes
    text_key: str
    payload: bytes
    signature: bytes
    message: bytes  # KEY_CONTEXT + payload: exactly the bytes that are signed
    jwt_token: str
    paseto_public: Any  # pyseto KeyInterface
    paseto_token: bytes
    at: datetime = VERIFY_AT

    @property
    def trusted(self) -> list[keys.PublicKey]:
        return [self.public_key]


def build_fixture() -> Fixture:
    """Sign the benchmark claims with one Ed25519 key as a text key, a JWT and a PASETO."""
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    signing_key = keys.SigningKey(private)
    claims = benchmark_claims()
    text_key = keys.sign_key(claims, signing_key)
    signed_claims = keys.decode_unverified(text_key)  # with the kid filled in
    payload, signature = split_text_key(text_key)

    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ed25519_public = private.public_key()
    public_pem = ed25519_public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwt_token = jwt.encode(jwt_claims(signed_claims), private, algorithm="EdDSA")
    paseto_private = pyseto.Key.new(version=4, purpose="public", key=private_pem)
    paseto_public = pyseto.Key.new(version=4, purpose="public", key=public_pem)
    paseto_token = pyseto.encode(paseto_private, paseto_claims(signed_claims), serializer=json)
    return Fixture(
        claims=signed_claims,
        public_key=keys.PublicKey.from_pem(public_pem),
        ed25519_public=ed25519_public,
        public_pem=public_pem,
        text_key=text_key,
        payload=payload,
        signature=signature,
        message=KEY_CONTEXT + payload,
        jwt_token=jwt_token,
        paseto_public=paseto_public,
        paseto_token=paseto_token,
    )


# The four measured calls. Each returns what the caller would use and raises when the
# signature (or anything else) does not check out. The timed loop calls exactly these
# library functions with these arguments (see `calls`).


def verify_licensesvc(fx: Fixture, text_key: str) -> keys.Claims:
    return keys.verify(text_key, fx.trusted, at=fx.at)


def verify_raw(fx: Fixture, signature: bytes, message: bytes) -> None:
    fx.ed25519_public.verify(signature, message)


def verify_jwt(fx: Fixture, token: str) -> dict[str, Any]:
    result: dict[str, Any] = jwt.decode(token, fx.ed25519_public, algorithms=["EdDSA"])
    return result


def verify_paseto(fx: Fixture, token: bytes) -> dict[str, Any]:
    payload = pyseto.decode(fx.paseto_public, token, deserializer=json).payload
    assert isinstance(payload, dict)
    return payload


Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def calls(fx: Fixture) -> dict[str, Call]:
    """The timed call of each path: (function, args, kwargs), all bound outside the loop."""
    trusted = fx.trusted
    return {
        RAW: (fx.ed25519_public.verify, (fx.signature, fx.message), {}),
        LICENSESVC: (keys.verify, (fx.text_key, trusted), {"at": fx.at}),
        PYJWT: (jwt.decode, (fx.jwt_token, fx.ed25519_public), {"algorithms": ["EdDSA"]}),
        PASETO: (pyseto.decode, (fx.paseto_public, fx.paseto_token), {"deserializer": json}),
    }


def self_check(fx: Fixture) -> None:
    """Raise AssertionError unless every path accepts its token with the benchmark claims and
    rejects a copy whose signature has one bit flipped. Runs before any timing."""
    wire = fx.claims.to_dict()
    assert verify_licensesvc(fx, fx.text_key) == fx.claims
    verify_raw(fx, fx.signature, fx.message)
    decoded_jwt = verify_jwt(fx, fx.jwt_token)
    assert {name: decoded_jwt[name] for name in wire} == wire
    decoded_paseto = verify_paseto(fx, fx.paseto_token)
    assert {name: decoded_paseto[name] for name in wire} == wire

    rejections: list[tuple[str, Callable[[], Any], type[BaseException]]] = [
        (
            LICENSESVC,
            lambda: verify_licensesvc(fx, tamper_text_key(fx.text_key)),
            keys.BadSignature,
        ),
        (RAW, lambda: verify_raw(fx, flip_bit(fx.signature), fx.message), InvalidSignature),
        (PYJWT, lambda: verify_jwt(fx, tamper_jwt(fx.jwt_token)), jwt.InvalidSignatureError),
        (PASETO, lambda: verify_paseto(fx, tamper_paseto(fx.paseto_token)), pyseto.VerifyError),
    ]
    for name, attempt, expected in rejections:
        try:
            attempt()
        except expected:
            continue
        raise AssertionError(f"{name}: a tampered token was accepted")


def flip_bit(data: bytes, index: int = -1) -> bytes:
    """Return ``data`` with the lowest bit of byte ``index`` flipped."""
    mutable = bytearray(data)
    mutable[index] ^= 1
    return bytes(mutable)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def tamper_text_key(text_key: str) -> str:
    """The text key with one signature bit flipped (still canonical, so it decodes)."""
    payload, signature = split_text_key(text_key)
    return f"{KEY_PREFIX}{_b64url(payload)}.{_b64url(flip_bit(signature, 0))}"


def tamper_jwt(token: str) -> str:
    """The JWT with one signature bit flipped."""
    header, body, signature = token.split(".")
    return f"{header}.{body}.{_b64url(flip_bit(b64url_decode(signature), 0))}"


def tamper_paseto(token: bytes) -> bytes:
    """The v4.public token with one bit of its signature (the last 64 bytes) flipped."""
    prefix = b"v4.public."
    assert token.startswith(prefix) and token.count(b".") == 2
    body = b64url_decode(token[len(prefix) :].decode("ascii"))
    return prefix + _b64url(flip_bit(body, len(body) - 64)).encode("ascii")


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def time_batch(call: Call, n: int) -> float:
    """Seconds taken by ``n`` calls, garbage collection paused (as timeit does)."""
    function, args, kwargs = call
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            function(*args, **kwargs)
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def warm_up(call: Call, seconds: float) -> None:
    """Call repeatedly for about ``seconds`` (at least once)."""
    deadline = time.perf_counter() + seconds
    time_batch(call, 1)
    while time.perf_counter() < deadline:
        time_batch(call, 10)


def calibrate(call: Call, settings: Settings) -> int:
    """Calls per batch so that a batch takes at least ``settings.batch_seconds``."""
    if settings.fixed_batch is not None:
        return settings.fixed_batch
    n = 1
    while time_batch(call, n) < settings.batch_seconds and n < 10_000_000:
        n *= 2
    return n


@dataclass
class Measurement:
    """Per-repeat throughputs of one path."""

    name: str
    calls_per_batch: int
    ops_per_second: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ops_per_second)

    @property
    def best(self) -> float:
        return max(self.ops_per_second)

    @property
    def microseconds(self) -> float:
        """Median time of one call, in microseconds."""
        return 1e6 / self.median


def measure(
    named_calls: dict[str, Call], settings: Settings, repeats: int
) -> dict[str, Measurement]:
    """Warm up and calibrate every call, then time ``repeats`` rounds, interleaving the calls
    (the starting call rotates each round) so that drift hits every path alike."""
    for call in named_calls.values():
        warm_up(call, settings.warmup_seconds)
    results = {
        name: Measurement(name, calibrate(call, settings)) for name, call in named_calls.items()
    }
    names = list(named_calls)
    for round_index in range(repeats):
        rotation = round_index % len(names)
        for name in names[rotation:] + names[:rotation]:
            n = results[name].calls_per_batch
            elapsed = time_batch(named_calls[name], n)
            results[name].ops_per_second.append(n / max(elapsed, 1e-9))
    return results


def paired_ratio(numerator: Measurement, denominator: Measurement) -> float:
    """Median over rounds of numerator/denominator throughput (same round, adjacent batches)."""
    return statistics.median(
        a / b for a, b in zip(numerator.ops_per_second, denominator.ops_per_second, strict=True)
    )


# --------------------------------------------------------------------------------------------
# Where keys.verify spends its time
# --------------------------------------------------------------------------------------------


STAGE_LABELS = {
    "decode": "step 1 decode: `keys.decode_unverified` (base64url, JSON, Claims, canonical check)",
    "trusted": "trusted-key index: `keys.signing.trusted_by_kid` (SHA-256 kid per trusted key)",
    "signature": "steps 2-3: `keys.signing.check_envelope_signature` (kid lookup, concat, verify)",
}


def stage_calls(fx: Fixture) -> dict[str, Call]:
    """The stages of keys.verify, each timed on its own (same inputs as keys.verify gets)."""
    envelope = keys.signing.open_envelope(KEY_PREFIX, fx.text_key)
    index = keys.signing.trusted_by_kid(fx.trusted)
    return {
        "decode": (keys.decode_unverified, (fx.text_key,), {}),
        "trusted": (keys.signing.trusted_by_kid, (fx.trusted,), {}),
        "signature": (
            keys.signing.check_envelope_signature,
            (envelope, KEY_CONTEXT, fx.claims.kid, index, "license key"),
            {},
        ),
    }


PROFILE_TOP = 12


@dataclass(frozen=True)
class ProfileLine:
    function: str
    calls_per_verify: float
    own_us: float  # tottime per verify
    cumulative_us: float
    share: float  # own time / total profiled time


def profile_verify(fx: Fixture, n: int) -> list[ProfileLine]:
    """cProfile ``n`` calls of keys.verify; every function seen, by own (tottime) time."""
    function, args, kwargs = calls(fx)[LICENSESVC]
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        function(*args, **kwargs)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw_stats = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw_stats.values()) or 1e-12
    lines = []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in raw_stats.items():
        lines.append(
            ProfileLine(
                function=_function_label(filename, line, name),
                calls_per_verify=ncalls / n,
                own_us=tottime / n * 1e6,
                cumulative_us=cumtime / n * 1e6,
                share=tottime / total,
            )
        )
    lines.sort(key=lambda entry: entry.own_us, reverse=True)
    return lines


def _function_label(filename: str, line: int, name: str) -> str:
    if filename == "~":  # a built-in
        return name
    path = Path(filename)
    try:
        shown = path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        shown = f"{path.parent.name}/{path.name}" if "site-packages" not in filename else path.name
    return f"{shown}:{line} {name}"


# --------------------------------------------------------------------------------------------
# Whole processes
# --------------------------------------------------------------------------------------------


# The process baseline: import cryptography, load the PEM, read the key file, verify one raw
# signature over context + payload. argv: KEYFILE PEM. Exit 1 (traceback) if it does not verify.
BASELINE_SNIPPET = """\
import base64, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
public_key = load_pem_public_key(open(sys.argv[2], "rb").read())
text = open(sys.argv[1]).read().strip()
payload, signature = (
    base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in text[4:].split(".")
)
public_key.verify(signature, b"licensesvc/key/v1\\n" + payload)
"""


def licensesvc_script() -> Path:
    """The console script installed next to this interpreter (``pip install -e .``)."""
    return Path(sys.executable).parent / "licensesvc"


@dataclass(frozen=True)
class ProcessFiles:
    directory: Path
    key_file: Path
    tampered_key_file: Path
    public_pem: Path


def write_process_files(fx: Fixture, directory: Path) -> ProcessFiles:
    key_file = directory / "license.key"
    key_file.write_text(fx.text_key + "\n")
    tampered = directory / "tampered.key"
    tampered.write_text(tamper_text_key(fx.text_key) + "\n")
    pem = directory / "public.pem"
    pem.write_bytes(fx.public_pem)
    return ProcessFiles(directory, key_file, tampered, pem)


def licensesvc_command(files: ProcessFiles, key_file: Path | None = None) -> list[str]:
    return [
        str(licensesvc_script()),
        "verify",
        str(key_file or files.key_file),
        "--public-key",
        str(files.public_pem),
    ]


def baseline_command(files: ProcessFiles, key_file: Path | None = None) -> list[str]:
    return [
        sys.executable,
        "-c",
        BASELINE_SNIPPET,
        str(key_file or files.key_file),
        str(files.public_pem),
    ]


def run_process(
    command: Sequence[str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time (seconds) and result of one process run to completion."""
    start = time.perf_counter()
    completed = subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    return time.perf_counter() - start, completed


@dataclass(frozen=True)
class ImportLine:
    module: str
    depth: int  # 0 = imported by the script itself
    self_us: int
    cumulative_us: int


def parse_importtime(stderr: str) -> list[ImportLine]:
    """Parse ``python -X importtime`` output."""
    found = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        self_part, cumulative_part, name_part = parts
        name = name_part.rstrip()
        stripped = name.lstrip(" ")
        depth = (len(name) - len(stripped) - 1) // 2
        try:
            found.append(ImportLine(stripped, depth, int(self_part), int(cumulative_part)))
        except ValueError:
            continue
    return found


OFFENDER_MIN_MS = 1.0
OFFENDER_ROWS = 40


def extra_imports(process: ProcessResult) -> list[ImportLine]:
    """The modules ``licensesvc verify`` imports and the baseline does not, in import order.

    (``-X importtime`` prints a module after the modules it imports.)"""
    baseline = {line.module for line in process.baseline_imports}
    ordered = _tree_order(process.licensesvc_imports)
    return [line for line in ordered if line.module not in baseline]


def _tree_order(lines: Sequence[ImportLine]) -> list[ImportLine]:
    """Reorder importtime lines (children first) so that every parent precedes its children."""
    result: list[ImportLine] = []
    pending: list[list[ImportLine]] = []  # pending[d]: finished subtrees waiting at depth d+1
    for line in lines:
        while len(pending) <= line.depth + 1:
            pending.append([])
        children = pending[line.depth + 1]
        pending[line.depth + 1] = []
        subtree = [line, *children]
        pending[line.depth].extend(subtree)
    for level in pending:
        result.extend(level)
    return result


def server_modules(imports: Sequence[ImportLine]) -> list[str]:
    """The server-stack modules among ``imports``."""
    return sorted(
        {
            line.module
            for line in imports
            if any(line.module == top or line.module.startswith(top + ".") for top in SERVER_STACK)
        }
    )


@dataclass
class ProcessResult:
    """Wall times of the two commands, or why the licensesvc one could not be measured."""

    runs: int
    baseline_ms: list[float] = field(default_factory=list)
    licensesvc_ms: list[float] = field(default_factory=list)
    unavailable: str | None = None
    rejects_tampered: bool | None = None
    licensesvc_imports: list[ImportLine] = field(default_factory=list)
    baseline_imports: list[ImportLine] = field(default_factory=list)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_ms)

    @property
    def licensesvc_median(self) -> float | None:
        return statistics.median(self.licensesvc_ms) if self.licensesvc_ms else None

    @property
    def ratio(self) -> float | None:
        median = self.licensesvc_median
        return None if median is None else median / self.baseline_median

    @property
    def server_modules(self) -> list[str]:
        return server_modules(self.licensesvc_imports)


def least_import_time(command: list[str], cwd: Path, settings: Settings) -> list[ImportLine]:
    """The ``-X importtime`` lines of the least disturbed of a few runs (smallest total)."""
    runs = []
    for _ in range(settings.importtime_runs):
        _, completed = run_process(command, cwd)
        lines = parse_importtime(completed.stderr)
        runs.append((sum(line.cumulative_us for line in lines if line.depth == 0), lines))
    return min(runs, key=lambda run: run[0])[1]


def _failure(completed: subprocess.CompletedProcess[str]) -> str:
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
    return f"exit {completed.returncode}: " + " / ".join(tail)


def measure_processes(fx: Fixture, settings: Settings) -> ProcessResult:
    """Median wall time of ``licensesvc verify`` and of the ``python -c`` baseline, run
    alternately, after warm-up runs; plus one ``-X importtime`` run of each."""
    result = ProcessResult(runs=settings.process_runs)
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        files = write_process_files(fx, Path(tmp))
        cwd = files.directory
        # The baseline must verify the genuine key and reject the tampered one.
        _, completed = run_process(baseline_command(files), cwd)
        if completed.returncode != 0:
            raise AssertionError(f"the baseline process failed: {_failure(completed)}")
        _, completed = run_process(baseline_command(files, files.tampered_key_file), cwd)
        if completed.returncode == 0:
            raise AssertionError("the baseline process accepted a tampered key")

        script = licensesvc_script()
        if not script.exists():
            result.unavailable = f"{script} does not exist (run pip install -e .)"
        else:
            _, completed = run_process(licensesvc_command(files), cwd)
            if completed.returncode != 0:
                result.unavailable = (
                    f"`licensesvc verify` failed on a valid key: {_failure(completed)}"
                )
            else:
                _, tampered = run_process(licensesvc_command(files, files.tampered_key_file), cwd)
                result.rejects_tampered = tampered.returncode != 0

        commands = [("baseline", baseline_command(files))]
        if result.unavailable is None:
            commands.append(("licensesvc", licensesvc_command(files)))
        for _ in range(settings.process_warmups):
            for _, command in commands:
                run_process(command, cwd)
        for run_index in range(settings.process_runs):
            ordered = commands if run_index % 2 == 0 else commands[::-1]
            for which, command in ordered:
                elapsed, completed = run_process(command, cwd)
                if completed.returncode != 0:
                    raise AssertionError(f"{which} process failed: {_failure(completed)}")
                target = result.baseline_ms if which == "baseline" else result.licensesvc_ms
                target.append(elapsed * 1000)

        result.baseline_imports = least_import_time(
            [sys.executable, "-X", "importtime", *baseline_command(files)[1:]], cwd, settings
        )
        if result.unavailable is None:
            result.licensesvc_imports = least_import_time(
                [sys.executable, "-X", "importtime", *licensesvc_command(files)], cwd, settings
            )
    return result


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    description: str
    met: bool | None  # None: could not be measured (counts as missed for --check)


@dataclass
class Report:
    settings: Settings
    command: str
    started: datetime
    in_process: dict[str, Measurement]
    stages: dict[str, Measurement]
    process: ProcessResult
    profile: list[ProfileLine] = field(default_factory=list)
    load_before: float | None = None  # 1-minute load average when the run started
    load_after: float | None = None

    def ratio(self, name: str) -> float:
        return paired_ratio(self.in_process[name], self.in_process[RAW])

    def versus(self, name: str) -> float:
        """keys.verify's throughput relative to path ``name`` (paired, median over rounds)."""
        return paired_ratio(self.in_process[LICENSESVC], self.in_process[name])

    def targets(self) -> dict[str, Target]:
        process_ratio = self.process.ratio
        server = self.process.server_modules
        licensesvc_ok = self.process.unavailable is None
        return {
            LICENSESVC: Target(
                f"≥ {MIN_RATIO_TO_RAW:.2f}× baseline", self.ratio(LICENSESVC) >= MIN_RATIO_TO_RAW
            ),
            PYJWT: Target(
                f"`keys.verify` faster (it is {self.versus(PYJWT):.2f}× this)",
                self.versus(PYJWT) > 1.0,
            ),
            PASETO: Target(
                f"`keys.verify` faster (it is {self.versus(PASETO):.2f}× this)",
                self.versus(PASETO) > 1.0,
            ),
            "process": Target(
                f"≤ {MAX_PROCESS_RATIO:.2f}× baseline process",
                None if process_ratio is None else process_ratio <= MAX_PROCESS_RATIO,
            ),
            "server": Target(
                "no server module imported",
                None
                if not licensesvc_ok
                else (not server and bool(self.process.licensesvc_imports)),
            ),
            "rejects": Target(
                "tampered key rejected (non-zero exit)",
                None if not licensesvc_ok else self.process.rejects_tampered,
            ),
        }

    def all_met(self) -> bool:
        return all(target.met is True for target in self.targets().values())


def run(settings: Settings, command: str = RERUN_COMMAND, processes: bool = True) -> Report:
    """Run every measurement once and return the report (nothing is written)."""
    started = datetime.now(UTC)
    load_before = _load_average()
    fx = build_fixture()
    self_check(fx)
    _progress(f"in-process paths and stages of keys.verify ({settings.mode})")
    path_calls = calls(fx)
    timed = measure({**path_calls, **stage_calls(fx)}, settings, settings.repeats)
    in_process = {name: timed[name] for name in path_calls}
    stages = {name: timed[name] for name in STAGE_LABELS}
    if processes:
        _progress("whole processes")
        process = measure_processes(fx, settings)
    else:
        process = ProcessResult(runs=0, unavailable="not measured in this run")
    report = Report(settings, command, started, in_process, stages, process)
    report.load_before, report.load_after = load_before, _load_average()
    if report.targets()[LICENSESVC].met is not True:
        _progress("profiling keys.verify")
        report.profile = profile_verify(fx, settings.profile_calls)
    return report


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available on this platform
        return None


def _progress(message: str) -> None:
    print(f"[verify_bench] {message}…", file=sys.stderr, flush=True)


def _yes_no(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "**not measured**"}[met]


def _ops(value: float) -> str:
    return f"{value:,.0f} /s"


def machine_info() -> dict[str, str]:
    """What the figures were measured on."""
    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = str(len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = "?"
    from cryptography.hazmat.backends.openssl.backend import backend

    return {
        "platform": platform.platform(),
        "CPU": cpu_model,
        "CPU count": f"{os.cpu_count()} (usable by this process: {usable})",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "cryptography": f"{cryptography.__version__} ({backend.openssl_version_text()})",
        "PyJWT": importlib.metadata.version("PyJWT"),
        "pyseto": importlib.metadata.version("pyseto"),
    }


def render_markdown(report: Report) -> str:
    """docs/performance.md, every figure taken from ``report``."""
    settings = report.settings
    measured = report.in_process
    raw = measured[RAW]
    targets = report.targets()
    process = report.process
    out: list[str] = []
    add = out.append

    add("# Performance: license key verification")
    add("")
    add(
        "Generated by `bench/verify_bench.py`; do not edit by hand, rerun the benchmark. "
        "It measures, in one run on one machine and for one claim set (the example of "
        "docs/key-format.md section 5, with an expiry date), how fast `keys.verify` checks "
        "a text key, against the cost of the bare Ed25519 signature check on the very same "
        'signed bytes (`b"licensesvc/key/v1\\n" || payload`) and against two other signed-token '
        "formats carrying the same claims: a JWT (EdDSA, PyJWT) and a PASETO v4.public "
        "(pyseto). Both also carry `nbf`/`exp`/`iat`, so that each library checks validity "
        "times as `keys.verify` does; pyseto decodes with `deserializer=json` so that it parses "
        "and checks the claims too. Keys are loaded once, outside the timed loops."
    )
    add("")
    add(
        f"Method: `time.perf_counter`; each path is warmed up for {settings.warmup_seconds:g} s, "
        f"then timed in {settings.repeats} batches of at least {settings.batch_seconds:g} s, "
        "all timed calls interleaved batch by batch (garbage collection paused inside a batch). "
        "Throughput is the median over batches; a ratio is the median over rounds of "
        "(path ÷ baseline) from the same round. Processes: "
        f"{process.runs} runs of each command, alternating, after "
        f"{settings.process_warmups} warm-up run(s); the median wall time is shown."
    )
    add("")
    if settings.mode != "full":
        add(f"**This is a `{settings.mode}` run: its figures are rough.**")
        add("")
    add("## Results")
    add("")
    add("| measure | ops/s or ms | ratio to baseline | target | met? |")
    add("|---|---|---|---|---|")
    add(
        f"| {LABELS[RAW]} | {_ops(raw.median)} ({raw.microseconds:.1f} µs) | 1.00× | baseline | — |"
    )
    for name in (LICENSESVC, PYJWT, PASETO):
        entry = measured[name]
        target = targets[name]
        add(
            f"| {LABELS[name]} | {_ops(entry.median)} ({entry.microseconds:.1f} µs) | "
            f"{report.ratio(name):.2f}× | {target.description} | {_yes_no(target.met)} |"
        )
    add(
        f"| process: `python -c` one raw Ed25519 verify (import cryptography, load PEM) — "
        f"baseline | {process.baseline_median:.1f} ms (best {min(process.baseline_ms):.1f}) | "
        "1.00× | baseline | — |"
    )
    licensesvc_label = "process: `licensesvc verify KEYFILE --public-key PEM`"
    if process.unavailable is None and process.ratio is not None:
        add(
            f"| {licensesvc_label} | {process.licensesvc_median:.1f} ms "
            f"(best {min(process.licensesvc_ms):.1f}) | {process.ratio:.2f}× (wall time) | "
            f"{targets['process'].description} | {_yes_no(targets['process'].met)} |"
        )
        found = ", ".join(f"`{name}`" for name in process.server_modules) or "none"
        add(
            f"| server modules imported by `licensesvc verify` | {found} | — | "
            f"{targets['server'].description} | {_yes_no(targets['server'].met)} |"
        )
        add(
            f"| `licensesvc verify` on a key with one signature bit flipped | "
            f"{'rejected' if process.rejects_tampered else 'ACCEPTED'} | — | "
            f"{targets['rejects'].description} | {_yes_no(targets['rejects'].met)} |"
        )
    else:
        add(
            f"| {licensesvc_label} | unavailable: {_escape(process.unavailable or '')} | — | "
            f"{targets['process'].description} | {_yes_no(None)} |"
        )
    add("")
    add(
        f"`keys.verify` is {report.versus(PYJWT):.2f}× the throughput of PyJWT and "
        f"{report.versus(PASETO):.2f}× that of pyseto (paired, median over rounds); it spends "
        f"{measured[LICENSESVC].microseconds - raw.microseconds:.1f} µs per key on top of "
        "the signature check. From the best batch of each path instead of the median: "
        + ", ".join(
            f"{LABELS[name].split(' ')[0]} {measured[name].best / raw.best:.2f}×"
            for name in (LICENSESVC, PYJWT, PASETO)
        )
        + " the baseline."
    )
    add("")

    add("## Where `keys.verify` spends its time")
    add("")
    add(
        "Each stage timed on its own with the same inputs, interleaved with the paths above; "
        "this table uses each call's best batch (the least disturbed one), so its figures "
        "differ slightly from the medians above. The rest of `keys.verify` (argument and "
        "time checks) is the remainder:"
    )
    add("")
    add("| stage | µs per key | share of `keys.verify` |")
    add("|---|---|---|")
    total_us = 1e6 / measured[LICENSESVC].best
    stage_sum = 0.0
    for name, entry in report.stages.items():
        stage_us = 1e6 / entry.best
        stage_sum += stage_us
        add(f"| {STAGE_LABELS[name]} | {stage_us:.1f} | {stage_us / total_us:.0%} |")
    remainder = total_us - stage_sum
    add(f"| remainder | {remainder:.1f} | {remainder / total_us:.0%} |")
    add(f"| **`keys.verify`** | {total_us:.1f} | 100% |")
    raw_us = 1e6 / raw.best
    add(f"| (raw Ed25519 verify, for comparison) | {raw_us:.1f} | {raw_us / total_us:.0%} |")
    add("")
    if report.profile:
        add(
            f"The {MIN_RATIO_TO_RAW:.2f}× target was missed, so `keys.verify` was profiled "
            f"(cProfile, {settings.profile_calls} calls; the profiler inflates the cost of "
            "Python-level calls, so read the shares, not the µs). Top functions by own time:"
        )
        add("")
        add("| function | calls per key | own µs per key | cumulative µs per key | own share |")
        add("|---|---|---|---|---|")
        for line in report.profile[:PROFILE_TOP]:
            add(
                f"| `{line.function}` | {line.calls_per_verify:g} | {line.own_us:.1f} | "
                f"{line.cumulative_us:.1f} | {line.share:.0%} |"
            )
        add("")
        add("The same profile, functions of `keys/` by cumulative time (callees included):")
        add("")
        add("| function | calls per key | cumulative µs per key | share of `keys.verify` |")
        add("|---|---|---|---|")
        ours_lines = [line for line in report.profile if line.function.startswith("keys/")]
        ours_lines.sort(key=lambda line: line.cumulative_us, reverse=True)
        whole = ours_lines[0].cumulative_us if ours_lines else 1.0
        for line in ours_lines[:PROFILE_TOP]:
            add(
                f"| `{line.function}` | {line.calls_per_verify:g} | {line.cumulative_us:.1f} | "
                f"{line.cumulative_us / whole:.0%} |"
            )
        add("")

    if process.baseline_imports:
        add("## Process start-up imports (`python -X importtime`)")
        add("")
        add(
            f"Each process run {settings.importtime_runs} time(s) under `-X importtime`; the run "
            "with the least total import time is shown."
        )
        add("")
        baseline_total = sum(
            line.cumulative_us for line in process.baseline_imports if line.depth == 0
        )
        add(f"Baseline process: {baseline_total / 1000:.1f} ms of imports.")
        if process.licensesvc_imports:
            ours_total = sum(
                line.cumulative_us for line in process.licensesvc_imports if line.depth == 0
            )
            add(
                f"`licensesvc verify`: {ours_total / 1000:.1f} ms of imports, "
                f"{len(process.licensesvc_imports)} modules "
                f"(baseline: {len(process.baseline_imports)})."
            )
            extra = extra_imports(process)
            extra_own = sum(line.self_us for line in extra) / 1000
            add(
                f"{len(extra)} modules are imported by `licensesvc verify` and not by the "
                f"baseline; their own import time adds up to {extra_own:.1f} ms."
            )
            if targets["process"].met is not True:
                add("")
                add(
                    "The process target was missed. Top offenders: the modules the baseline "
                    f"does not import, in import order, those of at least {OFFENDER_MIN_MS:g} ms "
                    "cumulative (indented under their importer, as `-X importtime` prints them):"
                )
                add("")
                add("```")
                add("cumulative ms   own ms   module")
                shown = [line for line in extra if line.cumulative_us >= OFFENDER_MIN_MS * 1000]
                for imported in shown[:OFFENDER_ROWS]:
                    add(
                        f"{imported.cumulative_us / 1000:13.1f} {imported.self_us / 1000:8.1f}   "
                        f"{'  ' * imported.depth}{imported.module}"
                    )
                add("```")
        add("")

    add("## Machine")
    add("")
    for name, value in machine_info().items():
        add(f"* {name}: {value}")
    add(f"* date: {report.started.strftime('%Y-%m-%d %H:%M UTC')}")
    if report.load_before is not None and report.load_after is not None:
        add(
            f"* 1-minute load average: {report.load_before:.2f} at the start of the run, "
            f"{report.load_after:.2f} at the end (other work on the machine skews the figures; "
            "the interleaving and the ratios taken within one round limit the damage)"
        )
    add("")
    add("## Rerun")
    add("")
    add("From the repository root, after `.venv/bin/pip install -e '.[dev,bench]'`:")
    add("")
    add("```")
    add(report.command)
    add("```")
    add("")
    add(
        "`--quick` makes a short run that only prints; `--check` exits 1 when a target is "
        "missed (the default exit status is 0)."
    )
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def exit_status(report: Report, check: bool) -> int:
    """0, or 1 when ``check`` is set and a target was missed or could not be measured."""
    return 1 if check and not report.all_met() else 0


def _kept_sections(output: Path) -> str:
    """The sections other benchmarks wrote into ``output`` between their markers (e.g.
    bench/revocation_bench.py), kept as they are when this report rewrites the file."""
    from bench.revocation_bench import BEGIN_MARKER, END_MARKER

    text = output.read_text(encoding="utf-8") if output.exists() else ""
    begin, end = text.find(BEGIN_MARKER), text.find(END_MARKER)
    if begin == -1 or end < begin:
        return ""
    return "\n" + text[begin : end + len(END_MARKER)] + "\n"


def _server_sections(output: Path) -> str:
    """The sections bench/server_bench.py wrote (``<!-- name:start -->`` … ``<!-- name:end -->``),
    kept as they are."""
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    kept = [
        m.group(0) for m in re.finditer(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", text, re.S)
    ]
    return "".join("\n" + block + "\n" for block in kept)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.verify_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short run; prints, writes nothing")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the report (default: docs/performance.md for a full run, "
        "nowhere for --quick)",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    command = " ".join([RERUN_COMMAND, *(argv if argv is not None else sys.argv[1:])])
    report = run(settings, command=command)
    markdown = render_markdown(report)
    print(markdown)
    output = args.output if args.output is not None else (None if args.quick else DEFAULT_OUTPUT)
    if output is not None:
        output.write_text(
            markdown + _kept_sections(output) + _server_sections(output), encoding="utf-8"
        )
        _progress(f"wrote {output}")
    return exit_status(report, args.check)


if __name__ == "__main__":
    sys.exit(main())
