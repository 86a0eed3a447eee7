"""A user signs in with a real browser and finds the shell: from `make run` on, as the README says."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .axe import assert_accessible, watch_accessibility
from .conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
NAV_HU = ["Irányítópult", "Események", "Tervek", "Befogadás", "Kapcsolattartók", "Erőforrások", "Riasztások",
          "Lakossági közlemények", "Figyelés", "Térkép"]

pytestmark = pytest.mark.browser


def _wait_for_demo_login(proc, deadline) -> tuple[str, str, list[str]]:
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line.rstrip())
        match = re.search(r"Demo login: (\S+) / (\S+)", line)
        if match:
            return match.group(1), match.group(2), lines
    raise AssertionError("make run printed no demo login:\n" + "\n".join(lines))


def _wait_for_health(base, deadline):
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("make run did not start serving")


@pytest.fixture
def make_run(tmp_path, backend, new_database):
    """`make run` on a free port with a fresh instance folder (and, on PostGIS, a fresh database)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k not in ("MFLAGS", "RIADO_DEMO_PASSWORD")}
    env["RIADO_INSTANCE_PATH"] = str(tmp_path / "instance")
    env.pop("DATABASE_URL", None)
    if backend == "postgis":
        env["DATABASE_URL"] = new_database("makerun")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        email, password, output = _wait_for_demo_login(proc, deadline)
        base = f"http://127.0.0.1:{port}"
        _wait_for_health(base, deadline)
        yield {"base": base, "email": email, "password": password, "output": output}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        proc.stdout.close()


def test_make_run_then_sign_in_with_the_demo_login(make_run, page):
    base = make_run["base"]
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    assert page.locator("h1").inner_text() == "Bejelentkezés"
    page.fill("#email", make_run["email"])
    page.fill("#password", make_run["password"])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    nav = page.locator("nav.mainnav")
    assert [t.strip() for t in nav.locator("a").all_inner_texts()] == NAV_HU
    assert page.locator("[data-testid=dashboard]").is_visible()
    assert "Belváros-Lipótváros" in page.locator("main").inner_text()
    assert "+36 1 872 7211" in page.locator("main").inner_text()
    assert page.offsite_requests == []
    # The stylesheet is served by Riadó itself and applied.
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"
    page.click("text=EN")
    expect(nav.locator("a").first).to_have_text("Dashboard")
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r".*/login.*"))
    page.goto(base + "/")
    assert "/login" in page.url


def test_wrong_password_shows_the_error_beside_the_form(live_server, page, make_user):
    user = make_user("viewer")
    page.goto(live_server + "/login")
    page.fill("#email", user["email"])
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Hibás e-mail-cím vagy jelszó."
    page.fill("#password", user["password"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    assert page.locator("[data-testid=dashboard]").is_visible()


def test_shell_is_usable_on_a_tablet(browser, live_server, make_user):
    user = make_user("officer")
    context = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
    found = watch_accessibility(context)
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    links = page.locator("nav.mainnav a")
    assert links.count() == len(NAV_HU)
    for i in range(len(NAV_HU)):
        box = links.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 768  # nothing off screen
        assert box["height"] >= 40  # a finger can hit it
    assert page.evaluate("document.documentElement.scrollWidth") <= 768  # no sideways scrolling
    assert_accessible(page, found)
    context.close()
