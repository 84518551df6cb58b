"""Revocation-list benchmark: a list of 100,000 entries in Python, the CLI and JavaScript.

Run from the repository root::

    .venv/bin/python -m bench.revocation_bench           # full run, writes its section of
                                                         # docs/performance.md
    .venv/bin/python -m bench.revocation_bench --quick   # 2,000 entries, prints only

One run builds a signed revocation list of N entries (default 100,000; every reason code,
revoked and superseded entries) and a license key that is not on it, writes them to files, and
times, interleaved round by round:

1. the in-process baseline: base64url-decoding the list's two parts, one raw
   ``Ed25519PublicKey.verify`` of its signed bytes (docs/key-format.md section 2:
   ``b"licensesvc/revocation-list/v2\\n" || payload``) and ``json.loads`` of the payload: the
   least any verifier of the list must do;
2. ``keys.verify_revocation_list`` of the list plus ``keys.verify`` of the key against it;
3. the process baseline: ``python -c`` reading the list file and doing (1), against
   ``licensesvc verify KEYFILE --public-key PEM --revocations FILE`` (as ``python -m
   cli.main``, the path the console script takes);
4. the JavaScript baseline: ``node -e`` reading the list file, ``crypto.verify`` and
   ``JSON.parse``, against ``node examples/verify-js/verify-file.js KEYFILE --public-key PEM
   --revocations FILE``.

Each ratio is the median over rounds of (verifier / its baseline) within the same round.
The report replaces only the part of docs/performance.md between its markers (appended on
the first run); the other sections belong to bench/verify_bench.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import keys
from bench.doc_sections import replace_section
from tests.support.claims import make_claims

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "performance.md"
RERUN_COMMAND = ".venv/bin/python -m bench.revocation_bench"
BEGIN_MARKER = "<!-- revocation_bench: begin (written by bench/revocation_bench.py) -->"
END_MARKER = "<!-- revocation_bench: end -->"
JS_VERIFIER = REPO_ROOT / "examples" / "verify-js" / "verify-file.js"
# Written from the spec (section 2 and 8), not imported from keys/, so that the baseline checks
# the spec rather than the implementation.
LIST_PREFIX = "LRL2."
LIST_CONTEXT = b"licensesvc/revocation-list/v2\n"
AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SIGNER = keys.SigningKey.from_seed_for_tests(b"revocation-bench".ljust(32, b"\0"))

PY_BASELINE_SCRIPT = """
import base64, json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
public = load_pem_public_key(open(sys.argv[2], "rb").read())
text = open(sys.argv[1], "rb").read().decode().strip()
payload, signature = (base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))
                      for p in text[len("LRL2."):].split("."))
public.verify(signature, b"licensesvc/revocation-list/v2\\n" + payload)
json.loads(payload)
"""
JS_BASELINE_SCRIPT = """
const fs = require('node:fs'); const crypto = require('node:crypto');
const key = crypto.createPublicKey(fs.readFileSync(process.argv[2]));
const text = fs.readFileSync(process.argv[1], 'utf8').trim();
const [payload, signature] = text.slice(5).split('.').map((p) => Buffer.from(p, 'base64url'));
const context = Buffer.from('licensesvc/revocation-list/v2\\n');
if (!crypto.verify(null, Buffer.concat([context, payload]), key, signature)) process.exit(3);
JSON.parse(payload.toString('utf8'));
"""


@dataclass(frozen=True)
class Settings:
    entries: int
    rounds: int


FULL = Settings(entries=100_000, rounds=7)
QUICK = Settings(entries=2_000, rounds=2)


@dataclass
class Fixture:
    directory: Path
    list_text: str
    list_file: Path
    key_file: Path
    revoked_key_file: Path
    pem_file: Path
    public: Ed25519PublicKey
    entries: int


def build_entries(count: int) -> list[keys.RevokedEntry]:
    """``count`` entries: every code, one in five superseded, revoked_at spread over years."""
    codes = [code for code in keys.REVOCATION_CODES if code != "superseded"]
    made = []
    for number in range(count):
        revoked_at = AT - timedelta(minutes=7 * number)
        if number % 5 == 0:
            made.append(
                keys.RevokedEntry(f"SN-{number:07d}", "superseded", revoked_at, "superseded")
            )
        else:
            made.append(
                keys.RevokedEntry(f"SN-{number:07d}", "revoked", revoked_at, codes[number % 4])
            )
    return made


def _claims(serial: str) -> keys.Claims:
    """The tests' claim set (tests/support/claims.py) with this serial, issued 30 days before
    AT, without a failover host or case."""
    return make_claims(
        serial=serial,
        issued_at=AT - timedelta(days=30),
        not_before=AT - timedelta(days=30),
        maintenance_until=date(2026, 12, 31),
        failover_host=None,
        case_number=None,
    )


def build_fixture(entries: int, directory: Path) -> Fixture:
    """Sign a list of ``entries`` entries and two keys (one listed), written to ``directory``."""
    rl = keys.RevocationList(
        issued_at=AT - timedelta(hours=1),
        next_update=AT + timedelta(days=7),
        entries=build_entries(entries),
    )
    list_text = keys.sign_revocation_list(rl, SIGNER)
    made = Fixture(
        directory=directory,
        list_text=list_text,
        list_file=directory / "revocations.lrl",
        key_file=directory / "acme.lic",
        revoked_key_file=directory / "revoked.lic",
        pem_file=directory / "vendor.pem",
        public=Ed25519PublicKey.from_public_bytes(SIGNER.public_key.raw()),
        entries=entries,
    )
    made.list_file.write_text(list_text + "\n", encoding="utf-8")
    made.key_file.write_text(keys.license_file(keys.sign_key(_claims("K-NOT-LISTED"), SIGNER)))
    revoked_serial = f"SN-{max(entries - 1, 1) if entries > 1 else 1:07d}"
    if entries % 5 == 1:  # the last entry must be a revoked one
        revoked_serial = f"SN-{entries - 2:07d}"
    made.revoked_key_file.write_text(
        keys.license_file(keys.sign_key(_claims(revoked_serial), SIGNER))
    )
    made.pem_file.write_text(SIGNER.public_key.to_pem())
    return made


def baseline(fx: Fixture) -> None:
    """The least a verifier of the list does: decode, one Ed25519 verify, json.loads."""
    text = fx.list_text
    payload_b64, signature_b64 = text[len(LIST_PREFIX) :].split(".")
    payload = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
    signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    fx.public.verify(signature, LIST_CONTEXT + payload)
    json.loads(payload)


def verify_in_python(fx: Fixture) -> keys.Claims:
    """keys.verify_revocation_list, then keys.verify of the unlisted key against the list."""
    trusted = [SIGNER.public_key]
    rl = keys.verify_revocation_list(fx.list_text, trusted, at=AT)
    return keys.verify(fx.key_file.read_bytes(), trusted, at=AT, revocations=rl)


def python_baseline_command(fx: Fixture) -> list[str]:
    return [sys.executable, "-c", PY_BASELINE_SCRIPT, str(fx.list_file), str(fx.pem_file)]


def cli_command(fx: Fixture, key_file: Path | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cli.main",
        "verify",
        str(key_file or fx.key_file),
        "--public-key",
        str(fx.pem_file),
        "--revocations",
        str(fx.list_file),
        "--at",
        keys_timestamp(AT),
    ]


def js_baseline_command(node: str, fx: Fixture) -> list[str]:
    return [node, "-e", JS_BASELINE_SCRIPT, str(fx.list_file), str(fx.pem_file)]


def js_command(node: str, fx: Fixture, key_file: Path | None = None) -> list[str]:
    return [
        node,
        str(JS_VERIFIER),
        str(key_file or fx.key_file),
        "--public-key",
        str(fx.pem_file),
        "--revocations",
        str(fx.list_file),
        "--at",
        keys_timestamp(AT),
    ]


def keys_timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LICENSESVC_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def run_process(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=600
    )


def self_check(fx: Fixture, node: str | None) -> None:
    """Every timed path really verifies: the unlisted key is valid and a listed one revoked,
    in Python, the CLI and JavaScript; the baselines succeed. Raises AssertionError."""
    baseline(fx)
    assert verify_in_python(fx).serial == "K-NOT-LISTED"
    trusted = [SIGNER.public_key]
    rl = keys.verify_revocation_list(fx.list_text, trusted, at=AT)
    assert len(rl) == fx.entries, (len(rl), fx.entries)
    try:
        keys.verify(fx.revoked_key_file.read_bytes(), trusted, at=AT, revocations=rl)
    except keys.Revoked:
        pass
    else:  # pragma: no cover - a benchmark that checks nothing
        raise AssertionError("the listed key was not refused")
    commands: list[tuple[list[str], int, str]] = [
        (python_baseline_command(fx), 0, ""),
        (cli_command(fx), 0, "valid\n"),
        (cli_command(fx, fx.revoked_key_file), 1, "revoked: "),
    ]
    if node is not None:
        commands += [
            (js_baseline_command(node, fx), 0, ""),
            (js_command(node, fx), 0, "valid\n"),
            (js_command(node, fx, fx.revoked_key_file), 1, "revoked: "),
        ]
    for command, status, start in commands:
        done = run_process(command)
        assert done.returncode == status, (command[:3], done.returncode, done.stdout, done.stderr)
        assert done.stdout.startswith(start), (command[:3], done.stdout)


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@dataclass
class Pair:
    """A verifier and its baseline, timed in the same rounds (seconds)."""

    label: str
    baseline_label: str
    baseline: list[float] = field(default_factory=list)
    measured: list[float] = field(default_factory=list)

    def ratio(self) -> float:
        return statistics.median(m / b for m, b in zip(self.measured, self.baseline, strict=True))


@dataclass
class Report:
    settings: Settings
    pairs: list[Pair]
    list_bytes: int
    js_skipped: str | None
    command: str
    load: tuple[float, float]
    machine: dict[str, str]


def run(settings: Settings, *, command: str) -> Report:
    """Build the fixture, check it, time every pair over ``settings.rounds`` rounds."""
    node = shutil.which("node")
    js_skipped = None if node is not None else "node is not installed: JavaScript not measured"
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="revocation-bench-") as tmp:
        fx = build_fixture(settings.entries, Path(tmp))
        _progress(f"list of {fx.entries:,} entries, {len(fx.list_text):,} characters")
        self_check(fx, node)
        python = Pair("`keys.verify_revocation_list` + `keys.verify` (in process)", "in-process")
        cli = Pair(
            "`licensesvc verify KEYFILE --public-key PEM --revocations FILE` (process)",
            "Python process",
        )
        js = Pair(
            "`node examples/verify-js/verify-file.js KEYFILE --public-key PEM --revocations FILE`"
            " (process)",
            "node process",
        )
        pairs = [python, cli] + ([js] if node is not None else [])
        for number in range(settings.rounds):
            _progress(f"round {number + 1}/{settings.rounds}")
            python.baseline.append(_timed(lambda: baseline(fx)))
            python.measured.append(_timed(lambda: verify_in_python(fx)))
            cli.baseline.append(_timed(lambda: run_process(python_baseline_command(fx))))
            cli.measured.append(_timed(lambda: run_process(cli_command(fx))))
            if node is not None:
                js.baseline.append(_timed(lambda: run_process(js_baseline_command(node, fx))))
                js.measured.append(_timed(lambda: run_process(js_command(node, fx))))
        list_bytes = fx.list_file.stat().st_size
    return Report(
        settings=settings,
        pairs=pairs,
        list_bytes=list_bytes,
        js_skipped=js_skipped,
        command=command,
        load=(load_start, _load()),
        machine=machine_info(node),
    )


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available on this platform
        return float("nan")


def machine_info(node: str | None) -> dict[str, str]:
    import cryptography

    info = {
        "platform": platform.platform(),
        "CPU count": str(os.cpu_count()),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "cryptography": cryptography.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if node is not None:
        info["node"] = run_process([node, "--version"]).stdout.strip()
    return info


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def render_section(report: Report) -> str:
    """The markdown of this benchmark's section, markers included."""
    rows = [
        "| verifier | its baseline (median) | verifier (median) | ratio to baseline |",
        "|---|---|---|---|",
    ]
    for pair in report.pairs:
        rows.append(
            f"| {pair.label} | {pair.baseline_label}: {_ms(statistics.median(pair.baseline))} "
            f"| {_ms(statistics.median(pair.measured))} | {pair.ratio():.2f}× |"
        )
    lines = [
        BEGIN_MARKER,
        f"## Revocation lists of {report.settings.entries:,} entries",
        "",
        "Generated by `bench/revocation_bench.py`; rerun it rather than editing: "
        f"`{report.command}`.",
        f"One signed list of {report.settings.entries:,} entries ({report.list_bytes:,} bytes "
        "as a file; every reason code, one entry in five superseded) and a license key not on "
        "it; every verifier checks the list and then the key against it (the answer is `valid`; "
        "a listed key is checked to come out `revoked` before timing). Baselines: in process, "
        "base64url-decoding the list, one raw `Ed25519PublicKey.verify` of its signed bytes "
        '(`b"licensesvc/revocation-list/v2\\n" || payload`) and `json.loads` of the payload; '
        "for the processes, `python -c` and `node -e` doing the same from the list file "
        "(start-up included on both sides). Each ratio is the median over "
        f"{report.settings.rounds} rounds of (verifier ÷ baseline) from the same round.",
        "",
        *rows,
        "",
    ]
    if report.js_skipped:
        lines += [f"JavaScript: {report.js_skipped}.", ""]
    lines += [
        "What the verifiers do beyond the baseline: the whole decoding rule (every entry's "
        "members, code, status, serial and order, and the payload re-encoded and compared byte "
        "for byte); the serials go into a dict (a `Map` in JavaScript) once, so the key itself "
        "costs one lookup.",
        "",
        "Machine: "
        + "; ".join(f"{name} {value}" for name, value in report.machine.items())
        + f"; 1-minute load {report.load[0]:.2f} at the start, {report.load[1]:.2f} at the end.",
        END_MARKER,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of ``path`` (bench/doc_sections.py)."""
    replace_section(path, section, BEGIN_MARKER, END_MARKER)


def _progress(message: str) -> None:
    print(f"[revocation_bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.revocation_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short run; prints, writes nothing")
    parser.add_argument("--entries", type=int, default=None, help="list length (default 100000)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7)")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="the markdown file whose section to write (default: docs/performance.md for a "
        "full run, nowhere for --quick)",
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    settings = Settings(
        entries=args.entries if args.entries is not None else base.entries,
        rounds=args.rounds if args.rounds is not None else base.rounds,
    )
    command = " ".join([RERUN_COMMAND, *(argv if argv is not None else sys.argv[1:])])
    report = run(settings, command=command)
    section = render_section(report)
    print(section)
    output = args.output if args.output is not None else (None if args.quick else DEFAULT_OUTPUT)
    if output is not None:
        write_section(output, section)
        _progress(f"wrote its section of {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
