"""The database behind the CLI: migrations, a missing schema, an unreachable server, and
`licensesvc serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from licensesvc.config import Policy, Settings
from licensesvc.runtime import Runtime
from tests.cli.cli_helpers import Cli
from tests.conftest import fresh_database_url

REPO = Path(__file__).resolve().parents[2]


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        secret_key="cli-test-secret",
        signing_key_passphrase="cli-test-passphrase",
        data_dir=tmp_path,
        policy=Policy(),
    )


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "cli")


@pytest.fixture
def fresh(empty_database: str, tmp_path: Path) -> Iterator[Cli]:
    """The CLI against an empty database (no schema yet), committing for real."""
    runtime = Runtime.from_settings(settings_for(empty_database, tmp_path))
    try:
        yield Cli(runtime)
    finally:
        runtime.engine.dispose()


def test_db_upgrade_creates_the_schema_and_is_safe_to_run_again(fresh: Cli) -> None:
    first = fresh.json("db", "upgrade")
    assert first["from_revision"] is None and first["revision"]
    again = fresh.ok("db", "upgrade").stdout
    assert again.startswith(f"schema at revision {first['revision']} (was {first['revision']})")
    assert fresh.json("customer", "create", "--name", "First")["id"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "list"],
        ["customer", "create", "--name", "Acme"],
        ["signing-key", "generate"],
        ["key", "list"],
        ["case", "list", "--escalated"],
        ["audit", "verify"],
        ["demo"],
    ],
    ids=lambda args: " ".join(args),
)
def test_before_db_upgrade_every_command_says_to_run_it(fresh: Cli, args: list[str]) -> None:
    result = fresh.fails(*args)
    assert result.stderr == (
        "Error: the database has no licensesvc schema; run `licensesvc db upgrade` first\n"
    )
    assert result.stdout == ""


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none?connect_timeout=2"
    runtime = Runtime.from_settings(settings_for(url, tmp_path))
    result = Cli(runtime).fails("customer", "list")
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: cannot use the database: ")
    assert result.stdout == ""


def test_a_database_url_the_cli_cannot_read_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "customer", "list"],
        cwd=REPO,
        env={
            **os.environ,
            "LICENSESVC_DATABASE_URL": "nosuchdb://x",
            "LICENSESVC_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: configuration: ")
    assert len(result.stderr.splitlines()) == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.e2e
def test_serve_announces_its_url_first_and_answers(fresh: Cli, empty_database: str) -> None:
    fresh.ok("db", "upgrade")
    port = free_port()
    env = {
        **os.environ,
        "LICENSESVC_DATABASE_URL": empty_database,
        "LICENSESVC_SECRET_KEY": "serve-secret",
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": "serve-passphrase",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", "1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first == f"licensesvc serving on http://127.0.0.1:{port}\n"
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read()
                break
            except OSError:
                time.sleep(0.1)
        assert b'"ok"' in body
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_serve_refuses_to_start_on_a_database_without_schema(fresh: Cli) -> None:
    result = fresh.fails("serve", "--port", free_port())
    assert "run `licensesvc db upgrade` first" in result.stderr


@pytest.mark.parametrize(
    ("host", "warned"),
    [
        ("0.0.0.0", True),
        ("::", True),
        ("10.1.2.3", True),
        ("app.example", True),
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
    ],
)
def test_serve_warns_when_bound_beyond_loopback(fresh: Cli, host: str, warned: bool) -> None:
    """Issue 24, finding 7: gunicorn is never to face clients directly (a buffering proxy goes
    in front); serve says so on stderr when it listens beyond this machine. (The database has
    no schema, so serve stops right after.)"""
    result = fresh.fails("serve", "--host", host, "--port", free_port())
    said = "Never expose gunicorn to clients directly" in result.stderr
    assert said is warned, result.stderr
    assert "run `licensesvc db upgrade` first" in result.stderr
