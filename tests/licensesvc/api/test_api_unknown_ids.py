"""Every list filtered by an id answers `404 not_found` when the id names nothing the caller
can see: an unknown customer, license, contract or case is never an empty list (the CLI's
counterpart: tests/cli/test_cli_not_found.py)."""

from __future__ import annotations

import pytest

from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller, assert_problem

#: (who asks, path, what the problem names); "{mine}" is the Base customer, "{other}" the
#: Premium customer's license (the customer who asks is Base)
LISTS = [
    ("analyst", "/v1/keys?customer_id=999", "customer 999 not found"),
    ("analyst", "/v1/keys?license_id=999", "license 999 not found"),
    ("analyst", "/v1/keys?customer_id={mine}&license_id=999", "license 999 not found"),
    ("analyst", "/v1/licenses?customer_id=999", "customer 999 not found"),
    ("analyst", "/v1/key-requests?customer_id=999", "customer 999 not found"),
    ("analyst", "/v1/entitlements?customer_id=999", "customer 999 not found"),
    ("analyst", "/v1/contracts/999/payments", "contract 999 not found"),
    ("analyst", "/v1/licenses/999/changes", "license 999 not found"),
    ("analyst", "/v1/key-requests/CS-NOPE/updates", "case CS-NOPE not found"),
    ("customer", "/v1/keys?license_id=999", "license 999 not found"),
    ("customer", "/v1/keys?license_id={other}", "license {other} not found"),
]


@pytest.mark.parametrize(("who", "path", "message"), LISTS, ids=[f"{w} {p}" for w, p, _ in LISTS])
def test_a_list_filtered_by_an_unknown_id_is_not_found(
    as_analyst: Caller, as_base: Caller, world: World, who: str, path: str, message: str
) -> None:
    caller = as_analyst if who == "analyst" else as_base
    names = {"mine": world.base_customer, "other": world.premium_license}
    body = assert_problem(caller.get(path.format(**names)), 404, "not_found")
    assert body["detail"] == message.format(**names)


def test_a_known_id_lists_its_records_and_a_customer_token_ignores_customer_id(
    as_analyst: Caller, as_base: Caller, world: World
) -> None:
    key = as_analyst.issue("standard", license_id=world.base_license)
    listed = as_analyst.read(f"/v1/keys?customer_id={world.base_customer}")
    assert [k["serial"] for k in listed] == [key["serial"]]
    assert as_analyst.read(f"/v1/keys?license_id={world.premium_license}") == []
    # a customer's token sees its own records whatever customer_id says (documented)
    mine = as_base.read("/v1/licenses?customer_id=999")
    assert [lic["id"] for lic in mine] == [world.base_license]
