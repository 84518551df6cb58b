"""A customer mid-move is told before a request cuts the old server off: "your key on HOST
stops working now", and nothing is issued until they confirm; a refresh on the same host
never asks (it ends no overlap)."""

from __future__ import annotations

import html

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from licensesvc.models import IssuedKey, KeyRequest
from tests.licensesvc.portal.conftest import HTML, Browser, csrf_of, form_token_of


def _post(b: Browser, **fields: str) -> TestResponse:
    page = b.get(f"/requests/new?kind=replacement&license_id={b.license_id}")
    data = {
        "csrf_token": csrf_of(page),
        "form_token": form_token_of(page),
        "kind": "replacement",
        "license_id": str(b.license_id),
        "confirm": "1",
        **fields,
    }
    return b.client.post("/requests/new", data=data, headers=HTML)


def _keys(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(IssuedKey)) or 0


def test_a_move_during_an_overlap_asks_before_the_old_server_stops(
    base_admin: Browser, session: Session
) -> None:
    assert _post(base_admin, host="new.acme.example").status_code == 302  # the move
    before, cases = _keys(session), session.scalar(select(func.count(KeyRequest.id)))
    asked = _post(base_admin, host="third.acme.example")  # another move, mid-overlap
    assert asked.status_code == 409
    text = html.unescape(asked.get_data(as_text=True))
    assert "Your key on sched.acme.example stops working now." in text
    assert 'name="confirm_stops"' in text
    assert _keys(session) == before  # nothing issued, no case recorded
    assert session.scalar(select(func.count(KeyRequest.id))) == cases
    # the dry run says the same
    checked = _post(base_admin, host="third.acme.example", confirm="", check="1")
    assert "your key on sched.acme.example stops working now" in html.unescape(
        checked.get_data(as_text=True)
    )
    confirmed = _post(base_admin, host="third.acme.example", confirm_stops="1")
    assert confirmed.status_code == 302
    assert _keys(session) == before + 1


def test_a_refresh_on_the_same_host_never_asks(base_admin: Browser, session: Session) -> None:
    assert _post(base_admin, host="new.acme.example").status_code == 302  # the move
    before = _keys(session)
    refreshed = _post(base_admin, host="new.acme.example")
    assert refreshed.status_code == 302
    assert _keys(session) == before + 1
