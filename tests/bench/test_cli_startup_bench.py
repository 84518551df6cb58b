"""The CLI start-up benchmark's harness works: both timed commands really run (the CLI prints
its command list), the bytecode settings are what the report says, the target is judged from
the figures, and a run writes only its own section of the report. No timing is asserted."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench import cli_startup_bench as cb


@pytest.fixture(scope="module")
def tiny_report() -> cb.Report:
    return cb.run(cb.Settings(rounds=1, warmups=1), command="tiny")


def test_a_tiny_run_times_both_settings_and_finds_no_server_module(tiny_report: cb.Report) -> None:
    assert set(tiny_report.pairs) == {cb.CACHED, cb.UNCACHED}
    for pair in tiny_report.pairs.values():
        assert len(pair.baseline) == len(pair.measured) == 1
        assert pair.ratio() > 0
    assert tiny_report.cli == [str(Path(sys.executable).parent / "licensesvc")]
    assert tiny_report.server_modules == []
    assert "cli.main" in tiny_report.extra_modules and "click" not in tiny_report.extra_modules


def test_the_report_names_the_command_the_baseline_the_target_and_the_verdict(
    tiny_report: cb.Report,
) -> None:
    section = cb.render_section(tiny_report)
    assert section.startswith(cb.BEGIN_MARKER + "\n## CLI start-up")
    assert section.endswith(cb.END_MARKER + "\n")
    for needle in ("`tiny`", '`python -c "import click"`', "`licensesvc --help`", "≤ 2×"):
        assert needle in section
    table = [line for line in section.splitlines() if line.startswith("| ")]
    assert len(table) == 3 and all(row.count(" | ") == 5 for row in table)
    verdict = "yes" if tiny_report.pairs[cb.CACHED].ratio() <= 2 else "**no**"
    assert table[1].endswith(f"| ≤ 2× | {verdict} |")


def slow_cli(report: cb.Report, ratio: float) -> cb.Report:
    """report with `licensesvc --help` taking ratio times its baseline, cached."""
    pair = cb.Pair(cb.CACHED, baseline=[0.05, 0.05, 0.05], measured=[0.05 * ratio] * 3)
    return replace(report, pairs={**report.pairs, cb.CACHED: pair})


def test_a_missed_target_is_shown_and_fails_only_with_check(tiny_report: cb.Report) -> None:
    slow = slow_cli(tiny_report, 2.5)
    assert slow.pairs[cb.CACHED].ratio() == pytest.approx(2.5)
    assert not slow.met()
    assert "| 2.50× | ≤ 2× | **no** |" in cb.render_section(slow)
    assert cb.exit_status(slow, check=False) == 0
    assert cb.exit_status(slow, check=True) == 1
    fast = slow_cli(tiny_report, 1.5)
    assert fast.met() and cb.exit_status(fast, check=True) == 0
    loaded = replace(fast, server_modules=["sqlalchemy"])
    assert not loaded.met() and "**`sqlalchemy`**" in cb.render_section(loaded)


def test_the_uncached_setting_drops_only_this_checkouts_bytecode(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    mirror = cache / cb.REPO_ROOT.relative_to(cb.REPO_ROOT.anchor)
    ours = [mirror / package / "x.cpython-311.pyc" for package in cb.OWN_PACKAGES]
    theirs = [
        mirror / ".venv" / "lib" / "site-packages" / "click" / "core.cpython-311.pyc",
        cache / "usr" / "lib" / "python3" / "json" / "decoder.cpython-311.pyc",
    ]
    for path in [*ours, *theirs]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"pyc")
    copy = cb.uncached_copy(cache, tmp_path / "copy")
    assert not any((copy / path.relative_to(cache)).exists() for path in ours)
    assert all((copy / path.relative_to(cache)).exists() for path in theirs)
    assert all(path.exists() for path in ours)  # the warm cache itself is kept
    uncached = cb.environment(cb.UNCACHED, copy)
    assert uncached["PYTHONDONTWRITEBYTECODE"] == "1"
    assert uncached["PYTHONPYCACHEPREFIX"] == str(copy)
    cached = cb.environment(cb.CACHED, cache)
    assert "PYTHONDONTWRITEBYTECODE" not in cached
    assert not any(name.startswith("LICENSESVC_") for name in cached)


def test_server_modules_are_the_stack_and_its_submodules() -> None:
    assert cb.server_modules(
        ["click", "sqlalchemy.orm", "flaskish", "flask", "licensesvc.models.base", "cli.main"]
    ) == ["sqlalchemy.orm", "flask", "licensesvc.models.base"]


def test_a_run_replaces_only_its_own_section(tiny_report: cb.Report, tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nkept as is\n", encoding="utf-8")
    section = cb.render_section(tiny_report)
    cb.write_section(doc, section)
    cb.write_section(doc, section.replace("## CLI start-up", "## CLI start-up, again"))
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nkept as is\n")
    assert text.count(cb.BEGIN_MARKER) == 1 and text.count(cb.END_MARKER) == 1
    assert "## CLI start-up, again" in text


def test_the_verification_benchmark_keeps_this_section_when_it_rewrites_the_file(
    tmp_path: Path,
) -> None:
    from bench import verify_bench

    doc = tmp_path / "performance.md"
    section = f"{cb.BEGIN_MARKER}\n## CLI start-up\n\nfigures\n{cb.END_MARKER}\n"
    doc.write_text("# Performance: license key verification\n\nold figures\n\n" + section)
    assert section.strip() in verify_bench._server_sections(doc)


def test_main_writes_only_where_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_report: cb.Report
) -> None:
    monkeypatch.setattr(cb, "run", lambda settings, command: replace(tiny_report, command=command))
    monkeypatch.setattr(cb, "DEFAULT_OUTPUT", tmp_path / "default.md")
    output = tmp_path / "performance.md"
    assert cb.main(["--quick", "--output", str(output)]) == 0
    assert "python -m bench.cli_startup_bench --quick --output" in output.read_text()
    assert cb.main(["--quick"]) == 0  # prints only
    assert sorted(tmp_path.iterdir()) == [output]
    assert cb.main([]) == 0  # a full run writes the default file
    assert (tmp_path / "default.md").read_text().startswith(cb.BEGIN_MARKER)
