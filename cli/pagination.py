"""`--page` and `--page-size` on CLI lists, and the line that says more pages follow.

stdout keeps what it always printed (the table, or with --json the list of this page's
records); the pagination line goes to stderr, so `licensesvc --json case list | jq` still sees
one list. A script reads every record by asking for --page 1, 2, ... until a page comes back
empty, or until stderr no longer says "next: --page N".

    @case.command("list")
    @page_options
    def list_(state, page, page_size):
        found = key_requests.page_cases(ctx, page=page, page_size=page_size)
        emit(...)
        echo_more_pages(found, "cases")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from licensesvc.platform.pagination import Page

F = TypeVar("F", bound=Callable[..., Any])

# The services' page sizes (licensesvc/services/pagination.py), restated so that `--help` of a
# list command loads no database layer; tests/cli/test_cli_startup.py checks that they agree.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_options(f: F) -> F:
    """Add `--page N` (from 1) and `--page-size N` (1 to 500, default 50) to a list command;
    the command receives them as `page` and `page_size`."""
    f = click.option(
        "--page-size",
        "page_size",
        type=click.IntRange(1, MAX_PAGE_SIZE),
        default=DEFAULT_PAGE_SIZE,
        show_default=True,
        help=f"Records per page (1 to {MAX_PAGE_SIZE}). Example: --page-size 200",
    )(f)
    f = click.option(
        "--page",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Which page, from 1; newest records are on page 1. Example: --page 2",
    )(f)
    return f


def more_pages_line(page: Page[Any], noun: str = "records") -> str | None:
    """ "page 1 of 3 (120 cases); next: --page 2" when more pages follow, a note when the page
    asked for lies past the last one, else None."""
    if page.has_next:
        return (
            f"page {page.page} of {page.total_pages} ({page.total} {noun}); "
            f"next: --page {page.page + 1}"
        )
    if page.total and page.page > page.total_pages:
        return (
            f"page {page.page} is past the last page, {page.total_pages} "
            f"({page.total} {noun}); try --page {page.total_pages}"
        )
    return None


def echo_more_pages(page: Page[Any], noun: str = "records") -> None:
    """Print more_pages_line to stderr when there is one."""
    line = more_pages_line(page, noun)
    if line is not None:
        click.echo(line, err=True)
