"""Every page of the portal through the Flask test client: what a customer administrator sees,
what they can request, that another customer's objects are 404, that a double submit issues
once, escalation, API tokens, and HTML error pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import keys
from licensesvc.accounts import customers
from licensesvc.cases import case_updates
from licensesvc.identity import tokens
from licensesvc.issuance.signing import trusted_public_keys
from licensesvc.models import ApiToken, IssuedKey, KeyRequest, License
from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock, World
from tests.licensesvc.portal.conftest import HTML, Browser, csrf_of, form_token_of


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def request_page(b: Browser, kind: str) -> tuple[str, str]:
    page = b.get(f"/requests/new?kind={kind}&license_id={b.license_id}")
    assert page.status_code == 200
    return csrf_of(page), form_token_of(page)


def submit(b: Browser, kind: str, confirm: bool = True, **fields: str) -> TestResponse:
    csrf, token = request_page(b, kind)
    data = {"csrf_token": csrf, "form_token": token, "kind": kind, "license_id": b.license_id}
    data.update(fields)
    data["confirm" if confirm else "check"] = "1"
    return b.client.post("/requests/new", data=data, headers=HTML)


def test_dashboard_shows_plan_maintenance_kinds_and_promises(base_admin: Browser) -> None:
    text = base_admin.text("/")
    assert "<title>Dashboard · licensesvc customer portal</title>" in text
    for words in (
        "Acme",
        "Base",
        "Paid through",
        "335 days left",
        "Replacement",
        "DR test",
        "Response targets by severity",
        "a phone call is required",
        "08:00-18:00",
    ):
        assert words in text, words
    assert "Temporary (120 days)" not in text


def test_dashboard_warns_30_days_before_maintenance_lapses(
    base_admin: Browser, clock: FakeClock
) -> None:
    assert "Maintenance ends soon" not in base_admin.text("/")
    clock.advance(days=306)
    base_admin.sign_in()
    text = base_admin.text("/")
    assert "Maintenance ends soon" in text and "29 days left" in text


def test_dashboard_says_why_no_keys_when_the_contract_ended(
    base_admin: Browser, clock: FakeClock
) -> None:
    clock.advance(days=336)
    base_admin.sign_in()
    text = base_admin.text("/")
    assert "No new keys right now" in text and "contract_expired" in text
    assert "The support contract ended on" in text


def test_base_customer_may_ask_for_a_temporary_key_knowing_it_is_refused(
    base_admin: Browser,
) -> None:
    # today's keys never list it (the plan lacks it) ...
    for path in ("/", "/licenses"):
        assert "temporary" not in base_admin.text(path).lower(), path
    # ... but the customer may ask, told first that it is refused and can be escalated
    assert "you can still ask" in base_admin.text("/requests/new")
    page = base_admin.text(f"/requests/new?kind=temporary&license_id={base_admin.license_id}")
    assert "Temporary keys are a Premium service and your plan is Base" in page
    assert "would be refused (plan_not_eligible)" in page


def test_premium_customer_is_offered_temporary_keys(premium_admin: Browser) -> None:
    assert "Temporary key (120 days)" in premium_admin.text("/requests/new")
    assert 'name="reason"' in premium_admin.text("/requests/new?kind=temporary")


def test_licenses_and_key_pages(base_admin: Browser, session: Session) -> None:
    text = base_admin.text("/licenses")
    key = session.scalar(select(IssuedKey).where(IssuedKey.license_id == base_admin.license_id))
    assert key is not None and key.serial in text and "sched.acme.example" in text
    detail = base_admin.text(f"/keys/{key.serial}")
    assert key.key_text in detail and "Copy to clipboard" in detail


@pytest.mark.parametrize("fmt, suffix", [("text", ".key"), ("file", ".lic")])
def test_download_key_verifies_offline(
    base_admin: Browser, session: Session, analyst: ServiceContext, fmt: str, suffix: str
) -> None:
    key = session.scalar(select(IssuedKey).where(IssuedKey.license_id == base_admin.license_id))
    assert key is not None
    page = base_admin.get(f"/keys/{key.serial}/download/{fmt}")
    assert page.status_code == 200
    assert f'filename="{key.serial}{suffix}"' in page.headers["Content-Disposition"]
    body = page.get_data(as_text=True)
    text = body if fmt == "file" else body.strip()
    assert key.key_text in body.replace("\n", "")
    claims = keys.verify(text, trusted_public_keys(analyst), at=analyst.now())
    assert claims.serial == key.serial


def test_another_customers_objects_are_404(
    base_admin: Browser, session: Session, world: World
) -> None:
    theirs = session.scalar(select(IssuedKey).where(IssuedKey.license_id == world.premium_license))
    assert theirs is not None
    for path in (
        f"/keys/{theirs.serial}",
        f"/keys/{theirs.serial}/download/text",
        f"/cases/{theirs.case_number}",
        f"/requests/new?kind=replacement&license_id={world.premium_license}",
    ):
        page = base_admin.get(path)
        assert page.status_code == 404, path
        assert "not yours to see" in page.get_data(as_text=True)
        assert theirs.key_text not in page.get_data(as_text=True)
    escalate = base_admin.post(
        f"/cases/{theirs.case_number}/escalate",
        {"reason": "review_refusal", "severity": "3"},
        csrf_from="/cases",
    )
    assert escalate.status_code == 404


def test_request_for_another_customers_license_is_refused(
    base_admin: Browser, session: Session, world: World
) -> None:
    before = count(session, KeyRequest)
    csrf, token = request_page(base_admin, "replacement")
    data = {
        "csrf_token": csrf,
        "form_token": token,
        "kind": "replacement",
        "license_id": world.premium_license,
        "confirm": "1",
    }
    page = base_admin.client.post("/requests/new", data=data, headers=HTML)
    assert page.status_code == 422  # not one of the form's choices
    assert count(session, KeyRequest) == before


def test_dry_run_lists_every_check_and_writes_nothing(
    base_admin: Browser, session: Session
) -> None:
    before = (count(session, KeyRequest), count(session, IssuedKey))
    page = submit(base_admin, "replacement", confirm=False)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for label in (
        "Contract active",
        "Maintenance paid",
        "Included in your plan",
        "Request complete",
        "Validity window",
        "Quota available",
    ):
        assert label in text
    assert "Every check passes" in text
    assert (count(session, KeyRequest), count(session, IssuedKey)) == before


def test_dry_run_fragment_for_live_updates(base_admin: Browser) -> None:
    csrf, token = request_page(base_admin, "dr_test")
    page = base_admin.client.post(
        "/requests/new",
        data={
            "csrf_token": csrf,
            "form_token": token,
            "kind": "dr_test",
            "license_id": base_admin.license_id,
            "dr_test_date": "2026-03-02",
            "check": "1",
        },
        headers={**HTML, "X-Portal-Fragment": "checks"},
    )
    text = page.get_data(as_text=True)
    assert "<html" not in text and "would be refused (invalid_window)" in text


def test_replacement_request_issues_a_key_and_shows_its_case(
    base_admin: Browser, session: Session
) -> None:
    page = submit(base_admin, "replacement", host="sched2.acme.example")
    assert page.status_code == 302 and "/cases/CS-" in page.headers["Location"]
    text = base_admin.text(page.headers["Location"])
    case = session.scalar(select(KeyRequest).order_by(KeyRequest.id.desc()))
    assert case is not None and case.status == "granted" and case.host == "sched2.acme.example"
    assert "Key issued" in text and case.key_serial in text


def test_dr_test_request(base_admin: Browser, session: Session, clock: FakeClock) -> None:
    day = (clock.today + timedelta(days=10)).isoformat()
    page = submit(base_admin, "dr_test", dr_test_date=day)
    assert page.status_code == 302
    case = session.scalar(select(KeyRequest).order_by(KeyRequest.id.desc()))
    assert case is not None and case.status == "granted" and str(case.dr_test_date) == day


def test_temporary_request_on_premium(premium_admin: Browser, session: Session) -> None:
    page = submit(premium_admin, "temporary", reason="usage_spike")
    assert page.status_code == 302
    case = session.scalar(select(KeyRequest).order_by(KeyRequest.id.desc()))
    assert case is not None and case.status == "granted" and case.reason == "usage_spike"


def test_double_submit_issues_one_key(base_admin: Browser, session: Session) -> None:
    csrf, token = request_page(base_admin, "replacement")
    data = {
        "csrf_token": csrf,
        "form_token": token,
        "kind": "replacement",
        "license_id": base_admin.license_id,
        "confirm": "1",
    }
    keys_before = count(session, IssuedKey)
    first = base_admin.client.post("/requests/new", data=data, headers=HTML)
    second = base_admin.client.post("/requests/new", data=data, headers=HTML)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(session, IssuedKey) == keys_before + 1
    assert "already sent" in base_admin.text(second.headers["Location"])


def test_refusal_shows_words_case_number_and_escalation(
    base_admin: Browser, session: Session, clock: FakeClock
) -> None:
    page = submit(base_admin, "dr_test", dr_test_date=clock.today.isoformat())
    case = session.scalar(select(KeyRequest).order_by(KeyRequest.id.desc()))
    assert case is not None and case.status == "refused" and case.refusal_code == "invalid_window"
    text = base_admin.text(page.headers["Location"])
    assert "Request refused" in text and "invalid_window" in text and case.case_number in text
    assert "in advance" in text
    for reason in (
        "response_time_not_met",
        "handling_concern",
        "criticality_changed",
        "review_refusal",
    ):
        assert f'value="{reason}"' in text
    escalated = base_admin.post(
        f"/cases/{case.case_number}/escalate",
        {"reason": "handling_concern", "severity": "2", "note": "the test moved up"},
        csrf_from=f"/cases/{case.case_number}",
    )
    assert escalated.status_code == 302
    session.refresh(case)
    assert case.status == "escalated" and case.respond_by is not None and case.severity == 2
    # the seed's reason is the service's reason; the note is the customer's words only
    assert case.escalation_reason == "handling_concern"
    assert case.escalation_note == "the test moved up"
    text = base_admin.text(f"/cases/{case.case_number}")
    assert "Respond by" in text and "Next update due" in text
    # the support plan's words for Sev 1/2, with the number to call
    assert "Phone call is required to meet the service goal for Sev 2: call" in text
    again = base_admin.post(
        f"/cases/{case.case_number}/escalate",
        {"reason": "review_refusal", "severity": "2"},
        csrf_from=f"/cases/{case.case_number}",
    )
    assert again.status_code == 409 and "already escalated" in again.get_data(as_text=True)


def test_escalate_needs_post_and_a_known_reason(
    base_admin: Browser, clock: FakeClock, session: Session
) -> None:
    page = submit(base_admin, "dr_test", dr_test_date=clock.today.isoformat())
    number = page.headers["Location"].rsplit("/", 1)[1]
    assert base_admin.get(f"/cases/{number}/escalate").status_code == 405
    bad = base_admin.post(
        f"/cases/{number}/escalate",
        {"reason": "because", "severity": "3"},
        csrf_from=f"/cases/{number}",
    )
    assert bad.status_code == 422
    assert session.scalar(select(KeyRequest.status).where(KeyRequest.case_number == number)) == (
        "refused"
    )


def test_cases_are_paginated_newest_first(
    base_admin: Browser, analyst: ServiceContext, session: Session, world: World
) -> None:
    from licensesvc.issuance.key_requests import KeyRequestInput, request_key

    for _ in range(22):
        request_key(analyst, KeyRequestInput(license_id=world.base_license, kind="dr_test"))
    session.commit()
    first = base_admin.text("/cases")
    assert "Older cases" in first and "Newer cases" not in first
    second = base_admin.text("/cases?page=2")
    assert "Newer cases" in second and "Older cases" not in second
    numbers = session.scalars(
        select(KeyRequest.case_number)
        .where(KeyRequest.customer_id == world.base_customer)
        .order_by(KeyRequest.id.desc())
    ).all()
    assert numbers[0] in first and numbers[-1] in second and numbers[-1] not in first
    assert base_admin.get("/cases?page=9").status_code == 404


def test_api_tokens_create_shown_once_list_and_revoke(
    base_admin: Browser, session: Session, world: World
) -> None:
    nameless = base_admin.post("/tokens", {})
    assert nameless.status_code == 422
    assert "Give the token a name" in nameless.get_data(as_text=True)
    page = base_admin.post("/tokens", {"name": "nightly deploy"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "shown this once" in text
    assert page.headers["Cache-Control"] == "no-store"
    rec = session.scalar(select(ApiToken).where(ApiToken.customer_id == world.base_customer))
    assert rec is not None
    token = text.split('id="new-token" class="key-text" type="text" readonly value="')[1].split(
        '"'
    )[0]
    assert token.startswith(tokens.CUSTOMER_PREFIX)
    assert token not in base_admin.text("/tokens")  # listed by prefix, never again in full
    assert rec.prefix in base_admin.text("/tokens") and rec.name == "nightly deploy"
    assert "nightly deploy" in base_admin.text("/tokens")
    # the list's Revoke… asks first: a page naming the token, which revokes nothing
    ask = base_admin.text(f"/tokens/{rec.id}/revoke")
    assert "Revoke token “nightly deploy”?" in ask and "Yes, revoke it" in ask
    session.refresh(rec)
    assert rec.revoked_at is None
    revoked = base_admin.post(f"/tokens/{rec.id}/revoke", {}, csrf_from=f"/tokens/{rec.id}/revoke")
    assert revoked.status_code == 302
    session.refresh(rec)
    assert rec.revoked_at is not None


def test_cannot_revoke_another_customers_token(
    base_admin: Browser, analyst: ServiceContext, session: Session, world: World
) -> None:
    theirs, _ = tokens.create_token(analyst, customer_id=world.premium_customer)
    session.commit()
    assert base_admin.get(f"/tokens/{theirs.id}/revoke").status_code == 404
    page = base_admin.post(f"/tokens/{theirs.id}/revoke", {}, csrf_from="/tokens")
    assert page.status_code == 404
    session.refresh(theirs)
    assert theirs.revoked_at is None
    assert theirs.prefix not in base_admin.text("/tokens")


def test_errors_are_html_pages_in_the_portal_look(base_admin: Browser) -> None:
    for path in ("/no-such-page", "/keys/SN-NOPE/download/text", "/keys/SN-X/download/zip"):
        page = base_admin.get(path)
        assert page.status_code == 404, path
        assert page.content_type.startswith("text/html")
        text = page.get_data(as_text=True)
        assert "<title>Page not found (404)" in text and "Sign out" in text
    api = base_admin.client.get("/v1/nope")
    assert api.content_type == "application/problem+json"


def test_unexpected_error_is_an_html_500(app, base_admin: Browser, monkeypatch) -> None:
    from licensesvc.portal import queries

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "dashboard", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = base_admin.get("/")
    assert page.status_code == 500 and page.content_type.startswith("text/html")
    text = page.get_data(as_text=True)
    assert "Something went wrong" in text and "boom" not in text


def test_every_page_has_a_title_and_one_h1(base_admin: Browser, session: Session) -> None:
    key = session.scalar(select(IssuedKey).where(IssuedKey.license_id == base_admin.license_id))
    assert key is not None
    for path in (
        "/",
        "/licenses",
        f"/keys/{key.serial}",
        "/requests/new",
        "/requests/new?kind=replacement",
        "/requests/new?kind=dr_test",
        "/cases",
        f"/cases/{key.case_number}",
        "/tokens",
    ):
        text = base_admin.text(path)
        assert "<title>" in text and text.count("<h1") == 1, path


def test_retired_or_moved_license_is_listed(
    base_admin: Browser, analyst: ServiceContext, session: Session, world: World
) -> None:
    customers.create_license(analyst, world.base_customer, "JAMS Agent", 1, 10, "b.acme.example")
    session.commit()
    assert "b.acme.example" in base_admin.text("/licenses")


def local(moment: datetime, zone: str = "America/New_York") -> str:
    """A time as the portal shows it to a customer of that region: its zone named."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def test_escalated_case_shows_its_times_updates_and_phone_in_the_customers_zone(
    base_admin: Browser, analyst: ServiceContext, session: Session, clock: FakeClock
) -> None:
    page = submit(base_admin, "dr_test", dr_test_date=clock.today.isoformat())
    number = page.headers["Location"].rsplit("/", 1)[1]
    escalated = base_admin.post(
        f"/cases/{number}/escalate",
        {"reason": "review_refusal", "severity": "1", "note": "our DR test is today"},
        csrf_from=f"/cases/{number}",
    )
    assert escalated.status_code == 302
    case_updates.post_case_update(analyst, number, "We are looking at your DR window.")
    session.commit()
    case = session.scalar(select(KeyRequest).where(KeyRequest.case_number == number))
    assert case is not None and case.respond_by and case.next_update_due
    dashboard = base_admin.text("/")
    assert "Escalated cases" in dashboard and number in dashboard
    assert local(case.respond_by) in dashboard and local(case.next_update_due) in dashboard
    assert "phone call is required" in dashboard
    assert "America/New_York (EST/EDT)" in dashboard  # the zone is named
    text = base_admin.text(f"/cases/{number}")
    assert local(case.respond_by) in text and local(case.next_update_due) in text
    assert "We are looking at your DR window." in text  # the analyst's update
    assert "Phone call is required to meet the service goal for Sev 1: call" in text
    assert "UTC" not in text.split("<main")[1]  # every time is the customer's
    cases = base_admin.text("/cases")
    assert local(case.next_update_due) in cases


def test_tokens_list_last_use_and_expiry_in_the_customers_zone(
    base_admin: Browser, session: Session, world: World, clock: FakeClock
) -> None:
    page = base_admin.post("/tokens", {"name": "reports", "expires_in_days": "30"})
    text = page.get_data(as_text=True)
    token = text.split('readonly value="')[1].split('"')[0]
    used = base_admin.client.get("/v1/entitlements", headers={"Authorization": f"Bearer {token}"})
    assert used.status_code == 200
    session.expire_all()
    rec = session.scalar(select(ApiToken).where(ApiToken.customer_id == world.base_customer))
    assert rec is not None and rec.expires_at is not None and rec.last_used_at is not None
    assert rec.expires_at - rec.created_at == timedelta(days=30)
    listing = base_admin.text("/tokens")
    assert local(rec.expires_at) in listing and local(rec.last_used_at) in listing


def test_dashboard_shows_each_licenses_kinds_and_refreshes_an_out_of_date_key_in_one_click(
    base_admin: Browser, session: Session, world: World
) -> None:
    text = base_admin.text("/")
    assert "Today it can get:" in text and "DR-test keys left this contract year: 2" in text
    assert "Host moves left:" in text
    lic = session.get(License, world.base_license)
    assert lic is not None
    stale = session.scalar(
        select(IssuedKey).where(IssuedKey.license_id == lic.id, IssuedKey.superseded_by.is_(None))
    )
    assert stale is not None
    lic.agents = 50  # the records change; the signed key still says 10
    session.commit()
    page = base_admin.get("/")
    text = page.get_data(as_text=True)
    assert f"{stale.serial}</a> is out of date: agents: the key says 10, the records 50" in text
    form = text.split('class="refresh-form"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    assert fields["kind"] == "replacement" and fields["confirm"] == "1"
    keys_before = count(session, IssuedKey)
    done = base_admin.client.post("/requests/new", data=fields, headers=HTML)
    assert done.status_code == 302 and "/cases/CS-" in done.headers["Location"]
    again = base_admin.client.post("/requests/new", data=fields, headers=HTML)  # a double click
    assert again.headers["Location"] == done.headers["Location"]
    assert count(session, IssuedKey) == keys_before + 1
    assert "is out of date" not in base_admin.text("/")
