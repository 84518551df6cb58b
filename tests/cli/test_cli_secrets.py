"""Secrets on the command line: tokens with an expiry and a last use, signing keys re-encrypted
with more PBKDF2 rounds, and a wrong passphrase or configuration as one line, never a
traceback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, func, select

import keys
from licensesvc.config import SIGNING_KEY_KDF_ROUNDS
from licensesvc.identity import tokens
from licensesvc.models import (
    ApiToken,
    AuditRecord,
    Customer,
    IssuedKey,
    KeyRequest,
    SigningKeyRecord,
    User,
)
from licensesvc.runtime import Runtime
from tests.cli.cli_helpers import Cli, Shop, count, key_issue
from tests.conftest import fresh_database_url

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-03-02T15:00:00Z"  # the suite's clock


def with_settings(run: Cli, **changes: Any) -> Cli:
    """The same database and clock, other settings (a restart with other variables)."""
    rt = run.runtime
    return Cli(Runtime(replace(rt.settings, **changes), rt.engine, rt.sessions, rt.clock))


def test_a_token_expires_in_some_days_or_on_a_date(run: Cli, shop: Shop) -> None:
    in_days = run.json("token", "create", "--customer", shop.acme, "--expires-in", 30)
    assert in_days["expires_at"] == "2026-04-01T15:00:00Z"
    on_date = run.json("token", "create", "--analyst", "bob", "--expires-on", "2026-06-30")
    assert on_date["expires_at"] == "2026-06-30T23:59:59Z"
    forever = run.json("token", "create", "--analyst", "eve")
    assert forever["expires_at"] is None
    shown = run.ok("token", "create", "--analyst", "ann", "--expires-in", 1).stdout
    assert "expires   2026-03-03T15:00:00Z" in shown


def test_token_list_shows_expiry_and_last_use(run: Cli, shop: Shop) -> None:
    made = run.json(
        "token", "create", "--customer", shop.acme, "--expires-in", 30, "--name", "deploy"
    )
    run.json("token", "create", "--analyst", "bob")
    with run.runtime.sessions() as session:
        tokens.authenticate(session, run.runtime.settings, made["token"], now=run.runtime.clock())
        session.commit()
    lines = run.ok("token", "list").stdout.splitlines()
    assert lines[0].split() == [
        "ID",
        "PREFIX",
        "NAME",
        "CUSTOMER",
        "ANALYST",
        "MADE",
        "BY",
        "CREATED",
        "EXPIRES",
        "LAST",
        "USED",
        "REVOKED",
    ]
    # newest first: bob's (no expiry, never used, not revoked), then Acme's; alice made both
    assert lines[1].split()[2:3] + lines[1].split()[5:] == [
        "-",
        "analyst:alice",
        NOW,
        "-",
        "-",
        "-",
    ]
    assert lines[2].split()[2:3] + lines[2].split()[5:] == [
        "deploy",
        "analyst:alice",
        NOW,
        "2026-04-01T15:00:00Z",
        NOW,
        "-",
    ]
    listed = run.json("token", "list")
    assert [(t["name"], t["created_by"], t["expires_at"], t["last_used_at"]) for t in listed] == [
        (None, "analyst:alice", None, None),
        ("deploy", "analyst:alice", "2026-04-01T15:00:00Z", NOW),
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--expires-in", "30", "--expires-on", "2026-06-30"], "not both"),
        (["--expires-in", "0"], "0 is not in the range 1<=x<=3650"),
        (["--expires-in", "3651"], "is not in the range"),
        (["--expires-on", "30/06/2026"], "expected YYYY-MM-DD"),
    ],
)
def test_a_bad_expiry_is_a_usage_error_and_makes_nothing(
    run: Cli, shop: Shop, options: list[str], message: str
) -> None:
    result = run.fails("token", "create", "--analyst", "bob", *options, exit_code=2)
    assert message in result.stderr
    assert count(run, ApiToken) == 0


def test_an_expiry_in_the_past_is_refused_and_makes_nothing(run: Cli, shop: Shop) -> None:
    result = run.fails("token", "create", "--analyst", "bob", "--expires-on", "2026-03-01")
    assert result.stderr == (
        "Error: validation_error: the expiry 2026-03-01T23:59:59+00:00 is not in the future\n"
    )
    assert count(run, ApiToken) == 0


def test_signing_key_list_shows_the_protection_and_rewrap_raises_it(run: Cli) -> None:
    strong = with_settings(run, signing_key_kdf_rounds=SIGNING_KEY_KDF_ROUNDS)
    passphrase = run.runtime.settings.signing_key_passphrase.encode()
    private = Ed25519PrivateKey.generate()
    with run.runtime.sessions() as session:  # a key as the release before stored it
        session.add(
            SigningKeyRecord(
                kid=keys.SigningKey(private).kid,
                public_key_pem=keys.SigningKey(private).public_key.to_pem(),
                private_key_encrypted=private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(passphrase),
                ),
                status="active",
                created_at=run.runtime.clock(),
            )
        )
        session.commit()
    kid = keys.SigningKey(private).kid
    assert strong.ok("signing-key", "list").stdout.splitlines()[1].split()[-2:] == [
        "pbkdf2-sha256",
        "2048",
    ]
    assert strong.ok("signing-key", "rewrap").stdout == (
        f"re-encrypted {kid} (pbkdf2-sha256 600000)\n"
    )
    assert strong.json("signing-key", "list")[0]["protection"] == "pbkdf2-sha256 600000"
    assert strong.ok("signing-key", "rewrap").stdout == (
        "every signing key already has the current protection; nothing changed\n"
    )
    assert strong.json("signing-key", "rewrap") == []


def test_a_wrong_passphrase_is_one_line_and_changes_nothing(run: Cli, shop: Shop) -> None:
    wrong = with_settings(run, signing_key_passphrase="not-the-passphrase")
    before = (count(run, IssuedKey), count(run, KeyRequest), count(run, SigningKeyRecord))
    for args in (
        key_issue(shop.acme_license, "standard"),
        ["signing-key", "rotate"],
        ["revocations", "export"],
    ):
        result = wrong.fails(*args)
        [line] = result.stderr.splitlines()
        assert line.startswith("Error: service_unavailable: the server cannot sign: signing key ")
        assert "cannot decrypt: wrong LICENSESVC_SIGNING_KEY_PASSPHRASE?" in line
        assert result.stdout == ""
    assert (count(run, IssuedKey), count(run, KeyRequest), count(run, SigningKeyRecord)) == before


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common umask 022, under which a plain open() makes a world-readable file."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_license_files_written_by_the_cli_are_0600(
    run: Cli, shop: Shop, tmp_path: Path, loose_umask: None
) -> None:
    issued = run.json(*key_issue(shop.acme_license, "standard", out=tmp_path / "y.lic"))
    run.ok("key", "export", issued["serial"], "--format", "file", "--out", tmp_path / "x.lic")
    run.ok("key", "export", issued["serial"], "--out", tmp_path / "x.txt")
    run.ok("revocations", "export", "--out", tmp_path / "revocations.json")
    run.ok("signing-key", "export-public", "--out", tmp_path / "vendor.pem")
    old = tmp_path / "old.lic"  # a file an earlier export left world-readable
    old.write_text("stale")
    old.chmod(0o644)
    run.ok("key", "export", issued["serial"], "--format", "file", "--out", old)
    written = ["y.lic", "x.lic", "x.txt", "revocations.json", "vendor.pem", "old.lic"]
    modes = {name: (tmp_path / name).stat().st_mode & 0o777 for name in written}
    assert modes == dict.fromkeys(written, 0o600)
    assert old.read_text().startswith("-----BEGIN")  # and written in full


@pytest.fixture
def database_file(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "cli_secrets")


def licensesvc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_real_cli_prints_one_line_for_a_wrong_passphrase(
    database_file: str, tmp_path: Path
) -> None:
    env = {
        "LICENSESVC_DATABASE_URL": database_file,
        "LICENSESVC_DATA_DIR": str(tmp_path),
        "LICENSESVC_SECRET_KEY": "k" * 32,
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": "the right passphrase",
    }
    for args in (["db", "upgrade"], ["signing-key", "generate"]):
        assert licensesvc(env, *args).returncode == 0
    env["LICENSESVC_SIGNING_KEY_PASSPHRASE"] = "a wrong passphrase"
    result = licensesvc(env, "revocations", "export")
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "cannot decrypt: wrong LICENSESVC_SIGNING_KEY_PASSPHRASE?" in line


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"LICENSESVC_ENV": "Production"},
            "Error: configuration: LICENSESVC_ENV must be exactly `development` or "
            "`production`, not 'Production'",
        ),
        (
            {"LICENSESVC_ENV": "production", "LICENSESVC_SECRET_KEY": "short"},
            "Error: configuration: production: LICENSESVC_SECRET_KEY is 5 bytes, needs at least 32",
        ),
        (
            {
                "LICENSESVC_ENV": "production",
                "LICENSESVC_DATABASE_URL": "postgresql+psycopg://licensesvc@db.example/lsvc",
                "LICENSESVC_SECRET_KEY": "a" * 32,
                "LICENSESVC_SIGNING_KEY_PASSPHRASE": "a" * 32,
            },
            "Error: configuration: production: LICENSESVC_SECRET_KEY is guessable",
        ),
    ],
)
def test_the_real_cli_refuses_bad_configuration_in_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = licensesvc({"LICENSESVC_DATA_DIR": str(tmp_path / "var"), **env}, "customer", "list")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(expected)
    assert not (tmp_path / "var").exists()


def production_env(database_file: str, tmp_path: Path) -> dict[str, str]:
    return {
        "LICENSESVC_ENV": "production",
        "LICENSESVC_DATABASE_URL": database_file,
        "LICENSESVC_DATA_DIR": str(tmp_path / "var"),
        "LICENSESVC_SECRET_KEY": secrets.token_urlsafe(32),
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": secrets.token_urlsafe(32),
    }


def rows_in(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                model.__tablename__: conn.scalar(select(func.count()).select_from(model)) or 0
                for model in (Customer, User, ApiToken, IssuedKey, SigningKeyRecord, AuditRecord)
            }
    finally:
        engine.dispose()


def test_demo_refuses_in_production_on_a_new_empty_database(
    database_file: str, tmp_path: Path
) -> None:
    env = production_env(database_file, tmp_path)
    assert licensesvc(env, "db", "upgrade").returncode == 0
    result = licensesvc(env, "demo")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: forbidden: demo data is never loaded in production (LICENSESVC_ENV=production): "
        "its portal passwords are published; run `licensesvc demo` against a development database"
    ]
    assert rows_in(database_file) == dict.fromkeys(rows_in(database_file), 0)  # no demo logins


def test_demo_refuses_in_production_whatever_the_database_holds(run: Cli, shop: Shop) -> None:
    before = (count(run, Customer), count(run, User), count(run, ApiToken))
    result = with_settings(run, environment="production").fails("demo")
    assert result.stderr.startswith("Error: forbidden: demo data is never loaded in production")
    assert len(result.stderr.splitlines()) == 1
    assert (count(run, Customer), count(run, User), count(run, ApiToken)) == before
