"""The portal's webhooks page, through the outreach façade as /v1/webhooks: a customer's admin
adds an endpoint (the secret shown this once), sees deliveries, rotates, disables and deletes
it; a URL the SSRF rules refuse is said on the form and adds nothing; another customer's
endpoint is not found."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensesvc.models import WebhookDelivery, WebhookEndpoint
from licensesvc.platform import outbox
from licensesvc.platform.context import ServiceContext
from tests.conftest import World
from tests.licensesvc.portal.conftest import Browser

URL = "https://93.184.216.34/licensesvc"  # a public address: no DNS look-up in the test
SECRET = re.compile(r'value="(whsec_[A-Za-z0-9+/=]+)"')


def add(browser: Browser, url: str = URL, events: tuple[str, ...] = ("key.issued",)) -> str:
    page = browser.post("/webhooks", {"url": url, "events": list(events)})
    return page.get_data(as_text=True) + f"\n<!-- status {page.status_code} -->"


def endpoint_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0


def test_add_shows_the_secret_once_then_lists_the_endpoint(
    premium_admin: Browser, session: Session
) -> None:
    assert "No endpoints yet." in premium_admin.text("/webhooks")
    page = add(premium_admin, events=("key.issued", "case.escalated"))
    (secret,) = SECRET.findall(page)
    assert "shown this once" in page and URL in page
    again = premium_admin.text("/webhooks")
    assert secret not in again and "whsec_" not in again
    assert URL in again and "key.issued, case.escalated" in again
    stored = session.scalars(select(WebhookEndpoint.secret)).one()
    assert secret not in stored


def test_a_refused_url_is_said_on_the_form_and_adds_nothing(
    premium_admin: Browser, session: Session
) -> None:
    page = add(premium_admin, url="https://10.0.0.1/hook")
    assert "status 422" in page and "private" in page
    page = add(premium_admin, events=())
    assert "status 422" in page and "Choose at least one event." in page
    assert endpoint_count(session) == 0


def test_deliveries_show_and_rotate_disable_delete_act(
    premium_admin: Browser, analyst: ServiceContext, world: World, session: Session
) -> None:
    (first,) = SECRET.findall(add(premium_admin))
    endpoint_id = session.scalars(select(WebhookEndpoint.id)).one()
    outbox.publish(analyst, outbox.WebhookEvent.KEY_ISSUED, world.premium_customer, "key:K", {})
    session.commit()
    page = premium_admin.text("/webhooks")
    assert re.search(r"key\.issued</code></th>\s*<td><code>" + re.escape(URL), page)
    rotated = premium_admin.post(
        f"/webhooks/{endpoint_id}/rotate-secret", {}, csrf_from="/webhooks"
    )
    (second,) = SECRET.findall(rotated.get_data(as_text=True))
    assert second != first
    disabled = premium_admin.post(f"/webhooks/{endpoint_id}/disable", {}, csrf_from="/webhooks")
    assert disabled.status_code == 302
    page = premium_admin.text("/webhooks")
    assert "is disabled" in page and "badge-disabled" in page
    assert session.scalars(select(WebhookDelivery.status)).all() == ["failed"]
    deleted = premium_admin.post(f"/webhooks/{endpoint_id}/delete", {}, csrf_from="/webhooks")
    assert deleted.status_code == 302
    assert "is deleted" in premium_admin.text("/webhooks")
    assert endpoint_count(session) == 0


def test_another_customers_endpoint_is_not_found(
    premium_admin: Browser, base_admin: Browser, session: Session
) -> None:
    add(premium_admin)
    endpoint_id = session.scalars(select(WebhookEndpoint.id)).one()
    answer = base_admin.post(f"/webhooks/{endpoint_id}/delete", {}, csrf_from="/webhooks")
    assert answer.status_code == 404
    assert endpoint_count(session) == 1
