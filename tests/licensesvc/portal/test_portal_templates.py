"""The portal's templates render the read models themselves, under StrictUndefined: a
template that reads a field the read model does not have fails instead of rendering nothing
(which is how the dashboard's DR-test quota line read a `frees_at` that never existed)."""

from __future__ import annotations

import re

import jinja2
import pytest
from flask import Flask

from licensesvc import issuance
from licensesvc.platform.context import ServiceContext
from licensesvc.portal.rendering import portal_environment
from tests.conftest import World
from tests.licensesvc.portal.conftest import Browser


def test_a_missing_field_fails_to_render(app: Flask, analyst: ServiceContext, world: World) -> None:
    report = issuance.entitlement_report(analyst, world.base_customer)
    env = portal_environment(app)
    assert env.from_string("{{ rep.as_of }}").render(rep=report) == str(report.as_of)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{% if rep.quotas.dr_test.frees_at %}x{% endif %}").render(rep=report)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ no_such_name }}").render()


def test_the_dashboard_says_when_the_dr_test_count_restarts(
    base_admin: Browser, analyst: ServiceContext, world: World
) -> None:
    report = issuance.entitlement_report(analyst, world.base_customer)
    dr = report.quotas.dr_test
    assert dr is not None and dr.resets_on is not None
    text = base_admin.text("/")
    line = re.search(r"DR-test keys this contract year: (\d+) of (\d+) left([^.]*)\.", text)
    assert line is not None
    assert (int(line[1]), int(line[2])) == (dr.limit - dr.used, dr.limit)
    assert "the count restarts" in line[3]
    assert str(dr.resets_on.year) in line[3]
