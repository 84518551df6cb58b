"""Pages of a list: every record exactly once across pages, newest first, and the total.

A list query is ordered by an indexed column (the primary key, descending: newest first), so
page 1 costs the same however many rows there are; the total is a count of the same filtered
query. The API turns a Page into flask-smorest's `X-Pagination` header
(`licensesvc/api/pagination.py`), the CLI into a "page 1 of 3" line (`cli/pagination.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from licensesvc.domain.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list. `total` counts every record the filters match; `total_pages` is 0
    for an empty list; `page` is the number asked for (it may lie past the last page, which is
    then empty)."""

    items: tuple[T, ...]
    total: int
    page: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return (self.total + self.page_size - 1) // self.page_size

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if 1 < self.page <= self.total_pages else None


def page_of_list(rows: Sequence[T], page: int, page_size: int) -> Page[T]:
    """One page of a list already read and ordered in memory (for an order no column gives).
    Raises ValidationFailed for a page outside the limits."""
    check_page(page, page_size)
    start = (page - 1) * page_size
    return Page(tuple(rows[start : start + page_size]), len(rows), page, page_size)


def check_page(page: int, page_size: int) -> None:
    """Raise ValidationFailed unless page >= 1 and 1 <= page_size <= MAX_PAGE_SIZE."""
    if page < 1:
        raise ValidationFailed(f"page starts at 1, not {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"page_size is 1 to {MAX_PAGE_SIZE}, not {page_size}")


def paginate(
    session: Session,
    query: Select[Any],
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    *,
    order_by: Sequence[Any] | None = None,
) -> Page[Any]:
    """Return page `page` (from 1) of `query`, `page_size` records (at most MAX_PAGE_SIZE).

    `query` selects one entity or column with its filters and no ORDER BY, LIMIT or OFFSET.
    It is ordered by `order_by`, by default the descending primary key of the entity it
    selects (newest first; an indexed column, and unique, so no record is on two pages).
    Raises ValidationFailed for page < 1 or page_size outside 1..MAX_PAGE_SIZE."""
    check_page(page, page_size)
    if order_by is None:
        order_by = _newest_first(query)
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    total = session.scalar(counted) or 0
    items: tuple[Any, ...] = ()
    if (page - 1) * page_size < total:
        rows = session.scalars(
            query.order_by(*order_by).limit(page_size).offset((page - 1) * page_size)
        )
        items = tuple(rows)
    return Page(items=items, total=total, page=page, page_size=page_size)


def _newest_first(query: Select[Any]) -> list[Any]:
    described = query.column_descriptions[0]
    entity = described.get("entity")
    if entity is None or described.get("expr") is not entity:
        raise ValueError("paginate: give order_by for a query that selects no whole entity")
    primary_key = entity.__mapper__.primary_key
    return [column.desc() for column in primary_key]
