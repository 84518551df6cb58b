"""identity/portal.py: the portal's sessions and request-form tokens, as the portal's web layer
uses them (licensesvc/portal/sessions.py and views.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from licensesvc import identity
from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock, World

PASSWORD = "correct horse battery"


def test_a_session_names_its_user_until_it_ends_and_a_disabled_user_shows(
    world: World, analyst: ServiceContext, session: Session, clock: FakeClock
) -> None:
    user = identity.create_user(analyst, world.base_customer, "a@acme.example", PASSWORD)
    other = identity.create_user(analyst, world.base_customer, "b@acme.example", PASSWORD)
    now = clock().replace(microsecond=0)
    identity.start_portal_session(session, "h1", user.id, now)
    identity.start_portal_session(session, "h2", user.id, now)
    identity.start_portal_session(session, "h3", other.id, now)
    found = identity.find_portal_session(session, "h1")
    assert found == identity.PortalSessionState(
        user.id, "a@acme.example", world.base_customer, False, now, now
    )
    later = now + timedelta(minutes=5)
    identity.touch_portal_session(session, "h1", later)
    assert identity.find_portal_session(session, "h1").last_seen_at == later
    identity.end_portal_session(session, "h1")
    assert identity.find_portal_session(session, "h1") is None
    assert identity.find_portal_session(session, "h2") is not None
    identity.end_portal_sessions_of(session, user.id)
    assert identity.find_portal_session(session, "h2") is None
    assert identity.find_portal_session(session, "h3") is not None
    assert identity.find_portal_session(session, "nothing") is None
    identity.disable_user(analyst, other.id)
    # disabling ends the user's sessions; one started since shows the user as disabled
    identity.start_portal_session(session, "h4", other.id, now)
    assert identity.find_portal_session(session, "h4").user_disabled


def test_a_form_token_is_claimed_once_and_remembers_its_case(
    world: World, analyst: ServiceContext, session: Session, clock: FakeClock
) -> None:
    user = identity.create_user(analyst, world.base_customer, "a@acme.example", PASSWORD)
    session.commit()
    assert identity.find_form_token(session, "t1") is None
    assert identity.claim_form_token(session, "t1", user.id, clock())
    assert identity.find_form_token(session, "t1") == identity.FormTokenUse(user.id, None)
    identity.record_form_case(session, "t1", "CASE-1")
    session.commit()
    assert identity.find_form_token(session, "t1") == identity.FormTokenUse(user.id, "CASE-1")
    # a second claim of the same token is refused, and the transaction is rolled back
    assert not identity.claim_form_token(session, "t1", user.id, clock())
    assert identity.find_form_token(session, "t1") == identity.FormTokenUse(user.id, "CASE-1")
