"""Lists on pages: 50 a page, through Flask-SQLAlchemy's ``db.paginate``."""

from __future__ import annotations

from ..extensions import db
from .params import page_arg

PAGE_SIZE = 50


def page_number() -> int:
    """``?page=`` of the request (1 when absent; a bad one is a 400 naming ``page``)."""
    return page_arg()


def paged(query, number: int | None = None) -> dict:
    """One page of ``query``: ``{"items", "total", "page", "pages"}``; a page past the end shows
    the last one."""
    number = page_number() if number is None else number
    result = db.paginate(query, page=number, per_page=PAGE_SIZE, error_out=False)
    if number > max(result.pages, 1):
        result = db.paginate(query, page=max(result.pages, 1), per_page=PAGE_SIZE, error_out=False)
    return {"items": result.items, "total": result.total, "page": result.page, "pages": max(result.pages, 1)}
