"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, never a downloaded browser."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from .axe import assert_accessible, watch_accessibility

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context; any request to another host is blocked and recorded, any dialog
    fails, and so does a page that breaks a WCAG 2.1 AA rule (axe checks each page once loaded)."""
    context = browser.new_context(locale="hu-HU", viewport={"width": 1280, "height": 800})
    accessibility = watch_accessibility(context)
    page = context.new_page()
    page.offsite_requests = []
    page.dialogs = []
    page.console_errors = []

    def route(route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            page.offsite_requests.append(route.request.url)
            route.abort()

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.route("**/*", route)
    page.on("dialog", on_dialog)
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    yield page
    assert_accessible(page, accessibility)
    context.close()
    assert page.dialogs == [], f"a script opened a dialog: {page.dialogs}"
