"""The revocation-list benchmark's harness works: every timed path really verifies a list
(and refuses a listed key), a tiny run writes only its own section of the report. No timing
is asserted."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import keys
from bench import revocation_bench as rb


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> rb.Fixture:
    return rb.build_fixture(300, tmp_path_factory.mktemp("revocation-bench"))


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is required in CI to run examples/verify-js")
        pytest.skip("node is not installed; the JavaScript verifier was not run")
    return node


def test_the_list_has_every_code_and_the_baseline_checks_the_specs_signed_bytes(fx) -> None:
    rl = keys.verify_revocation_list(fx.list_text, [rb.SIGNER.public_key], at=rb.AT)
    assert len(rl) == 300
    assert {entry.code for entry in rl.entries} == set(keys.REVOCATION_CODES)
    assert rb.LIST_PREFIX == keys.revocation.REVOCATION_PREFIX
    assert rb.LIST_CONTEXT == keys.revocation.REVOCATION_CONTEXT
    rb.baseline(fx)  # raises if the signature were not over context + payload


def test_every_timed_path_verifies_and_refuses_a_listed_key(fx) -> None:
    rb.self_check(fx, node_or_skip())


def test_a_tiny_run_replaces_only_its_own_section(tmp_path: Path) -> None:
    node_or_skip()
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nkept as is\n", encoding="utf-8")
    report = rb.run(rb.Settings(entries=50, rounds=1), command="test")
    section = rb.render_section(report)
    rb.write_section(doc, section)
    rb.write_section(doc, section.replace("50 entries", "fifty entries"))
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nkept as is\n")
    assert text.count(rb.BEGIN_MARKER) == 1 and text.count(rb.END_MARKER) == 1
    assert "fifty entries" in text
    assert len(report.pairs) == 3 and all(pair.ratio() > 0 for pair in report.pairs)
    for label in ("keys.verify_revocation_list", "licensesvc verify", "verify-file.js"):
        assert label in text


def test_the_verification_benchmark_keeps_this_section_when_it_rewrites_the_file(
    tmp_path: Path,
) -> None:
    from bench import verify_bench

    doc = tmp_path / "performance.md"
    section = f"{rb.BEGIN_MARKER}\n## Revocation lists\n\nfigures\n{rb.END_MARKER}\n"
    doc.write_text("# Performance: license key verification\n\nold figures\n\n" + section)
    kept = verify_bench._kept_sections(doc)
    assert kept == "\n" + section
    assert verify_bench._kept_sections(tmp_path / "absent.md") == ""
