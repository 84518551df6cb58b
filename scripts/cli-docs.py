"""Write the examples of docs/cli.md: every leaf command of `licensesvc` run as the table
EXAMPLES below says, and its output, between the markers of docs/cli.md.

The examples run in-process (click's CliRunner) one after the other against one fresh SQLite
database under a temporary folder, with a fixed clock (2026-03-02 15:00Z, moved on where a row
says so), serials, case numbers, token secrets and signing keys drawn from a seeded generator
(seeded_randomness), and a real local SMTP server (aiosmtpd, tests/smtp_helpers.py). Text
keys, license files, revocation lists, token secrets and reset links are still masked to a
placeholder (MASKS: `LK1.…`), so the page shows no usable secret and changes only when the
CLI's output does.

    .venv/bin/python scripts/cli-docs.py          # rewrite docs/cli.md
    .venv/bin/python scripts/cli-docs.py --check  # exit 1 if docs/cli.md is out of date

tests/cli/test_cli_docs.py fails when a leaf command has no example here, or when docs/cli.md
differs from what this script writes. A new command: add one `ex(...)` row below, in the
story where its records exist, and rerun the script.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cli.main import cli  # noqa: E402
from cli.state import CliState  # noqa: E402
from licensesvc.config import Settings  # noqa: E402
from licensesvc.runtime import Runtime  # noqa: E402
from tests.smtp_helpers import SmtpServer  # noqa: E402

CLI_MD = REPO / "docs" / "cli.md"
BEGIN = "<!-- cli-docs:begin (written by scripts/cli-docs.py; do not edit by hand) -->"
END = "<!-- cli-docs:end -->"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple\n"
GOOD_CSV = (
    "name,region,plan,contract_start,contract_end,paid_through,grace_days,product,agents,jobs,"
    "host,failover_host,license_expires_on\n"
    "Umbrella,emea,premium,2026-01-01,2027-12-31,2026-12-31,14,JAMS Scheduler,100,20000,"
    "jams.umbrella.example,jams-dr.umbrella.example,\n"
    "Umbrella,,,,,,,JAMS Scheduler,5,500,test.umbrella.example,,2026-12-31\n"
    "Hooli,na,base,2026-03-01,2027-02-28,2026-08-31,,JAMS Scheduler,10,1000,jams.hooli.example,,\n"
)
BAD_CSV = (
    "name,region,plan,contract_start,contract_end,paid_through,product,agents,jobs,host\n"
    "Vandelay,na,base,2026-12-31,2026-01-01,2026-12-31,JAMS Scheduler,5,50,jams.vandelay.example\n"
)


# --- the table's rows -----------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """`licensesvc LINE` (shlex-split; `{name}` filled from what earlier rows kept). show:
    printed in docs/cli.md under its command; keep: a regex whose named groups are kept from
    the output for later rows; stdin: what the command reads; db: "main", or "spare" (a second
    fresh database, for commands that need an empty or unmigrated one); fails: a hidden row
    that is meant to exit non-zero (a refusal whose case later rows use)."""

    line: str
    show: bool = True
    keep: str | None = None
    stdin: str | None = None
    db: str = "main"
    fails: bool = False


def ex(line: str, **options: Any) -> Example:
    """A row shown in docs/cli.md."""
    return Example(line, **options)


def setup(line: str, **options: Any) -> Example:
    """A row that only makes records for later rows (not shown)."""
    return Example(line, show=False, **options)


@dataclass(frozen=True)
class Later:
    """Move the clock on."""

    days: int


@dataclass(frozen=True)
class Smtp:
    """The SMTP server from now on: "accept" (LICENSESVC_SMTP_URL set), "off" (unset), or an
    SMTP reply every recipient gets, e.g. "550 5.1.1 no such user"."""

    mode: str


@dataclass(frozen=True)
class File:
    """Write a file into the examples' working folder."""

    name: str
    text: str


@dataclass(frozen=True)
class Mail:
    """Show, under `notify send`, the plain-text part of the mail that arrived whose text
    holds this."""

    holding: str


Row = Example | Later | Smtp | File | Mail

# One story, run top to bottom. docs/cli.md shows the `ex` rows grouped by command, in the
# order of click's command tree, and each command's rows in this order.
EXAMPLES: list[Row] = [
    ex("serve", db="spare"),
    ex("db upgrade"),
    setup("db upgrade", db="spare"),
    ex("demo", db="spare"),
    ex("signing-key generate"),
    ex("signing-key list"),
    ex("customer create --name 'Acme Logistics' --region na"),
    ex("--json customer create --name Globex --region emea --holidays GB-SCT"),
    setup("customer create --name Initech --region apac"),
    ex("customer update 3 --holidays AU-VIC"),
    ex(
        "contract create --customer 1 --plan base --start 2026-01-01 --end 2026-12-31"
        " --paid-through 2026-03-20 --grace-days 30"
    ),
    setup(
        "contract create --customer 2 --plan premium --start 2026-01-01 --end 2026-12-31"
        " --paid-through 2026-12-31 --grace-days 30"
    ),
    setup(
        "contract create --customer 3 --plan base --start 2026-01-01 --end 2026-12-31"
        " --paid-through 2026-02-20 --grace-days 30"
    ),
    ex(
        "contract create --customer 1 --plan premium --start 2026-06-01 --end 2027-05-31"
        " --paid-through 2026-06-30"
    ),
    ex("contract list"),
    ex(
        "license create --customer 1 --product 'JAMS Scheduler' --agents 10 --jobs 500"
        " --host sched1.acme.example --failover-host dr1.acme.example"
    ),
    setup(
        "license create --customer 2 --product 'JAMS Scheduler' --agents 50 --jobs 5000"
        " --host jams.globex.example"
    ),
    setup(
        "license create --customer 3 --product 'JAMS Scheduler' --agents 5 --jobs 100"
        " --host sched.initech.example"
    ),
    ex("license list --customer 1"),
    ex("customer list"),
    ex("customer list --search acme"),
    ex("customer show 1"),
    ex("entitlements --customer 1"),
    ex("service request 2 upgrade --planned-on 2026-06-13 --note 'v7 to v8, in place'"),
    ex("service record 2 health_check --held-on 2026-02-20 --note 'all green; patch 2 agents'"),
    ex("user create --customer 1 --email ops@acme.example --password-stdin", stdin=PASSWORD),
    setup("user create --customer 2 --email it@globex.example --password-stdin", stdin=PASSWORD),
    setup("user create --customer 3 --email ops@initech.example --password-stdin", stdin=PASSWORD),
    ex("user reset-password --email ops@acme.example --base-url https://licenses.example.com"),
    setup("user create --customer 1 --email former@acme.example --password-stdin", stdin=PASSWORD),
    ex("user list"),
    ex("user disable 4"),
    ex("key issue --license 1 --kind standard"),
    ex("key issue --license 2 --kind standard --out globex.lic"),
    ex(
        "key issue --license 1 --kind temporary --reason usage_spike",
        keep=r"\(case (?P<refused>CS-[0-9A-Z-]+)\)",
    ),
    ex(
        "--json key issue --license 3 --kind temporary --reason usage_spike",
        keep=r'"case_number": "(?P<initech_case>CS-[0-9A-Z-]+)"',
    ),
    ex("key issue --license 1 --kind dr_test --dr-test-date 2026-03-20 --dry-run"),
    ex("key issue --license 1 --kind dr_test --dr-test-date 2026-03-20"),
    ex(
        "key issue --license 2 --kind temporary --reason usage_spike",
        keep=r"serial +(?P<temporary>SN-[0-9A-Z-]+)",
    ),
    ex(
        "key issue --license 1 --kind temporary --reason seasonal_testing"
        " --override-reason 'approved by the support lead, ticket 4711'"
    ),
    setup(
        "key issue --license 1 --kind temporary --reason infrastructure_change",
        keep=r"\(case (?P<to_grant>CS-[0-9A-Z-]+)\)",
        fails=True,
    ),
    ex("key list --customer 2", keep=r"(?P<standard>SN-[0-9A-Z-]+) +standard"),
    ex("key show {standard}"),
    ex("key list --page-size 2"),
    ex("key export {standard}"),
    ex("key export {standard} --format file"),
    ex("case list --customer 1"),
    ex("case escalate {refused} --severity 2 --note 'go-live Friday'"),
    ex("case show {refused}"),
    ex("case update {refused} --text 'Reviewing with the support lead; answer by Wednesday'"),
    ex("case escalate {initech_case} --note 'maintenance payment is on its way'"),
    ex("case escalate {to_grant} --severity 3 --note 'moving data centres next week'"),
    ex("case assign {refused} --to alice"),
    ex("case note {refused} --text 'called Dana, waiting on their change window'"),
    ex("case severity {refused} 1 --reason 'production scheduler down'"),
    ex("case list --escalated"),
    ex("case grant {to_grant} --reason 'approved by the support lead for the move'"),
    ex("case deny {initech_case} --reason 'temporary keys need the Premium plan'"),
    ex("token create --customer 1 --expires-in 90 --name 'nightly deploy'"),
    setup("token create --analyst bob"),
    ex("token list"),
    ex("token revoke 2"),
    ex("signing-key export-public"),
    ex("signing-key rotate"),
    ex("signing-key export-public --all --out vendor-public.pem"),
    ex("signing-key rewrap"),
    ex(
        "verify globex.lic --public-key vendor-public.pem --host jams.globex.example"
        " --at 2026-03-02T16:00Z"
    ),
    ex("key revoke {standard} --reason 'server decommissioned' --code customer_request"),
    ex("revocations export --out revocations.lrl"),
    ex("revocations export"),
    ex(
        "verify globex.lic --public-key vendor-public.pem --revocations revocations.lrl"
        " --at 2026-03-02T16:00Z"
    ),
    ex("log integrate"),
    ex("log key"),
    ex("log monitor --state acme-log.json --customer 1"),
    ex("log verify"),
    Later(days=3),
    File("customers.csv", GOOD_CSV),
    File("bad.csv", BAD_CSV),
    ex("import customers bad.csv"),
    ex("import customers customers.csv"),
    ex("report maintenance-lapsing --days 30"),
    ex("report maintenance-lapsing --days 30 --csv"),
    ex("report in-grace"),
    ex("report contracts-ending --days 400"),
    ex("report quota-use"),
    ex("report keys-expiring --days 120"),
    ex("report overdue-cases"),
    ex("--json report overdue-cases"),
    ex("notify scan"),
    Smtp("off"),
    ex("notify send --no-scan"),
    ex("notify list --page-size 4"),
    Smtp("accept"),
    ex("notify send"),
    Mail("Reviewing with the support lead"),
    Mail("escalated case"),
    setup(
        "key issue --license 2 --kind dr_test --dr-test-date 2026-03-30 --host dr.globex.example",
        keep=r"serial +(?P<dr>SN-[0-9A-Z-]+)",
    ),
    Smtp("550 5.1.1 mailbox unavailable"),
    ex("notify send"),
    ex("notify list --status failed", keep=r"(?m)^(?P<failed>\d+) "),
    Smtp("accept"),
    ex("notify retry {failed}"),
    ex("notify list --status sent --page-size 2"),
    # webhooks to the vendor's own network (LICENSESVC_WEBHOOK_ALLOW=10.20.0.0/16 in this story)
    ex(
        "webhook add --url https://10.20.0.5/licensesvc --events key.issued,key.revoked,"
        "case.escalated",
        keep=r"(?m)^id +(?P<hook>\d+)",
    ),
    ex("webhook add --url http://169.254.169.254/latest/meta-data --events key.issued"),
    setup("key revoke {dr} --reason 'test moved to April' --code issued_in_error"),
    ex("webhook list"),
    ex("webhook deliveries {hook}", keep=r"(?m)^(?P<delivery>\d+) "),
    ex("webhook retry {delivery}"),
    ex("webhook rotate-secret {hook}"),
    ex("webhook disable {hook}"),
    ex("contract record-payment --contract 3 --paid-through 2026-05-31 --invoice INV-2026-031"),
    ex(
        "contract record-payment --contract 3 --paid-through 2026-04-30 --correction"
        " --reason 'invoice INV-2026-031 covers April only'"
    ),
    ex("contract payments --contract 3"),
    ex(
        "contract change-plan --contract 3 --plan premium --from 2026-04-01"
        " --reason 'upgrade, order 1234'"
    ),
    ex("contract renew --contract 3 --end 2027-12-31 --paid-through 2027-03-31"),
    ex("contract terminate --contract 4 --on 2027-06-30 --reason 'moves to a subscription'"),
    ex(
        "license update 3 --agents 8 --host sched2.initech.example"
        " --reason 'moved to the new server, ticket 88'"
    ),
    ex("license retire 3 --reason 'product replaced'"),
    ex("idempotency purge"),
    ex("audit list --entity case:{refused}"),
    ex("audit list --customer 3 --limit 4"),
    ex("audit verify"),
]


# --- what stays random, masked --------------------------------------------------------------

MASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"LK1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), "LK1.…"),
    (re.compile(r"LRL2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), "LRL2.…"),
    (re.compile(r"(lsc_(?:cust|anl)_)[A-Za-z0-9_-]{12,}"), r"\1…"),
    (re.compile(r"(/reset-password/)[A-Za-z0-9_-]+"), r"\1…"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_…"),
    (
        re.compile(r"(-----BEGIN LICENSESVC LICENSE-----\n)(?:.*\n)*?(-----END LICENSESVC )"),
        r"\1…\n\2",  # the armored license file's body
    ),
    # the newest migration's number: a new migration (a new key kind's, say) changes no command
    (re.compile(r"(schema at revision )\d{4}"), r"\1…"),
]


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


# --- running the story ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Shown:
    """One example as the page shows it."""

    command: tuple[str, ...]
    line: str | None  # None: a mail that arrived
    output: str
    exit_code: int


@dataclass
class Story:
    folder: Path
    clock: Clock = field(default_factory=Clock)
    kept: dict[str, str] = field(default_factory=dict)
    env: dict[str, str | None] = field(default_factory=dict)
    shown: list[Shown] = field(default_factory=list)
    runtimes: dict[str, Runtime] = field(default_factory=dict)
    smtp: SmtpServer | None = None

    def runtime(self, name: str) -> Runtime:
        if name not in self.runtimes:
            data = self.folder / ("var" if name == "main" else f"var-{name}")
            settings = Settings.from_env(
                {
                    "LICENSESVC_DATA_DIR": str(data),
                    "LICENSESVC_WEBHOOK_ALLOW": "10.20.0.0/16",
                    "LICENSESVC_SUPPORT_EMAIL": "support-desk@vendor.example",
                }
            )
            self.runtimes[name] = Runtime.from_settings(settings, clock=self.clock)
        return self.runtimes[name]

    def play(self, row: Row) -> None:
        if isinstance(row, Later):
            self.clock.now += timedelta(days=row.days)
        elif isinstance(row, File):
            (self.folder / row.name).write_text(row.text)
        elif isinstance(row, Smtp):
            self.set_smtp(row.mode)
        elif isinstance(row, Mail):
            self.show_mail(row.holding)
        else:
            self.run(row)

    def set_smtp(self, mode: str) -> None:
        if mode == "off":
            self.env = {name: None for name in self.env}
            return
        if self.smtp is None:
            self.smtp = SmtpServer()
        self.smtp.mailbox.refuse = None if mode == "accept" else mode
        self.env = dict(self.smtp.env)

    def show_mail(self, holding: str) -> None:
        assert self.smtp is not None, "a Mail row needs an Smtp row before it"
        arrival = next(a for a in self.smtp.mailbox.arrivals if holding in a.part("plain"))
        text = f"Subject: {arrival.subject}\nTo: {', '.join(arrival.rcpt_tos)}\n\n" + arrival.part(
            "plain"
        )
        lines = [line.rstrip() for line in text.splitlines()]  # as received: CR LF, maybe
        self.shown.append(Shown(("notify", "send"), None, "\n".join(lines), 0))

    def run(self, row: Example) -> None:
        line = row.line.format(**self.kept)
        args = shlex.split(line)
        result = CliRunner().invoke(
            cli,
            args,
            obj=CliState(runtime=self.runtime(row.db), analyst="alice"),
            input=row.stdin,
            env={"LICENSESVC_PORTAL_URL": None, "LICENSESVC_ANALYST": None, **self.env},
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise RuntimeError(f"licensesvc {line} raised") from result.exception
        output = result.output
        if not row.show and not row.fails and result.exit_code != 0:
            raise RuntimeError(f"setup row `licensesvc {line}` failed:\n{output}")
        if row.keep:
            match = re.search(row.keep, output)
            if match is None:
                raise RuntimeError(f"`licensesvc {line}`: {row.keep!r} not in\n{output}")
            self.kept.update(match.groupdict())
        if row.show:
            for folder in {str(self.folder.resolve()), str(self.folder)}:
                output = output.replace(folder, "$PWD")
            self.shown.append(Shown(command_of(args), line, masked(output), result.exit_code))


def command_of(args: list[str]) -> tuple[str, ...]:
    """The command path an argument list runs: ("key", "issue") for `--json key issue ...`."""
    words: list[str] = []
    group: click.Command = cli
    ctx = click.Context(cli)
    rest = list(args)
    while rest and isinstance(group, click.Group):
        word = rest.pop(0)
        if word == "--as":
            rest.pop(0)
            continue
        if word.startswith("-"):
            continue
        sub = group.get_command(ctx, word)
        if sub is None:
            raise ValueError(f"no command {' '.join([*words, word])!r}")
        words.append(word)
        group = sub
    return tuple(words)


def leaf_commands(
    group: click.Group | None = None, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every runnable command of the click tree, as a path, in the tree's order."""
    group = group or cli
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        assert sub is not None
        if isinstance(sub, click.Group):
            yield from leaf_commands(sub, (*prefix, name))
        else:
            yield (*prefix, name)


def documented_commands() -> set[tuple[str, ...]]:
    """The commands that have at least one shown example in EXAMPLES."""
    return {
        command_of(shlex.split(row.line))
        for row in EXAMPLES
        if isinstance(row, Example) and row.show
    }


@contextmanager
def seeded_randomness() -> Iterator[None]:
    """Serials, case numbers, token secrets and signing keys from a seeded generator
    (secrets.choice, secrets.token_urlsafe, Ed25519PrivateKey.generate), so they read the same
    on every run. Only for these throw-away examples."""
    rng = random.Random(20260302)
    saved = secrets.choice, secrets.token_urlsafe
    saved_generate = Ed25519PrivateKey.__dict__["generate"]

    def generate(cls: type[Ed25519PrivateKey]) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))

    def token_urlsafe(nbytes: int | None = 32) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(rng.choice(alphabet) for _ in range(((nbytes or 32) * 4 + 2) // 3))

    secrets.choice = rng.choice  # type: ignore[assignment]
    secrets.token_urlsafe = token_urlsafe
    Ed25519PrivateKey.generate = classmethod(generate)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        secrets.choice, secrets.token_urlsafe = saved
        Ed25519PrivateKey.generate = saved_generate  # type: ignore[method-assign]


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def play_story() -> list[Shown]:
    with tempfile.TemporaryDirectory() as name:
        story = Story(Path(name))
        try:
            with seeded_randomness(), inside(story.folder):
                for row in EXAMPLES:
                    story.play(row)
        finally:
            if story.smtp is not None:
                story.smtp.stop()
            for runtime in story.runtimes.values():
                runtime.engine.dispose()
    return story.shown


# --- the page -------------------------------------------------------------------------------


def render_examples(shown: list[Shown]) -> str:
    by_command: dict[tuple[str, ...], list[Shown]] = {}
    for item in shown:
        by_command.setdefault(item.command, []).append(item)
    parts = [
        "Every command, run by `.venv/bin/python scripts/cli-docs.py` as one story against a",
        "fresh SQLite database: three customers (two more imported), a fixed clock at",
        "2026-03-02 15:00Z, three days later from `import` on (reports, notifications,",
        "payments, plan and license changes).",
        "Each command's examples are in the order the story ran them. Key text, license files,",
        "revocation lists, token secrets and reset links are shown as `…`.",
        "",
    ]
    section = None
    for command in leaf_commands():
        group = command[0]
        if group != section:
            section = group
            parts += [f"### `licensesvc {group}`", ""]
        if len(command) > 1:
            parts += [f"#### `licensesvc {' '.join(command)}`", ""]
        for item in by_command.get(command, []):
            if item.line is None:
                parts += [
                    "The mail that arrived (its plain-text part; the HTML part says the same):",
                    "",
                    "```text",
                    item.output.rstrip("\n"),
                    "```",
                    "",
                ]
                continue
            parts += ["```console", f"$ licensesvc {item.line}"]
            output = item.output.rstrip("\n")
            if output:
                parts.append(output)
            if item.exit_code:
                parts += ["$ echo $?", str(item.exit_code)]
            parts += ["```", ""]
    return "\n".join(parts)


def render(page: str, shown: list[Shown]) -> str:
    """page with its examples section replaced."""
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    return page[:start] + "\n\n" + render_examples(shown) + "\n" + page[end:]


def main(argv: list[str]) -> int:
    page = CLI_MD.read_text()
    new = render(page, play_story())
    if "--check" in argv:
        if new != page:
            print("docs/cli.md is out of date: rerun `.venv/bin/python scripts/cli-docs.py`")
            return 1
        return 0
    CLI_MD.write_text(new)
    print(f"wrote {CLI_MD.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
