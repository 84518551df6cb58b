"""`licensesvc entitlements`: what a customer is entitled to today."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.output import cell, emit, fields, json_option, table
from cli.params import ROW_ID
from cli.state import CliState, pass_state

if TYPE_CHECKING:
    from licensesvc.readmodels import EntitlementReport


def _human(report: EntitlementReport) -> str:
    contract = report.contract
    refusal = report.refusal
    dr = report.quotas.dr_test
    blocks = [
        fields(
            [
                ("customer", f"{report.customer.name} ({report.customer.id})"),
                ("as of", report.as_of),
                ("plan", report.plan),
                (
                    "contract",
                    None
                    if contract is None
                    else f"{contract.id}: {cell(contract.start)} .. {cell(contract.end)}",
                ),
                ("contract active", report.contract_active),
                ("maintenance current", report.maintenance_current),
                ("paid through", report.maintenance_paid_through),
                ("grace until", report.grace_until),
                ("allowed key kinds", report.allowed_key_kinds),
                (
                    "refusal",
                    None if refusal is None else f"{refusal.code}: {refusal.message}",
                ),
                (
                    "DR-test keys",
                    None if dr is None else f"{dr.used} of {dr.limit} since {dr.period_start}",
                ),
                ("support hours", report.support_hours.core_hours),
                ("time zone", report.support_hours.timezone),
                ("holidays", report.support_hours.holidays),
                ("after hours", report.support_hours.after_hours),
                ("Sev 1 cover", report.support_hours.sev1_cover),
                ("support phone", report.support_hours.support_phone),
                ("root-cause analysis", report.root_cause_analysis),
            ]
        ),
        "Services included\n" + "\n".join(f"  - {cell(s)}" for s in report.services),
        "Response targets\n"
        + table(
            report.response_targets,
            [
                ("SEV", "severity"),
                ("NAME", "name"),
                ("INITIAL RESPONSE", "initial_response"),
                ("UPDATES", "status_updates"),
            ],
        ),
    ]
    if any(s.included for s in report.premium_services):
        from cli.commands.customers import premium_services_table

        services = [s.as_dict() for s in report.premium_services]
        blocks.append("Premium services\n" + premium_services_table(services))
    return "\n\n".join(blocks)


@click.command()
@click.option("--customer", "customer_id", type=ROW_ID, required=True, help="Customer id.")
@json_option
@pass_state
def entitlements(state: CliState, customer_id: int) -> None:
    """Show a customer's entitlements: contract and maintenance standing, allowed key kinds,
    quotas and what the plan promises.

    \b
    Example:
      licensesvc entitlements --customer 1
      licensesvc --json entitlements --customer 1
    """
    from licensesvc.issuance import entitlement_report

    with state.unit_of_work() as ctx:
        report = entitlement_report(ctx, customer_id)
    emit(state.json, report, lambda: _human(report))
