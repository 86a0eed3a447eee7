"""The officer's evening of issue 13, end to end in a real browser: a burst water main on Október
6. utca is reported through the form (a pasted place with latitude and longitude swapped is
caught first), the nearest pump is sent, an SMS alert asking for acknowledgement goes out through
(the fake) Twilio, one member confirms, one answers STOP, one stays silent; the opt-out shows on
the alert page, in the incident's log and on the dashboard; closing asks about the pump still
out and gives it back; the after-action report then tells one consistent story."""

from __future__ import annotations

import re

import pytest

from browser import only_tiles, script_errors, sign_in
from conftest import wait_for
from factories import create_contact, create_group, create_resource, store_district_outline
from fake_twilio import FakeTwilio

pytestmark = pytest.mark.browser

OKTOBER_6 = (47.5003, 19.0497)  # Október 6. utca, Belváros-Lipótváros
GROUP = "Vízművek ügyelet"
MEMBERS = [("Kovács Júlia", "+36205550801"), ("Pásztor Gábor", "+36205550802"), ("Szabó Ödön", "+36205550803")]
CONFIRMS, STOPS, SILENT = MEMBERS




def test_a_burst_water_main_from_report_to_after_action(sms_app, sms_server, consumer, fake_twilio, page, make_user):
    app, base = sms_app, sms_server
    store_district_outline(app)
    pump = create_resource(app, name="Zagyszivattyú 2.", kind="pump", quantity=1, unit="db",
                           location={"type": "Point", "coordinates": [19.0503, 47.5007]})
    group = create_group(app, GROUP)
    for name, phone in MEMBERS:
        create_contact(app, name=name, phone=phone, groups=[group["id"]])
    sign_in(page, base, make_user("officer"))

    # The report: pasted with latitude and longitude swapped, it is caught and the swap named.
    page.goto(base + "/incidents/new")
    page.fill("#title", "Csőtörés az Október 6. utcában")
    page.select_option("#kind", "water_outage")
    page.select_option("#severity", "moderate")
    page.fill("#latitude-visible", str(OKTOBER_6[1]))
    page.fill("#longitude-visible", str(OKTOBER_6[0]))
    page.click("form[data-testid=incident-form] button[type=submit]")
    page.wait_for_selector("[data-testid=confirm-far]")
    assert "felcseréltnek látszik" in page.inner_text("form[data-testid=incident-form]")
    # Typed the Hungarian way, with a decimal comma.
    page.fill("#latitude-visible", str(OKTOBER_6[0]).replace(".", ","))
    page.fill("#longitude-visible", str(OKTOBER_6[1]).replace(".", ","))
    page.click("form[data-testid=incident-form] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base) + r"/incidents/\d+$"))
    incident_id = int(page.url.rsplit("/", 1)[1])
    incident_page = page.url
    with app.app_context():
        from incident.extensions import db
        from incident.geo import to_shapely
        from incident.models import Incident

        point = to_shapely(db.session.get(Incident, incident_id).location)
        assert (round(point.y, 4), round(point.x, 4)) == OKTOBER_6

    # The nearest pump goes out.
    page.click("[data-testid=to-active]")
    page.wait_for_selector("[data-testid=to-contained]")
    page.click(f"[data-testid=nearby-resource][data-resource='{pump['id']}'] [data-testid=assign]")
    page.wait_for_selector(f"[data-testid=active-assignments] [data-testid=assignment][data-resource='{pump['id']}']")

    # The alert: the SMS asks for the reply it counts, and costs forints.
    page.click("[data-testid=alert-link]")
    page.wait_for_url(re.compile(r".*/alerts/new\?incident_id=\d+"))
    page.fill("#body", "Csőtörés az Október 6. utcában: a vízszolgáltatás szünetel. Gyülekező a Hold utcánál.")
    page.check(f"input[name=groups][value='{group['id']}']")
    page.check("#require_ack")
    page.click("[data-testid=continue]")
    page.wait_for_selector("[data-testid=confirm]")
    final = page.inner_text("[data-testid=final-body]")
    assert final.rstrip().endswith("IGEN")
    assert page.inner_text("[data-testid=recipient-count]") == "3"
    assert page.inner_text("[data-testid=excluded-count]") == "0"
    assert page.inner_text("[data-testid=cost]").endswith("Ft")
    page.click("[data-testid=send-now]")
    page.wait_for_url(re.compile(r".*/alerts/\d+$"))
    alert_id = int(page.url.rsplit("/", 1)[1])

    # The phones get it; one confirms with the word asked for, one opts out, one stays silent.
    wait_for(lambda: len(fake_twilio.messages) == 3)
    by_phone = {m.to: m for m in fake_twilio.messages}
    assert all(m.body.rstrip().endswith("IGEN") for m in fake_twilio.messages)
    for _name, phone in MEMBERS:
        assert fake_twilio.status_callback(by_phone[phone], "delivered")[0] == 200
    inbound = base + "/webhooks/twilio/inbound"
    assert FakeTwilio.signed_post(inbound, {"MessageSid": "SM" + "1" * 32, "From": CONFIRMS[1], "Body": "igen"})[0] == 200
    assert FakeTwilio.signed_post(inbound, {"MessageSid": "SM" + "2" * 32, "From": STOPS[1], "Body": "STOP"})[0] == 200

    # The alert page shows both replies, the opt-out and who is still silent.
    page.wait_for_selector("[data-testid=reply][data-action=stop]", timeout=20_000)
    page.wait_for_selector("[data-testid=reply][data-action=ack]", timeout=20_000)
    page.wait_for_selector("[data-testid=silent-count]:text-is('1')", timeout=20_000)
    assert page.inner_text("[data-count=opted_out]") == "1"
    assert page.inner_text("[data-count=acknowledged]") == "1"
    still_silent = page.locator("[data-testid=silent-person]:visible").all_inner_texts()
    assert len(still_silent) == 1 and SILENT[0] in still_silent[0]
    page.reload()
    assert STOPS[0] in page.inner_text("[data-testid=opt-out-warning]")

    # The dashboard warns that a member of an alert group no longer gets alerts.
    page.goto(base + "/")
    warning = page.locator("[data-testid=alerts-panel] [data-testid=opt-out-warning]")
    assert STOPS[0] in warning.inner_text() and GROUP in warning.inner_text()

    # The incident's log names who opted out, in words.
    page.goto(incident_page)
    log = page.locator("[data-testid=timeline] [data-testid=entry-text]").all_inner_texts()
    assert any(STOPS[0] in text and "leiratkozott" in text for text in log), log
    assert not any(re.search(r"\(\w+: \d+", text) for text in log), log  # no internal ids

    # Closing asks about the pump still out; released now, then closed.
    page.click("[data-testid=to-contained]")
    page.wait_for_selector("[data-testid=to-closed]")
    page.click("[data-testid=to-closed]")
    page.wait_for_url(f"{incident_page}/close")
    assert page.locator("[data-testid=open-assignment] [data-testid=resource-name]").all_inner_texts() == ["Zagyszivattyú 2."]
    page.click("[data-testid=confirm-close]")
    page.wait_for_url(incident_page)
    assert page.locator("[data-testid=status]").first.get_attribute("data-status") == "closed"
    assert page.locator("[data-testid=active-assignments] [data-testid=assignment]").count() == 0

    # The after-action report: one story, consistent with every page before it.
    page.click("[data-testid=after-action-link]")
    page.wait_for_url(f"{incident_page}/after-action")
    report = page.locator(f"[data-testid=aar-alert][data-alert='{alert_id}']")
    assert report.locator("[data-testid=aar-recipients]").inner_text() == "3"
    assert report.locator("[data-testid=aar-delivery-rate]").inner_text() == "3 (100%)"
    assert report.locator("[data-testid=aar-ack-rate]").inner_text() == "1 (33%)"
    assert report.locator("[data-testid=aar-excluded]").inner_text() == "0"
    assert report.locator("[data-testid=aar-opted-out]").inner_text() == STOPS[0]
    assert report.locator("[data-testid=aar-never]").inner_text() == SILENT[0]
    deployed = page.locator("[data-testid=aar-resources] tbody tr").all_inner_texts()
    assert len(deployed) == 1 and "Zagyszivattyú 2." in deployed[0] and "még kirendelve" not in deployed[0]
    assert page.inner_text("[data-testid=aar-resources] [data-testid=aar-quantity]") == "1 db"
    timeline = page.inner_text("[data-testid=aar-timeline]")
    assert STOPS[0] in timeline and "Visszaadva: 1 db – Zagyszivattyú 2." in timeline
    assert incident_id and only_tiles(page, app) is None
    assert script_errors(page) == []
