"""/v1/webhooks: a customer registers endpoints for its own events (the secret in that answer
only), sees and manages only its own, and a refused URL is problem+json `validation_error`
that stores nothing; an analyst sees every endpoint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from licensesvc.models import WebhookDelivery
from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller, assert_problem

PUBLIC = "https://1.1.1.1/hooks"


def test_a_customer_registers_its_own_endpoint_and_hears_only_its_events(
    as_base: Caller, as_premium: Caller, as_analyst: Caller, world: World, session
) -> None:
    r = as_base.post("/v1/webhooks", {"url": PUBLIC, "events": ["key.issued", "case.refused"]})
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["secret"].startswith("whsec_") and made["customer_id"] == world.base_customer
    [listed] = as_base.read("/v1/webhooks")
    assert "secret" not in listed and listed["id"] == made["id"]
    assert as_premium.read("/v1/webhooks") == []
    assert [w["id"] for w in as_analyst.read("/v1/webhooks")] == [made["id"]]
    as_analyst.issue("standard", license_id=world.premium_license)  # not Acme's
    as_analyst.issue("standard", license_id=world.base_license)
    events = session.scalars(select(WebhookDelivery.event)).all()
    assert events == ["key.issued"]
    [delivery] = as_base.read(f"/v1/webhooks/{made['id']}/deliveries")
    assert delivery["status"] == "pending" and delivery["message_id"].startswith("msg_")
    rotated = as_base.post(f"/v1/webhooks/{made['id']}/rotate-secret").get_json()
    assert rotated["secret"] != made["secret"]
    assert as_base.post(f"/v1/webhooks/{made['id']}/disable").get_json()["status"] == "disabled"
    assert_problem(as_base.post(f"/v1/webhooks/{made['id']}/disable"), 409, "invalid_state")


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/", "http://10.0.0.1/", "http://localhost/", "https://127.0.0.1/"],
)
def test_a_refused_url_is_a_validation_error_and_stores_nothing(as_base: Caller, url: str) -> None:
    problem = assert_problem(
        as_base.post("/v1/webhooks", {"url": url, "events": ["key.issued"]}),
        422,
        "validation_error",
    )
    assert "public addresses" in problem["detail"]
    assert as_base.read("/v1/webhooks") == []


def test_a_customer_cannot_register_for_another_customer(as_base: Caller, world: World) -> None:
    r = as_base.post(
        "/v1/webhooks",
        {"url": PUBLIC, "events": ["key.issued"], "customer_id": world.premium_customer},
    )
    assert_problem(r, 404, "not_found")
    assert_problem(
        as_base.post("/v1/webhooks", {"url": PUBLIC, "events": ["key.made"]}),
        422,
        "validation_error",
    )
