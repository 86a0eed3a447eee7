"""What the guide's browser tests share: a stopped clock for the whole process (the live server's
threads and the queue's alike), the demo district loaded as of that moment, a browser page that
draws the same pixels every time, the pictures the guide shows (written only when their pixels
changed), and a reader that follows a guide's steps as a new colleague would."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from browser.axe import assert_accessible, watch_accessibility

# A weekday morning in Budapest: the demo's drills started before it, the pictures show it.
FIXED_NOW = dt.datetime(2026, 3, 12, 9, 30, tzinfo=ZoneInfo("Europe/Budapest"))
SHOTS = Path(__file__).resolve().parents[2] / "incident" / "static" / "help"
GUIDES_DIR = Path(__file__).resolve().parents[2] / "templates" / "help"
VIEWPORT = {"width": 1280, "height": 800}
# A picture is written again only when more than CHANGED_PIXELS pixels changed by more than
# PIXEL_TOLERANCE in a colour channel (the largest of red, green and blue: a change of hue alone
# counts, such as a blue that turned darker blue). The same page on the same machine draws the
# same pixels, so nothing is written then; a letter changed in a word changes more pixels than
# this, and a few are left for a font's hinting.
CHANGED_PIXELS = 4
PIXEL_TOLERANCE = 16


class StoppedClock:
    """``incident.database``'s clock, stopped at ``now`` for every thread of this process (a
    ContextVar's default would be per context): ``utcnow()`` is ``now`` until ``advance``;
    ``clock_at`` still works inside it."""

    def __init__(self, now: dt.datetime):
        self.now = now.astimezone(dt.timezone.utc)
        self._inside = ContextVar("riado_test_clock_at", default=None)

    def get(self):
        return self._inside.get() or self.now

    def set(self, value):
        return self._inside.set(value)

    def reset(self, token):
        self._inside.reset(token)

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def stop_the_clock(monkeypatch, now: dt.datetime = FIXED_NOW) -> StoppedClock:
    import incident.database

    clock = StoppedClock(now)
    monkeypatch.setattr(incident.database, "_clock", clock)
    return clock


def load_demo_district(app):
    """The demo district (as of the stopped clock), through the same loader as ``riado demo load``;
    its admin's login."""
    from incident.audit import set_actor
    from incident.demo import load_demo

    with app.app_context():
        set_actor(None, "demo")
        return load_demo().login


def new_page(browser, base: str, lang: str = "hu"):
    """A page that draws the same pixels on every run: fixed viewport and scale, reduced motion,
    the browser's clock stopped at FIXED_NOW, nothing from another host. axe checks every page it
    loads, as in every browser test (conftest.py's ``page``): ``assert_page_accessible`` at the end
    of the test fails it on what axe found."""
    context = browser.new_context(locale="hu-HU" if lang == "hu" else "en-GB", viewport=VIEWPORT,
                                  device_scale_factor=1, reduced_motion="reduce", timezone_id="Europe/Budapest")
    accessibility = watch_accessibility(context)
    page = context.new_page()
    page.accessibility_found = accessibility
    page.clock.set_fixed_time(FIXED_NOW)
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)

    def route(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", route)
    return page


def axe_done(page) -> None:
    """Wait until axe has finished with the page shown (a page left mid-check is not checked)."""
    page.wait_for_load_state("load")
    page.evaluate("() => window.__riadoAxe")


def assert_page_accessible(page) -> None:
    """No page ``page`` loaded broke a WCAG 2.1 AA rule (axe; see ``new_page``)."""
    assert_accessible(page, page.accessibility_found)


def sign_in(page, base: str, email: str, password: str, lang: str = "hu") -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(base + "/")
    if lang != "hu":
        page.goto(f"{base}/lang/{lang}?next=/")
        page.wait_for_url(base + "/")


def settle(page) -> None:
    """Wait until the page has drawn what it loads: its fonts, its images, its maps; and until axe
    has finished with it (its check may scroll the page, and puts it back when done)."""
    axe_done(page)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete)"
        " && Array.from(document.querySelectorAll('[data-riado-map]')).every(m => m.dataset.state !== 'loading')")


def guide_pictures(lang: str) -> set[str]:
    """The names of the pictures the guides of ``lang`` show (their ``shot("<name>", …)`` marks;
    tests/incident/test_help.py checks that the rendered guides show the same)."""
    return {name for guide in sorted((GUIDES_DIR / lang).glob("*.html"))
            for name in re.findall(r'\bshot\(\s*"([^"]+)"', guide.read_text(encoding="utf-8"))}


class Pictures:
    """The guide's pictures of one language: ``take`` writes ``<name>.png`` when its pixels changed
    (or it is new), and keeps the file as it is otherwise; ``changed`` and ``taken`` say what it did."""

    def __init__(self, lang: str):
        self.folder = SHOTS / lang
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken, self.changed = [], []

    def take(self, page, name: str, locator=None, max_height: int | None = None) -> None:
        settle(page)
        options = {"animations": "disabled", "caret": "hide", "scale": "css"}
        if locator is not None:
            locator.scroll_into_view_if_needed()
            box = locator.bounding_box()
            height = min(box["height"], max_height) if max_height else box["height"]
            png = page.screenshot(clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": height},
                                  **options)
        else:
            page.evaluate("window.scrollTo(0, 0)")
            png = page.screenshot(**options)
        self.taken.append(name)
        if store(self.folder / f"{name}.png", png):
            self.changed.append(name)


def changed_pixels(old, new) -> int:
    """How many pixels of two pictures of the same size differ by more than PIXEL_TOLERANCE in a
    colour channel."""
    from PIL import ImageChops

    largest = functools.reduce(ImageChops.lighter, ImageChops.difference(old, new).split())
    return largest.point(lambda v: 255 if v > PIXEL_TOLERANCE else 0).histogram()[255]


def store(path: Path, png: bytes) -> bool:
    """Write ``png`` to ``path`` unless the picture there differs from it by no more than a few
    pixels; whether it was written. Stored in 256 colours (a page's flat colours and text lose
    nothing a reader sees, and the file is a third the size), compressed by Pillow: the same
    pixels make the same bytes."""
    from PIL import Image

    shown = Image.open(io.BytesIO(png)).convert("RGB")
    palette = shown.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    new = palette.convert("RGB")
    if path.is_file():
        with Image.open(path) as old_file:
            old = old_file.convert("RGB")
        if old.size == new.size:
            if changed_pixels(old, new) <= CHANGED_PIXELS:
                return False
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    path.write_bytes(out.getvalue())
    return True


# Following a guide's steps as a new colleague would: only what the guide says, by the words on
# the screen (a menu entry, a link's or a button's text, a field's label), never by the page's
# inner names.

def read_steps(page, base: str, slug: str, walk: str) -> list[list[dict]]:
    """The steps of a guide's walk (``<ol data-walk>``), each a list of its marks in order."""
    page.goto(f"{base}/help/{slug}")
    axe_done(page)
    return page.evaluate("""(walk) => Array.from(document.querySelectorAll(`ol[data-walk="${walk}"] > li`)).map(li =>
        Array.from(li.querySelectorAll('[data-kind]')).map(m => ({kind: m.dataset.kind, endpoint: m.dataset.endpoint || null,
            prefix: m.dataset.match === 'prefix', first: m.dataset.which === 'first', text: m.textContent.replace(/\\s+/g, ' ').trim()})))""", walk)


# The end of a name marked as a beginning (prefix=True): not inside a word (Hungarian's letters
# are in Latin-1 and Latin Extended-A; the pattern runs in the browser, without Unicode classes).
_WORD_GOES_ON = r"(?=$|[^0-9A-Za-z\u00C0-\u024F])"


def name_pattern(text: str, prefix: bool = False) -> re.Pattern:
    """A name as the guide gives it: the whole name (spaces aside, capitals counted), or with
    ``prefix`` its first words."""
    return re.compile(r"^\s*" + re.escape(text) + (_WORD_GOES_ON if prefix else r"\s*$"))


def the_one(locator, what: str, first: bool = False):
    """The one element ``locator`` finds: a name that fits none or more than one is not a name the
    colleague could follow, unless the guide says which of several (``first``: the topmost)."""
    found = locator.count()
    if first:
        assert found >= 1, f"{what}: no element has that name"
        return locator.first
    assert found == 1, f"{what}: {found} elements have that name"
    return locator


def page_title(page) -> tuple[str, str]:
    """The page's h1 and its title without the app's name ("Új riasztás · Riadó")."""
    h1 = page.locator("h1")
    heading = " ".join(h1.first.inner_text().split()) if h1.count() else ""
    return heading, " ".join(page.title().split()).rsplit(" · ", 1)[0]


def follow(page, steps: list[list[dict]], endpoint_of=None, done: list[str] | None = None,
           timeout: float = 20_000) -> list[str]:
    """Do what the steps say, in order: click a menu entry, a link or a button by its words, type
    into a field by its label, tick a box, choose from a list; wait for what a step says the page
    shows. A name fits one element, whole (or its first words, if the guide marks it so); a
    page the guide names must have that name for its h1 or title; with ``endpoint_of`` (a page's
    address -> the endpoint it shows), each name is looked for on the page the guide says it is
    on. The log of what was done (for a failure's message), added to ``done`` as it goes."""
    done = [] if done is None else done
    field = None
    for number, step in enumerate(steps, start=1):
        for mark in step:
            kind, text, endpoint = mark["kind"], mark["text"], mark["endpoint"]
            done.append(f"step {number}: {kind} “{text}”{'…' if mark.get('prefix') else ''}")
            name = name_pattern(text, mark.get("prefix", False))
            what = f"step {number}: {kind} “{text}”"
            first = mark.get("first", False)
            main = page.locator("main")
            if endpoint_of and endpoint and kind not in ("menu", "term"):
                on_page(page, endpoint_of, endpoint, what, timeout)
            if kind in ("menu", "link", "record", "button"):
                axe_done(page)  # before the click takes the colleague to another page
            if kind == "menu":
                the_one(page.locator("nav.mainnav").get_by_role("link", name=name), what).click()
                page.wait_for_load_state("load")
                if endpoint_of:
                    on_page(page, endpoint_of, endpoint, what, timeout)
            elif kind == "link":
                the_one(main.get_by_role("link", name=name), what, first).click()
                page.wait_for_load_state("load")
            elif kind == "record":
                the_one(main.get_by_role("link", name=text, exact=True), what).click()
                page.wait_for_load_state("load")
            elif kind == "button":
                # A button, a summary that opens a part of the page, or a link that looks like a button.
                button = main.get_by_role("button", name=name).or_(main.locator("summary").filter(has_text=name)) \
                    .or_(main.get_by_role("link", name=name).and_(main.locator("a.button")))
                the_one(button, what, first).click()
                page.wait_for_load_state("load")
            elif kind in ("field", "choose"):
                field = the_one(page.get_by_label(name), what, first)
            elif kind == "typed":
                assert field is not None, f"step {number}: nothing to type “{text}” into"
                field.fill(text)
            elif kind == "option":
                assert field is not None, f"step {number}: no list to choose “{text}” from"
                labels = [label.strip() for label in field.locator("option").all_inner_texts()]
                assert labels.count(text) == 1, f"{what}: not one of the list's choices {labels}"
                field.select_option(label=text)
            elif kind == "check":
                the_one(page.get_by_label(name), what, first).check()
            elif kind == "see":
                seen = page.get_by_text(name).or_(page.get_by_role("heading", name=name))
                seen.filter(visible=True).first.wait_for(state="visible", timeout=timeout)
            elif kind == "page":
                page.wait_for_load_state("load")
                heading, title = page_title(page)
                assert name.match(heading) or name.match(title), f"{what}: the page is “{heading}” (“{title}”)"
            # "term" names a word; a step does nothing with it.
    return done


def on_page(page, endpoint_of, endpoint: str, what: str, timeout: float) -> None:
    """Wait until the browser shows a page of ``endpoint`` (a click's page may still be loading)."""
    for _ in range(int(timeout / 100)):
        if endpoint_of(page.url) == endpoint:
            return
        page.wait_for_timeout(100)
    assert endpoint_of(page.url) == endpoint, f"{what}: the guide says it is on {endpoint}, the browser shows {page.url}"
