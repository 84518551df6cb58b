"""The cascade benchmark's harness works: both timed paths really verify (a revoked key comes
out `revoked` with the cascade and with the plain list), and a tiny run writes only its own
section of the report. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import keys
from bench import cascade_bench as cb


def test_a_tiny_run_checks_both_forms_and_writes_only_its_section(tmp_path: Path) -> None:
    settings = cb.Settings(issued=2_000, revoked=40, rounds=1)
    report = cb.run(settings, command="cascade_bench --tiny")
    fx = report.fixture
    cascade = keys.verify_revocation_cascade(fx.cascade, [cb.SIGNER.public_key], at=cb.AT)
    assert cascade.count == 2_000
    assert cb.check(fx, fx.revoked_key, fx.cascade) == "revoked"
    assert cb.check(fx, fx.good_key, fx.plain.encode()) == "valid"
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nkept\n")
    cb.write_section(doc, cb.render_section(report))
    cb.write_section(doc, cb.render_section(report))  # replaced, not appended twice
    text = doc.read_text()
    assert text.startswith("# Performance\n\nkept\n")
    assert text.count(cb.BEGIN_MARKER) == 1 and "2,000 keys issued, 40 revoked" in text
    assert "| delta of 100 revocations |" in text
