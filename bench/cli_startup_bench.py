"""CLI start-up benchmark: ``licensesvc --help`` against ``python -c "import click"``.

Run from the repository root::

    .venv/bin/python -m bench.cli_startup_bench           # full run, writes its section of
                                                          # docs/performance.md
    .venv/bin/python -m bench.cli_startup_bench --quick   # 5 rounds, prints only
    .venv/bin/python -m bench.cli_startup_bench --check   # exit 1 when the target is missed

An analyst starts the CLI for every command, so it must start at once: issue 18 asks that
``licensesvc --help`` take at most twice the wall time of ``python -c "import click"`` (the
least any click CLI does: start Python, load click). One run times, round by round and in
alternating order, the console script ``licensesvc --help`` (as a shell runs it) and the
baseline, with the same interpreter and environment, in two settings:

1. bytecode cached (an installed CLI after its first start): both read their modules' bytecode
   from one fresh cache (``PYTHONPYCACHEPREFIX``) that warm-up runs filled. The target applies
   here.
2. licensesvc's own modules without bytecode (``PYTHONDONTWRITEBYTECODE=1`` and no cache for
   this checkout, as in a sandbox that forbids writing it): they are compiled at every start;
   click's bytecode stays cached. Shown, no target.

Each ratio is the median over rounds of (``licensesvc --help`` / baseline) from the same round.
The run also lists what ``licensesvc --help`` imports beyond ``import click``, and fails if
that includes the server stack (tests/cli/test_cli_startup.py checks every ``--help``).
The report replaces only the part of docs/performance.md between its markers.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.doc_sections import replace_section

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "performance.md"
RERUN_COMMAND = ".venv/bin/python -m bench.cli_startup_bench"
MARK = "cli-startup"  # <!-- cli-startup:start --> ... <!-- cli-startup:end -->, as server_bench
BEGIN_MARKER = f"<!-- {MARK}:start -->"
END_MARKER = f"<!-- {MARK}:end -->"

MAX_RATIO = 2.0  # issue 18: `licensesvc --help` at most 2x `python -c "import click"`
BASELINE_CODE = "import click"
#: what a help screen must not load (the database layer, the web framework)
SERVER_STACK = (
    "sqlalchemy",
    "flask",
    "flask_smorest",
    "werkzeug",
    "jinja2",
    "alembic",
    "marshmallow",
    "psycopg",
    "gunicorn",
    "licensesvc.models",
    "licensesvc.platform",
    "licensesvc.accounts",
    "licensesvc.issuance",
    "licensesvc.cases",
    "licensesvc.identity",
    "licensesvc.outreach",
)
CACHED = "cached"
UNCACHED = "uncached"
LABELS = {
    CACHED: "bytecode cached (an installed CLI after its first start)",
    UNCACHED: "licensesvc's own modules compiled at every start (no bytecode for this checkout)",
}
# Prints, as JSON, the modules loaded after argv[1:] ran as the console script would run it
# (or, with no arguments, after the baseline's `import click`).
MODULES_PROBE = """
import json, sys
if len(sys.argv) > 1:
    from cli.main import main
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
else:
    import click
sys.stdout.flush()
sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


@dataclass(frozen=True)
class Settings:
    rounds: int
    warmups: int


FULL = Settings(rounds=31, warmups=3)
QUICK = Settings(rounds=5, warmups=1)


@dataclass
class Pair:
    """``licensesvc --help`` and its baseline, timed in the same rounds (seconds)."""

    setting: str
    baseline: list[float] = field(default_factory=list)
    measured: list[float] = field(default_factory=list)

    def ratio(self) -> float:
        return statistics.median(m / b for m, b in zip(self.measured, self.baseline, strict=True))


@dataclass
class Report:
    settings: Settings
    command: str
    cli: list[str]
    pairs: dict[str, Pair]
    extra_modules: list[str]
    server_modules: list[str]
    load: tuple[float, float]
    machine: dict[str, str]

    def met(self) -> bool:
        """The target: cached ratio at most MAX_RATIO, and no server module on --help."""
        return self.pairs[CACHED].ratio() <= MAX_RATIO and not self.server_modules


def console_script() -> list[str]:
    """The `licensesvc` console script of this interpreter's environment, as a shell runs it."""
    script = Path(sys.executable).parent / "licensesvc"
    if not script.exists():
        raise SystemExit(
            f"{script} is missing: install the project first (bash scripts/bootstrap.sh)"
        )
    return [str(script)]


def baseline_command() -> list[str]:
    return [sys.executable, "-c", BASELINE_CODE]


def environment(setting: str, cache: Path) -> dict[str, str]:
    """The environment of both commands: no LICENSESVC_* settings; bytecode from ``cache``
    (written there when ``setting`` is CACHED, only read otherwise)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LICENSESVC_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if setting == UNCACHED:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_process(
    command: Sequence[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def timed(command: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = run_process(command, env, cwd)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def self_check(cli: Sequence[str], env: dict[str, str], cwd: Path) -> None:
    """Both commands succeed and `licensesvc --help` prints the command list. Raises
    AssertionError."""
    done = run_process([*cli, "--help"], env, cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("Usage: licensesvc [OPTIONS] COMMAND"), done.stdout[:200]
    assert "\nCommands:\n" in done.stdout and "  verify " in done.stdout, done.stdout
    baseline = run_process(baseline_command(), env, cwd)
    assert baseline.returncode == 0, baseline.stderr[-2000:]


def loaded_modules(args: Sequence[str], env: dict[str, str], cwd: Path) -> list[str]:
    """sys.modules after `licensesvc ARGS` (no args: after `import click`), in a fresh
    interpreter started as the console script starts."""
    done = run_process([sys.executable, "-c", MODULES_PROBE, *args], env, cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stderr.splitlines() if line.startswith("MODULES "))
    modules: list[str] = json.loads(line.removeprefix("MODULES "))
    return modules


def server_modules(modules: Sequence[str]) -> list[str]:
    """The modules of SERVER_STACK (and their submodules) among modules."""
    return [
        name
        for name in modules
        if any(name == heavy or name.startswith(heavy + ".") for heavy in SERVER_STACK)
    ]


#: this checkout's own packages (the venv, also under the checkout, is not one of them)
OWN_PACKAGES = ("cli", "keys", "licensesvc")


def uncached_copy(cache: Path, target: Path) -> Path:
    """A copy of the warm bytecode cache without this checkout's packages: third-party
    bytecode (click) stays, licensesvc's own is gone. (The cache mirrors source folders:
    PYTHONPYCACHEPREFIX/<absolute folder>/<module>.<tag>.pyc.)"""
    shutil.copytree(cache, target)
    mirror = target / REPO_ROOT.relative_to(REPO_ROOT.anchor)
    for package in OWN_PACKAGES:
        shutil.rmtree(mirror / package, ignore_errors=True)
    return target


def run(settings: Settings, *, command: str) -> Report:
    """Warm the cache, check both commands, then time every round in both settings."""
    cli = console_script()
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="cli-startup-bench-") as tmp:
        workdir = Path(tmp) / "work"
        workdir.mkdir()  # an empty folder: no ./var, nothing of the repository on the path
        cache = Path(tmp) / "pycache"
        warm = environment(CACHED, cache)
        for _ in range(max(settings.warmups, 1)):  # writes the bytecode of both commands
            run_process([*cli, "--help"], warm, workdir)
            run_process(baseline_command(), warm, workdir)
        self_check(cli, warm, workdir)
        envs = {
            CACHED: warm,
            UNCACHED: environment(UNCACHED, uncached_copy(cache, Path(tmp) / "pycache-3rd")),
        }
        click_modules = set(loaded_modules([], warm, workdir))
        help_modules = loaded_modules(["--help"], warm, workdir)
        pairs = {setting: Pair(setting) for setting in envs}
        for number in range(settings.rounds):
            _progress(f"round {number + 1}/{settings.rounds}")
            for setting, env in envs.items():
                pair = pairs[setting]
                # alternate which runs first, so that neither always follows the other
                if number % 2 == 0:
                    pair.baseline.append(timed(baseline_command(), env, workdir))
                    pair.measured.append(timed([*cli, "--help"], env, workdir))
                else:
                    pair.measured.append(timed([*cli, "--help"], env, workdir))
                    pair.baseline.append(timed(baseline_command(), env, workdir))
    return Report(
        settings=settings,
        command=command,
        cli=cli,
        pairs=pairs,
        extra_modules=sorted(set(help_modules) - click_modules),
        server_modules=server_modules(help_modules),
        load=(load_start, _load()),
        machine=machine_info(),
    )


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available on this platform
        return float("nan")


def machine_info() -> dict[str, str]:
    return {
        "platform": platform.platform(),
        "CPU count": str(os.cpu_count()),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "click": importlib.metadata.version("click"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _packages(modules: Sequence[str]) -> str:
    """`cli (22), json (4), ...`: the modules grouped by their top-level package."""
    counts: dict[str, int] = {}
    for name in modules:
        root = name.split(".")[0]
        counts[root] = counts.get(root, 0) + 1
    return ", ".join(f"`{root}` ({count})" for root, count in sorted(counts.items()))


def render_section(report: Report) -> str:
    """The markdown of this benchmark's section, markers included."""
    rows = [
        '| setting | `python -c "import click"` (median) | `licensesvc --help` (median) '
        "| ratio to baseline | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for setting, pair in report.pairs.items():
        target = f"≤ {MAX_RATIO:g}×" if setting == CACHED else "—"
        met = ("yes" if pair.ratio() <= MAX_RATIO else "**no**") if setting == CACHED else "—"
        rows.append(
            f"| {LABELS[setting]} | {_ms(statistics.median(pair.baseline))} "
            f"| {_ms(statistics.median(pair.measured))} | {pair.ratio():.2f}× | {target} "
            f"| {met} |"
        )
    stack = (
        "none"
        if not report.server_modules
        else "**" + ", ".join(f"`{name}`" for name in report.server_modules) + "**"
    )
    lines = [
        BEGIN_MARKER,
        "## CLI start-up (`bench/cli_startup_bench.py`)",
        "",
        f"Generated by `{report.command}`; rerun it rather than editing. "
        "The console script `licensesvc --help` (as a shell runs it) against "
        '`python -c "import click"` (the least a click CLI does: start Python and load click), '
        "same interpreter and environment, from an empty working folder, timed in the same "
        f"rounds in alternating order; each ratio is the median over {report.settings.rounds} "
        "rounds of (`licensesvc --help` ÷ baseline) from the same round. Target (issue 18): "
        f"at most {MAX_RATIO:g}× with the bytecode cached, as an installed CLI runs after its "
        "first start (both sides read one fresh `PYTHONPYCACHEPREFIX` cache that warm-up runs "
        "filled). The second row removes this checkout's modules from that cache and sets "
        "`PYTHONDONTWRITEBYTECODE=1`, so every start compiles them (click stays cached).",
        "",
        *rows,
        "",
        f"`licensesvc --help` imports {len(report.extra_modules)} modules beyond "
        f"`import click`: {_packages(report.extra_modules)}; of the server stack (SQLAlchemy, "
        f"Flask, models, services, ...): {stack}. Every command imports its services when it "
        "runs, and `--help` of every group and command loads no model, no SQLAlchemy and no "
        "Flask (tests/cli/test_cli_startup.py).",
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


def exit_status(report: Report, check: bool) -> int:
    """0, or 1 when ``check`` is set and the target was missed."""
    return 1 if check and not report.met() else 0


def _progress(message: str) -> None:
    print(f"[cli_startup_bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cli_startup_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short run; prints, writes nothing")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 31)")
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
        rounds=args.rounds if args.rounds is not None else base.rounds, warmups=base.warmups
    )
    command = " ".join([RERUN_COMMAND, *(argv if argv is not None else sys.argv[1:])])
    report = run(settings, command=command)
    section = render_section(report)
    print(section)
    output = args.output if args.output is not None else (None if args.quick else DEFAULT_OUTPUT)
    if output is not None:
        write_section(output, section)
        _progress(f"wrote its section of {output}")
    return exit_status(report, args.check)


if __name__ == "__main__":
    sys.exit(main())
