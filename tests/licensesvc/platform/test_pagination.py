"""Pages over 1,000 records: every record on exactly one page, newest first, totals right; the
same pages as flask-smorest's X-Pagination header and as the CLI's "more pages" line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.pagination import echo_more_pages, page_options
from licensesvc.api.blueprint import ApiBlueprint
from licensesvc.api.pagination import PAGE_LIMITS, page_of, pagination_header
from licensesvc.domain.errors import ValidationFailed
from licensesvc.models import Customer
from licensesvc.platform.pagination import Page, paginate

ROWS = 1000


@pytest.fixture
def customers(session: Session) -> list[int]:
    """1,000 customers (and their ids, oldest first)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [Customer(name=f"Customer {n:04d}", region="na", created_at=at) for n in range(ROWS)]
    session.add_all(rows)
    session.flush()
    return [c.id for c in rows]


def page_customers(session: Session, page: int = 1, page_size: int = 50) -> Page[Customer]:
    return paginate(session, select(Customer), page, page_size)


@pytest.mark.parametrize("page_size", [1, 7, 50, 333, 500])
def test_every_record_is_on_exactly_one_page_newest_first(session, customers, page_size):
    seen: list[int] = []
    page_number = 1
    while True:
        page = page_customers(session, page_number, page_size)
        assert page.total == ROWS
        assert page.total_pages == -(-ROWS // page_size)
        seen += [c.id for c in page.items]
        if not page.has_next:
            break
        assert len(page.items) == page_size
        page_number += 1
    assert page_number == page.total_pages
    assert seen == sorted(customers, reverse=True)  # each once, newest first


def test_total_counts_the_filtered_query(session, customers):
    filtered = select(Customer).where(Customer.name.like("Customer 00%"))  # 0000..0099
    page = paginate(session, filtered, 2, 30)
    assert (page.total, page.total_pages, page.has_next) == (100, 4, True)
    assert [c.name for c in page.items][:2] == ["Customer 0069", "Customer 0068"]


def test_a_page_past_the_end_is_empty_and_says_so(session, customers):
    page = page_customers(session, 21, 50)
    assert page.items == () and page.total == ROWS and not page.has_next
    assert page.previous_page is None


def test_an_empty_list_has_no_pages(session):
    page = page_customers(session)
    assert (page.items, page.total, page.total_pages, page.has_next) == ((), 0, 0, False)


@pytest.mark.parametrize(
    ("page", "page_size", "message"),
    [
        (0, 50, "page starts at 1, not 0"),
        (-3, 50, "page starts at 1, not -3"),
        (1, 0, "page_size is 1 to 500, not 0"),
        (1, 501, "page_size is 1 to 500, not 501"),
    ],
)
def test_bad_page_parameters_are_refused_with_a_clear_message(session, page, page_size, message):
    with pytest.raises(ValidationFailed) as raised:
        page_customers(session, page, page_size)
    assert raised.value.code == "validation_error"
    assert raised.value.message == message


def test_pages_of_one_column_need_an_order(session, customers):
    with pytest.raises(ValueError, match="give order_by"):
        paginate(session, select(func.lower(Customer.name)), 1, 10)
    page = paginate(session, select(Customer.name), 1, 3, order_by=[Customer.name.asc()])
    assert page.items == ("Customer 0000", "Customer 0001", "Customer 0002")


# -- the API's X-Pagination header ---------------------------------------------------------


@pytest.fixture
def api_client(session: Session) -> Any:
    app = Flask("pagination-test")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = ApiBlueprint("customers", __name__)

    @blp.route("/customers")
    class Customers(MethodView):
        @blp.response(200)
        @blp.paginate(**PAGE_LIMITS)
        def get(self, pagination_parameters: Any) -> list[int]:
            page = page_of(pagination_parameters, page_customers, session)
            return [c.id for c in page.items]

    @blp.route("/customers-by-hand")
    class ByHand(MethodView):
        def get(self) -> Any:
            page = page_customers(session, 3, 400)
            return [c.id for c in page.items], 200, pagination_header(page)

    api.register_blueprint(blp)
    return app.test_client()


def test_the_api_reads_every_record_once_across_pages(api_client, customers):
    seen: list[int] = []
    page = 1
    while True:
        r = api_client.get(f"/customers?page={page}&page_size=300")
        assert r.status_code == 200
        meta = json.loads(r.headers["X-Pagination"])
        assert meta["total"] == ROWS and meta["total_pages"] == 4 and meta["page"] == page
        seen += r.get_json()
        if "next_page" not in meta:
            break
        page = meta["next_page"]
    assert seen == sorted(customers, reverse=True)
    assert meta == {
        "total": ROWS,
        "total_pages": 4,
        "first_page": 1,
        "last_page": 4,
        "page": 4,
        "previous_page": 3,
    }


def test_the_api_defaults_to_50_and_refuses_more_than_500(api_client, customers):
    r = api_client.get("/customers")
    assert len(r.get_json()) == 50
    assert json.loads(r.headers["X-Pagination"])["next_page"] == 2
    assert api_client.get("/customers?page_size=501").status_code == 422
    assert api_client.get("/customers?page=0").status_code == 422


def test_a_view_can_set_the_header_itself(api_client, customers):
    r = api_client.get("/customers-by-hand")
    assert len(r.get_json()) == 200
    assert json.loads(r.headers["X-Pagination"]) == {
        "total": ROWS,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 3,
        "previous_page": 2,
    }


# -- the CLI's --page, --page-size and "more pages" line ---------------------------------


@pytest.fixture
def list_command(session: Session) -> click.Command:
    @click.command()
    @page_options
    @click.option("--json", "as_json", is_flag=True)
    def customers(page: int, page_size: int, as_json: bool) -> None:
        found = page_customers(session, page, page_size)
        if as_json:
            click.echo(json.dumps([c.id for c in found.items]))
        else:
            for c in found.items:
                click.echo(c.name)
        echo_more_pages(found, "customers")

    return customers


def test_the_cli_says_when_more_pages_follow_on_stderr(list_command, customers):
    result = CliRunner().invoke(list_command, ["--page-size", "400"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "Customer 0999"
    assert len(result.stdout.splitlines()) == 400
    assert result.stderr == "page 1 of 3 (1000 customers); next: --page 2\n"
    last = CliRunner().invoke(list_command, ["--page-size", "400", "--page", "3"])
    assert len(last.stdout.splitlines()) == 200 and last.stderr == ""


def test_the_cli_json_body_stays_a_list_and_every_record_appears_once(list_command, customers):
    seen: list[int] = []
    page = 1
    while True:
        result = CliRunner().invoke(
            list_command, ["--json", "--page", str(page), "--page-size", "333"]
        )
        assert result.exit_code == 0
        seen += json.loads(result.stdout)
        if "next: --page" not in result.stderr:
            break
        page += 1
    assert page == 4 and seen == sorted(customers, reverse=True)


def test_the_cli_says_when_a_page_lies_past_the_end(list_command, customers):
    result = CliRunner().invoke(list_command, ["--page", "30"])
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "page 30 is past the last page, 20 (1000 customers); try --page 20\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--page", "0"], "Invalid value for '--page': 0 is not in the range x>=1."),
        (["--page-size", "501"], "Invalid value for '--page-size': 501 is not in the range"),
    ],
)
def test_the_cli_refuses_bad_page_options(list_command, customers, args, message):
    result = CliRunner().invoke(list_command, args)
    assert result.exit_code == 2
    assert message in result.stderr
