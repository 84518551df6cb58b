"""`licensesvc --help`, every group's and command's `--help` and an offline `licensesvc verify`
start at once: they load no model, no SQLAlchemy, no Flask (nor the rest of the server
stack). Commands import their services when they run (issue 18, item 7).

Each check runs the console script's entry point, `cli.main.main`, in a fresh interpreter and
reads `sys.modules` after every command line it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import pytest

import keys
from cli.main import LAZY_COMMANDS, cli

REPO = Path(__file__).resolve().parents[2]

#: the server stack: what made `licensesvc --help` take most of a second
SERVER_STACK = (
    "sqlalchemy",
    "flask",
    "flask_smorest",
    "flask_wtf",
    "werkzeug",
    "jinja2",
    "alembic",
    "marshmallow",
    "psycopg",
    "gunicorn",
)
#: help needs only the vocabularies (click choices) of everything in licensesvc
HELP_MAY_IMPORT = ("licensesvc", "licensesvc.domain")

# Runs cli.main.main(ARGV) for each ARGV of the JSON list in argv[1] in one interpreter, then
# writes to the file argv[2], for each, the modules it imported ([argv, [module, ...]]); the
# modules imported before the first (cli.main itself, and argv[3], a module planted by a test)
# are listed under the command line null.
PROBE = """
import json, sys
before = set(sys.modules)
from cli.main import main
if sys.argv[3]:
    __import__(sys.argv[3])
report = [[None, sorted(set(sys.modules) - before)]]
for argv in json.loads(sys.argv[1]):
    before = set(sys.modules)
    try:
        main(argv)
    except SystemExit:
        pass
    report.append([argv, sorted(set(sys.modules) - before)])
with open(sys.argv[2], "w") as out:
    json.dump(report, out)
"""


def forbidden(modules: Sequence[str], *, may_import: Sequence[str] = HELP_MAY_IMPORT) -> list[str]:
    """The modules of the server stack, and those of licensesvc other than may_import (and
    their submodules), among modules."""
    found = []
    for name in modules:
        root = name.split(".")[0]
        if root in SERVER_STACK:
            found.append(name)
        elif root == "licensesvc" and not any(
            name == allowed or (allowed != "licensesvc" and name.startswith(allowed + "."))
            for allowed in may_import
        ):
            found.append(name)
    return found


def probe(
    runs: Sequence[Sequence[str]], tmp_path: Path, plant: str = ""
) -> list[tuple[list[str] | None, list[str]]]:
    """[(argv or None, modules it imported)] for `licensesvc ARGV` of each of runs, in order,
    in one fresh interpreter (cwd tmp_path; a database URL that fails if anything used it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LICENSESVC_")}
    env["LICENSESVC_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    env["PYTHONPATH"] = str(REPO)
    report_file = tmp_path / "imported.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([list(r) for r in runs]), str(report_file), plant],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp_path / "var").exists()  # no configuration was read, no secret generated
    return [(argv, modules) for argv, modules in json.loads(report_file.read_text())]


def offenders(
    report: list[tuple[list[str] | None, list[str]]],
    may_import: Sequence[str] = HELP_MAY_IMPORT,
) -> list[str]:
    """One line per command line that imported a forbidden module: which, and how many."""
    return [
        f"licensesvc {' '.join(argv) if argv is not None else '(start-up)'}: "
        f"{len(bad)} modules: {', '.join(bad[:8])}{', ...' if len(bad) > 8 else ''}"
        for argv, modules in report
        if (bad := forbidden(modules, may_import=may_import))
    ]


def command_paths(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Every group and command of the click tree, as the words that name it, root first."""
    yield list(prefix)
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        assert sub is not None
        if isinstance(sub, click.Group):
            yield from command_paths(sub, (*prefix, name))
        else:
            yield [*prefix, name]


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["-h"], [], ["verify", "--help"], ["--json", "key", "--help"]],
    ids=["help", "h", "no-arguments", "verify-help", "json-key-help"],
)
def test_help_loads_neither_the_database_layer_nor_the_web_framework(
    argv: list[str], tmp_path: Path
) -> None:
    report = probe([argv], tmp_path)
    assert not offenders(report), offenders(report)
    # the help was really printed (the probe does not hide a crash behind an empty list)
    assert any("cli.main" in modules for _, modules in report)


def test_every_group_and_command_help_loads_no_model_no_sqlalchemy_no_flask(
    tmp_path: Path,
) -> None:
    paths = list(command_paths())
    assert len(paths) > 60 and ["key", "issue"] in paths and ["notify", "list"] in paths
    report = probe([[*path, "--help"] for path in paths], tmp_path)
    assert len(report) == len(paths) + 1
    assert not offenders(report), "\n".join(
        ["these --help runs imported what only running the command needs:", *offenders(report)]
    )


def test_an_offline_verify_loads_nothing_of_the_server(tmp_path: Path) -> None:
    signer = keys.SigningKey.from_seed_for_tests(b"cli-startup".ljust(32, b"\0"))
    issued = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    claims = keys.Claims(
        serial="SN-TEST-0001",
        license_id="7",
        customer_id="3",
        customer_name="Acme Logistics",
        product="JAMS Scheduler",
        kind="standard",
        agents=25,
        jobs=5000,
        host="sched01.acme.example",
        issued_at=issued,
        not_before=issued,
        maintenance_until=date(2026, 12, 31),
        expires_at=issued + timedelta(days=120),
    )
    (tmp_path / "acme.lic").write_text(keys.license_file(keys.sign_key(claims, signer)))
    (tmp_path / "vendor.pem").write_text(signer.public_key.to_pem())
    run = ["verify", "acme.lic", "--public-key", "vendor.pem", "--at", "2026-03-03T12:00:00Z"]
    report = probe([run, ["--json", *run]], tmp_path)
    assert "keys" in report[1][1]  # it did verify
    assert not offenders(report, may_import=()), offenders(report, may_import=())


@pytest.mark.parametrize(
    "planted", ["sqlalchemy", "flask", "licensesvc.models", "licensesvc.platform.pagination"]
)
def test_the_probe_sees_a_planted_import(planted: str, tmp_path: Path) -> None:
    report = probe([["--help"]], tmp_path, plant=planted)
    found = offenders(report)
    assert found and found[0].startswith("licensesvc (start-up): ")
    assert planted in found[0]


def test_forbidden_names_the_server_stack_and_licensesvc_beyond_its_vocabularies() -> None:
    modules = [
        "click",
        "keys",
        "cli.output",
        "licensesvc",
        "licensesvc.domain",
        "licensesvc.domainish",
        "licensesvc.models.base",
        "licensesvc.platform.inputs",
        "sqlalchemy.orm",
        "flask",
        "werkzeug.routing",
    ]
    assert forbidden(modules) == [
        "licensesvc.domainish",
        "licensesvc.models.base",
        "licensesvc.platform.inputs",
        "sqlalchemy.orm",
        "flask",
        "werkzeug.routing",
    ]
    assert forbidden(modules, may_import=()) == [
        "licensesvc",
        "licensesvc.domain",
        *forbidden(modules),
    ]


def test_each_listed_summary_is_its_commands_own_help_at_every_width() -> None:
    """`licensesvc --help` lists the commands from LAZY_COMMANDS without importing them."""
    ctx = click.Context(cli)
    for name, lazy in LAZY_COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and not command.hidden and not command.deprecated
        stand_in = click.Command(name, help=lazy.summary)
        for limit in range(10, 200):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), (
                f"LAZY_COMMANDS[{name!r}].summary in cli/main.py is not the first sentence of "
                f"the command's help: {command.get_short_help_str(1000)!r}"
            )


@pytest.mark.parametrize("width", [50, 80, 100, 140])
def test_the_command_list_is_what_click_would_print_loading_every_command(width: int) -> None:
    ctx = click.Context(cli, info_name="licensesvc")
    ours, clicks = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    cli.format_commands(ctx, ours)
    click.Group.format_commands(cli, ctx, clicks)  # imports every command for its help
    assert ours.getvalue() == clicks.getvalue()
    assert ours.getvalue().startswith("Commands:\n  audit ")


def test_the_limits_help_shows_are_the_services_limits() -> None:
    """The CLI restates a few numbers so that --help needs no service module; they must stay
    the services' own."""
    from cli import pagination
    from cli.commands import reports as report_commands
    from licensesvc.outreach import reports
    from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

    assert (pagination.DEFAULT_PAGE_SIZE, pagination.MAX_PAGE_SIZE) == (
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
    )
    assert report_commands.MAX_DAYS == reports.MAX_DAYS


def test_the_outbox_statuses_are_the_vocabulary_the_table_checks() -> None:
    from licensesvc.domain import OutboxStatus, values
    from licensesvc.models import OutboxMessage

    checks = [
        str(getattr(constraint, "sqltext", ""))
        for constraint in OutboxMessage.metadata.tables["outbox"].constraints
        if constraint.name == "ck_outbox_status"
    ]
    quoted = ", ".join(f"'{status}'" for status in values(OutboxStatus))
    assert checks == [f"status IN ({quoted})"]
