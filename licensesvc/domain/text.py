"""The control-character rule of text from outside, on its own (platform.inputs, the host
rule in domain/hosts.py and domain/errors.py use it; it imports nothing of ours)."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_NEWLINE_TAB = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why value is not acceptable text, or None. One-line text (names, hosts, codes) carries
    no control character at all; multiline text (notes, reasons) may carry newline and tab."""
    pattern = _CONTROL_BUT_NEWLINE_TAB if multiline else _CONTROL
    found = pattern.search(value)
    if found is None:
        return None
    char = found.group()
    shown = f"U+{ord(char):04X}"
    allowed = " (newline and tab are allowed)" if multiline else ""
    return f"must not contain control characters; found {shown}{allowed}"
