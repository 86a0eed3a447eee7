"""Values from a page's query string (or a form), read with the same readers as the API and the
operations: a bad one is a 400 page that names the field, never a 500 from deeper down."""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l

from ..errors import FieldError
from ..validation import MAX_SEARCH_LENGTH, TRUE_WORDS, whole_number
from .errors import BadField


def number_arg(name: str, default: int | None = None, minimum: int | None = None, grouped: bool = True) -> int | None:
    """A whole number from the query string; ``default`` when absent or empty."""
    text = (request.args.get(name) or "").strip()
    if not text:
        return default
    try:
        return whole_number(text, name, minimum, grouped)
    except FieldError as exc:
        raise BadField(name, exc.message) from None


def id_arg(name: str) -> int | None:
    """A record's id from the query string (None when absent or empty)."""
    return number_arg(name, minimum=1, grouped=False)


def page_arg() -> int:
    """``?page=``: the page of a list, 1 when absent (or below 1)."""
    return max(number_arg("page", 1) or 1, 1)


def flag_arg(name: str) -> bool:
    """A yes/no switch of the query string (``?drill=1``, ``yes``, ``igen``, ``on``…): True only
    for a word that means yes, the same words a form or the API takes."""
    return (request.args.get(name) or "").strip().casefold() in TRUE_WORDS


def yes_no_filter_arg(name: str) -> tuple[str | None, bool | None]:
    """A list's three-way filter (``?drill=yes``, ``no`` or absent): the word to keep in the
    filter form, and what to filter on (None: both)."""
    word = request.args.get(name) or None
    if word not in ("yes", "no"):
        return None, None
    return word, word == "yes"


def search_arg(name: str = "q") -> str:
    """The free-text search of a list, stripped; at most MAX_SEARCH_LENGTH characters."""
    text = (request.args.get(name) or "").strip()
    if len(text) > MAX_SEARCH_LENGTH:
        raise BadField(name, _l("At most %(n)s characters.", n=MAX_SEARCH_LENGTH))
    return text


def version_value(text) -> int:
    """The record version a form was made from (its hidden ``version`` field); -1 when it is not
    a version number, which never matches, so nothing is overwritten blindly."""
    try:
        return whole_number(text if text is not None else "", "version", minimum=1)
    except FieldError:
        return -1
