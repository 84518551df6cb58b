"""Paginated lists over HTTP, flask-smorest's way: `page` and `page_size` query parameters
and an `X-Pagination` JSON header (`total`, `total_pages`, `first_page`, `last_page`, `page`,
`previous_page`, `next_page`).

A list view is decorated with `@blp.paginate(**PAGE_LIMITS)` (flask-smorest then parses and
documents `page`/`page_size`, answering 422 outside the limits) and hands the parameters it is
given to `page_of`:

    @blp.route("/keys")
    class Keys(MethodView):
        @blp.response(200, KeySchema(many=True))
        @blp.paginate(**PAGE_LIMITS)
        def get(self, pagination_parameters):
            page = page_of(pagination_parameters, issued_keys.page_keys, ctx)
            return [key_record(k, now) for k in page.items]

A view that builds its response itself uses `pagination_header(page)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest.pagination import PaginationMixin, PaginationParameters

from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

T = TypeVar("T")

#: the arguments of `blp.paginate` for every list: page from 1, 50 a page, at most 500
PAGE_LIMITS: dict[str, int] = {
    "page": 1,
    "page_size": DEFAULT_PAGE_SIZE,
    "max_page_size": MAX_PAGE_SIZE,
}
HEADER = PaginationMixin.PAGINATION_HEADER_NAME


def page_of(
    pagination_parameters: PaginationParameters,
    fetch: Callable[..., Page[T]],
    *args: Any,
    **kwargs: Any,
) -> Page[T]:
    """Call `fetch(*args, page=..., page_size=..., **kwargs)` (a service function returning a
    Page) with the request's page parameters, and tell flask-smorest the total so that it sets
    `X-Pagination` on the response."""
    page = fetch(
        *args,
        page=pagination_parameters.page,
        page_size=pagination_parameters.page_size,
        **kwargs,
    )
    pagination_parameters.item_count = page.total
    return page


def pagination_metadata(page: Page[Any]) -> dict[str, int]:
    """The `X-Pagination` document of a page, exactly as flask-smorest builds it."""
    metadata: dict[str, int] = PaginationMixin._make_pagination_metadata(  # noqa: SLF001
        page.page, page.page_size, page.total
    )
    return metadata


def pagination_header(page: Page[Any]) -> dict[str, str]:
    """`{"X-Pagination": "<json>"}` for a view that returns its own headers."""
    return {HEADER: json.dumps(pagination_metadata(page))}
