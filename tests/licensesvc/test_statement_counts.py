"""No N+1: the SQL statements each endpoint issues do not grow with the data.

Each endpoint is called once on a small database and once after the database has grown (more
customers, keys, revocations, cases and audit records, the caller's own included); the two
counts of statements (SQLAlchemy `before_cursor_execute`) must be equal. Each count follows a
warm-up call, so per-process caches (a decrypted signing key) do not count."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from werkzeug.test import TestResponse

from licensesvc.accounts import customers
from licensesvc.issuance import issued_keys
from licensesvc.issuance.key_requests import KeyRequestInput, request_key
from licensesvc.platform import changefeed
from tests.conftest import Contexts, FakeClock, World
from tests.licensesvc.api.api_helpers import Caller
from tests.licensesvc.api.conftest import (  # noqa: F401  (the API tests' fixtures)
    api_client,
    app,
    as_analyst,
    as_base,
    tokens_for,
)
from tests.licensesvc.own_app import OwnApp, own_app_fixture  # noqa: F401
from tests.licensesvc.own_app import counting as counting_own

#: (endpoint, how to call it, the status it must answer)
Call = Callable[[Caller, "Data"], TestResponse]


@dataclass
class Data:
    """What the calls refer to: a key of the caller's and a refused case of theirs."""

    key_text: str
    case_number: str
    serial: str
    contract_id: int
    license_id: int
    clock: FakeClock


def entitlements_next_second(c: Caller, d: Data) -> TestResponse:
    """The entitlement report a second later: not the one cached (entitlements.cached_report)."""
    d.clock.advance(seconds=1)
    return c.get("/v1/entitlements")


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def grow(contexts: Contexts, world: World, clock: FakeClock, n: int, tag: str) -> None:
    """Add n customers (each with a contract, a license, a key and a revoked key, a refused
    case) and, for the caller (the Base customer), n more replacement keys and refused cases."""
    analyst = contexts.analyst()
    today = clock.today
    for i in range(n):
        customer = customers.create_customer(analyst, f"Grown {tag}{i}", "emea")
        customers.create_contract(
            analyst,
            customer.id,
            "base",
            today - timedelta(days=10),
            today + timedelta(days=300),
            today + timedelta(days=300),
        )
        lic = customers.create_license(
            analyst, customer.id, "JAMS Scheduler", 5, 50, f"h{tag}{i}.example"
        )
        first = request_key(analyst, KeyRequestInput(license_id=lic.id, kind="standard"))
        second = request_key(analyst, KeyRequestInput(license_id=lic.id, kind="replacement"))
        assert not isinstance(first, type(None)) and not isinstance(second, type(None))
        issued_keys.revoke_key(analyst, second.key.serial, "grown for the statement count")
        request_key(
            contexts.customer(customer.id),
            KeyRequestInput(license_id=lic.id, kind="temporary", reason="usage_spike"),
        )
    base = contexts.customer(world.base_customer)
    for _ in range(n):
        request_key(analyst, KeyRequestInput(license_id=world.base_license, kind="replacement"))
        request_key(
            base,
            KeyRequestInput(license_id=world.base_license, kind="temporary", reason="usage_spike"),
        )


ENDPOINTS: dict[str, tuple[Call, int]] = {
    "POST /v1/keys/verify": (
        lambda c, d: c.client.post("/v1/keys/verify", json={"key": d.key_text}),
        200,
    ),
    "GET /v1/entitlements (cached)": (lambda c, d: c.get("/v1/entitlements"), 200),
    "GET /v1/entitlements (rendered)": (entitlements_next_second, 200),
    "POST /v1/key-requests (replacement)": (
        lambda c, d: c.ask_for_key("replacement"),
        201,
    ),
    "POST /v1/key-requests (dry run)": (
        lambda c, d: c.ask_for_key("replacement", dry_run=True),
        200,
    ),
    "GET /v1/revocations": (lambda c, d: c.client.get("/v1/revocations"), 200),
    "GET /v1/signing-keys": (lambda c, d: c.client.get("/v1/signing-keys"), 200),
    "GET /v1/keys": (lambda c, d: c.get("/v1/keys"), 200),
    "GET /v1/keys/<serial>": (lambda c, d: c.get(f"/v1/keys/{d.serial}"), 200),
    "GET /v1/key-requests": (lambda c, d: c.get("/v1/key-requests"), 200),
    "GET /v1/key-requests/<case>": (lambda c, d: c.get(f"/v1/key-requests/{d.case_number}"), 200),
    "GET /v1/licenses": (lambda c, d: c.get("/v1/licenses"), 200),
    # the paginated lists: a page costs the same statements however many rows there are
    "GET /v1/keys (page 2)": (lambda c, d: c.get("/v1/keys?page=2&page_size=1"), 200),
    "GET /v1/key-requests (page 2)": (
        lambda c, d: c.get("/v1/key-requests?page=2&page_size=1&status=refused"),
        200,
    ),
    "GET /v1/key-requests (past the end)": (
        lambda c, d: c.get("/v1/key-requests?page=1000&page_size=500"),
        200,
    ),
    "GET /v1/key-requests/<case>/updates": (
        lambda c, d: c.get(f"/v1/key-requests/{d.case_number}/updates"),
        200,
    ),
    "GET /v1/contracts/<id>/payments": (
        lambda c, d: c.get(f"/v1/contracts/{d.contract_id}/payments"),
        200,
    ),
    "GET /v1/licenses/<id>/changes": (
        lambda c, d: c.get(f"/v1/licenses/{d.license_id}/changes"),
        200,
    ),
}


#: the endpoints that make records, measured after the others in each round
WRITERS = ("POST /v1/key-requests (replacement)",)


def test_statements_per_request_do_not_grow_with_the_data(
    as_base: Caller,  # noqa: F811 (the fixture imported above)
    as_analyst: Caller,  # noqa: F811
    contexts: Contexts,
    world: World,
    clock: FakeClock,
    engine: Engine,
    session: Any,
) -> None:
    # every endpoint is counted in two rounds over one database, grown by 2 and then by 15 more
    # (growing it once per endpoint cost minutes); each round makes a key and a refused case of
    # its own, grows the data, and runs the calls in the same order, the writers last, so that
    # each call finds in the second round what it found in the first, with more data around it
    order = [e for e in ENDPOINTS if e not in WRITERS] + list(WRITERS)

    def measure_all(grown_by: int, tag: str) -> dict[str, int]:
        key = as_analyst.issue("standard", license_id=world.base_license)
        refused = as_base.ask_for_key("temporary", reason="usage_spike").get_json()["case_number"]
        data = Data(
            key["key"], refused, key["serial"], world.base_contract, world.base_license, clock
        )
        grow(contexts, world, clock, grown_by, tag)
        session.commit()
        counts = {}
        for endpoint in order:
            call, status = ENDPOINTS[endpoint]
            assert call(as_base, data).status_code == status, endpoint  # warm-up
            with counting(engine) as statements:
                r = call(as_base, data)
            assert r.status_code == status, f"{endpoint}: {r.get_data(as_text=True)}"
            counts[endpoint] = len(statements)
        return counts

    small = measure_all(2, "s")
    large = measure_all(15, "l")
    grown = {e: f"{small[e]} statements on small data, {large[e]} on larger" for e in order}
    assert {e: words for e, words in grown.items() if small[e] != large[e]} == {}
    assert set(small) == set(ENDPOINTS)


def test_a_cached_entitlement_report_costs_one_read_of_the_audit_head(
    as_base: Caller,  # noqa: F811 (the fixture imported above)
    engine: Engine,
) -> None:
    assert as_base.get("/v1/entitlements").status_code == 200  # token checked, report rendered
    with counting(engine) as statements:
        r = as_base.get("/v1/entitlements")
    assert r.status_code == 200
    # BEGIN and the test's savepoints aside: the token check and the report are both kept
    # under the same head (licensesvc/platform/freshness.py), read once for the request
    queries = [s for s in statements if s.split(None, 1)[0].upper() in ("SELECT", "UPDATE")]
    assert len(queries) == 1, queries
    assert "FROM audit_records" in queries[0]


#: issue 20, point 3: round trips of a key request to PostgreSQL (statements and the COMMIT;
#: the test's own savepoints aside), granted and refused
GRANTED_ROUND_TRIPS = 6
REFUSED_ROUND_TRIPS = 4


def round_trips(statements: list[str]) -> int:
    """The request's statements and its COMMIT, without the savepoints a test's session puts
    around each commit (tests/conftest.py: session)."""
    own = [s for s in statements if s.split(None, 1)[0].upper() not in ("SAVEPOINT", "RELEASE")]
    return len(own) + 1


def test_a_key_request_takes_the_round_trips_issue_20_allows(own_app: OwnApp) -> None:
    """Through the API, on an app whose sessions are its own (as served, unlike the API tests'
    sessions, which join a transaction the test holds and so read the token each time): the
    token check is kept in the process (no statement once warm), then the decision's reads,
    one write statement and COMMIT."""
    if not own_app.url.startswith("postgresql"):
        pytest.skip("the one-statement write path is PostgreSQL's (SQLite: one writer)")
    assert own_app.ask_for_replacement().status_code == 201  # the token checked and kept
    feed = changefeed.feed_for(own_app.runtime.engine)
    for _ in range(3):  # a busy machine may starve the feed's thread: then the check reads
        with counting_own(own_app, "key-requests") as granted:
            assert own_app.ask_for_replacement().status_code == 201
        with counting_own(own_app, "key-requests") as refused:
            r = own_app.client.post(
                "/v1/key-requests",
                json={
                    "license_id": own_app.data.license["Acme"],
                    "kind": "temporary",
                    "reason": "usage_spike",
                },
                headers={"Authorization": f"Bearer {own_app.data.token['Acme']}"},
            )
            assert r.status_code == 403, r.get_data(as_text=True)  # Base: no temporary keys
        if feed.up:
            break
    counts = {
        "granted": round_trips(granted.statements),
        "refused": round_trips(refused.statements),
    }
    assert counts["granted"] <= GRANTED_ROUND_TRIPS, (counts, granted.statements)
    assert counts["refused"] <= REFUSED_ROUND_TRIPS, (counts, refused.statements)


def test_a_key_request_decided_in_the_service_takes_4_round_trips(
    world: World, contexts: Contexts, engine: Engine, session: Any
) -> None:
    """The decision without the API's token check: read and lock what it needs (the license
    with its customer's row, the keys with the quota's use), then every write and the audit
    records in one statement (platform/transactions.py `defer_insert`), then COMMIT."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the one-statement write path is PostgreSQL's (SQLite: one writer)")
    analyst = contexts.analyst()
    request_key(analyst, KeyRequestInput(license_id=world.base_license, kind="standard"))
    session.commit()
    base = contexts.customer(world.base_customer)
    asked = {
        "granted": KeyRequestInput(license_id=world.base_license, kind="replacement"),
        "refused": KeyRequestInput(
            license_id=world.base_license, kind="temporary", reason="usage_spike"
        ),
    }
    counts = {}
    for outcome, req in asked.items():
        with counting(engine) as statements:
            result = request_key(base, req)
            session.commit()
        assert result.refused == (outcome == "refused")
        counts[outcome] = round_trips(statements)
    assert counts == {"granted": 4, "refused": 4}, counts
