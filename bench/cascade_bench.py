"""Revocation-cascade benchmark (issue 22): a million issued keys, ten thousand revoked.

Run from the repository root::

    .venv/bin/python -m bench.cascade_bench           # full run, writes its section of
                                                      # docs/performance.md
    .venv/bin/python -m bench.cascade_bench --quick   # 20,000 keys, prints only

One run makes N serials in the server's format (default 1,000,000), revokes R of them
(default 10,000), builds the filter cascade over them with `filtercascade` exactly as the
server does (licensesvc/issuance/revocation_cascades.py: ``build_filter``, which checks every
key against the result) and signs it; it signs the plain list (``LRL2.``) of the same R
revoked keys, and a delta of 100 further revocations. Then, interleaved round by round, it
times checking one license key in process through `licensesvc verify`'s own code path
(``cli.offline_verify._check``: the public key file read, the list or cascade verified, its
signature included, and the key verified against it) with the cascade and with the plain
list. The key is not revoked (the answer is `valid`); a revoked one is checked to come out
`revoked` first. The figures are medians over the rounds; the ratio is plain list ÷ cascade
within the same round.

The report replaces only the part of docs/performance.md between its markers.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keys
from bench.doc_sections import replace_section
from keys.cascade import CascadeHeader, cascade_item
from tests.support.claims import make_claims

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "performance.md"
RERUN_COMMAND = ".venv/bin/python -m bench.cascade_bench"
BEGIN_MARKER = "<!-- cascade_bench: begin (written by bench/cascade_bench.py) -->"
END_MARKER = "<!-- cascade_bench: end -->"
SIGNER = keys.SigningKey.from_seed_for_tests(bytes([9]) * 32)
BUILT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AT = BUILT + timedelta(hours=1)
GENERATION = 1_780_315_200
#: the targets of issue 22
MAX_CASCADE_BYTES = 24 * 1024
MAX_CHECK_SECONDS = 0.050
MIN_SPEEDUP = 20.0
MAX_DELTA_BYTES = 2048


@dataclass(frozen=True)
class Settings:
    issued: int
    revoked: int
    rounds: int


FULL = Settings(issued=1_000_000, revoked=10_000, rounds=9)
QUICK = Settings(issued=20_000, revoked=200, rounds=5)


@dataclass(frozen=True)
class Fixture:
    directory: Path
    cascade: bytes
    plain: str
    delta: bytes
    build_seconds: float
    layers: int
    good_key: str
    revoked_key: str


def serials(count: int, seed: int = 22) -> list[str]:
    """``count`` distinct serials in the server's format (SN-XXXX-XXXX-XXXX-XXXX)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        seen.add("SN-" + "-".join("".join(rng.choices(alphabet, k=4)) for _ in range(4)))
    return sorted(seen)


def build_fixture(settings: Settings, directory: Path) -> Fixture:
    from licensesvc.issuance.revocation_cascades import build_filter

    fleet = serials(settings.issued)
    revoked = set(random.Random(5).sample(fleet, settings.revoked))
    started = time.perf_counter()
    filter_bytes = build_filter(
        {cascade_item(s) for s in revoked},
        {cascade_item(s) for s in fleet if s not in revoked},
        bytes(range(16)),
    )
    build_seconds = time.perf_counter() - started
    header = CascadeHeader(
        kind="base",
        kid=SIGNER.kid,
        generation=GENERATION,
        base=GENERATION,
        since=GENERATION,
        issued_at=BUILT,
        next_update=BUILT + timedelta(days=7),
        covered_through=BUILT - timedelta(minutes=2),
        count=len(fleet),
        server="https://licenses.vendor.example",
    )
    cascade = keys.sign_cascade(header, filter_bytes, {}, SIGNER)
    plain = keys.sign_revocation_list(
        keys.RevocationList(
            BUILT,
            BUILT + timedelta(days=7),
            [
                keys.RevokedEntry(s, "revoked", BUILT - timedelta(days=1), "key_compromise")
                for s in sorted(revoked)
            ],
        ),
        SIGNER,
    )
    newly = serials(settings.issued + 100, seed=23)[:100]
    delta = keys.sign_cascade(
        CascadeHeader(
            kind="delta",
            kid=SIGNER.kid,
            generation=GENERATION + 3600,
            base=GENERATION,
            since=GENERATION,
            issued_at=AT,
            next_update=AT + timedelta(days=7),
            covered_through=AT - timedelta(minutes=2),
            count=100,
            server="https://licenses.vendor.example",
        ),
        b"",
        dict.fromkeys(newly),
        SIGNER,
    )
    good = next(s for s in fleet if s not in revoked)
    bad = sorted(revoked)[0]
    issued = BUILT - timedelta(days=30)
    good_key = keys.sign_key(make_claims(serial=good, issued_at=issued, not_before=issued), SIGNER)
    bad_key = keys.sign_key(make_claims(serial=bad, issued_at=issued, not_before=issued), SIGNER)
    (directory / "vendor.pem").write_text(SIGNER.public_key.to_pem())
    layers = keys.FilterCascade.from_bytes(filter_bytes).layer_count
    return Fixture(directory, cascade, plain, delta, build_seconds, layers, good_key, bad_key)


def check(fx: Fixture, key: str, revocations: bytes) -> str:
    """One key through `licensesvc verify`'s code path, in process; its first output word."""
    from cli.offline_verify import _check

    status, text = _check(
        key.encode(),
        [fx.directory / "vendor.pem"],
        at=AT,
        revocations=[revocations],
        product=None,
        host=None,
        build_date=None,
        as_json=False,
    )
    return text.split(":")[0].split()[0]


def _timed(call: object) -> float:
    assert callable(call)
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


@dataclass(frozen=True)
class Report:
    settings: Settings
    fixture: Fixture
    cascade_times: list[float]
    plain_times: list[float]
    ratios: list[float]
    command: str
    machine: str


def run(settings: Settings, *, command: str) -> Report:
    directory = Path(tempfile.mkdtemp(prefix="cascade-bench-"))
    _progress(f"building {settings.issued:,} keys, {settings.revoked:,} revoked")
    fx = build_fixture(settings, directory)
    plain = fx.plain.encode()
    # every timed path gives the right answer first
    assert check(fx, fx.good_key, fx.cascade) == "valid"
    assert check(fx, fx.revoked_key, fx.cascade) == "revoked"
    assert check(fx, fx.good_key, plain) == "valid"
    assert check(fx, fx.revoked_key, plain) == "revoked"
    cascade_times, plain_times, ratios = [], [], []
    for number in range(settings.rounds):
        _progress(f"round {number + 1} of {settings.rounds}")
        c = _timed(lambda: check(fx, fx.good_key, fx.cascade))
        p = _timed(lambda: check(fx, fx.good_key, plain))
        cascade_times.append(c)
        plain_times.append(p)
        ratios.append(p / c)
    machine = f"{platform.python_implementation()} {platform.python_version()}, " + (
        f"{platform.machine()}, {platform.system()}"
    )
    return Report(settings, fx, cascade_times, plain_times, ratios, command, machine)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def render_section(report: Report) -> str:
    s, fx = report.settings, report.fixture
    cascade_ms = statistics.median(report.cascade_times)
    ratio = statistics.median(report.ratios)
    verdict = [
        ("cascade size", f"{len(fx.cascade):,} bytes", len(fx.cascade) <= MAX_CASCADE_BYTES),
        ("one key checked, signature included", _ms(cascade_ms), cascade_ms <= MAX_CHECK_SECONDS),
        ("faster than the plain list", f"{ratio:,.0f}×", ratio >= MIN_SPEEDUP),
        ("delta of 100 revocations", f"{len(fx.delta):,} bytes", len(fx.delta) <= MAX_DELTA_BYTES),
    ]
    targets = {
        "cascade size": "≤ 24 kB",
        "one key checked, signature included": "≤ 50 ms",
        "faster than the plain list": "≥ 20×",
        "delta of 100 revocations": "≤ 2 kB",
    }
    lines = [
        BEGIN_MARKER,
        f"## Revocation cascade: {s.issued:,} keys issued, {s.revoked:,} revoked",
        "",
        f"Generated by `bench/cascade_bench.py`; rerun it rather than editing: `{report.command}`.",
        f"The filter cascade is built over {s.issued:,} serials in the server's format with "
        f"`filtercascade` as the server builds it ({fx.layers} layers, built and checked "
        f"exact in {fx.build_seconds:,.1f} s) and signed (`LRC1`, docs/key-format.md section "
        f"13); the plain list names the same {s.revoked:,} revoked serials "
        f"({len(fx.plain):,} bytes). One key (not revoked; a revoked one is checked to come "
        "out `revoked` first) goes through `licensesvc verify`'s code path in process "
        "(`cli.offline_verify._check`: public key file read, list or cascade verified with "
        "its signature, key verified against it); process start excluded. Medians over "
        f"{s.rounds} rounds; the ratio is plain ÷ cascade within each round.",
        "",
        "| figure | measured | target (issue 22) | met |",
        "|---|---|---|---|",
        *(
            f"| {name} | {value} | {targets[name]} | {'yes' if ok else 'NO'} |"
            for name, value, ok in verdict
        ),
        f"| plain list, same check | {_ms(statistics.median(report.plain_times))} | | |",
        "",
        f"Machine: {report.machine}.",
        END_MARKER,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of ``path`` (bench/doc_sections.py)."""
    replace_section(path, section, BEGIN_MARKER, END_MARKER)


def _progress(message: str) -> None:
    print(f"[cascade_bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cascade_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short run; prints, writes nothing")
    parser.add_argument("--output", type=Path, default=None, help="markdown file to write")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
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
