"""Page-numbered lists: the body says where the next page is, and so does a Link header."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from referral_hub.extensions import db

MAX_PAGE_SIZE = 100
#: Deep offsets are slow and never what a person wants; filter instead.
MAX_PAGE = 10_000


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The envelope schema of a page of `item_schema` items."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "next": fields.String(
                allow_none=True, metadata={"description": "URL of the next page"}
            ),
        },
        name=name,
    )


def _page_url(page: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    # Encoded again: a filter such as q="A & B" must come back as itself, not as two.
    return f"{request.base_url}?{urlencode(args, doseq=True)}"


def paginate(query: Select, page: int, page_size: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Run one page of a select; return the envelope and the Link header."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(page_size).offset((page - 1) * page_size)).all()
    return _envelope(list(items), page, page_size, total)


def paginate_list(
    items: list[Any], page: int, page_size: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """One page of a list already in memory: the same envelope and Link header as `paginate`."""
    start = (page - 1) * page_size
    return _envelope(items[start : start + page_size], page, page_size, len(items))


def _envelope(
    items: list[Any], page: int, page_size: int, total: int
) -> tuple[dict[str, Any], dict[str, str]]:
    has_next = page * page_size < total
    body = {
        "items": items,
        "page": page,
        "page_size": page_size,
        "total": total,
        "next": _page_url(page + 1) if has_next else None,
    }
    links = []
    if has_next:
        links.append(f'<{_page_url(page + 1)}>; rel="next"')
    # A page asked for beyond the last points back to the last page that has items, never
    # to an empty page before it; an empty list has no page to go back to.
    last_page = -(-total // page_size)
    if page > 1 and last_page >= 1:
        links.append(f'<{_page_url(min(page - 1, last_page))}>; rel="prev"')
    return body, ({"Link": ", ".join(links)} if links else {})
