"""`licensesvc verify`: an installer's offline check, with no database and no configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import keys
from cli.main import cli

REPO = Path(__file__).resolve().parents[2]
ISSUED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
VENDOR = keys.SigningKey.from_seed_for_tests(b"cli-vendor".ljust(32, b"\0"))
NEXT_VENDOR = keys.SigningKey.from_seed_for_tests(b"cli-next-vendor".ljust(32, b"\0"))
STRANGER = keys.SigningKey.from_seed_for_tests(b"cli-stranger".ljust(32, b"\0"))


def claims(**changes: object) -> keys.Claims:
    values: dict[str, object] = {
        "serial": "SN-TEST-0001",
        "license_id": "7",
        "customer_id": "3",
        "customer_name": "Acme Logistics",
        "product": "JAMS Scheduler",
        "kind": "standard",
        "agents": 25,
        "jobs": 5000,
        "host": "sched01.acme.example",
        "failover_host": "dr01.acme.example",
        "issued_at": ISSUED,
        "not_before": ISSUED,
        "maintenance_until": date(2026, 12, 31),
        "expires_at": ISSUED + timedelta(days=120),
        "case_number": "CS-20260302-ABCDEF",
    }
    values.update(changes)
    return keys.Claims(**values)  # type: ignore[arg-type]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "key": tmp_path / "acme.lic",
        "text": tmp_path / "acme.key",
        "pem": tmp_path / "vendor.pem",
        "next_pem": tmp_path / "next.pem",
        "bundle": tmp_path / "bundle.pem",
        "stranger_pem": tmp_path / "stranger.pem",
        "garbage_pem": tmp_path / "garbage.pem",
    }
    text_key = keys.sign_key(claims(), VENDOR)
    made["text"].write_text(text_key + "\n")
    made["key"].write_text(keys.license_file(text_key))
    made["pem"].write_text(VENDOR.public_key.to_pem())
    made["next_pem"].write_text(NEXT_VENDOR.public_key.to_pem())
    made["bundle"].write_text(NEXT_VENDOR.public_key.to_pem() + VENDOR.public_key.to_pem())
    made["stranger_pem"].write_text(STRANGER.public_key.to_pem())
    made["garbage_pem"].write_text("not a key\n")
    return made


def verify(*args: object, input: str | None = None) -> Result:
    # no obj, no runtime, no database URL: the offline path must not need any
    result = CliRunner().invoke(cli, ["verify", *map(str, args)], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


AT = "2026-03-03T12:00:00Z"


def test_a_genuine_key_is_valid_with_a_short_summary(files: dict[str, Path]) -> None:
    result = verify(files["key"], "--public-key", files["pem"], "--at", AT)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "valid"
    assert "serial             SN-TEST-0001" in lines
    assert "customer           Acme Logistics (3)" in lines
    assert "kind               standard" in lines
    assert "expires            2026-06-30T15:00:00Z" in lines


def test_the_one_line_text_key_and_stdin_are_read_too(files: dict[str, Path]) -> None:
    assert verify(files["text"], "--public-key", files["pem"], "--at", AT).exit_code == 0
    result = verify("-", "--public-key", files["pem"], "--at", AT, input=files["key"].read_text())
    assert result.exit_code == 0 and result.stdout.startswith("valid\n")


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (["--at", "2026-07-01T00:00:00Z"], "expired"),
        (["--at", "2026-03-01"], "not_yet_valid"),
        (["--at", AT, "--host", "elsewhere.example"], "wrong_host"),
        (["--at", AT, "--product", "Other Product"], "wrong_product"),
        (["--at", AT, "--build-date", "2027-01-15"], "maintenance_not_covering"),
    ],
    ids=["expired", "not-yet-valid", "wrong-host", "wrong-product", "build-after-maintenance"],
)
def test_an_unacceptable_key_exits_1_printing_the_code(
    files: dict[str, Path], extra: list[str], code: str
) -> None:
    result = verify(files["key"], "--public-key", files["pem"], *extra)
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{code}: ")


def test_the_failover_host_and_the_right_product_pass(files: dict[str, Path]) -> None:
    result = verify(
        files["key"],
        "--public-key",
        files["pem"],
        "--at",
        AT,
        "--host",
        "DR01.acme.example",
        "--product",
        "JAMS Scheduler",
        "--build-date",
        "2026-06-01",
    )
    assert result.exit_code == 0


def test_a_key_signed_by_an_untrusted_key_fails(files: dict[str, Path]) -> None:
    result = verify(files["key"], "--public-key", files["stranger_pem"], "--at", AT)
    assert result.exit_code == 1 and result.stdout.startswith("unknown_key_id: ")


def test_a_tampered_key_is_malformed_or_badly_signed(files: dict[str, Path]) -> None:
    tampered = files["key"].read_text().replace("Agents: 25", "Agents: 250")
    result = verify("-", "--public-key", files["pem"], "--at", AT, input=tampered)
    assert result.exit_code == 1 and result.stdout.startswith("malformed: ")


def test_a_binary_file_is_malformed_not_a_traceback(files: dict[str, Path], tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))
    result = verify(blob, "--public-key", files["pem"], "--at", AT)
    assert result.exit_code == 1 and result.stdout.startswith("malformed: ")


def test_several_public_keys_cover_a_rotation(files: dict[str, Path]) -> None:
    result = verify(
        files["key"], "--public-key", files["next_pem"], "--public-key", files["pem"], "--at", AT
    )
    assert result.exit_code == 0
    assert verify(files["key"], "--public-key", files["bundle"], "--at", AT).exit_code == 0


def test_a_revocation_list_revokes_offline_and_a_stale_one_is_refused(
    files: dict[str, Path], tmp_path: Path
) -> None:
    rl = keys.RevocationList(
        issued_at=ISSUED,
        next_update=ISSUED + timedelta(days=7),
        entries=(keys.RevokedEntry("SN-TEST-0001", "revoked", ISSUED, "key_compromise"),),
    )
    path = tmp_path / "revocations.lrl"
    path.write_text(keys.sign_revocation_list(rl, VENDOR) + "\n")
    result = verify(files["key"], "--public-key", files["pem"], "--revocations", path, "--at", AT)
    assert result.exit_code == 1 and result.stdout.startswith("revoked: ")
    stale = verify(
        files["key"],
        "--public-key",
        files["pem"],
        "--revocations",
        path,
        "--at",
        "2026-04-01T00:00:00Z",
    )
    assert stale.exit_code == 1 and stale.stdout.startswith("stale_revocation_list: ")


def test_json_output_for_valid_and_invalid(files: dict[str, Path]) -> None:
    good = verify(files["key"], "--public-key", files["pem"], "--at", AT, "--json")
    document = json.loads(good.stdout)
    assert document["valid"] is True and document["claims"]["serial"] == "SN-TEST-0001"
    assert document["checked_at"] == "2026-03-03T12:00:00Z"
    bad = verify(files["key"], "--public-key", files["pem"], "--at", "2027-01-01", "--json")
    document = json.loads(bad.stdout)
    assert bad.exit_code == 1 and document["valid"] is False and document["code"] == "expired"


def test_an_unreadable_public_key_means_the_check_could_not_be_made(
    files: dict[str, Path],
) -> None:
    result = verify(files["key"], "--public-key", files["garbage_pem"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {files['garbage_pem']}: not a readable public key")
    missing = verify(files["key"], "--public-key", "/nonexistent.pem")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


@pytest.mark.parametrize("at", ["yesterday", "2026-03-03T25:00:00Z", "03/03/2026"])
def test_a_malformed_at_says_what_is_expected(files: dict[str, Path], at: str) -> None:
    result = verify(files["key"], "--public-key", files["pem"], "--at", at)
    assert result.exit_code == 2
    assert "is not a timestamp; expected YYYY-MM-DDTHH:MM:SSZ (or YYYY-MM-DD)" in result.stderr


def test_at_accepts_offsets_and_naive_times_as_utc(files: dict[str, Path]) -> None:
    for at in ("2026-03-03T12:00:00+02:00", "2026-03-03T12:00", "2026-03-03 12:00:00"):
        assert verify(files["key"], "--public-key", files["pem"], "--at", at).exit_code == 0


def test_offline_verify_imports_neither_flask_nor_sqlalchemy_nor_licensesvc(
    files: dict[str, Path], tmp_path: Path
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LICENSESVC_")}
    # a database URL that would fail loudly if anything tried to use it
    env["LICENSESVC_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "cli.main",
            "verify",
            str(files["key"]),
            "--public-key",
            str(files["pem"]),
            "--at",
            AT,
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("valid\n")
    imported = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "keys" in imported and "cli.offline_verify" in imported
    roots = {name.split(".")[0] for name in imported}
    # not even click: the shell path goes straight to the standard-library implementation
    heavy = {"flask", "sqlalchemy", "licensesvc", "werkzeug", "alembic", "click"}
    assert roots.isdisjoint(heavy), sorted(roots & heavy)
    assert not (tmp_path / "var").exists()  # no configuration, no generated secrets


def shell(*args: object, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """`licensesvc ARGS...` as a shell runs it: cli.main.main, the path without click."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LICENSESVC_")}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *map(str, args)],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_shell_path_and_the_click_group_give_the_same_answers(
    files: dict[str, Path], tmp_path: Path
) -> None:
    key, pem = files["key"], files["pem"]
    cases: list[list[object]] = [
        ["verify", key, "--public-key", pem, "--at", AT],
        ["verify", files["text"], "--public-key", pem, "--at", AT, "--json"],
        ["--json", "verify", key, "--public-key", pem, "--at", "2027-01-01"],
        ["--as", "bob", "verify", key, "--public-key", pem, "--at", AT, "--host", "x.example"],
        ["--as=bob", "--json", "verify", key, "--public-key", files["stranger_pem"], "--at", AT],
        ["verify", key, "--public-key", pem, "--at", "yesterday"],
        ["verify", key, "--public-key", pem, "--build-date", "2026-13-01"],
        ["verify", key, "--public-key", files["garbage_pem"]],
        ["verify", key, "--public-key", tmp_path / "missing.pem"],
        ["verify", key, "--public-key", tmp_path],
        ["verify", tmp_path / "missing.lic", "--public-key", pem],
        ["verify", key],
        ["verify"],
        ["verify", key, key, "--public-key", pem],
        ["verify", key, "--public-key", pem, "--bogus"],
    ]
    for args in cases:
        in_process = CliRunner().invoke(cli, [str(a) for a in args])
        assert not isinstance(in_process.exception, Exception) or isinstance(
            in_process.exception, SystemExit
        ), in_process.exception
        from_shell = shell(*args, cwd=tmp_path)
        assert (from_shell.returncode, from_shell.stdout, from_shell.stderr) == (
            in_process.exit_code,
            in_process.stdout,
            in_process.stderr,
        ), args
    stdin_case = shell(
        "verify", "-", "--public-key", pem, "--at", AT, cwd=tmp_path, input=key.read_text()
    )
    assert stdin_case.returncode == 0 and stdin_case.stdout.startswith("valid\n")


def test_usage_errors_look_like_clicks(files: dict[str, Path], tmp_path: Path) -> None:
    result = shell("verify", files["key"], cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "Usage: licensesvc verify [OPTIONS] KEYFILE\n"
        "Try 'licensesvc verify --help' for help.\n\n"
        "Error: Missing option '--public-key'.\n"
    )
    missing = shell("verify", files["key"], "--public-key", tmp_path / "x.pem", cwd=tmp_path)
    assert (
        f"Error: Invalid value for '--public-key': File '{tmp_path / 'x.pem'}' does not exist."
        in (missing.stderr)
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_has_the_summary_the_example_and_every_option(flag: str, tmp_path: Path) -> None:
    for output in (shell("verify", flag, cwd=tmp_path).stdout, verify(flag).stdout):
        assert output.startswith("Usage: licensesvc verify [OPTIONS] KEYFILE\n")
        assert "Check a license key or license file offline" in output
        assert "Example:\n  licensesvc verify acme.lic --public-key vendor-public.pem\n" in output
        for option in ("--public-key", "--at", "--revocations", "--product", "--host"):
            assert option in output
        assert "--build-date" in output and "--json" in output
    listing = CliRunner().invoke(cli, ["--help"]).stdout
    assert "verify        Check a license key or license file offline" in listing


def test_only_a_verify_command_line_skips_click() -> None:
    from cli.main import offline_verify_arguments

    assert offline_verify_arguments(["verify", "k", "--json"]) == (["k", "--json"], False)
    assert offline_verify_arguments(["--json", "--as", "x", "verify"]) == ([], True)
    assert offline_verify_arguments(["--as=x", "verify", "-h"]) == (["-h"], False)
    assert offline_verify_arguments(["audit", "verify"]) is None
    assert offline_verify_arguments(["--as"]) is None
    assert offline_verify_arguments(["--help", "verify"]) is None
    assert offline_verify_arguments([]) is None


def piped(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`licensesvc verify ... | READER` through bash, with the pipeline's status being
    licensesvc's (pipefail; the reader always succeeds)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LICENSESVC_")}
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("at", "status"), [(AT, 0), ("2027-01-01T00:00:00Z", 1)], ids=["valid", "expired"]
)
@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_a_closed_pipe_ends_quietly_with_the_verdicts_status(
    files: dict[str, Path], tmp_path: Path, at: str, status: int, reader: str
) -> None:
    command = (
        f"{sys.executable} -m cli.main verify {files['key']} --public-key {files['pem']} "
        f"--at {at} | {reader}"
    )
    result = piped(command, tmp_path)
    assert result.returncode == status
    assert result.stderr == ""
    if reader == "head -1":
        assert result.stdout == ("valid\n" if status == 0 else result.stdout.splitlines()[0] + "\n")


def test_a_public_key_file_of_non_utf8_bytes_is_one_line_exit_2(
    files: dict[str, Path], tmp_path: Path
) -> None:
    binary = tmp_path / "binary.pem"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    from_shell = shell("verify", files["key"], "--public-key", binary, cwd=tmp_path)
    in_process = verify(files["key"], "--public-key", binary)
    assert from_shell.returncode == in_process.exit_code == 2
    for result in (from_shell, in_process):
        assert result.stderr == f"Error: {binary}: not a PEM file (it is not ASCII text)\n"
        assert result.stdout == ""


@pytest.mark.parametrize("which", ["KEYFILE", "--revocations"])
@pytest.mark.parametrize("problem", ["missing", "directory", "unreadable"])
def test_missing_unreadable_or_directory_files_are_one_plain_line_exit_2(
    files: dict[str, Path], tmp_path: Path, which: str, problem: str
) -> None:
    target = tmp_path / "input"
    expected = {
        "missing": f"File '{target}' does not exist.",
        "directory": f"File '{target}' is a directory.",
        "unreadable": f"File '{target}' cannot be read: Permission denied.",
    }[problem]
    if problem == "directory":
        target.mkdir()
    elif problem == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads every file; permissions cannot make one unreadable")
        target.write_text("x")
        target.chmod(0)
    args: list[object] = [files["key"], "--public-key", files["pem"], "--at", AT]
    if which == "KEYFILE":
        args[0] = target
    else:
        args += ["--revocations", target]
    result = shell("verify", *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"Error: Invalid value for {which!r}: {expected}"
    assert "Traceback" not in result.stderr


def test_a_file_whose_read_fails_is_one_line_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    # /proc/self/mem opens but refuses a plain read (EIO), as a failing disk would.
    target = Path("/proc/self/mem")
    result = shell("verify", target, "--public-key", files["pem"], cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: Invalid value for 'KEYFILE': File")


def _same_answer_as_keys(data: bytes, files: dict[str, Path], tmp_path: Path, **kw: Any) -> str:
    path = tmp_path / "input.lic"
    path.write_bytes(data)
    trusted = [VENDOR.public_key]
    try:
        keys.verify(data, trusted, at=datetime(2026, 3, 3, 12, tzinfo=UTC))
        expected = "valid"
    except keys.LicenseKeyError as exc:
        expected = exc.code
    result = verify(path, "--public-key", files["pem"], "--at", AT)
    assert result.stdout.splitlines()[0].split(":")[0] == expected
    return expected


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        (lambda text: text.replace("\n", "\r").encode(), "malformed"),
        (lambda text: text.replace("\n", "\r\n").encode(), "valid"),
        (lambda text: b"\xef\xbb\xbf" + text.encode(), "valid"),
        (lambda text: text.encode() + "\u00a0".encode(), "malformed"),
        (lambda text: text.encode("utf-16"), "malformed"),
    ],
    ids=["lone-cr", "crlf", "bom", "trailing-nbsp", "utf16"],
)
def test_the_cli_reads_key_files_exactly_as_keys_verify_does(
    files: dict[str, Path], tmp_path: Path, transform: Any, expected: str
) -> None:
    data = transform(files["key"].read_text())
    assert _same_answer_as_keys(data, files, tmp_path) == expected


def _signed_list(entries: tuple[keys.RevokedEntry, ...] = ()) -> str:
    rl = keys.RevocationList(
        issued_at=ISSUED, next_update=ISSUED + timedelta(days=7), entries=entries
    )
    return keys.sign_revocation_list(rl, VENDOR)


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [("\n", "valid"), ("\r\n", "valid"), ("\u00a0", "malformed"), ("\u2003\n", "malformed")],
    ids=["lf", "crlf", "trailing-nbsp", "em-space"],
)
def test_the_cli_reads_revocation_lists_exactly_as_keys_does(
    files: dict[str, Path], tmp_path: Path, suffix: str, expected: str
) -> None:
    text = _signed_list() + suffix
    path = tmp_path / "list.lrl"
    path.write_bytes(text.encode())
    try:
        keys.verify_revocation_list(text.encode(), [VENDOR.public_key], at=ISSUED)
        from_keys = "valid"
    except keys.LicenseKeyError as exc:
        from_keys = exc.code
    assert from_keys == expected
    result = verify(files["key"], "--public-key", files["pem"], "--revocations", path, "--at", AT)
    assert result.stdout.splitlines()[0].split(":")[0] == expected


def test_a_list_of_thousands_of_entries_revokes_and_the_list_failure_wins(
    files: dict[str, Path], tmp_path: Path
) -> None:
    entries = tuple(
        keys.RevokedEntry(f"SN-{number:06d}", "revoked", ISSUED, "contract_ended")
        for number in range(5000)
    ) + (keys.RevokedEntry("SN-TEST-0001", "revoked", ISSUED, "key_compromise"),)
    path = tmp_path / "big.lrl"
    path.write_text(_signed_list(entries) + "\n")
    assert path.stat().st_size > 32768 * 10
    result = verify(files["key"], "--public-key", files["pem"], "--revocations", path, "--at", AT)
    assert result.exit_code == 1
    assert result.stdout.startswith("revoked: The license key SN-TEST-0001 was revoked at")
    assert "(key_compromise)" in result.stdout
    # stale list and expired key: the list is checked first, its failure is the answer
    late = verify(
        files["key"], "--public-key", files["pem"], "--revocations", path, "--at", "2027-01-01"
    )
    assert late.exit_code == 1 and late.stdout.startswith("stale_revocation_list: ")


def test_a_fraction_of_a_second_in_at_is_truncated(files: dict[str, Path]) -> None:
    expires = "2026-06-30T15:05:00"  # expires_at + CLOCK_SKEW: the last valid second
    assert (
        verify(files["key"], "--public-key", files["pem"], "--at", expires + ".999Z").exit_code == 0
    )
    late = verify(files["key"], "--public-key", files["pem"], "--at", "2026-06-30T15:05:01Z")
    assert late.exit_code == 1 and late.stdout.startswith("expired: ")
    document = json.loads(
        verify(files["key"], "--public-key", files["pem"], "--at", AT[:-1] + ".5Z", "--json").stdout
    )
    assert document["checked_at"] == AT


def test_untrusted_text_reaches_the_terminal_escaped(
    files: dict[str, Path], tmp_path: Path
) -> None:
    # The format forbids controls in claims, so the way in is what the user passes; a path or
    # a value echoed back in a message must not clear the screen or retitle the terminal.
    evil = "\x1b]0;owned\x07\x1b[2J\u202e"
    result = verify(files["key"], "--public-key", files["pem"], "--at", AT, "--host", evil)
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\x1b]0;owned\\x07\\x1b[2J\\u202e" in result.stdout
    as_json = verify(
        files["key"], "--public-key", files["pem"], "--at", AT, "--host", evil, "--json"
    )
    assert "\x1b" not in as_json.stdout and "\u202e" not in as_json.stdout
    assert evil in json.loads(as_json.stdout)["message"]  # JSON readers get the text back
    missing = verify(tmp_path / "a\x1b[2Jb.lic", "--public-key", files["pem"])
    assert "\x1b" not in missing.stderr and "\\x1b[2J" in missing.stderr
