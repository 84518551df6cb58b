"""Every bad input of issue 9, replayed: each answers 4xx problem+json with its stable code,
and nothing changes (no case, no key, no audit record, the same revocation list). On
PostgreSQL (LICENSESVC_TEST_DATABASE_URL) the NUL cases reach the database driver if the edge
lets them through; on SQLite the same requests must be refused all the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensesvc.domain.hosts import host_problem
from licensesvc.models import AuditRecord, IssuedKey, KeyRequest, RevocationListCopy
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem, bearer

BIG_31 = 2**31
BIG_63 = 2**63


def _snapshot(session: Session) -> tuple[int, ...]:
    session.expire_all()
    generation = session.scalar(select(RevocationListCopy.generation)) or 0
    return (
        session.scalar(select(func.count()).select_from(KeyRequest)) or 0,
        session.scalar(select(func.count()).select_from(IssuedKey)) or 0,
        session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
        generation,
    )


@contextmanager
def nothing_changes(session: Session) -> Iterator[None]:
    """Assert that what runs inside records no case, key or audit record and leaves the stored
    revocation list alone."""
    before = _snapshot(session)
    yield
    assert _snapshot(session) == before


def post_raw(client: FlaskClient, path: str, token: str, raw: str | bytes) -> Any:
    return client.post(
        path,
        data=raw,
        headers={**bearer(token), "Content-Type": "application/json"},
    )


def dr_body(world: World, **fields: Any) -> dict[str, Any]:
    return {"license_id": world.base_license, "kind": "dr_test", **fields}


# --- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_refused_before_parsing(
    as_base: Caller, session: Session, depth: int
) -> None:
    raw = '{"license_id": 1, "kind": "dr_test", "host": ' + "[" * depth + "]" * depth + "}"
    with nothing_changes(session):
        r = post_raw(as_base.client, "/v1/key-requests", as_base.token, raw)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"] == {"_body": ["JSON nests deeper than 32 levels"]}


def test_nesting_within_the_limit_reaches_the_schema(as_base: Caller, session: Session) -> None:
    raw = '{"license_id": 1, "kind": "dr_test", "host": ' + "[" * 20 + "]" * 20 + "}"
    r = post_raw(as_base.client, "/v1/key-requests", as_base.token, raw)
    assert assert_problem(r, 422, "validation_error")["errors"] == {"host": ["Not a valid string."]}


def test_brackets_inside_strings_do_not_count_as_nesting(as_premium: Caller) -> None:
    r = as_premium.post(
        "/v1/key-requests",
        {"license_id": as_premium.license_id, "kind": "dr_test", "host": "[" * 100},
    )
    body = assert_problem(r, 422, "validation_error")  # not a host name, refused at the edge
    assert "nests" not in json.dumps(body) and "is not a host name" in body["errors"]["host"][0]


@pytest.mark.parametrize(
    ("raw", "member"),
    [
        ('{"license_id": %d, "kind": "dr_test", "kind": "temporary"}', "kind"),
        ('{"license_id": %d, "kind": "dr_test", "dry_run": false, "dry_run": true}', "dry_run"),
    ],
)
def test_duplicate_members_are_refused(
    as_base: Caller, session: Session, world: World, raw: str, member: str
) -> None:
    with nothing_changes(session):
        r = post_raw(as_base.client, "/v1/key-requests", as_base.token, raw % world.base_license)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"] == {member: ["appears more than once in the same object"]}


@pytest.mark.parametrize("raw", ['{"license_id": NaN, "kind": "dr_test"}', "[Infinity]"])
def test_nan_and_infinity_are_not_json(as_base: Caller, session: Session, raw: str) -> None:
    with nothing_changes(session):
        r = post_raw(as_base.client, "/v1/key-requests", as_base.token, raw)
    assert_problem(r, 422, "validation_error")


def test_an_integer_of_five_thousand_digits(as_base: Caller, session: Session) -> None:
    raw = '{"license_id": ' + "9" * 5000 + ', "kind": "dr_test"}'
    with nothing_changes(session):
        r = post_raw(as_base.client, "/v1/key-requests", as_base.token, raw)
    assert_problem(r, 422, "validation_error")


def test_text_that_is_not_json_stays_a_400(as_base: Caller, session: Session) -> None:
    with nothing_changes(session):
        r = post_raw(as_base.client, "/v1/key-requests", as_base.token, '{"license_id": ')
    assert_problem(r, 400, "validation_error")


@pytest.mark.parametrize("value", [BIG_31, BIG_63, 0, -1, BIG_63 * 4])
def test_ids_beyond_the_database_range_in_bodies(
    as_base: Caller, session: Session, value: int
) -> None:
    with nothing_changes(session):
        r = as_base.post("/v1/key-requests", {"license_id": value, "kind": "dr_test"})
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"] == {
        "license_id": ["Must be greater than or equal to 1 and less than or equal to 2147483647."]
    }


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("when", ["9999-12-31", "0001-01-01"])
def test_unreachable_dr_test_dates(
    as_base: Caller, session: Session, world: World, when: str, dry_run: bool
) -> None:
    with nothing_changes(session):
        r = as_base.post("/v1/key-requests", dr_body(world, dr_test_date=when, dry_run=dry_run))
    body = assert_problem(r, 422, "validation_error")
    assert list(body["errors"]) == ["dr_test_date"]
    assert body["errors"]["dr_test_date"][0].startswith("must be a date from ")


@pytest.mark.parametrize("when", ["20261220", "2026-3-20", "2026-03-20T00:00:00", "2026-W12-5"])
def test_dates_are_iso_dates_only(
    as_base: Caller, session: Session, world: World, when: str
) -> None:
    with nothing_changes(session):
        r = as_base.post("/v1/key-requests", dr_body(world, dr_test_date=when, dry_run=True))
    assert assert_problem(r, 422, "validation_error")["errors"] == {
        "dr_test_date": ["Not a valid date."]
    }


@pytest.mark.parametrize("value", [0, 1, "false", "true", None, "no"])
def test_dry_run_is_a_json_boolean(
    as_premium: Caller, session: Session, world: World, value: Any
) -> None:
    with nothing_changes(session):
        r = as_premium.post(
            "/v1/key-requests",
            {
                "license_id": world.premium_license,
                "kind": "temporary",
                "reason": "usage_spike",
                "dry_run": value,
            },
        )
    assert assert_problem(r, 422, "validation_error")["errors"] == {
        "dry_run": ["Not a valid boolean."] if value is not None else ["Field may not be null."]
    }


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("host", ["dr.acme.example\n", "dr.acme.example\x00", "\x1b]0;pwned\x07"])
def test_hosts_with_control_characters(
    as_base: Caller, session: Session, world: World, clock: FakeClock, host: str, dry_run: bool
) -> None:
    when = (clock.today + timedelta(days=20)).isoformat()
    with nothing_changes(session):
        r = as_base.post(
            "/v1/key-requests", dr_body(world, dr_test_date=when, host=host, dry_run=dry_run)
        )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"]["host"][0].startswith("must not contain control characters")


#: the list of tests/licensesvc/issuance/test_integrity.py (NOT_HOSTS), where license create
#: and update and the CLI refuse each of them
NOT_HOSTS = [
    "Sched01\n",
    "sched01 ",
    " sched01",
    "\tsched01",
    "sched01\r",
    "-sched",
    "a" * 201,
    "sched\x00",
    "sch/ed",
]


@pytest.mark.parametrize("host", NOT_HOSTS)
def test_the_api_refuses_the_hosts_the_services_and_the_cli_refuse(
    as_base: Caller, session: Session, world: World, clock: FakeClock, host: str
) -> None:
    """The one host rule (licensesvc/domain/hosts.py): the hosts `license create` and
    `license update` refuse (tests/licensesvc/issuance/test_integrity.py) are refused here too,
    in the same words, and nothing is recorded."""
    when = (clock.today + timedelta(days=20)).isoformat()
    with nothing_changes(session):
        r = as_base.post("/v1/key-requests", dr_body(world, dr_test_date=when, host=host))
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"]["host"] == [host_problem(host)]  # the services' words exactly


def test_a_host_in_capitals_is_stored_in_lower_case_as_the_services_store_it(
    as_base: Caller, world: World, clock: FakeClock
) -> None:
    when = (clock.today + timedelta(days=20)).isoformat()
    r = as_base.post(
        "/v1/key-requests", dr_body(world, dr_test_date=when, host="DR02.Acme.Example")
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["host"] == "dr02.acme.example"
    assert r.get_json()["key"]["host"] == "dr02.acme.example"


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x9b", "\r"])
def test_control_characters_in_free_text(
    as_base: Caller, session: Session, world: World, char: str
) -> None:
    refused = as_base.ask_for_key("temporary", reason="usage_spike")
    case_number = refused.get_json()["case_number"]
    with nothing_changes(session):
        r = as_base.on_case(case_number, "escalate", note=f"please{char}[2Jhelp")
    body = assert_problem(r, 422, "validation_error")
    assert "newline and tab are allowed" in body["errors"]["note"][0]


def test_newline_and_tab_are_fine_in_a_note(as_base: Caller) -> None:
    refused = as_base.ask_for_key("temporary", reason="usage_spike")
    case_number = refused.get_json()["case_number"]
    r = as_base.on_case(case_number, "escalate", note="line one\n\tline two")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["escalation_note"] == "line one\n\tline two"


def test_nul_in_the_verify_nonce(api_client: FlaskClient, session: Session) -> None:
    with nothing_changes(session):
        r = api_client.post("/v1/keys/verify", json={"key": "LK1.x", "nonce": "a\x00b"})
    assert_problem(r, 422, "validation_error")


# --- paths and query strings -------------------------------------------------------------------


@pytest.mark.parametrize("value", [BIG_31, BIG_63, BIG_63 * 4])
def test_ids_beyond_the_database_range_in_paths(as_analyst: Caller, value: int) -> None:
    assert_problem(as_analyst.get(f"/v1/licenses/{value}"), 404, "not_found")


@pytest.mark.parametrize("value", [BIG_31, BIG_63, 0])
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/entitlements", "customer_id"),
        ("/v1/licenses", "customer_id"),
        ("/v1/keys", "license_id"),
        ("/v1/keys", "customer_id"),
        ("/v1/key-requests", "customer_id"),
    ],
)
def test_ids_beyond_the_database_range_in_query_strings(
    as_analyst: Caller, path: str, name: str, value: int
) -> None:
    body = assert_problem(as_analyst.get(f"{path}?{name}={value}"), 422, "validation_error")
    assert list(body["errors"]) == [name]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/keys/SN-%00",
        "/v1/keys/SN-%1B%5B2J/license-file",
        "/v1/key-requests/CS-%00",
        "/v1/key-requests/CS-%0A",
    ],
)
def test_control_characters_in_path_segments(as_analyst: Caller, path: str) -> None:
    assert_problem(as_analyst.get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/v1/keys/SN-%00/revoke", "/v1/key-requests/CS-%00/deny"])
def test_control_characters_in_path_segments_of_writes(
    as_analyst: Caller, session: Session, path: str
) -> None:
    with nothing_changes(session):
        r = as_analyst.post(path, {"reason": "x"})
    assert_problem(r, 404, "not_found")


def test_nul_in_a_query_string(as_analyst: Caller) -> None:
    r = as_analyst.get("/v1/key-requests?status=granted%00")
    assert list(assert_problem(r, 422, "validation_error")["errors"]) == ["status"]


# --- revocations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    ["chargeback on invoice 4471\nsuspected fraud", "x" * 300, "tab\there", "é" * 2000],
)
def test_revoke_reasons_never_reach_the_list(
    as_analyst: Caller, as_premium: Caller, api_client: FlaskClient, reason: str
) -> None:
    serial = as_premium.issue("temporary", reason="usage_spike")["serial"]
    r = as_analyst.revoke(serial, reason)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["revocation_code"] == "key_compromise"
    listed = api_client.get("/v1/revocations")
    assert listed.status_code == 200
    text = listed.get_data(as_text=True)
    assert serial in _payload(text) and reason not in _payload(text)
    as_json = api_client.get("/v1/revocations", headers={"Accept": "application/json"})
    assert as_json.status_code == 200 and reason not in json.dumps(as_json.get_json())


def test_a_reason_of_ten_thousand_characters_is_refused(
    as_analyst: Caller, as_premium: Caller, session: Session, api_client: FlaskClient
) -> None:
    serial = as_premium.issue("temporary", reason="usage_spike")["serial"]
    with nothing_changes(session):
        r = as_analyst.revoke(serial, "x" * 10_000)
    assert list(assert_problem(r, 422, "validation_error")["errors"]) == ["reason"]
    assert api_client.get("/v1/revocations").status_code == 200


def _payload(text: str) -> str:
    """The decoded JSON payload of a signed `LRL2.` list."""
    import base64

    body = text.strip().removeprefix("LRL2.").split(".")[0]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
