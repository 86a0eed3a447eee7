"""A refused form opens on its error summary (templates/incident/_forms.html): focused, each error
linking to its field in the form's order, the field marked invalid and described by its message.
The registration desk and the alert's compose page; the keyboard walks through them in
tests/browser/test_keyboard_browser.py."""

from __future__ import annotations

import re

from conftest import csrf_from
from factories import create_contact, create_group, create_incident, create_resource


def _summary(html: str, testid: str) -> tuple[str, list[str]]:
    match = re.search(rf'<div class="error-summary"[^>]*data-testid="{testid}">(.*?)</div>', html, re.S)
    assert match, "no error summary"
    return match.group(0), re.findall(r'<a href="#([^"]+)">', match.group(1))


def test_a_refused_desk_opens_on_its_errors_in_the_forms_order(app, as_officer):
    incident = create_incident(app, title="Dunai árvíz")
    create_resource(app, name="Tornaterem", kind="shelter", quantity=1, capacity=10)
    page = as_officer.get("/reception/desk").get_data(as_text=True)
    assert re.search(r'id="name_0"[^>]*autofocus', page)  # a fresh desk waits in the first name
    refused = as_officer.post("/reception/desk", data={
        "csrf_token": csrf_from(page), "incident_id": incident["id"], "shelter_id": "",
        "name_0": "Varga Péter", "birth_year_0": "3000", "name_1": "Varga Zsófi", "phone_1": "nem szám"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    box, targets = _summary(html, "desk-errors")
    assert 'role="alert"' in box and 'tabindex="-1"' in box and "autofocus" in box
    assert targets == ["shelter_id", "birth_year_0", "phone_1"]
    assert not re.search(r'id="name_0"[^>]*autofocus', html)  # one autofocus: the summary's
    assert re.search(r'id="birth_year_0"[^>]*aria-invalid="true" aria-describedby="birth_year_0-error"', html)
    assert re.search(r'<small class="field-error" id="birth_year_0-error">', html)
    assert re.search(r'id="shelter_id"[^>]*aria-invalid="true"', html)
    # After the summary's link (#birth_year_0), the next submit goes to the desk's own address.
    assert 'action="/reception/desk"' in html


def test_a_refused_alert_opens_on_its_errors_in_the_forms_order(app, as_officer):
    group = create_group(app, "Helyi Védelmi Bizottság")
    create_contact(app, name="Kovács Júlia", phone="+36205550101", groups=[group["id"]])
    page = as_officer.get("/alerts/new").get_data(as_text=True)
    refused = as_officer.post("/alerts/new", data={"csrf_token": csrf_from(page), "body": "",
                                                   "channels_shown": "1"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    box, targets = _summary(html, "form-errors")
    assert 'tabindex="-1"' in box and "autofocus" in box
    assert targets[0] == "body" and "channel-sms" in targets and targets[-1] == f"group-{group['id']}"
    assert f'id="group-{group["id"]}"' in html and 'id="channel-sms"' in html  # the links lead somewhere
    assert re.search(r'id="body"[^>]*aria-invalid="true" aria-describedby="body-error"', html)
