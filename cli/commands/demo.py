"""`licensesvc demo`: demonstration data in an empty database."""

from __future__ import annotations

from typing import Any

import click

from cli.output import emit, fields, json_option, table
from cli.state import CliState, pass_state


def _human(made: dict[str, Any]) -> str:
    return "\n\n".join(
        [
            table(
                made["customers"],
                [
                    ("CUSTOMER", "id"),
                    ("NAME", "name"),
                    ("PLAN", "plan"),
                    ("CONTRACT", "contract_id"),
                    ("LICENSE", "license_id"),
                    ("PORTAL EMAIL", "portal_email"),
                    ("PORTAL PASSWORD", "portal_password"),
                ],
            ),
            "API tokens (shown this once)\n"
            + fields(
                [(f"customer {c['id']}", c["token"]) for c in made["customers"]]
                + [("analyst", made["analyst_token"])]
            ),
            "Customer portal: run `licensesvc serve` and open http://127.0.0.1:8000/ ;\n"
            "sign in with a PORTAL EMAIL and PORTAL PASSWORD above.",
        ]
    )


@click.command()
@json_option
@pass_state
def demo(state: CliState) -> None:
    """Fill an empty database with demo data and print its tokens and passwords.

    A Base and a Premium customer, each with a contract, a license, a standard key, a
    customer API token and a portal user, plus an analyst token (and a signing key if none).
    Refused in production (LICENSESVC_ENV=production): its portal passwords are published.

    \b
    Example:
      licensesvc db upgrade && licensesvc demo
    """
    from licensesvc.demo import load_demo, refuse_demo_in_production

    refuse_demo_in_production(state.runtime.settings)  # before the database is opened
    with state.unit_of_work() as ctx:
        made = load_demo(ctx)
    emit(state.json, made, lambda: _human(made))
