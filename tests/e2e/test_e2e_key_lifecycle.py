"""A Base and a Premium customer, over real HTTP against gunicorn: every key kind, every refusal
code with its case, a dry run, an escalation with its respond-by time, analysts' decisions and
online verification with a signed answer."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from licensesvc.domain import support_plan
from tests.e2e.e2e_helpers import Prepared, Server, call, e2e_settings, gunicorn, prepare

pytestmark = pytest.mark.e2e

CUSTOMERS = [
    # name, plan, region, contract start, end, paid through (days from today)
    ("Acme", "base", "na", -30, 335, 335),
    ("Globex", "premium", "emea", -30, 335, 335),
    # ended two days ago: at any hour, already over in the customer's zone too (New York is
    # still on the day before UTC's in its evening)
    ("Initech", "base", "na", -400, -2, -2),
    ("Umbrella", "premium", "apac", -100, 265, -1),  # maintenance paid through yesterday
]


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def request_key(server: Server, token: str, **body: Any) -> Any:
    return call(server, "POST", "/v1/key-requests", token, json=body)


def assert_refused(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    case_number: str = problem["case_number"]
    return case_number


def check_signed_answer(
    server: Server,
    answer: dict[str, Any],
    *,
    nonce: str | None = None,
    host: str | None = None,
    product: str | None = None,
) -> None:
    """docs/api.md's checks: the signature, then that the answer is about what was asked."""
    keys_by_kid = {k["kid"]: k for k in call(server, "GET", "/v1/signing-keys").json()}
    body = dict(answer)
    signature = body.pop("signature")
    public = load_pem_public_key(keys_by_kid[body["kid"]]["public_key_pem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    message = b"licensesvc/verify-answer/v1\n" + json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    public.verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), message)
    assert (answer["nonce"], answer["host"], answer["product"]) == (nonce, host, product)


def test_customers_walk_through_every_key_kind_refusal_and_decision(
    e2e_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(e2e_database_url, tmp_path)
    data: Prepared = prepare(settings, CUSTOMERS)
    t = data.token
    lic = data.license
    day = data.today
    with gunicorn(e2e_database_url, tmp_path) as server:
        assert call(server, "GET", "/healthz").json() == {"status": "ok"}
        assert call(server, "GET", "/v1/entitlements").status_code == 401

        ent = call(server, "GET", "/v1/entitlements", t["Acme"]).json()
        assert (ent["plan"], ent["allowed_key_kinds"]) == ("base", ["replacement", "dr_test"])

        # standard, by an analyst
        r = request_key(server, t["analyst"], license_id=lic["Acme"], kind="standard")
        assert r.status_code == 201, r.text
        standard = r.json()["key"]

        # replacement, any plan; supersedes the standard key
        r = request_key(server, t["Acme"], license_id=lic["Acme"], kind="replacement")
        assert r.status_code == 201, r.text
        replacement = r.json()["key"]
        assert replacement["supersedes"] == standard["serial"]
        assert r.headers["Location"] == f"/v1/key-requests/{r.json()['case_number']}"

        # dr_test, in advance of the test
        test_day = day + timedelta(days=10)
        r = request_key(
            server,
            t["Acme"],
            license_id=lic["Acme"],
            kind="dr_test",
            dr_test_date=test_day.isoformat(),
            host="dr.acme.example",
        )
        assert r.status_code == 201, r.text
        # from midnight of the window's first day in Acme's zone (NA: America/New_York)
        first_day = datetime.combine(
            test_day - timedelta(days=2), datetime.min.time(), support_plan.REGIONS["na"].zone
        )
        assert r.json()["key"]["not_before"] == f"{first_day.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"

        # temporary, Premium only
        r = request_key(
            server, t["Globex"], license_id=lic["Globex"], kind="temporary", reason="usage_spike"
        )
        assert r.status_code == 201, r.text
        temporary = r.json()["key"]
        lifetime = parse_time(temporary["expires_at"]) - parse_time(temporary["issued_at"])
        assert lifetime == timedelta(days=120)

        # every refusal code, each with a case that can be read back
        refusals = {
            "contract_expired": assert_refused(
                request_key(server, t["Initech"], license_id=lic["Initech"], kind="replacement"),
                403,
                "contract_expired",
            ),
            "maintenance_lapsed": assert_refused(
                request_key(server, t["Umbrella"], license_id=lic["Umbrella"], kind="replacement"),
                403,
                "maintenance_lapsed",
            ),
            "plan_not_eligible": assert_refused(
                request_key(
                    server,
                    t["Acme"],
                    license_id=lic["Acme"],
                    kind="temporary",
                    reason="seasonal_testing",
                ),
                403,
                "plan_not_eligible",
            ),
            "validation_error": assert_refused(
                request_key(server, t["Acme"], license_id=lic["Acme"], kind="dr_test"),
                422,
                "validation_error",
            ),
            "invalid_window": assert_refused(
                request_key(
                    server,
                    t["Acme"],
                    license_id=lic["Acme"],
                    kind="dr_test",
                    # UTC's yesterday: today or yesterday in Acme's zone, too soon either way
                    dr_test_date=(day - timedelta(days=1)).isoformat(),
                ),
                422,
                "invalid_window",
            ),
        }
        r = request_key(
            server,
            t["Acme"],
            license_id=lic["Acme"],
            kind="dr_test",
            dr_test_date=(day + timedelta(days=20)).isoformat(),
        )
        assert r.status_code == 201, r.text  # the second DR-test key of the year
        refusals["quota_exceeded"] = assert_refused(
            request_key(
                server,
                t["Acme"],
                license_id=lic["Acme"],
                kind="dr_test",
                dr_test_date=(day + timedelta(days=30)).isoformat(),
            ),
            409,
            "quota_exceeded",
        )
        owner = {"contract_expired": "Initech", "maintenance_lapsed": "Umbrella"}
        for code, case_number in refusals.items():
            case = call(
                server, "GET", f"/v1/key-requests/{case_number}", t[owner.get(code, "Acme")]
            ).json()
            assert (case["status"], case["refusal_code"]) == ("refused", code)

        # a schema error records no case
        before = len(call(server, "GET", "/v1/key-requests", t["analyst"]).json())
        r = request_key(server, t["Acme"], license_id=lic["Acme"], kind="gold")
        assert r.status_code == 422 and r.json()["code"] == "validation_error"
        assert "case_number" not in r.json()

        # a dry run explains and records nothing
        r = request_key(
            server,
            t["Globex"],
            license_id=lic["Globex"],
            kind="dr_test",
            dr_test_date=(day + timedelta(days=5)).isoformat(),
            dry_run=True,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["dry_run"], r.json()["outcome"]) == (True, "granted")
        after = len(call(server, "GET", "/v1/key-requests", t["analyst"]).json())
        assert after == before

        # escalation: Base, severity 2 = 4 business hours in North American core hours
        r = call(
            server,
            "POST",
            f"/v1/key-requests/{refusals['plan_not_eligible']}/escalate",
            t["Acme"],
            json={"note": "migration this weekend", "severity": 2},
        )
        assert r.status_code == 200, r.text
        escalated = r.json()
        expected = support_plan.add_business_time(
            parse_time(escalated["escalated_at"]),
            support_plan.initial_target("base", 2),
            support_plan.REGIONS["na"],
        )
        assert parse_time(escalated["respond_by"]) == expected
        assert escalated["respond_by"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert escalated["phone_required"] and "call 1-800-261-5267" in escalated["notice"]
        queue = call(server, "GET", "/v1/key-requests?status=escalated", t["analyst"]).json()
        assert [c["case_number"] for c in queue] == [refusals["plan_not_eligible"]]

        # analysts decide: a customer may not
        grant_path = f"/v1/key-requests/{refusals['plan_not_eligible']}/grant"
        r = call(server, "POST", grant_path, t["Acme"], json={"reason": "please"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        r = call(
            server, "POST", grant_path, t["analyst"], json={"reason": "Premium upgrade signed"}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["key"]["kind"]) == ("granted", "temporary")
        r = call(
            server,
            "POST",
            f"/v1/key-requests/{refusals['quota_exceeded']}/deny",
            t["analyst"],
            json={"reason": "two DR tests a year is the contract"},
        )
        assert r.status_code == 200 and r.json()["status"] == "denied"

        # verify online, without a token; the answer is signed
        answer = call(
            server, "POST", "/v1/keys/verify", json={"key": replacement["key"], "nonce": "e2e-1"}
        ).json()
        assert (answer["valid"], answer["code"], answer["status"]) == (True, "valid", "active")
        check_signed_answer(server, answer, nonce="e2e-1")
        old = call(server, "POST", "/v1/keys/verify", json={"key": standard["key"]}).json()
        assert (old["valid"], old["status"]) == (True, "superseded")  # within the overlap
        check_signed_answer(server, old)
        bad = call(server, "POST", "/v1/keys/verify", json={"key": "LK1.garbage"}).json()
        assert (bad["valid"], bad["code"]) == (False, "malformed")

        # the text key and the license file; the revocation list
        shown = call(server, "GET", f"/v1/keys/{replacement['serial']}", t["Acme"]).json()
        assert shown["key"] == replacement["key"]
        lic_file = call(server, "GET", f"/v1/keys/{replacement['serial']}/license-file", t["Acme"])
        assert lic_file.headers["Content-Type"].startswith("text/plain")
        assert (
            call(server, "GET", f"/v1/keys/{replacement['serial']}", t["Globex"]).status_code == 404
        )
        revocations = call(server, "GET", "/v1/revocations")
        assert revocations.text.startswith("LRL2.")
        assert call(server, "GET", "/docs").status_code == 200
