"""Configuration: LICENSESVC_ENV spelled exactly, what production refuses, private files,
development secrets created once even by many processes at once, and derived keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from licensesvc.app import create_app
from licensesvc.config import KEY_PURPOSES, ConfigurationError, Policy, Settings
from licensesvc.db import make_engine

REPO = Path(__file__).resolve().parents[3]
#: secrets of exactly the minimum length production accepts (32 bytes), from
#: secrets.token_urlsafe(24); the passphrase differs from the secret key, as production requires
GOOD = "Zq3vX9kTg2LmWc7RbN4yHs8JdF1pQe6u"
GOOD_PASSPHRASE = "m4Kx8TzR2vNq7LcW9bYs3HgJ6dPf1QeA"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common umask 022, under which a plain mkdir/open is group- and world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def production(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "LICENSESVC_ENV": "production",
        "LICENSESVC_DATA_DIR": str(tmp_path / "var"),
        "LICENSESVC_DATABASE_URL": "postgresql+psycopg://licensesvc@db.example/licensesvc",
        "LICENSESVC_SECRET_KEY": GOOD,
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": GOOD_PASSPHRASE,
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value != "<unset>"}


@pytest.mark.parametrize("value", ["Production", "prod", "PRODUCTION", "production ", "dev", ""])
def test_a_near_miss_of_licensesvc_env_refuses_to_start(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"LICENSESVC_ENV": value, "LICENSESVC_DATA_DIR": str(tmp_path / "v")})
    message = str(caught.value)
    assert message.startswith("LICENSESVC_ENV must be exactly `development` or `production`")
    assert repr(value) in message
    assert not (tmp_path / "v").exists()  # no development secrets were generated


def test_production_runs_on_its_own_secrets_and_database(tmp_path: Path) -> None:
    settings = Settings.from_env(production(tmp_path))
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql")
    assert settings.secret_key == GOOD
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"LICENSESVC_SECRET_KEY": "s" * 31},
            "LICENSESVC_SECRET_KEY is 31 bytes, needs at least 32",
        ),
        (
            {"LICENSESVC_SIGNING_KEY_PASSPHRASE": "x"},
            "LICENSESVC_SIGNING_KEY_PASSPHRASE is 1 bytes, needs at least 32",
        ),
        ({"LICENSESVC_SECRET_KEY": "<unset>"}, "LICENSESVC_SECRET_KEY is not set"),
        ({"LICENSESVC_SIGNING_KEY_PASSPHRASE": ""}, "LICENSESVC_SIGNING_KEY_PASSPHRASE is not set"),
        (
            {"LICENSESVC_DATABASE_URL": "<unset>"},
            "LICENSESVC_DATABASE_URL is not set (production does not run on the SQLite file",
        ),
    ],
)
def test_production_refuses_short_or_missing_secrets_and_the_sqlite_default(
    tmp_path: Path, overrides: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigurationError, match="^production: ") as caught:
        Settings.from_env(production(tmp_path, **overrides))
    assert expected in str(caught.value)
    assert not (tmp_path / "var").exists()  # never falls back to generated secrets


def test_production_names_every_problem_at_once(tmp_path: Path) -> None:
    env = {"LICENSESVC_ENV": "production", "LICENSESVC_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    for name in ("SECRET_KEY", "SIGNING_KEY_PASSPHRASE", "DATABASE_URL"):
        assert f"LICENSESVC_{name} is not set" in message
    assert "\n" not in message


def test_secrets_are_counted_in_bytes_not_characters(tmp_path: Path) -> None:
    greek = "αβγδεζηθικλμνξοπρστυφχψω"  # 24 characters, 48 bytes
    settings = Settings.from_env(production(tmp_path, LICENSESVC_SECRET_KEY=greek))
    assert settings.secret_key == greek


A32 = "a" * 32


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (  # the attack as found: 32 x `a` for both
            {"LICENSESVC_SECRET_KEY": A32, "LICENSESVC_SIGNING_KEY_PASSPHRASE": A32},
            [
                "LICENSESVC_SECRET_KEY is guessable (repeated or few distinct characters: "
                "about 0 bits, needs 80",
                "LICENSESVC_SIGNING_KEY_PASSPHRASE is guessable",
                "LICENSESVC_SIGNING_KEY_PASSPHRASE is the same as LICENSESVC_SECRET_KEY",
            ],
        ),
        ({"LICENSESVC_SECRET_KEY": A32}, ["LICENSESVC_SECRET_KEY is guessable"]),
        (
            {"LICENSESVC_SIGNING_KEY_PASSPHRASE": "0123456789abcdef" * 2},
            ["LICENSESVC_SIGNING_KEY_PASSPHRASE is guessable"],
        ),
        (
            {"LICENSESVC_SECRET_KEY": "ab" * 40},
            ["LICENSESVC_SECRET_KEY is guessable (repeated or few distinct characters: about 2"],
        ),
        (  # strong, but one leaked would unlock the other
            {"LICENSESVC_SIGNING_KEY_PASSPHRASE": GOOD},
            ["LICENSESVC_SIGNING_KEY_PASSPHRASE is the same as LICENSESVC_SECRET_KEY"],
        ),
    ],
)
def test_production_refuses_weak_or_identical_secrets(
    tmp_path: Path, overrides: dict[str, str], expected: list[str]
) -> None:
    with pytest.raises(ConfigurationError, match="^production: ") as caught:
        Settings.from_env(production(tmp_path, **overrides))
    message = str(caught.value)
    for part in expected:
        assert part in message
    assert message.count("guessable") + message.count("the same as") == len(expected)
    for value in overrides.values():
        assert value not in message  # names the variable, never the value
    assert not (tmp_path / "var").exists()


def test_generated_secrets_pass_the_entropy_check(tmp_path: Path) -> None:
    import base64
    import random

    draw = random.Random(24)  # seeded: the same secrets every run
    made = [draw.randbytes(16).hex() for _ in range(1000)] + [  # token_hex(16)'s shape
        base64.urlsafe_b64encode(draw.randbytes(32)).decode().rstrip("=") for _ in range(1000)
    ]  # token_urlsafe(32)'s shape
    for secret in made:
        env = production(tmp_path, LICENSESVC_SECRET_KEY=secret)
        assert Settings.from_env(env).secret_key == secret


def test_development_makes_a_private_data_directory(tmp_path: Path, loose_umask: None) -> None:
    data_dir = tmp_path / "fresh" / "var"
    Settings.from_env({"LICENSESVC_DATA_DIR": str(data_dir)})
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "dev-secrets.json") == 0o600
    assert [p.name for p in data_dir.iterdir()] == ["dev-secrets.json"]  # no temporary left


def test_sqlite_database_and_its_wal_files_are_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "data" / "licensesvc.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:  # the WAL and shared-memory files exist while open
            conn.execute(text("SELECT x FROM t")).all()
            files = sorted(p.name for p in db.parent.iterdir())
            assert files == ["licensesvc.db", "licensesvc.db-shm", "licensesvc.db-wal"]
            assert {name: mode(db.parent / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        engine.dispose()
    assert mode(db.parent) == 0o700


def test_a_world_readable_database_of_an_older_version_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    for path in (db, Path(f"{db}-wal")):
        path.touch()
        path.chmod(0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert mode(db) == 0o600 and mode(Path(f"{db}-wal")) == 0o600


def test_in_memory_sqlite_creates_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_engine("sqlite:///:memory:").dispose()
    make_engine("sqlite://").dispose()
    assert list(tmp_path.iterdir()) == []


#: run by each of the processes below: import, say so, then for each round wait for its start
#: signal and read the settings of that round's data directory (which creates the development
#: secrets if nobody has yet), printing them as one JSON line
CHILD = """
import json, os, sys, time
from licensesvc.config import Settings
print("ready", flush=True)
for data_dir in sys.argv[1:]:
    gate = data_dir + ".go"
    while not os.path.exists(gate):
        time.sleep(0.0002)
    try:
        s = Settings.from_env({"LICENSESVC_DATA_DIR": data_dir})
        print(json.dumps([s.secret_key, s.signing_key_passphrase]), flush=True)
    except Exception as exc:
        print(json.dumps({"error": repr(exc)}), flush=True)
"""


def first_starts_at_once(data_dirs: list[Path], processes: int) -> list[list[object]]:
    """Start processes that, round by round, all create the development secrets of one fresh
    data directory at the same moment; return, per round, what each process read."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *map(str, data_dirs)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        rounds = []
        for data_dir in data_dirs:
            Path(f"{data_dir}.go").touch()  # everyone is waiting: go
            rounds.append([json.loads(child.stdout.readline()) for child in children])
        return rounds
    finally:
        for child in children:
            child.wait(timeout=60)


#: rounds of 20 simultaneous first starts (the race this guards against lost 14 of 240)
ROUNDS = 10


def test_twenty_first_starts_at_once_agree_on_one_set_of_development_secrets(
    tmp_path: Path,
) -> None:
    data_dirs = [tmp_path / f"var{i}" for i in range(ROUNDS)]
    for data_dir, results in zip(data_dirs, first_starts_at_once(data_dirs, 20), strict=True):
        assert [r for r in results if isinstance(r, dict)] == []  # no process failed
        on_disk = json.loads((data_dir / "dev-secrets.json").read_text())
        assert {tuple(r) for r in results} == {  # type: ignore[arg-type]
            (on_disk["secret_key"], on_disk["signing_key_passphrase"])
        }
        assert [p.name for p in data_dir.iterdir()] == ["dev-secrets.json"]


def test_a_damaged_development_secrets_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "dev-secrets.json").write_text('{"secret_key": ')
    with pytest.raises(ConfigurationError, match="dev-secrets.json is not valid JSON; delete it"):
        Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    (tmp_path / "dev-secrets.json").write_text('{"secret_key": "a"}')
    with pytest.raises(ConfigurationError, match="lacks secret_key or signing_key_passphrase"):
        Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})


def test_settings_have_no_issuer_any_more(tmp_path: Path) -> None:
    settings = Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    assert not hasattr(settings, "issuer")


def rfc5869(secret: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 with no salt, 32 bytes, written from RFC 5869 with the standard library."""
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_each_purpose_has_its_own_key_derived_from_the_secret(settings: Settings) -> None:
    derived = {purpose: settings.derived_key(purpose) for purpose in KEY_PURPOSES}
    assert len(set(derived.values())) == len(KEY_PURPOSES) == 4
    secret = settings.secret_key.encode()
    for purpose, key in derived.items():
        assert key == rfc5869(secret, KEY_PURPOSES[purpose])
        assert secret not in key and len(key) == 32
    assert settings.token_hash_key == derived["token-hash"]
    assert settings.session_key == derived["session"]
    assert settings.csrf_key == derived["csrf"]
    with pytest.raises(KeyError):
        settings.derived_key("sessions")


def test_flask_signs_sessions_with_the_session_key_not_the_secret(app_settings: Settings) -> None:
    app = create_app(app_settings)
    assert app.config["SECRET_KEY"] == app_settings.session_key
    assert app.config["WTF_CSRF_SECRET_KEY"] == app_settings.csrf_key
    assert app.config["SECRET_KEY"] != app_settings.secret_key.encode()
    app.extensions["licensesvc"].engine.dispose()


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        secret_key="k" * 40,
        signing_key_passphrase="p" * 40,
        data_dir=tmp_path,
    )


def test_policy_reads_environment_and_rejects_nonsense(tmp_path):
    env = {
        "LICENSESVC_DATA_DIR": str(tmp_path),
        "LICENSESVC_POLICY_GRACE_DAYS": "10",
        "LICENSESVC_POLICY_TEMPORARY_MAY_OUTLIVE_CONTRACT": "true",
    }
    settings = Settings.from_env(env)
    assert settings.policy.grace_days == 10
    assert settings.policy.temporary_may_outlive_contract is True
    assert settings.database_url.startswith("sqlite:///")
    with pytest.raises(ConfigurationError, match="LICENSESVC_POLICY_GRACE_DAYS"):
        Policy.from_env({"LICENSESVC_POLICY_GRACE_DAYS": "ten"})
    with pytest.raises(ConfigurationError, match="SIGNING_KEY_PASSPHRASE"):
        Settings.from_env({"LICENSESVC_ENV": "production", "LICENSESVC_SECRET_KEY": "s"})


def test_development_secrets_are_generated_once_and_private(tmp_path):
    a = Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    b = Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    assert a.secret_key == b.secret_key and a.signing_key_passphrase == b.signing_key_passphrase
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
    assert a.secret_key not in repr(a)
