"""The default run and the full run of the test suite.

`LICENSESVC_FULL_TESTS=1` runs everything at full size: schemathesis with 100 examples per
operation (25 by default) and the reliability scenarios with their long loops (reduced by
default). README.md ("Development") and docs/reliability.md give the command."""

from __future__ import annotations

import os

FULL_ENV = "LICENSESVC_FULL_TESTS"

#: the full run was asked for (read once, at import: every test of a run sees the same size)
FULL = os.environ.get(FULL_ENV) == "1"


def size(full: int, reduced: int) -> int:
    """`full` in the full run, else `reduced`."""
    return full if FULL else reduced
