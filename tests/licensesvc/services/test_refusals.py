"""licensesvc/issuance/refusals.py: a refused request is committed as a case, then reported."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from licensesvc.domain.errors import ValidationFailed
from licensesvc.issuance.errors import KeyRequestRefused
from licensesvc.issuance.key_requests import KeyRequestInput
from licensesvc.issuance.refusals import request_and_record
from licensesvc.models import IssuedKey, KeyRequest
from licensesvc.readmodels import CaseView
from tests.licensesvc.services.service_helpers import ask, first_key


def test_refusal_raises_with_case_number_after_commit(world, contexts):
    out = ask(contexts.customer(world.base_customer), world.base_license, "temporary")
    with pytest.raises(KeyRequestRefused) as err:
        out.raise_if_refused()
    assert err.value.code == "plan_not_eligible"
    assert err.value.status == 403
    assert err.value.case_number == out.case.case_number


def test_a_refused_request_is_committed_before_the_refusal_is_raised(world, contexts):
    ctx = contexts.customer(world.base_customer)
    seen_at_commit: list[list[str]] = []

    def commit() -> None:
        seen_at_commit.append([c.status for c in contexts.session.scalars(select(KeyRequest))])

    request = KeyRequestInput(world.base_license, "temporary", reason="usage_spike")
    with pytest.raises(KeyRequestRefused) as err:
        request_and_record(ctx, request, commit=commit)
    assert seen_at_commit == [["refused"]]  # one commit, with the refused case in it
    assert err.value.code == "plan_not_eligible"
    assert isinstance(err.value.case, CaseView)
    assert err.value.case.case_number == err.value.case_number
    assert err.value.case.refusal_message == err.value.message


def test_a_granted_request_is_committed_and_returned_with_its_key(world, analyst, contexts):
    first_key(analyst, world.base_license)
    commits: list[int] = []
    out = request_and_record(
        contexts.customer(world.base_customer),
        KeyRequestInput(world.base_license, "replacement"),
        commit=lambda: commits.append(contexts.session.scalar(select(func.count(IssuedKey.id)))),
    )
    assert commits == [2]
    assert out.key is not None and out.case.key_serial == out.key.serial


def test_nothing_is_committed_when_the_request_is_invalid(world, contexts):
    commits: list[None] = []
    with pytest.raises(ValidationFailed):
        request_and_record(
            contexts.analyst(),
            KeyRequestInput(world.base_license, "gold"),
            commit=lambda: commits.append(None),
        )
    assert commits == []
    assert contexts.session.scalar(select(func.count(KeyRequest.id))) == 0
