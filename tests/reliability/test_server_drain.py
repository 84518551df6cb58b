"""Graceful drain under a bigger burst than test_process_faults.py's (50, which a server that
drops the requests it has not begun can pass by luck): SIGTERM 0.1 s into a burst of 200
requests, three times, and every request the kernel accepted is answered. Run under Granian
(LICENSESVC_TEST_SERVER=granian) by bench/server_checks.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.e2e_helpers import e2e_settings, issue_standard_key, prepare
from tests.reliability.test_process_faults import _sigterm_burst

pytestmark = pytest.mark.e2e

BURST = 200
ROUNDS = 3


def test_sigterm_during_a_burst_of_200_answers_every_accepted_request(
    rel_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])
    for round_ in range(1, ROUNDS + 1):
        figures, refused = _sigterm_burst(
            rel_database_url,
            tmp_path,
            data.token["Acme"],
            data.license["Acme"],
            stock=False,
            burst=BURST,
        )
        assert figures.lost == 0, (
            f"round {round_}: {figures.lost} of the {figures.fired} accepted requests never "
            f"answered ({refused} refused, never accepted)"
        )
        assert figures.granted == figures.fired, figures
