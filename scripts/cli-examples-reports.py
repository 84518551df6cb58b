"""Print the example outputs of `licensesvc report *` and `licensesvc notify *` shown in
docs/cli.md: a fresh SQLite database under a temporary folder, a fixed clock (2026-03-02
15:00Z) and a real local SMTP server (aiosmtpd). Rerun: `.venv/bin/python
scripts/cli-examples-reports.py`."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.main import cli  # noqa: E402
from cli.state import CliState  # noqa: E402
from licensesvc.config import Settings  # noqa: E402
from licensesvc.migrate import upgrade  # noqa: E402
from licensesvc.runtime import Runtime  # noqa: E402
from tests.smtp_helpers import SmtpServer  # noqa: E402


class Clock:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    settings = Settings.from_env({"LICENSESVC_DATA_DIR": str(folder)})
    clock = Clock()
    runtime = Runtime.from_settings(settings, clock=clock)
    upgrade(runtime.engine)
    smtp = SmtpServer()

    def run(*args: str, show: bool = True, stdin: str | None = None) -> str:
        result = CliRunner().invoke(
            cli, list(args), obj=CliState(runtime=runtime, analyst="alice"), input=stdin
        )
        if show:
            print("$ licensesvc " + " ".join(args))
            print(result.stdout + result.stderr, end="")
            print()
        return result.stdout + result.stderr

    run("signing-key", "generate", show=False)
    for n, (name, plan, paid) in enumerate(
        [
            ("Acme Logistics", "base", "2026-03-20"),
            ("Globex", "premium", "2026-12-31"),
            ("Initech", "base", "2026-02-20"),
        ],
        start=1,
    ):
        run("customer", "create", "--name", name, show=False)
        run(
            "contract",
            "create",
            "--customer",
            str(n),
            "--plan",
            plan,
            "--start",
            "2026-01-01",
            "--end",
            "2026-12-31",
            "--paid-through",
            paid,
            "--grace-days",
            "30",
            show=False,
        )
        run(
            "license",
            "create",
            "--customer",
            str(n),
            "--product",
            "JAMS Scheduler",
            "--agents",
            "10",
            "--jobs",
            "500",
            "--host",
            f"sched{n}.example",
            show=False,
        )
        run(
            "user",
            "create",
            "--customer",
            str(n),
            "--email",
            f"ops@customer{n}.example",
            "--password-stdin",
            stdin="correct horse battery\n",
            show=False,
        )
    run(
        "key",
        "issue",
        "--license",
        "2",
        "--kind",
        "temporary",
        "--reason",
        "usage_spike",
        show=False,
    )
    refused = run(
        "key",
        "issue",
        "--license",
        "1",
        "--kind",
        "temporary",
        "--reason",
        "usage_spike",
        show=False,
    )
    case = refused.split("(case ")[1].split(")")[0]
    run("case", "escalate", case, "--severity", "2", "--note", "go-live Friday", show=False)
    clock.now += timedelta(days=3)

    run("report", "maintenance-lapsing", "--days", "30")
    run("report", "maintenance-lapsing", "--days", "30", "--csv")
    run("report", "in-grace")
    run("report", "contracts-ending", "--days", "400")
    run("report", "quota-use")
    run("report", "keys-expiring", "--days", "120")
    run("report", "overdue-cases")
    run("--json", "report", "overdue-cases")
    run("notify", "scan")
    os.environ.pop("LICENSESVC_SMTP_URL", None)
    run("notify", "send", "--no-scan")
    run("notify", "list")
    os.environ.update(smtp.env)
    run("notify", "send")
    run("notify", "list", "--status", "sent", "--page-size", "1")
    arrival = next(a for a in smtp.mailbox.arrivals if "Maintenance" in a.subject)
    print("--- the plain-text part of the mail that arrived ---")
    print(f"Subject: {arrival.subject}")
    print(f"To: {', '.join(arrival.rcpt_tos)}")
    print()
    print(arrival.part("plain"), end="")
    smtp.stop()


if __name__ == "__main__":
    main()
