"""Browser tests (Debian's Chromium through Playwright); what several of them do."""

import time
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError


def sign_in(page, base: str, user: dict) -> None:
    """Sign ``user`` in through the login form, as a person would, and wait for the home page."""
    page.goto(base + "/login")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("form button[type=submit]:has-text('Bejelentkezés')")
    page.wait_for_url(base + "/")


def only_tiles(page, app) -> None:
    """The page asked no host but 127.0.0.1 and the tile server for anything."""
    tile_host = urlsplit(app.config["RIADO_TILE_URL"].replace("{s}", "a")).hostname
    hosts = {urlsplit(url).hostname for url in page.offsite_requests}
    assert hosts <= {tile_host}, page.offsite_requests


def script_errors(page) -> list[str]:
    """The page's console errors but the tiles' (no network here, and other hosts are blocked)."""
    return [m for m in page.console_errors if "Failed to load resource" not in m]


def draw_polygon(page, frame: str, points, shapes_after: int) -> None:
    """Click a polygon's corners with Leaflet.draw's polygon tool, then its first corner again to
    close it. Leaflet.draw ignores a press that comes within 50 ms of the last one (a double-click
    guard on a timer, which a loaded machine delays): a click that left no corner is made again,
    as the officer would; a click that did anything else fails the test. ``frame``: the selector of
    the map, whose ``data-shapes`` counts the shapes drawn; ``points``: pixels within it."""
    box = page.locator(frame).bounding_box()
    corners = page.locator(f"{frame} .leaflet-editing-icon")
    shapes = f"document.querySelector('{frame}').getAttribute('data-shapes') === '{shapes_after}'"

    def click(x, y, done_js):
        for _attempt in range(3):
            time.sleep(0.15)
            page.mouse.click(box["x"] + x, box["y"] + y)
            try:
                page.wait_for_function(done_js, timeout=3_000)
                return
            except PlaywrightTimeoutError:
                continue
        raise AssertionError(f"the map did not take the click at {x}, {y}")

    for number, (x, y) in enumerate(points, start=1):
        click(x, y, f"() => document.querySelectorAll('{frame} .leaflet-editing-icon').length === {number}")
    assert corners.count() == len(points)
    click(*points[0], f"() => {shapes}")
