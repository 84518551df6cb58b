"""Long lists over the API, a page at a time: 1,000 keys and 1,000 cases of one customer, each
seen exactly once across the pages, newest first, with X-Pagination telling the total; a page
past the end is empty and says how many there are; a page outside the limits is a 422."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.bulk import add_cases, add_keys
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem

ROWS = 1000


@pytest.fixture
def many(session: Session, world: World, clock: FakeClock) -> dict[str, list[str]]:
    """1,000 keys and 1,000 cases of the Base customer, 3 cases of the Premium one."""
    at = clock() - timedelta(days=2)
    found = {
        "keys": add_keys(session, world.base_customer, world.base_license, ROWS, at),
        "cases": add_cases(session, world.base_customer, world.base_license, ROWS, at),
        "other": add_cases(session, world.premium_customer, world.premium_license, 3, at, "P"),
    }
    session.commit()
    return found


def read_page(caller: Caller, url: str) -> tuple[list[Any], dict[str, Any]]:
    r = caller.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json(), json.loads(r.headers["X-Pagination"])


def read_all(caller: Caller, url: str, field: str, page_size: int) -> list[str]:
    """Every page of the list, in order, until X-Pagination says there is no next page."""
    seen: list[str] = []
    page = 1
    sep = "&" if "?" in url else "?"
    while True:
        items, header = read_page(caller, f"{url}{sep}page={page}&page_size={page_size}")
        assert header["page"] == page
        seen += [item[field] for item in items]
        if "next_page" not in header:
            assert header["last_page"] == page
            return seen
        assert len(items) == page_size and header["next_page"] == page + 1
        page += 1


@pytest.mark.parametrize("page_size", [7, 50, 500])
def test_a_customer_pages_through_1000_keys_each_once_newest_first(
    as_base: Caller, many: dict[str, list[str]], page_size: int
) -> None:
    serials = read_all(as_base, "/v1/keys", "serial", page_size)
    assert serials == many["keys"][::-1]  # every key once, newest first


def test_the_first_page_and_its_header(as_base: Caller, many: dict[str, list[str]]) -> None:
    items, header = read_page(as_base, "/v1/keys")
    assert len(items) == 50  # the default page size
    assert header == {
        "total": ROWS,
        "total_pages": 20,
        "first_page": 1,
        "last_page": 20,
        "page": 1,
        "next_page": 2,
    }
    _, middle = read_page(as_base, "/v1/keys?page=7&page_size=100")
    assert (middle["previous_page"], middle["next_page"], middle["total_pages"]) == (6, 8, 10)


def test_an_analyst_pages_through_one_customers_1000_cases(
    as_analyst: Caller, world: World, many: dict[str, list[str]]
) -> None:
    url = f"/v1/key-requests?customer_id={world.base_customer}&status=refused"
    assert read_all(as_analyst, url, "case_number", 333) == many["cases"][::-1]
    # every customer's: the Premium customer's three are the newest
    everyone = read_all(as_analyst, "/v1/key-requests", "case_number", 500)
    assert everyone == many["other"][::-1] + many["cases"][::-1]


def test_a_customer_sees_only_its_own_cases_in_the_pages(
    as_premium: Caller, many: dict[str, list[str]]
) -> None:
    items, header = read_page(as_premium, "/v1/key-requests?page_size=2")
    assert [c["case_number"] for c in items] == many["other"][:0:-1]
    assert (header["total"], header["total_pages"]) == (3, 2)


def test_a_page_past_the_end_is_empty_and_tells_the_total(
    as_base: Caller, many: dict[str, list[str]]
) -> None:
    items, header = read_page(as_base, "/v1/key-requests?page=21&page_size=50")
    assert items == []
    # flask-smorest names no current page past the last one
    assert header == {"total": ROWS, "total_pages": 20, "first_page": 1, "last_page": 20}


def test_the_filters_still_apply_to_the_pages(
    as_base: Caller, world: World, many: dict[str, list[str]]
) -> None:
    items, header = read_page(as_base, f"/v1/keys?license_id={world.base_license}&page_size=5")
    assert header["total"] == len(many["keys"]) and len(items) == 5
    # another customer's license is not_found, as an unknown one (tests/licensesvc/api/
    # test_api_unknown_ids.py), not a filter that matches nothing
    assert as_base.get(f"/v1/keys?license_id={world.premium_license}&page=1").status_code == 404
    items, header = read_page(as_base, "/v1/key-requests?status=granted&page_size=5")
    assert (items, header["total"]) == ([], 0)


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=x",
        "page_size=0",
        "page_size=501",
        "page_size=many",
        "pages=2",  # an unknown parameter is still an error, not ignored
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/v1/keys",
        "/v1/key-requests",
        "/v1/licenses",
        "/v1/contracts/{contract}/payments",
        "/v1/licenses/{license}/changes",
    ],
)
def test_page_parameters_outside_the_limits_answer_422(
    as_base: Caller, world: World, path: str, query: str
) -> None:
    url = path.format(contract=world.base_contract, license=world.base_license)
    body = assert_problem(as_base.get(f"{url}?{query}"), 422, "validation_error")
    assert "X-Pagination" not in body


def test_case_updates_are_a_list_of_pages_newest_first(as_base: Caller, as_analyst: Caller) -> None:
    case_number = as_base.ask_for_key("temporary", reason="usage_spike").get_json()["case_number"]
    assert as_base.on_case(case_number, "escalate", severity=2).status_code == 200
    for n in range(5):
        r = as_analyst.post(f"/v1/key-requests/{case_number}/updates", {"text": f"update {n}"})
        assert r.status_code == 201, r.get_data(as_text=True)
    url = f"/v1/key-requests/{case_number}/updates"
    seen = read_all(as_base, url, "text", 2)  # the customer reads its own case's updates
    assert seen == [f"update {n}" for n in range(4, -1, -1)]
    items, header = read_page(as_base, f"{url}?page=4&page_size=2")
    assert (items, header["total"], header["total_pages"], "page" in header) == ([], 5, 3, False)
