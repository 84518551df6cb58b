"""Signing in and out: argon2id with rehash, CSRF on every form, throttling, server-side
sessions with a fresh id, idle and absolute timeouts, cookie flags, password reset."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensesvc.identity import users
from licensesvc.models import PasswordResetToken, PortalSession, User
from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock
from tests.licensesvc.portal.conftest import HTML, PASSWORD, Browser, LimiterTime


def sessions_of(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PortalSession)) or 0


def test_signed_out_root_leads_to_the_sign_in_form(anonymous: Browser) -> None:
    page = anonymous.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    form = anonymous.text("/login")
    for name in ('name="email"', 'name="password"', 'name="csrf_token"', "<title>Sign in"):
        assert name in form


def test_sign_in_shows_the_dashboard_and_sets_a_safe_cookie(anonymous: Browser) -> None:
    page = anonymous.sign_in()
    assert page.status_code == 302 and page.headers["Location"] == "/"
    cookie = next(v for k, v in page.headers.items() if k == "Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Acme" in anonymous.text("/")


def test_cookie_is_secure_unless_configured_off(app, anonymous: Browser) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    page = anonymous.sign_in()
    assert "Secure" in page.headers["Set-Cookie"]


def test_wrong_password_is_refused_without_saying_which_part(
    anonymous: Browser, session: Session
) -> None:
    page = anonymous.sign_in("not the password")
    assert page.status_code == 401
    assert "Wrong email or password." in page.get_data(as_text=True)
    unknown = anonymous.post("/login", {"email": "who@nowhere.example", "password": "x" * 12})
    assert unknown.status_code == 401
    assert sessions_of(session) == 0
    assert anonymous.get("/").status_code == 302


def test_sign_in_without_csrf_token_changes_nothing(anonymous: Browser, session: Session) -> None:
    page = anonymous.client.post(
        "/login", data={"email": anonymous.email, "password": PASSWORD}, headers=HTML
    )
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "This form has expired or did not come from this site" in text
    assert "<title>" in text and "application/problem+json" not in page.content_type
    assert sessions_of(session) == 0


def test_every_post_needs_the_csrf_token(base_admin: Browser, session: Session) -> None:
    for path in ("/logout", "/tokens", "/requests/new"):
        page = base_admin.client.post(path, data={"kind": "replacement"}, headers=HTML)
        assert page.status_code == 400, path
    assert sessions_of(session) == 1  # still signed in: the forged sign-out did nothing
    assert base_admin.get("/").status_code == 200


@pytest.mark.sign_in_limits(email="3/minute", address="5/minute")
def test_sign_in_attempts_are_throttled_per_email(anonymous: Browser) -> None:
    for _ in range(3):
        assert anonymous.sign_in("wrong password!").status_code == 401
    page = anonymous.sign_in()  # even the right password waits
    assert page.status_code == 429
    assert 1 <= int(page.headers["Retry-After"]) <= 61
    text = page.get_data(as_text=True)
    assert "Too many sign-in attempts. Try again in" in text
    assert "<title>Too many attempts" in text and 'class="site-header"' in text
    assert page.content_type.startswith("text/html")
    # another email from the same address still gets in (under the address limit)
    other = anonymous.post("/login", {"email": "admin@globex.example", "password": PASSWORD})
    assert other.status_code == 302


@pytest.mark.sign_in_limits(email="10/minute", address="3/minute")
def test_sign_in_attempts_are_throttled_per_address(anonymous: Browser) -> None:
    for n in range(3):
        page = anonymous.post("/login", {"email": f"guess{n}@acme.example", "password": "x" * 12})
        assert page.status_code == 401
    assert anonymous.sign_in().status_code == 429


@pytest.mark.sign_in_limits(email="2/minute")
def test_throttle_window_passes(anonymous: Browser, limiter_time: LimiterTime) -> None:
    for _ in range(2):
        anonymous.sign_in("wrong password!")
    assert anonymous.sign_in().status_code == 429
    limiter_time.advance(seconds=121)  # the sliding window and the one before it
    assert anonymous.sign_in().status_code == 302


def test_sign_in_gives_a_fresh_session_id(anonymous: Browser) -> None:
    anonymous.get("/login")
    before = anonymous.client.get_cookie("licensesvc_portal")
    anonymous.sign_in()
    after = anonymous.client.get_cookie("licensesvc_portal")
    assert after is not None and (before is None or before.value != after.value)


def test_sign_out_ends_the_session_on_the_server(base_admin: Browser, session: Session) -> None:
    stolen = base_admin.client.get_cookie("licensesvc_portal")
    assert stolen is not None
    page = base_admin.post("/logout", csrf_from="/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    assert sessions_of(session) == 0
    # a copy of the old cookie no longer signs anyone in
    base_admin.client.set_cookie("licensesvc_portal", stolen.value)
    assert base_admin.get("/").status_code == 302


def test_sign_out_is_not_possible_with_get(base_admin: Browser, session: Session) -> None:
    assert base_admin.get("/logout").status_code == 405
    assert sessions_of(session) == 1


def test_idle_timeout(app, base_admin: Browser, clock: FakeClock, session: Session) -> None:
    clock.advance(minutes=app.config["PORTAL_IDLE_MINUTES"] - 1)
    assert base_admin.get("/").status_code == 200  # activity keeps it alive
    clock.advance(minutes=app.config["PORTAL_IDLE_MINUTES"] - 1)
    assert base_admin.get("/").status_code == 200
    clock.advance(minutes=app.config["PORTAL_IDLE_MINUTES"] + 1)
    page = base_admin.get("/licenses")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert "Your session ended" in base_admin.text("/login")
    assert sessions_of(session) == 0


def test_absolute_timeout(app, base_admin: Browser, clock: FakeClock) -> None:
    app.config["PORTAL_ABSOLUTE_HOURS"] = 2
    for _ in range(6):  # active every 20 minutes for 2 hours: never idle
        clock.advance(minutes=20)
        assert base_admin.get("/").status_code == 200
    clock.advance(minutes=1)
    assert base_admin.get("/").status_code == 302


def test_next_stays_on_this_site(anonymous: Browser) -> None:
    page = anonymous.post(
        "/login?next=//evil.example/x",
        {"email": anonymous.email, "password": PASSWORD},
        csrf_from="/login",
    )
    assert page.headers["Location"] == "/"
    anonymous.post("/logout", csrf_from="/")
    page = anonymous.post(
        "/login?next=/cases", {"email": anonymous.email, "password": PASSWORD}, csrf_from="/login"
    )
    assert page.headers["Location"] == "/cases"


def test_old_argon2_parameters_are_rehashed_at_sign_in(
    anonymous: Browser, session: Session
) -> None:
    user = session.scalar(select(User).where(User.email == anonymous.email))
    assert user is not None
    older = PasswordHasher(time_cost=3, memory_cost=12 * 1024, parallelism=1)
    user.password_hash = older.hash(PASSWORD)
    session.commit()
    assert anonymous.sign_in().status_code == 302
    session.refresh(user)
    assert f"m={users.ARGON2_MEMORY_KIB},t={users.ARGON2_TIME_COST}" in user.password_hash
    assert user.password_hash.startswith("$argon2id$")


def test_password_reset_link_sets_a_new_password_once(
    anonymous: Browser, analyst: ServiceContext, session: Session, clock: FakeClock
) -> None:
    user = users.find_user(analyst, anonymous.email)
    rec, token = users.start_password_reset(analyst, user)
    session.commit()
    assert rec.token_hash != token and token not in rec.token_hash
    path = f"/reset-password/{token}"
    assert "Set a new password" in anonymous.text(path)
    short = anonymous.post(path, {"password": "short", "confirm": "short"})
    assert short.status_code == 422
    new = "a much better passphrase"
    page = anonymous.post(path, {"password": new, "confirm": new})
    assert page.status_code == 302
    assert anonymous.sign_in().status_code == 401  # the old password is gone
    assert anonymous.sign_in(new).status_code == 302
    anonymous.post("/logout", csrf_from="/")
    used = anonymous.get(path)
    assert used.status_code == 404 and "does not work" in used.get_data(as_text=True)


def test_password_reset_link_expires(
    anonymous: Browser, analyst: ServiceContext, session: Session, clock: FakeClock
) -> None:
    _, token = users.start_password_reset(analyst, users.find_user(analyst, anonymous.email))
    session.commit()
    clock.advance(hours=25)
    assert anonymous.get(f"/reset-password/{token}").status_code == 404
    assert session.scalar(select(func.count()).select_from(PasswordResetToken)) == 1


def test_password_reset_ends_existing_sessions(
    base_admin: Browser, analyst: ServiceContext, session: Session
) -> None:
    _, token = users.start_password_reset(analyst, users.find_user(analyst, base_admin.email))
    session.commit()
    other = Browser(base_admin.client.application.test_client(), base_admin.email, 0)
    new = "a much better passphrase"
    other.post(f"/reset-password/{token}", {"password": new, "confirm": new})
    assert base_admin.get("/").status_code == 302


def test_demo_portal_logins_work(app, analyst: ServiceContext, session: Session) -> None:
    from licensesvc.demo import load_demo

    made = load_demo(analyst)
    session.commit()
    for customer in made["customers"]:
        b = Browser(app.test_client(), customer["portal_email"], customer["license_id"])
        assert b.sign_in(customer["portal_password"]).status_code == 302
        assert customer["name"] in b.text("/")


def test_a_disabled_user_cannot_sign_in_and_their_open_session_ends(
    base_admin: Browser, analyst: ServiceContext, session: Session
) -> None:
    assert base_admin.get("/").status_code == 200
    other = Browser(base_admin.client.application.test_client(), base_admin.email, 0)
    assert other.sign_in().status_code == 302
    user = users.find_user(analyst, base_admin.email)
    users.disable_user(analyst, user.id, "left the company")
    session.commit()
    assert sessions_of(session) == 0
    for browser in (base_admin, other):
        page = browser.get("/")
        assert page.status_code == 302 and "/login" in page.headers["Location"]
    # the right password gets what a wrong one gets: nothing says the account exists
    page = other.sign_in()
    assert page.status_code == 401
    assert "Wrong email or password." in page.get_data(as_text=True)
    assert sessions_of(session) == 0
    assert user.last_signed_in_at is not None  # from the sign-ins before


def test_a_session_of_a_user_disabled_behind_its_back_is_refused(
    base_admin: Browser, session: Session
) -> None:
    """Even if a session row outlived the disabling (it is deleted with it), the per-request
    load refuses a disabled user."""
    user = session.scalars(select(User).where(User.email == base_admin.email)).one()
    user.disabled_at = user.created_at
    session.commit()
    assert sessions_of(session) == 1
    assert base_admin.get("/").status_code == 302
