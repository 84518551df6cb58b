"""`licensesvc key`: issue, list, show, revoke and export signed license keys."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli import serialize
from cli.errors import Refused
from cli.host_param import HOST
from cli.output import (
    emit,
    fields,
    iso,
    json_option,
    out_option,
    print_json,
    printable,
    table,
    write_or_print,
    write_private,
)
from cli.pagination import echo_more_pages, page_options
from cli.params import FREE_TEXT, ISO_DATE, LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import CaseStatus, KeyKind, RevocationCode, TemporaryReason, values

if TYPE_CHECKING:
    from licensesvc.domain.policy import KeyRequestInput
    from licensesvc.issuance import KeyRequestOutcome
    from licensesvc.platform.context import ServiceContext

COLUMNS = [
    ("SERIAL", "serial"),
    ("KIND", "kind"),
    ("STATUS", "status"),
    ("LICENSE", "license_id"),
    ("CUSTOMER", "customer_id"),
    ("CASE", "case_number"),
    ("ISSUED", "issued_at"),
    ("EXPIRES", "expires_at"),
]


@click.group()
def key() -> None:
    """Issue, list, show, revoke and export license keys.

    \b
    Example:
      licensesvc key issue --license 1 --kind standard --out acme.lic
      licensesvc key list --customer 1
      licensesvc key revoke SN-ABCD-EFGH-JKLM-NPQR --reason "customer reported it leaked"
    """


def write_license_file(out: Path, text: str, serial: str) -> None:
    """Write a license file (0600) after the commit; on failure say how to get the key again."""
    try:
        write_private(out, text)
    except OSError as exc:
        raise click.ClickException(
            f"key {serial} was issued but {out} could not be written ({exc.strerror}); "
            f"run `licensesvc key export {serial} --format file --out FILE`"
        ) from None


def issued_document(outcome: KeyRequestOutcome, now: Any) -> dict[str, Any]:
    assert outcome.key is not None
    data = serialize.key(outcome.key, now, with_text=True)
    data["case_number"] = outcome.case.case_number
    data["overridden"] = outcome.overridden
    data["case"] = serialize.case(outcome.case)
    return data


@key.command("issue")
@click.option("--license", "license_id", type=ROW_ID, required=True, help="License id.")
@click.option("--kind", type=click.Choice(values(KeyKind)), required=True, help="Key kind.")
@click.option(
    "--reason",
    type=click.Choice(values(TemporaryReason)),
    help="Why a temporary key is needed (temporary keys only).",
)
@click.option(
    "--dr-test-date", type=ISO_DATE, help="Day of the disaster-recovery test (dr_test keys)."
)
@click.option(
    "--host",
    type=HOST,
    help="Host to bind the key to (default: the license's host; for a dr_test key the "
    "license's failover host, and required when the license has none); a new host moves the "
    "license (replacement keys, at most the policy's host moves per contract year).",
)
@click.option(
    "--override-reason",
    metavar="TEXT",
    help="Grant what policy would refuse; the reason is written to the audit trail.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only say what policy would decide: every check with its outcome; records nothing "
    "(no case, no key, no audit record). Exit 0 when it would be granted, else 1 with the "
    "refusal code.",
)
@out_option("Write the key as a license file here instead of printing the text key.")
@json_option
@pass_state
def issue(
    state: CliState,
    license_id: int,
    kind: str,
    reason: str | None,
    dr_test_date: date | None,
    host: str | None,
    override_reason: str | None,
    dry_run: bool,
    out: Path | None,
) -> None:
    """Request a key for a license as an analyst: policy decides, a case is recorded.

    Prints the key (or writes a license file with --out) and the case number. A refusal
    exits 1 with one line on stderr: `refused: <code> (case <CASE>): <message>`.

    \b
    Example:
      licensesvc key issue --license 1 --kind standard --out acme.lic
      licensesvc key issue --license 2 --kind dr_test --dr-test-date 2026-04-15 --host dr.example
      licensesvc key issue --license 1 --kind temporary --reason usage_spike \\
          --override-reason "approved by support lead, ticket 4711"
      licensesvc key issue --license 2 --kind dr_test --dr-test-date 2026-04-15 --dry-run
    """
    from licensesvc import issuance
    from licensesvc.domain import policy
    from licensesvc.domain.policy import KeyRequestInput

    request = KeyRequestInput(
        license_id=license_id, kind=kind, reason=reason, dr_test_date=dr_test_date, host=host
    )
    if dry_run:
        if override_reason is not None or out is not None:
            raise click.UsageError("--dry-run records nothing: drop --override-reason and --out")
        _dry_run(state, request)
        return
    missing = policy.missing_inputs(request)
    if missing:
        # an analyst's typo is not a customer's case: refuse before anything is recorded
        options = " and ".join("--" + name.replace("_", "-") for name in missing)
        raise click.ClickException(f"a {kind} key needs {options}; nothing was recorded")

    def work(ctx: ServiceContext) -> tuple[KeyRequestOutcome, dict[str, Any], str]:
        outcome = issuance.request_key(ctx, request, override_reason=override_reason)
        if outcome.key is None:  # refused: the case is committed all the same
            return outcome, serialize.case(outcome.view(ctx.now())), ""
        return (
            outcome,
            issued_document(outcome, ctx.now()),
            issuance.license_file_for(outcome.key),
        )

    outcome, data, file_text = state.retried(work)
    if (refusal := outcome.refusal) is not None:
        if state.json:
            print_json({"status": CaseStatus.REFUSED.value, **data})
        raise Refused(refusal.code, refusal.case_number, refusal.message)
    if out is not None:
        write_license_file(out, file_text, data["serial"])
        data["out"] = str(out)
    if state.json:
        print_json(data)
        return
    if out is None:
        click.echo(data["key"])
    summary: list[tuple[str, object]] = [
        ("serial", data["serial"]),
        ("case", data["case_number"]),
        ("kind", data["kind"]),
        ("expires", data["expires_at"] or "never (perpetual)"),
    ]
    if out is not None:
        summary.append(("license file", str(out)))
    if outcome.overridden:
        summary.append(("overridden", override_reason))
    click.echo(fields(summary))


def _dry_run(state: CliState, request: KeyRequestInput) -> None:
    """Print every policy check of request with its outcome; nothing is recorded (the
    transaction is rolled back). Exit 1 with `would be refused: CODE: message` on stderr."""
    from licensesvc import issuance
    from licensesvc.readmodels import DryRunView

    with state.unit_of_work() as ctx:
        view = DryRunView.of(issuance.explain_request(ctx, request), request.kind)
        ctx.session.rollback()

    def human() -> str:
        lines = [
            f"{'pass' if c.passed else 'FAIL'}  {c.name}: {printable(c.detail)}"
            + ("" if c.passed else f" ({c.code})")
            for c in view.checks
        ]
        if view.would_issue is not None:
            lines.append(
                f"would be granted: {view.would_issue.kind} key, expires "
                f"{iso(exp) if (exp := view.would_issue.expires_at) else 'never (perpetual)'}"
                " (nothing recorded)"
            )
        return "\n".join(lines)

    emit(state.json, view, human)
    if view.code is not None:
        raise click.ClickException(
            f"would be refused: {view.code}: {view.message} (dry run, nothing recorded)"
        )


@key.command("list")
@click.option("--customer", "customer_id", type=ROW_ID, help="Only this customer's keys.")
@click.option("--license", "license_id", type=ROW_ID, help="Only this license's keys.")
@page_options
@json_option
@pass_state
def list_(
    state: CliState, customer_id: int | None, license_id: int | None, page: int, page_size: int
) -> None:
    """List issued keys, newest first.

    \b
    Example:
      licensesvc key list --customer 1
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        now = ctx.now()
        found = issuance.page_keys(
            ctx, customer_id=customer_id, license_id=license_id, page=page, page_size=page_size
        )
        rows = [serialize.key(k, now) for k in found.items]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
    echo_more_pages(found, "keys")


@key.command("show")
@click.argument("serial", type=LINE)
@json_option
@pass_state
def show(state: CliState, serial: str) -> None:
    """Show one key: what it grants, its record, status and text.

    What it grants is what was signed into it: the customer, the product, the host (and
    failover host) it runs on, and its agent and job limits. When the license changed since,
    `licensesvc entitlements --customer ID` says the key is out of date.

    \b
    Example:
      licensesvc key show SN-ABCD-EFGH-JKLM-NPQR
      licensesvc --json key show SN-ABCD-EFGH-JKLM-NPQR | jq '.host, .agents, .jobs'
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        view = issuance.key_view(ctx, serial)
        now = ctx.now()
    data = {
        "serial": view.serial,
        "customer_name": view.customer_name,
        "product": view.product,
        "host": view.host,
        "failover_host": view.failover_host,
        "agents": view.agents,
        "jobs": view.jobs,
    } | serialize.key(view, now, with_text=True)
    emit(
        state.json,
        data,
        lambda: fields([(name.replace("_", " "), value) for name, value in data.items()]),
    )


@key.command("revoke")
@click.argument("serial", type=LINE)
@click.option(
    "--reason",
    type=FREE_TEXT,
    required=True,
    help="Why, in your words; written to the audit trail only, never to the revocation list.",
)
@click.option(
    "--code",
    type=click.Choice(values(RevocationCode)),
    default=RevocationCode.KEY_COMPROMISE.value,
    show_default=True,
    help="What the signed revocation list says about the key (a code, never free text).",
)
@json_option
@pass_state
def revoke(state: CliState, serial: str, reason: str, code: str) -> None:
    """Revoke a key: online checks fail at once, and the stored revocation list is signed
    again with the key on it (under --code; the reason stays in the audit trail).

    Without --code the list says key_compromise: a revocation that names no cause is
    treated as the worst one.

    \b
    Example:
      licensesvc key revoke SN-ABCD-EFGH-JKLM-NPQR --reason "server decommissioned" \\
        --code customer_request
    """
    from licensesvc import issuance

    data = state.retried(
        lambda ctx: serialize.key(issuance.revoke_key(ctx, serial, reason, code), ctx.now())
    )
    emit(
        state.json,
        data,
        lambda: (
            f"revoked {data['serial']} at {data['revoked_at']} "
            f"({data['revocation_code']}): {printable(reason)}"
        ),
    )


@key.command("export")
@click.argument("serial", type=LINE)
@click.option(
    "--format",
    "form",
    type=click.Choice(["text", "file"]),
    default="text",
    show_default=True,
    help="text: the one-line key; file: the armored license file.",
)
@out_option("Write to this file instead of stdout.")
@json_option
@pass_state
def export(state: CliState, serial: str, form: str, out: Path | None) -> None:
    """Print or write an issued key as a text key or a license file.

    \b
    Example:
      licensesvc key export SN-ABCD-EFGH-JKLM-NPQR --format file --out acme.lic
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        k = issuance.get_key(ctx, serial)
        # a license file carries the key's transparency-log proof once the key is logged
        content = k.key_text + "\n" if form == "text" else issuance.logged_license_file(ctx, k)
    write_or_print(
        state.json,
        out,
        content,
        document={
            "serial": serial,
            "format": form,
            "content": content,
            "out": str(out) if out else None,
        },
        wrote=f"wrote {serial} ({form}) to {out}",
    )
