"""The officer's guide (Súgó): short task guides for the people who use Riadó on the day, in
Hungarian and in English, one page each, and all of them on one printable page for the
operations room's binder (one guide a sheet).

The guides are content, one Jinja file per guide and language (``templates/help/<lang>/<slug>.html``),
written side by side with the same sections; what they name on Riadó's pages (a menu entry, a
button, a field, a page's title) is marked with the macros of ``templates/help/_marks.html``, so
that a test finds every name that is no longer on its page (``tests/incident/test_help.py``). The
pictures are taken by a browser test that walks each task on the demo district
(``tests/browser/test_guide_screens.py``, ``make guide``) into ``incident/static/help/<lang>/``.

A guide names the pages of every wing: by endpoint, as data. A link is made only if the
endpoint is there (``page_url``), so the core does not depend on a wing to draw its guide."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, abort, render_template, url_for
from flask_babel import get_locale
from werkzeug.routing import BuildError

bp = Blueprint("help", __name__, url_prefix="/help")

DEFAULT_LANGUAGE = "hu"
# The languages the guides are written in (templates/help/<lang>/, every guide in each; a test
# keeps this and the folders the same). A page in another of the app's languages shows the
# guides in the default one.
GUIDE_LANGUAGES = ("hu", "en")


@dataclass(frozen=True)
class Guide:
    """One task guide: its ``slug`` (the address and the file name), its title in each language,
    and the roles it is written for (who does the task; a more privileged role does it too)."""

    slug: str
    titles: dict
    roles: tuple[str, ...]

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles[DEFAULT_LANGUAGE]

    def is_for(self, user) -> bool:
        """Whether ``user`` does this task: a role may do all a lower one may (an admin is
        often the officer too, and reads the officer's guides as their own)."""
        return any(user.has_role(role) for role in self.roles)


# In the order of the binder: setting up, the tasks of the day, then what the words mean and what
# to do when something is down.
GUIDES = (
    Guide("first-steps", {"hu": "Első lépések a telepítés után", "en": "First steps after installing"}, ("admin", "officer")),
    Guide("callout", {"hu": "Riasztás küldése", "en": "Sending a call-out"}, ("officer",)),
    Guide("incident", {"hu": "Esemény a bejelentéstől a lezárásig", "en": "An incident from report to closure"}, ("officer", "viewer")),
    Guide("drill", {"hu": "Gyakorlat elejétől végéig", "en": "A drill from start to finish"}, ("officer",)),
    Guide("reception", {"hu": "A regisztrációs pult (befogadás)", "en": "The registration desk (reception)"}, ("officer",)),
    Guide("notices", {"hu": "Lakossági tájékoztatás: közlemények és jóváhagyásuk", "en": "Public notices and their approval"}, ("press", "officer")),
    Guide("statuses", {"hu": "Mit jelentenek az állapotok és a hibakódok", "en": "What the statuses and error codes mean"}, ("viewer", "press", "officer", "admin")),
    Guide("outages", {"hu": "Ha leáll az internet, az SMS-szolgáltató vagy az adatbázis", "en": "When the internet, the SMS provider or the database is down"}, ("officer", "admin")),
)
BY_SLUG = {guide.slug: guide for guide in GUIDES}


def language() -> str:
    """The guide's language: the page's, if the guides are written in it; else the default."""
    code = str(get_locale() or DEFAULT_LANGUAGE)
    return code if code in GUIDE_LANGUAGES else DEFAULT_LANGUAGE


def page_url(endpoint: str) -> str | None:
    """The address of a page a guide names, if it has one without parameters (a list, a form);
    None for a record's page or an endpoint that is not there (the guide then names it in words)."""
    try:
        return url_for(endpoint)
    except BuildError:
        return None


SHOTS = Path(__file__).resolve().parents[1] / "static" / "help"


@lru_cache(maxsize=256)
def _png_size(path: Path, _mtime: float) -> tuple[int, int] | None:
    with path.open("rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def picture(name: str, lang: str) -> dict | None:
    """A guide's picture (``incident/static/help/<lang>/<name>.png``, made by the browser tests):
    its address and size, or None if it has not been made."""
    path = SHOTS / lang / f"{name}.png"
    if not path.is_file():
        return None
    size = _png_size(path, path.stat().st_mtime)
    if size is None:
        return None
    return {"url": url_for("static", filename=f"help/{lang}/{name}.png"), "width": size[0], "height": size[1]}


@bp.app_template_global()
def help_title(slug: str) -> str:
    """A guide's title in the page's language (the task pages' Help links are named after it)."""
    found = BY_SLUG.get(slug)
    return found.title(language()) if found else ""


def _context(lang: str) -> dict:
    return {"guides": GUIDES, "lang": lang, "page_url": page_url, "picture": picture,
            "guide_template": lambda slug: f"help/{lang}/{slug}.html"}


@bp.route("", endpoint="index")
def help_index():
    """The guides, with whom each is for; the user's own role's guides marked."""
    lang = language()
    return render_template("help/index.html", **_context(lang))


@bp.route("/print", endpoint="print")
def print_all():
    """Every guide on one page, each starting a new sheet when printed."""
    lang = language()
    # Every picture loaded with the page: a browser prints what it has.
    return render_template("help/print.html", print_all=True, **_context(lang))


@bp.route("/<slug>", endpoint="guide")
def guide(slug: str):
    """One task guide."""
    found = BY_SLUG.get(slug)
    if found is None:
        abort(404)
    lang = language()
    position = GUIDES.index(found)
    return render_template(
        "help/guide.html", guide=found, previous=GUIDES[position - 1] if position else None,
        next=GUIDES[position + 1] if position + 1 < len(GUIDES) else None, **_context(lang))

