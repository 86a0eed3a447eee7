"""The accessibility check of every browser test (tests/browser/axe.py) can fail: a page with a
violation fails the test, and so does a page axe could not check, rather than passing unseen."""

from __future__ import annotations

import pytest
from browser.axe import CHECKED_SHAPES, assert_accessible, watch_accessibility

pytestmark = pytest.mark.browser

# Pages answered by the test itself (nothing listens at this address; the route fulfils them).
ORIGIN = "http://127.0.0.1:9"
FINE = "<!doctype html><html lang='hu'><head><title>Rendben</title></head><body><main><h1>Rendben</h1></main></body></html>"
# An image without a text alternative (WCAG 1.1.1) and a button without a name (4.1.2).
BROKEN = ("<!doctype html><html lang='hu'><head><title>Hibás</title></head><body><main><h1>Hibás</h1>"
          "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='><button></button></main></body></html>")
# A page whose script breaks axe before the check runs.
AXE_BREAKS = ("<!doctype html><html lang='hu'><head><title>Törött</title><script>"
              "addEventListener('DOMContentLoaded', () => { window.axe.run = () => Promise.reject(new Error('elromlott')); });"
              "</script></head><body><main><h1>Törött</h1></main></body></html>")


def _context(browser, pages: dict[str, str]):
    context = browser.new_context()
    found = watch_accessibility(context)
    context.route(f"{ORIGIN}/**", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=pages[route.request.url.removeprefix(ORIGIN)]))
    return context, found


def test_a_page_with_a_violation_fails_the_test(browser):
    context, found = _context(browser, {"/fine": FINE, "/broken": BROKEN})
    try:
        page = context.new_page()
        page.goto(f"{ORIGIN}/fine")
        assert_accessible(page, found)  # nothing wrong there
        page.goto(f"{ORIGIN}/broken")
        with pytest.raises(AssertionError) as failure:
            assert_accessible(page, found)
    finally:
        context.close()
    message = str(failure.value)
    assert "/broken [image-alt]" in message
    assert "/broken [button-name]" in message
    assert "/fine" not in message


def test_a_page_axe_could_not_check_fails_the_test_and_stays_unchecked(browser):
    context, found = _context(browser, {"/axe-breaks": AXE_BREAKS})
    try:
        page = context.new_page()
        page.goto(f"{ORIGIN}/axe-breaks")
        with pytest.raises(AssertionError) as failure:
            assert_accessible(page, found)
    finally:
        context.close()
    assert "/axe-breaks [axe-error]" in str(failure.value)
    assert "elromlott" in str(failure.value)
    # Not counted as checked: the next test to show this page has it checked again.
    assert not any(shape.startswith("/axe-breaks ") for shape in CHECKED_SHAPES)


# The same page, with and without its image's text alternative, and in another language.
WITH_ALT = ("<!doctype html><html lang='{lang}'><head><title>Kép</title></head><body><main><h1>Kép</h1>"
            "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' {alt}></main></body></html>")


def test_a_page_that_lost_an_attribute_that_names_an_element_is_checked_again(browser):
    """A page's shape holds which naming attributes its elements have (not their words) and its
    language: the same page without its image's alt is a new shape, checked (and failing), and the
    same page in English is checked apart from the Hungarian one."""
    served = {"/same": WITH_ALT.format(lang="hu", alt="alt='Térkép'")}
    context, found = _context(browser, served)
    try:
        page = context.new_page()
        page.goto(f"{ORIGIN}/same")
        assert_accessible(page, found)
        served["/same"] = WITH_ALT.format(lang="en", alt="alt='Map'")
        page.goto(f"{ORIGIN}/same")
        assert_accessible(page, found)
        assert {shape.split()[1] for shape in CHECKED_SHAPES if shape.startswith("/same ")} == {"hu", "en"}
        served["/same"] = WITH_ALT.format(lang="hu", alt="")
        page.goto(f"{ORIGIN}/same")
        with pytest.raises(AssertionError) as failure:
            assert_accessible(page, found)
    finally:
        context.close()
    assert "/same [image-alt]" in str(failure.value)
