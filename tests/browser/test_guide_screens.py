"""The guide's pictures (incident/static/help/<lang>/*.png), taken by walking each task of the guide
in a real browser on the demo district, the clock stopped at one morning: a changed page changes
its picture in the same commit (``make guide`` runs this alone; ``make test`` runs it with the
rest). A picture is written only when its pixels changed, so a run on an unchanged Riadó leaves
the files as they are. Each language's guide gets its own pictures, of the pages in that
language."""

from __future__ import annotations

import re

import pytest

from alerts.sms import transliterate
from browser.guide import (CHANGED_PIXELS, VIEWPORT, Pictures, assert_page_accessible, follow, guide_pictures,
                           load_demo_district, new_page, read_steps, sign_in, stop_the_clock, store)
from conftest import running_consumer, wait_until_idle

pytestmark = pytest.mark.browser

NEW_CONTACTS = (
    "name,phone,organization,role,groups,sms_opt_in\r\n"
    "Fekete Zsolt,06 30 555 0911,Belváros-Lipótvárosi Polgárőr Egyesület,járőrvezető,Civil szervezetek,yes\r\n"
    "Lengyel Márta,+36 20 555 0912,Belvárosi Óvoda,óvodavezető-helyettes,Iskolaigazgatók és intézményvezetők,yes\r\n"
)
WORDS = {
    "hu": {"alert": "Árvízvédelmi készültség: a HVB ülése ma 14:00-kor a Polgármesteri Hivatal dísztermében.",
           "household": "Kovács család, Váci utca 40.",
           "notice": ("Gázszivárgás: lezárás a Váci utcában", "A Váci utca 38–42. előtti szakasz a gázszolgáltató "
                      "munkája miatt 14 óráig lezárva.", "Kerüljék a területet; a lakók a Március 15. téren gyülekeznek.")},
    "en": {"alert": "Flood readiness: the local defence committee meets at 14:00 in the town hall's council chamber.",
           "household": "Kovács family, Váci utca 40.",
           "notice": ("Gas leak: Váci utca closed", "The section in front of Váci utca 38–42 is closed until 14:00 "
                      "while the gas company works.", "Keep away from the area; residents gather on Március 15. tér.")},
}


@pytest.fixture
def app(app_factory):
    """One SMS at a time: the messages go out (and the Outbox lists them) in the same order on
    every run, so the pictures do not change with the threads' timing."""
    return app_factory(RIADO_SMS_CONCURRENCY=1)


def pending_notice(app, lang: str) -> int:
    """A notice the demo's press officer wrote and submitted (the admin approves it)."""
    from flask import g
    from sqlalchemy import select

    from alerts.notices import operations as notice_ops
    from incident.extensions import db
    from incident.models import User

    title, body, instruction = WORDS[lang]["notice"]
    with app.test_request_context():
        g._login_user = db.session.execute(select(User).where(User.role == "press")).scalars().first()
        notice = notice_ops.create_notice({"title": title, "body": body, "instruction": instruction,
                                           "area_desc": "Váci utca 38–42.", "severity": "moderate",
                                           "urgency": "immediate"})
        db.session.flush()
        notice_ops.submit_notice(notice.id)
        db.session.commit()
        return notice.id


def id_of(app, model, **where) -> int:
    from sqlalchemy import select

    from incident.extensions import db

    with app.app_context():
        query = select(model.id)
        for key, value in where.items():
            column = getattr(model, key)
            query = query.where(column.like(value) if "%" in str(value) else column == value)
        return db.session.execute(query.order_by(model.id)).scalars().first()


@pytest.mark.parametrize("lang", ["hu", "en"])
def test_the_guide_s_pictures(app, live_server, browser, monkeypatch, tmp_path, lang):
    from incident.models import AlertGroup, Incident, Resource

    clock = stop_the_clock(monkeypatch)
    login = load_demo_district(app)
    gas_drill = id_of(app, Incident, title="%gázszivárgás a Váci utcában")
    flood_drill = id_of(app, Incident, title="%árvízvédelmi törzsvezetési%")
    hvb = id_of(app, AlertGroup, name="Helyi Védelmi Bizottság")
    shelter = id_of(app, Resource, name="Eötvös József Gimnázium tornaterme")
    words = WORDS[lang]
    base = live_server
    page = new_page(browser, base, lang)
    pictures = Pictures(lang)
    huey = app.extensions["huey"]
    huey.flush()
    try:
        sign_in(page, base, login.email, login.password, lang)

        # First steps: the contacts, and a dry run of an import from Excel.
        page.goto(base + "/contacts")
        pictures.take(page, "first-steps-contacts")
        csv_file = tmp_path / "kapcsolattartok.csv"
        csv_file.write_bytes(NEW_CONTACTS.encode("utf-8-sig"))
        page.goto(base + "/contacts/import")
        page.set_input_files("#file", str(csv_file))
        page.check("#dry_run")
        page.click("form[data-testid=import-form] button[type=submit]")
        page.wait_for_selector("[data-testid=dry-run]")
        pictures.take(page, "first-steps-import")

        # A call-out to the local defence committee, followed to its acknowledgements.
        with running_consumer(huey, workers=1):
            page.goto(base + "/alerts/new")
            page.check(f"input[name=groups][value='{hvb}']")
            page.check("#require_ack")
            page.check("#transliterate")  # as the guide's steps say
            # The text last: the counter's count of it (debounced) is the last one, and its preview
            # then holds the (transliterated) text and the reply hint.
            page.fill("#body", words["alert"])
            page.wait_for_function("([text]) => { const c = document.querySelector('[data-counter]');"
                                   " return c.dataset.state === 'ready' && c.textContent.includes(text)"
                                   " && c.textContent.includes('IGEN'); }", arg=[transliterate(words["alert"])[-20:]])
            page.locator("#body").evaluate("e => e.blur()")
            pictures.take(page, "callout-compose")
            page.click("[data-testid=continue]")
            page.wait_for_selector("[data-testid=confirm]")
            pictures.take(page, "callout-confirm")
            page.click("[data-testid=send-now]")
            page.wait_for_url(re.compile(r".*/alerts/\d+$"))
            alert_page = page.url
            wait_until_idle(app)
            clock.advance(minutes=3)
            answer(page, base, 3, "IGEN")
            answer(page, base, 5, "igen")
            page.goto(alert_page)
            page.wait_for_selector("[data-testid=counts] [data-count=acknowledged]:text-is('2')")
            # Down to the list of those still silent, which the caption names.
            take_down_to(pictures, page, "callout-progress", "#silent")

            # A drill, run by the guide's own steps (read from its help page, so that the pictures
            # show what the guide types): its page, an alert from it, a simulated answer, its
            # after-action report.
            clock.advance(minutes=5)
            steps = read_steps(page, base, "drill", "drill")
            page.goto(base + "/")
            follow(page, steps[:5])  # recorded and activated
            pictures.take(page, "drill-incident")
            follow(page, steps[5:-4])  # alerted; every message out
            wait_until_idle(app)
            clock.advance(minutes=2)
            follow(page, steps[-4:-3])  # the topmost message answered
            page.goto(base + "/alerts/outbox")
            page.locator("[data-testid=outbox] [data-testid=reply-text]").first.fill("OK")
            pictures.take(page, "drill-outbox")
            follow(page, steps[-3:])  # contained, closed, its after-action report open
            # Down to the end of the alert's figures (acknowledged, median time to acknowledge).
            take_down_to(pictures, page, "drill-after-action", "section.card:has([data-testid=aar-alert])")

        # An incident: the flood drill's page, its log, its situation report.
        page.goto(f"{base}/incidents/{flood_drill}")
        pictures.take(page, "incident-page")
        page.fill("#entry-text", "Vigadó tér: 644 cm, 2 cm/óra emelkedés. A rakpart lezárása 645 cm-nél indul."
                  if lang == "hu" else "Vigadó tér: 644 cm, rising 2 cm an hour. The embankment closes at 645 cm.")
        page.locator("#entry-text").evaluate("e => { e.setSelectionRange(0, 0); e.scrollLeft = 0; e.blur(); }")
        pictures.take(page, "incident-log", page.locator("#log"), max_height=720)
        page.goto(f"{base}/incidents/{flood_drill}/report")
        pictures.take(page, "incident-report")

        # The registration desk, a household typed in.
        page.goto(base + "/reception/desk")
        page.select_option("#incident_id", str(gas_drill))
        page.select_option("#shelter_id", str(shelter))
        page.fill("#household", words["household"])
        for i, (name, year) in enumerate((("Kovács István", "1951"), ("Kovács Istvánné", "1954"))):
            page.fill(f"#name_{i}", name)
            page.fill(f"#birth_year_{i}", year)
        page.check("input[name=needs_0][value=medication]")
        page.locator("#name_1").blur()
        pictures.take(page, "reception-desk")

        # Public notices: writing one, and one awaiting the approver.
        page.goto(base + "/notices/new")
        title, body, instruction = words["notice"]
        page.fill("#title", title)
        page.fill("#body", body)
        page.fill("#instruction", instruction)
        page.locator("#instruction").blur()
        pictures.take(page, "notices-editor")
        page.goto(f"{base}/notices/{pending_notice(app, lang)}")
        pictures.take(page, "notices-approval")

        # What the statuses mean: the demo's flood call-out, one phone unreachable (30003).
        page.goto(base + "/alerts/1")
        pictures.take(page, "statuses-deliveries", page.locator("#deliveries"), max_height=720)
        assert_page_accessible(page)  # every page pictured, and those on the way
    finally:
        page.context.close()
        huey.flush()
    # Every picture a guide shows, each once, and none that no guide shows.
    taken, shown = pictures.taken, guide_pictures(lang)
    assert sorted(taken) == sorted(shown), (f"not taken: {sorted(shown - set(taken))}; no guide shows: "
                                            f"{sorted(set(taken) - shown)}; taken twice: "
                                            f"{sorted({n for n in taken if taken.count(n) > 1})}")
    if pictures.changed:
        print(f"guide pictures written ({lang}): {', '.join(pictures.changed)}")


def take_down_to(pictures, page, name: str, selector: str) -> None:
    """A picture of the page from its top to a little below ``selector``: the page's head and
    what the guide's caption names, and not the rest (the browser window made that tall for it,
    as wide as ever)."""
    height = page.evaluate("s => Math.ceil(document.querySelector(s).getBoundingClientRect().bottom"
                           " + window.scrollY) + 16", selector)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    try:
        pictures.take(page, name)
    finally:
        page.set_viewport_size(VIEWPORT)


def answer(page, base: str, row: int, text: str) -> None:
    """Simulate the answer of the ``row``-th message of the Outbox (newest first)."""
    page.goto(base + "/alerts/outbox")
    message = page.locator("[data-testid=outbox-message]").nth(row - 1)
    message.locator("[data-testid=reply-text]").fill(text)
    message.locator("[data-testid=simulate]").click()
    page.wait_for_load_state("load")


def test_a_picture_is_written_when_a_few_pixels_or_only_a_hue_changed(tmp_path):
    """``store`` keeps the file as it is for the same pixels (the same bytes), and writes it for a
    few changed pixels (a letter) or a change of one colour channel alone (a blue)."""
    import io

    from PIL import Image, ImageDraw

    def png(draw) -> bytes:
        picture = Image.new("RGB", (120, 40), "white")
        pen = ImageDraw.Draw(picture)
        pen.rectangle((4, 4, 40, 30), fill=(20, 90, 150))
        pen.text((50, 12), "Mentés", fill="black")
        draw(picture, pen)
        out = io.BytesIO()
        picture.save(out, format="PNG")
        return out.getvalue()

    def nothing(picture, pen):
        pass

    def pixels(count, colour=(0, 0, 0)):
        def draw(picture, pen):
            for x in range(count):
                picture.putpixel((50 + x, 35), colour)
        return draw

    path = tmp_path / "shot.png"
    assert store(path, png(nothing))
    before = path.read_bytes()
    assert not store(path, png(nothing)) and path.read_bytes() == before
    assert not store(path, png(pixels(CHANGED_PIXELS))) and path.read_bytes() == before  # hinting
    assert store(path, png(pixels(7)))  # a changed letter
    # Only the button's blue changed (150 -> 230 of 255; its brightness by 9).
    path = tmp_path / "blue.png"
    assert store(path, png(nothing))
    assert store(path, png(lambda picture, pen: pen.rectangle((4, 4, 40, 30), fill=(20, 90, 230))))
