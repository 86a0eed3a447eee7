"""An alert by SMS, e-mail and voice call in a real browser: the officer ticks all three channels,
picks a group, and before sending sees on the confirmation whom each channel reaches and who it
cannot (a landline gets no SMS, no address no e-mail, but every phone a call; so nobody is left
out of the alert as a whole), and what the SMS
and the calls cost apart and together; sends; and watches the eleven messages go out (the console
gateways and mailer, and a real Huey consumer, do the sending)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from browser import only_tiles, script_errors, sign_in
from conftest import running_consumer
from factories import create_contact, create_group

pytestmark = pytest.mark.browser

BODY = "Viharriasztas: a sportcsarnok ma 18 orakor nyit."  # GSM-7 with the reply hint: one segment
MEMBERS = [  # name, phone, e-mail
    ("Kovács Júlia", "+36205550121", "julia.kovacs@belvaros.example"),
    ("Nagy Péter", "+36205550122", ""),  # no e-mail address: SMS and a call
    ("Szabó Ödön", "+36205550123", "odon.szabo@belvaros.example"),
    ("Tóth Dénes", "+3612345671", "denes.toth@belvaros.example"),  # a landline: e-mail and a call
    ("Fekete Ferenc", "+3612345672", ""),  # a landline, no address: a call only
]


def _people(app) -> int:
    group = create_group(app, "Intézményvezetők")
    for name, phone, email in MEMBERS:
        create_contact(app, name=name, phone=phone, email=email, groups=[group["id"]])
    return group["id"]


def _outbox(app) -> dict[str, int]:
    from incident.extensions import db

    from alerts.models import OutboxMessage

    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.channel, func.count()).group_by(OutboxMessage.channel)).all()
        db.session.rollback()
        return dict(rows)


def test_officer_sends_on_three_channels_after_seeing_each_ones_reach_and_the_call_cost(app, live_server, page,
                                                                                        make_user):
    app.extensions["huey"].flush()  # nothing left over from another test
    app.config.update(RIADO_SMS_PRICE=35, RIADO_VOICE_PRICE_PER_MINUTE=20)
    group_id = _people(app)
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/alerts/new")

    page.fill("#body", BODY)
    for channel in ("sms", "email", "voice"):
        page.check(f"[data-testid=channel-{channel}]")
    page.fill("[data-testid=subject]", "Vihar – sportcsarnok")
    page.check("#require_ack")
    page.check(f"input[name=groups][value='{group_id}']")
    page.click("[data-testid=continue]")

    # The confirmation: each channel's reach with who it cannot reach and why, by name.
    page.wait_for_selector("[data-testid=confirm]")
    reach = {channel: page.inner_text(f"[data-testid=channel-reach] [data-channel={channel}]")
             for channel in ("sms", "email", "voice")}
    assert reach["sms"].startswith("SMS: 3 címzett") and "vezetékes" in reach["sms"]
    assert "Tóth Dénes" in reach["sms"] and "Fekete Ferenc" in reach["sms"]
    assert reach["email"].startswith("e-mail: 3 címzett") and "nincs e-mail-cím: 2" in reach["email"]
    assert "Nagy Péter" in reach["email"] and "Fekete Ferenc" in reach["email"]
    assert reach["voice"].startswith("hanghívás: 5 címzett") and ";" not in reach["voice"]  # nobody left out
    # Everyone is reached on some channel: five recipients, nobody left out, eleven messages.
    assert page.inner_text("[data-testid=recipient-count]") == "5"
    assert sorted(page.locator("[data-testid=recipient] [data-testid=name]").all_inner_texts()) == sorted(
        name for name, _phone, _email in MEMBERS)
    assert page.locator("[data-testid=no-exclusions]").count() == 1
    assert page.inner_text("[data-testid=send-now]") == "Küldés most 5 címzettnek"
    # What it costs: the SMS and the calls apart (one minute a call), and together.
    sms_cost = page.inner_text("[data-testid=cost-formula]").replace("\xa0", " ")
    voice_cost = page.inner_text("[data-testid=voice-cost-formula]").replace("\xa0", " ")
    assert "105 Ft" in sms_cost and "35 Ft" in sms_cost and "× 3" in sms_cost
    assert voice_cost == "(hanghívás 100 Ft: 20 Ft percenként × 1 perc × 5 hívás)"
    assert page.inner_text("[data-testid=cost]").replace("\xa0", " ") == "205 Ft"
    page.click("[data-testid=send-now]")
    page.wait_for_url(re.compile(r".*/alerts/\d+$"))

    # The alert's page: eleven messages wait; the consumer sends them and the page shows it.
    assert page.inner_text("[data-count=queued]") == "11"
    with running_consumer(app.extensions["huey"], workers=2):
        page.wait_for_selector("[data-testid=counts] [data-count=sent]:text-is('11')", timeout=30_000)
        page.wait_for_selector("[data-alert-status-slot] [data-status=done]", timeout=30_000)
    assert _outbox(app) == {"sms": 3, "email": 3, "voice": 5}
    channels = page.locator("[data-delivery-rows] [data-testid=channel]").all_inner_texts()
    assert sorted(channels) == sorted(["SMS"] * 3 + ["e-mail"] * 3 + ["hanghívás"] * 5)
    only_tiles(page, app)  # the compose page's map asks the tile server; nothing else leaves 127.0.0.1
    assert script_errors(page) == []
