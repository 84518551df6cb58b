"""The portal's DR-test request says which host the key is bound to, and "Escalate again"
starts from the case's own severity, shows what each severity means, takes a concern about
the handling at any time and otherwise answers with the API's words."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import keys
from licensesvc.domain import support_plan
from licensesvc.models import IssuedKey, KeyRequest
from tests.conftest import FakeClock
from tests.licensesvc.portal.conftest import Browser
from tests.licensesvc.portal.test_portal_pages import submit


def test_a_dr_test_request_without_a_host_binds_the_failover_host(
    base_admin: Browser, session: Session, clock: FakeClock
) -> None:
    chooser = html.unescape(base_admin.text("/requests/new"))
    assert "on your DR host: the license's failover host unless you name another" in chooser
    form = html.unescape(base_admin.text("/requests/new?kind=dr_test"))
    assert (
        "DR host (optional: leave empty for the license's failover host; required when the "
        "license has none)" in form
    )
    day = (clock.today + timedelta(days=10)).isoformat()
    checked = submit(base_admin, "dr_test", confirm=False, dr_test_date=day)
    text = html.unescape(checked.get_data(as_text=True))
    assert "bound to the DR host dr.acme.example, the license's failover host" in text
    page = submit(base_admin, "dr_test", dr_test_date=day)
    assert page.status_code == 302
    case = session.scalar(select(KeyRequest).order_by(KeyRequest.id.desc()))
    assert case is not None and case.status == "granted" and case.key_serial
    key = session.scalar(select(IssuedKey).where(IssuedKey.serial == case.key_serial))
    assert key is not None
    assert keys.decode_unverified(key.key_text).host == "dr.acme.example"


def _escalated(b: Browser, clock: FakeClock, severity: str) -> str:
    page = submit(b, "dr_test", dr_test_date=clock.today.isoformat())  # refused: too soon
    number = page.headers["Location"].rsplit("/", 1)[1]
    first = b.post(
        f"/cases/{number}/escalate",
        {"reason": "review_refusal", "severity": severity},
        csrf_from=f"/cases/{number}",
    )
    assert first.status_code == 302
    return number


def _selected_severity(page: str) -> str | None:
    select_html = page.split('name="severity"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option selected value="(\d)"|<option value="(\d)" selected', select_html)
    return None if found is None else (found.group(1) or found.group(2))


def test_escalate_again_defaults_to_the_cases_severity_and_explains_each(
    base_admin: Browser, clock: FakeClock, session: Session
) -> None:
    number = _escalated(base_admin, clock, "1")
    page = html.unescape(base_admin.text(f"/cases/{number}"))
    assert "Escalate again" in page
    assert _selected_severity(page) == "1"
    for s in support_plan.SEVERITIES:  # the seed's definition of each, where one is chosen
        assert f"{s.level} - {s.name}" in page and s.definition in page
    # a refusal is already under review: not offered again; no reason is preselected
    assert 'value="review_refusal"' not in page
    assert "checked" not in page.split('name="reason"', 1)[1].split("</fieldset>", 1)[0]


def test_a_careless_escalate_again_changes_nothing_and_says_why_as_the_api_does(
    base_admin: Browser, clock: FakeClock, session: Session
) -> None:
    number = _escalated(base_admin, clock, "1")
    page = base_admin.text(f"/cases/{number}")
    # submitted as rendered: no reason chosen, the severity as preselected
    again = base_admin.post(
        f"/cases/{number}/escalate",
        {"severity": _selected_severity(page) or ""},
        csrf_from=f"/cases/{number}",
    )
    assert again.status_code == 409
    words = html.unescape(again.get_data(as_text=True))
    assert (
        f"case {number} is already escalated and on time; escalate it again when it is "
        "overdue, its severity changes, or you have a concern about how it is handled "
        "(handling_concern)"
    ) in words
    case = session.scalar(select(KeyRequest).where(KeyRequest.case_number == number))
    assert case is not None and case.severity == 1 and case.escalation_reason == "review_refusal"


def test_a_handling_concern_escalates_again_while_on_time(
    base_admin: Browser, clock: FakeClock, session: Session
) -> None:
    number = _escalated(base_admin, clock, "2")
    again = base_admin.post(
        f"/cases/{number}/escalate",
        {"reason": "handling_concern", "severity": "2", "note": "nobody called back"},
        csrf_from=f"/cases/{number}",
    )
    assert again.status_code == 302
    session.expire_all()
    case = session.scalar(select(KeyRequest).where(KeyRequest.case_number == number))
    assert case is not None and case.escalation_reason == "handling_concern"
    assert case.severity == 2 and case.escalation_note == "nobody called back"
