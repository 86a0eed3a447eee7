"""Sending an SMS alert in a real browser: the officer types a Hungarian text and watches the live
counter, ticks transliteration (UCS-2 → GSM-7), picks a group, checks the confirmation, sends,
and sees the alert's progress rise on its page without reloading it (the console gateway and a
real Huey consumer do the sending)."""

from __future__ import annotations

import re

import pytest

from browser import only_tiles, script_errors, sign_in
from conftest import running_consumer
from factories import create_contact, create_group

pytestmark = pytest.mark.browser

TEXT = ("Árvízvédelmi készültség: a Helyi Védelmi Bizottság ülése ma 9 órakor kezdődik "
        "a Városháza dísztermében.")  # over 70 UTF-16 units: two UCS-2 segments, one in GSM-7
MEMBERS = [("Kovács Júlia", "+36205550101"), ("Nagy Péter", "+36205550102"), ("Szabó Ödön", "+36205550103")]


def _people(app) -> int:
    group = create_group(app)
    for name, phone in MEMBERS:
        create_contact(app, name=name, phone=phone, groups=[group["id"]])
    create_contact(app, name="Ügyeletes tiszt", phone="+36205550199")
    return group["id"]


def running_queue(app):
    """A real Huey consumer (threads, in this process) for the app's queue, from now on."""
    return running_consumer(app.extensions["huey"], workers=2)


def _counter(page, encoding, length=None):
    """The counter once it shows ``encoding`` (and, given, a text of ``length`` characters: while
    the officer types, an earlier answer may already say UCS-2 for the first half of the text)."""
    page.wait_for_selector(f"[data-counter][data-state=ready][data-encoding='{encoding}']")
    if length is not None:
        page.wait_for_function(
            "(n) => { const c = document.querySelector('[data-counter]');"
            " return c.getAttribute('data-state') === 'ready'"
            " && c.querySelector('[data-testid=length]').textContent === String(n); }", arg=length)
    return {key: page.inner_text(f"[data-counter] [data-testid={key}]") for key in ("encoding", "segments", "length")}


def test_officer_composes_confirms_sends_and_watches_the_progress(app, live_server, page, make_user):
    app.extensions["huey"].flush()  # nothing left over from another test
    group_id = _people(app)
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/alerts")
    page.click("[data-testid=new-alert]")
    page.wait_for_url(live_server + "/alerts/new")

    # The live counter: typing a Hungarian text with ő and í gives UCS-2, two segments.
    page.click("#body")
    page.keyboard.type(TEXT)
    counted = _counter(page, "UCS-2", len(TEXT))
    assert counted["segments"] == "2" and counted["length"] == str(len(TEXT))
    assert page.inner_text("[data-testid=preview-body]") == TEXT
    assert "1 SMS-szegmens" in page.inner_text("[data-testid=saving]")  # what transliteration would save

    # Transliteration: GSM-7, one segment, the letters folded as they will go out.
    page.check("#transliterate")
    counted = _counter(page, "GSM-7")
    assert counted["segments"] == "1"
    assert page.inner_text("[data-testid=preview-body]").startswith("Arvizvédelmi készültség")
    assert "kezdödik" in page.inner_text("[data-testid=preview-body]")
    assert "takarít meg" in page.inner_text("[data-testid=saving]")
    page.uncheck("#transliterate")
    _counter(page, "UCS-2")
    page.check("#transliterate")
    _counter(page, "GSM-7")

    # The filter box narrows the contact list (accents ignored); the group is ticked.
    page.fill("#contact-filter", "kovacs")
    visible = page.locator("label[data-testid=contact-option]:visible")
    assert visible.count() == 1 and "Kovács Júlia" in visible.inner_text()
    page.fill("#contact-filter", "")
    page.check(f"input[name=groups][value='{group_id}']")
    page.click("[data-testid=continue]")

    # The confirmation: who, the text as it goes out, the cost; then "Send now".
    page.wait_for_selector("[data-testid=confirm]")
    assert page.inner_text("[data-testid=recipient-count]") == "3"
    assert page.locator("[data-testid=recipient] [data-testid=name]").all_inner_texts() == [n for n, _ in MEMBERS]
    assert page.inner_text("[data-testid=final-body]").startswith("Arvizvédelmi")
    assert page.inner_text("[data-testid=cost]").replace("\xa0", " ") == "105 Ft"  # 35 Ft × 1 segment × 3
    page.click("[data-testid=send-now]")
    page.wait_for_url(re.compile(r".*/alerts/\d+$"))

    # Nothing consumes the queue yet: all three wait. Then the consumer starts, and the page
    # (not reloaded: the marker survives) shows them sent.
    page.evaluate("window.__notReloaded = true")
    assert page.inner_text("[data-count=queued]") == "3"
    assert page.inner_text("[data-count=sent]") == "0"
    assert page.get_attribute("[data-testid=progress]", "data-status") == "sending"
    assert page.locator("[data-testid=in-flight-notice]").is_visible()  # "being sent to 3 recipients"
    with running_queue(app):
        page.wait_for_selector("[data-testid=counts] [data-count=sent]:text-is('3')", timeout=30_000)
        page.wait_for_selector("[data-alert-status-slot] [data-status=done]", timeout=30_000)
    page.wait_for_selector("[data-testid=in-flight-notice]", state="hidden")  # done: no longer said to be sent
    assert page.evaluate("window.__notReloaded === true")
    assert page.inner_text("[data-count=queued]") == "0"
    assert page.inner_text("[data-sent-total]") == "3"
    statuses = page.eval_on_selector_all("[data-delivery-rows] tr", "rows => rows.map(r => r.dataset.status)")
    assert statuses == ["sent", "sent", "sent"]
    assert page.locator("[data-delivery-rows] [data-cell=status]").all_inner_texts() == ["elküldve"] * 3
    assert all(page.locator("[data-delivery-rows] [data-cell=sent_at] time").all_inner_texts())
    assert int(page.get_attribute("[data-testid=progress]", "data-polls")) >= 1
    width = page.eval_on_selector("[data-bar=sent]", "el => el.style.width")
    assert width == "100%"

    only_tiles(page, app)  # the compose page's map asks the tile server; nothing else leaves 127.0.0.1
    assert script_errors(page) == []


def test_the_live_counter_counts_the_reply_hint_while_acknowledgement_is_required(app, live_server, page, make_user):
    app.extensions["huey"].flush()
    _people(app)
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/alerts/new")
    hint = "Ha megkapta, küldje vissza: IGEN"
    assert f"„{hint}”" in page.inner_text("label:has(#require_ack)")

    body = ("Kérjük, jöjjön be a hivatalba. " * 5).strip()  # 154 GSM-7 characters: one segment
    page.fill("#body", body)
    counted = _counter(page, "GSM-7", len(body))
    assert counted["segments"] == "1"
    assert page.inner_text("[data-testid=preview-body]") == body

    # Ticking "require acknowledgement": the hint goes out too, so it is counted (187: two segments).
    page.check("#require_ack")
    counted = _counter(page, "GSM-7", len(body) + 1 + len(hint))
    assert counted["segments"] == "2"
    assert page.inner_text("[data-testid=preview-body]") == body + "\n" + hint

    page.uncheck("#require_ack")
    counted = _counter(page, "GSM-7", len(body))
    assert counted["segments"] == "1" and page.inner_text("[data-testid=preview-body]") == body
    assert script_errors(page) == []
