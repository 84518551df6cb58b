"""docs/api.md's dry-run example is a real dry run: this test sends the request the doc shows
to the API (the suite's world and clock, 2026-03-02 15:00 UTC) and fails when the block
between the doc's `dry-run-example` markers differs from the answer. To regenerate it:

    LICENSESVC_WRITE_DOCS=1 .venv/bin/python -m pytest -q \
        tests/licensesvc/api/test_api_doc_examples.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
BEGIN = "<!-- dry-run-example:begin (tests/licensesvc/api/test_api_doc_examples.py) -->"
END = "<!-- dry-run-example:end -->"


def _render(request: dict[str, Any], answer: dict[str, Any]) -> str:
    return (
        "```json\n"
        + json.dumps(request)
        + "\n```\n\n```json\n"
        + json.dumps(answer, indent=2, ensure_ascii=False)
        + "\n```"
    )


def test_the_dry_run_example_of_api_md_is_a_real_dry_run(as_base: Caller, world: World) -> None:
    request = {
        "license_id": world.base_license,
        "kind": "dr_test",
        "dr_test_date": "2026-03-20",
        "dry_run": True,
    }
    r = as_base.post("/v1/key-requests", request)
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    # the ids of the suite's world depend on the database's sequences: the doc says 1
    text = _render({**request, "license_id": 1}, answer)
    text = re.sub(rf"\bcontract {world.base_contract}\b", "contract 1", text)
    text = re.sub(rf"\blicense {world.base_license}\b", "license 1", text)
    doc = DOC.read_text()
    head, begin, rest = doc.partition(BEGIN)
    assert begin, f"docs/api.md has no {BEGIN}"
    current, end, tail = rest.partition(END)
    assert end
    if os.environ.get("LICENSESVC_WRITE_DOCS") == "1":
        DOC.write_text(head + BEGIN + "\n" + text + "\n" + END + tail)
        current = "\n" + text + "\n"
    assert current.strip() == text, (
        "docs/api.md's dry-run example is stale; regenerate it with "
        "LICENSESVC_WRITE_DOCS=1 .venv/bin/python -m pytest -q "
        "tests/licensesvc/api/test_api_doc_examples.py"
    )
    # every check of the policy is listed with its outcome
    assert answer["dry_run"] is True and answer["outcome"] == "granted"
    assert all(
        {"check", "code", "passed", "detail", "overridable"} <= set(c) for c in answer["checks"]
    )
