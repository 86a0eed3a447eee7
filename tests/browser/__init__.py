"""Browser tests (Debian's Chromium through Playwright); what several of them do."""


def sign_in(page, base: str, user: dict) -> None:
    """Sign ``user`` in through the login form, as a person would, and wait for the home page."""
    page.goto(base + "/login")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("form button[type=submit]:has-text('Bejelentkezés')")
    page.wait_for_url(base + "/")
