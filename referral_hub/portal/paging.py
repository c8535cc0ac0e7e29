"""Page-numbered lists in the portal, on the same limits as the API's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, func, select

from referral_hub.extensions import db
from referral_hub.pagination import MAX_PAGE, MAX_PAGE_SIZE


@dataclass
class Page:
    items: list[Any]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def page_number() -> int:
    """The `page` query argument, 1 when absent or not a number."""
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


def paginate_select(query: Select, page: int, page_size: int = 50) -> Page:
    """One page of a select, with the total."""
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.limit(page_size).offset((page - 1) * page_size)))
    return Page(items, page, page_size, total or 0)


def page_url(page: int) -> str:
    """This page's URL with the same filters and another page number."""
    args = request.args.to_dict(flat=True)
    args["page"] = str(page)
    return url_for(request.endpoint, **(request.view_args or {}), **args)
