"""Writing a benchmark's section into a markdown file (docs/performance.md): the part between
the benchmark's begin and end markers is replaced, everything else kept byte for byte."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, section: str, begin_marker: str, end_marker: str) -> None:
    """Replace the part of ``path`` from ``begin_marker`` to ``end_marker`` with ``section``
    (which carries both markers itself); append it when the markers are absent."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = text.find(begin_marker), text.find(end_marker)
    if begin != -1 and end != -1 and end > begin:
        after = text[end + len(end_marker) :].removeprefix("\n")
        text = text[:begin] + section + after
    else:
        text = text + ("\n" if text and not text.endswith("\n\n") else "") + section
    path.write_text(text, encoding="utf-8")
