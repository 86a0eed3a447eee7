"""What the guide's browser tests share: a stopped clock for the whole process (the live server's
threads and the queue's alike), the demo district loaded as of that moment, a browser page that
draws the same pixels every time, the pictures the guide shows (written only when their pixels
changed), and a reader that follows a guide's steps as a new colleague would."""

from __future__ import annotations

import datetime as dt
import io
import re
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

# A weekday morning in Budapest: the demo's drills started before it, the pictures show it.
FIXED_NOW = dt.datetime(2026, 3, 12, 9, 30, tzinfo=ZoneInfo("Europe/Budapest"))
SHOTS = Path(__file__).resolve().parents[2] / "incident" / "static" / "help"
VIEWPORT = {"width": 1280, "height": 800}
# A picture is written again only when more than this many pixels changed by more than
# PIXEL_TOLERANCE in a colour channel (the same page on the same machine draws the same pixels;
# this leaves room for a font's hinting on another one).
CHANGED_PIXELS = 20
PIXEL_TOLERANCE = 40


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
    the browser's clock stopped at FIXED_NOW, nothing from another host."""
    context = browser.new_context(locale="hu-HU" if lang == "hu" else "en-GB", viewport=VIEWPORT,
                                  device_scale_factor=1, reduced_motion="reduce", timezone_id="Europe/Budapest")
    page = context.new_page()
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
    """Wait until the page has drawn what it loads: its fonts, its images, its maps."""
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete)"
        " && Array.from(document.querySelectorAll('[data-riado-map]')).every(m => m.dataset.state !== 'loading')")


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


def store(path: Path, png: bytes) -> bool:
    """Write ``png`` to ``path`` unless the picture there differs from it by no more than a few
    pixels; whether it was written. Stored in 256 colours (a page's flat colours and text lose
    nothing a reader sees, and the file is a third the size), compressed by Pillow: the same
    pixels make the same bytes."""
    from PIL import Image, ImageChops

    shown = Image.open(io.BytesIO(png)).convert("RGB")
    palette = shown.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    new = palette.convert("RGB")
    if path.is_file():
        with Image.open(path) as old_file:
            old = old_file.convert("RGB")
        if old.size == new.size:
            difference = ImageChops.difference(old, new).convert("L").point(lambda v: 255 if v > PIXEL_TOLERANCE else 0)
            if difference.histogram()[255] <= CHANGED_PIXELS:
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
    return page.evaluate("""(walk) => Array.from(document.querySelectorAll(`ol[data-walk="${walk}"] > li`)).map(li =>
        Array.from(li.querySelectorAll('[data-kind]')).map(m => ({kind: m.dataset.kind, endpoint: m.dataset.endpoint || null,
            text: m.textContent.replace(/\\s+/g, ' ').trim()})))""", walk)


def follow(page, steps: list[list[dict]], timeout: float = 20_000) -> list[str]:
    """Do what the steps say, in order: click a menu entry, a link or a button by its words, type
    into a field by its label, tick a box, choose from a list; wait for what a step says the page
    shows. The log of what was done (for a failure's message)."""
    done: list[str] = []
    field = None
    for number, step in enumerate(steps, start=1):
        for mark in step:
            kind, text = mark["kind"], mark["text"]
            done.append(f"step {number}: {kind} “{text}”")
            exact = re.compile(r"^\s*" + re.escape(text) + r"\s*…?$")
            if kind == "menu":
                page.locator("nav.mainnav").get_by_role("link", name=text, exact=True).click()
                page.wait_for_load_state("load")
            elif kind == "link":
                target = page.locator("main").get_by_role("link", name=exact)
                target = target if target.count() else page.locator("main").get_by_role("link", name=text)
                target.first.click()
                page.wait_for_load_state("load")
            elif kind == "record":
                page.locator("main").get_by_role("link", name=text).first.click()
                page.wait_for_load_state("load")
            elif kind == "button":
                button = page.locator("main").get_by_role("button", name=exact)
                button = button if button.count() else page.locator("main").get_by_role("button", name=text)
                button.first.click()
                page.wait_for_load_state("load")
            elif kind in ("field", "choose"):
                field = page.get_by_label(text, exact=True)
                field = field if field.count() else page.get_by_label(text)
                field = field.first
            elif kind == "typed":
                assert field is not None, f"step {number}: nothing to type “{text}” into"
                field.fill(text)
            elif kind == "option":
                assert field is not None, f"step {number}: no list to choose “{text}” from"
                labels = field.locator("option").all_inner_texts()
                choice = next((label for label in labels if label.strip() == text), None) or \
                    next(label for label in labels if text in label)
                field.select_option(label=choice)
            elif kind == "check":
                box = page.get_by_label(text, exact=True)
                box = box if box.count() else page.get_by_label(text)
                box.first.check()
            elif kind == "see":
                seen = page.get_by_text(text, exact=True).or_(page.get_by_role("heading", name=text))
                seen.filter(visible=True).first.wait_for(state="visible", timeout=timeout)
            # "term" and "page" name things; a step does nothing with them.
    return done
