"""Demonstration data: one customer on each plan, with licenses, tokens and a portal user."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from licensesvc.accounts import create_contract, create_customer, create_license
from licensesvc.config import Settings
from licensesvc.domain import KeyKind, Plan, Region
from licensesvc.domain.errors import Forbidden, InvalidState
from licensesvc.domain.policy import KeyRequestInput
from licensesvc.identity import create_token, create_user
from licensesvc.issuance import ensure_signing_key, request_key
from licensesvc.models import Customer
from licensesvc.platform.context import ServiceContext

DEMO_PASSWORD = "demo-password-123"


def refuse_demo_in_production(settings: Settings) -> None:
    """Raise Forbidden when settings are production's: demo data signs in with passwords
    printed in the README and gets production-signed keys, whatever the database holds."""
    if settings.environment == "production":
        raise Forbidden(
            "demo data is never loaded in production (LICENSESVC_ENV=production): its portal "
            "passwords are published; run `licensesvc demo` against a development database"
        )


def load_demo(ctx: ServiceContext) -> dict[str, Any]:
    """Fill an empty database with a Base and a Premium customer (each with a contract, a
    license, a standard key, a customer API token and a portal user) and an analyst token.
    Returns what was made, tokens included (shown this once). Raises Forbidden in production
    (before reading the database) and InvalidState when the database already has customers."""
    refuse_demo_in_production(ctx.settings)
    ctx.actor.require_analyst()
    if ctx.session.scalar(select(func.count()).select_from(Customer)):
        raise InvalidState("the database already has customers; demo data goes into an empty one")
    ensure_signing_key(ctx)
    today = ctx.now().date()
    made: dict[str, Any] = {"customers": []}
    for name, plan, region, product, host in (
        ("Acme Logistics", Plan.BASE, Region.NA, "JAMS Scheduler", "sched01.acme.example"),
        (
            "Globex Manufacturing",
            Plan.PREMIUM,
            Region.EMEA,
            "JAMS Scheduler",
            "jams.globex.example",
        ),
    ):
        customer = create_customer(ctx, name, region)
        contract = create_contract(
            ctx,
            customer.id,
            plan,
            today - timedelta(days=90),
            today + timedelta(days=275),
            today + timedelta(days=275),
        )
        lic = create_license(ctx, customer.id, product, 25, 5000, host, failover_host=f"dr-{host}")
        request_key(ctx, KeyRequestInput(license_id=lic.id, kind=KeyKind.STANDARD))
        _, token = create_token(ctx, customer_id=customer.id)
        email = f"admin@{host.split('.', 1)[1]}"
        create_user(ctx, customer.id, email, DEMO_PASSWORD)
        made["customers"].append(
            {
                "id": customer.id,
                "name": name,
                "plan": plan,
                "contract_id": contract.id,
                "license_id": lic.id,
                "token": token,
                "portal_email": email,
                "portal_password": DEMO_PASSWORD,
            }
        )
    _, analyst_token = create_token(ctx, analyst="demo-analyst")
    made["analyst_token"] = analyst_token
    return made
