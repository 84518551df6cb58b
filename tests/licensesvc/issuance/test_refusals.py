"""A refused key request is a value, not an exception: request_key records the case and
returns the outcome, and the front end's unit of work commits it once, granted or refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from licensesvc.domain.errors import REFUSAL_STATUS, ValidationFailed
from licensesvc.issuance.key_requests import KeyRequestInput, request_key
from licensesvc.models import IssuedKey, KeyRequest
from licensesvc.platform.transactions import unit_of_work
from tests.licensesvc.service_helpers import ask, first_key


@pytest.fixture
def commits(contexts: Any) -> list[list[str]]:
    """The statuses of every case at each commit of the test's session."""
    seen: list[list[str]] = []

    def before_commit(session: Any) -> None:
        seen.append([c.status for c in session.scalars(select(KeyRequest))])

    event.listen(contexts.session, "before_commit", before_commit)
    return seen


def test_a_refusal_is_returned_with_its_code_and_case_number(world, contexts):
    out = ask(contexts.customer(world.base_customer), world.base_license, "temporary")
    assert out.refused and out.key is None
    assert out.refusal is not None
    assert out.refusal.code == "plan_not_eligible"
    assert REFUSAL_STATUS[out.refusal.code] == 403
    assert out.refusal.case_number == out.case.case_number
    assert out.refusal.message == out.case.refusal_message


def test_a_refused_request_is_committed_once_by_the_unit_of_work(world, contexts, commits):
    ctx = contexts.customer(world.base_customer)
    request = KeyRequestInput(world.base_license, "temporary", reason="usage_spike")
    out = unit_of_work(contexts.session, lambda: request_key(ctx, request))
    assert commits == [["refused"]]  # one commit, with the refused case in it
    assert out.refusal is not None and out.refusal.code == "plan_not_eligible"
    view = out.view(ctx.now())
    assert view.case_number == out.refusal.case_number
    assert view.refusal_message == out.refusal.message


def test_a_granted_request_is_committed_once_with_its_key(world, analyst, contexts):
    first_key(analyst, world.base_license)
    keys_at_commit: list[int] = []
    event.listen(
        contexts.session,
        "before_commit",
        lambda s: keys_at_commit.append(s.scalar(select(func.count(IssuedKey.id)))),
    )
    ctx = contexts.customer(world.base_customer)
    request = KeyRequestInput(world.base_license, "replacement")
    out = unit_of_work(contexts.session, lambda: request_key(ctx, request))
    assert keys_at_commit == [2]
    assert out.refusal is None
    assert out.key is not None and out.case.key_serial == out.key.serial


def test_nothing_is_committed_when_the_request_is_invalid(world, contexts, commits):
    with pytest.raises(ValidationFailed):
        unit_of_work(
            contexts.session,
            lambda: request_key(contexts.analyst(), KeyRequestInput(world.base_license, "gold")),
        )
    assert commits == []
    assert contexts.session.scalar(select(func.count(KeyRequest.id))) == 0
