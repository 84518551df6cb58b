"""What the logs get: one record per 500 (Flask's, with the traceback; the problem handler
adds none), no bound SQL parameters in database errors, and the suite-wide log scan
(tests/conftest.py: log_scan) really catches a token, a key or a passphrase."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from licensesvc.db import make_engine
from tests.conftest import _Recorder
from tests.licensesvc.api.api_helpers import assert_problem


@pytest.mark.own_app
def test_one_log_record_per_500(
    app: Flask, api_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> str:
        raise RuntimeError("the bug")

    app.add_url_rule("/v1/boom-for-test", "boom", boom)
    with caplog.at_level(logging.INFO):
        r = api_client.get("/v1/boom-for-test")
    body = assert_problem(r, 500, "internal_error")
    assert "the bug" not in body["detail"]
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None


def test_database_errors_hide_bound_parameters(tmp_path: object) -> None:
    engine = make_engine("sqlite://")
    with pytest.raises(StatementError) as caught, engine.connect() as c:
        c.execute(text("SELECT * FROM no_such_table WHERE secret = :s"), {"s": "lsc_anl_SECRET"})
    assert "lsc_anl_SECRET" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)


@pytest.mark.parametrize(
    ("message", "caught"),
    [
        ("token lsc_cust_" + "A" * 32, True),
        ("-----BEGIN PRIVATE KEY-----", True),
        ("key LK1." + "x" * 60, True),
        ("passphrase test-passphrase", True),
        ("failed authentication with token lsc_cust_AbCd...", False),
        ("key LK1.eyJhbGci...", False),
        ("GET /reset-password/" + "Zq3_" * 10 + " 200", True),
        ("GET /reset-password/…[redacted] 200", False),
    ],
)
def test_the_log_scan_catches_secrets(message: str, caught: bool) -> None:
    recorder = _Recorder()
    recorder.handle(logging.LogRecord("licensesvc", logging.INFO, __file__, 1, message, (), None))
    assert bool(recorder.records) is caught
