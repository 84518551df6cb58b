"""The CLI's --json of a read model is its schema's dump (cli/output.py), and it is the JSON the
CLI printed before the schemas (the dataclass as a dict, dates as ISO text): the entitlement
report, the customer screen, a dry run and a case, with keys, cases and an out-of-date key."""

from __future__ import annotations

from typing import Any

from cli.output import jsonable
from licensesvc import accounts, issuance
from licensesvc.domain.policy import KeyRequestInput
from licensesvc.platform.context import ServiceContext
from licensesvc.presentation import dump
from licensesvc.readmodels import DryRunView
from tests.conftest import World


def as_before(view: Any) -> Any:
    # what cli/output.py printed before: the read model's as_dict(), made JSON-able
    return jsonable(view.as_dict())


def test_the_schema_prints_what_as_dict_printed(analyst: ServiceContext, world: World) -> None:
    for lic in (world.base_license, world.premium_license):
        issuance.request_key(analyst, KeyRequestInput(license_id=lic, kind="standard"))
    dry = issuance.explain_request(
        analyst, KeyRequestInput(license_id=world.base_license, kind="temporary")
    )
    views: list[Any] = []
    for customer in (world.base_customer, world.premium_customer):
        views.append(issuance.entitlement_report(analyst, customer))
        views.append(accounts.customer_overview(analyst, customer))
    cases = issuance.page_cases(analyst, page=1, page_size=10).items
    assert cases
    views += [issuance.case_view(analyst, c) for c in cases]
    assert not isinstance(dry, issuance.KeyRequestOutcome)
    views.append(DryRunView.of(dry, "temporary"))
    for view in views:
        assert jsonable(dump(view)) == as_before(view), type(view).__name__
