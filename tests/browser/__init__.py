"""Browser tests (Debian's Chromium through Playwright); what several of them do."""

from urllib.parse import urlsplit


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
