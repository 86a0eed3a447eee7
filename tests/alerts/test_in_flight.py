"""One meaning of "in flight" (``Alert.in_flight``: still being sent) for the alert page's
"being sent" notice, the dashboard's list and the wall map's counter: while an alert is sent all
three say so; once it is done none does, even if the officer opens its page only then, and an
alert still waiting for acknowledgements is listed as such, not as in flight."""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from conftest import csrf_from, running_consumer, wait_for
from test_alert_pages import Forms, texts_of

NOTICE = "küldése folyamatban van"


def wall_in_flight(client, headers) -> int:
    counts = client.get("/api/v1/map/summary", headers=headers).get_json()["counts"]
    return {c["key"]: c["value"] for c in counts}["alerts_in_flight"]


def send_from_the_form(client, group: int) -> str:
    """Compose, confirm and send an alert to ``group`` that asks for OK; the alert page's address."""
    form = client.get("/alerts/new").get_data(as_text=True)
    confirm = client.post("/alerts/new", data={"csrf_token": csrf_from(form), "body": "Árvíz: válaszoljon OK-val",
                                               "groups": str(group), "require_ack": "1"})
    assert confirm.status_code == 200, confirm.get_data(as_text=True)
    sent = client.post("/alerts/send", data=MultiDict(Forms(confirm.get_data(as_text=True)).forms["send-form"]["fields"]))
    assert sent.status_code == 302
    return sent.headers["Location"]


def test_the_alert_page_the_dashboard_and_the_wall_agree_on_what_is_in_flight(app, client, api, make_user, login):
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Ügyelet"}, headers=headers).get_json()["id"]
    for name, phone in (("Kovács Júlia", "+36205550601"), ("Nagy Péter", "+36205550602")):
        client.post("/api/v1/contacts", json={"name": name, "phone": phone, "groups": [group]}, headers=headers)
    login(make_user("officer"))
    huey = app.extensions["huey"]
    huey.flush()
    location = send_from_the_form(client, group)
    alert_id = int(location.rsplit("/", 1)[1])

    assert wall_in_flight(client, headers) == 1  # nothing has consumed the queue yet

    with running_consumer(huey, workers=2):
        wait_for(lambda: client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["status"] == "done")

    # Done: the officer opens the alert page only now (no page in between), and nothing there
    # says it is being sent.
    page = client.get(location).get_data(as_text=True)
    assert NOTICE not in page and 'data-testid="in-flight-notice"' not in page
    # The dashboard lists nothing in flight, like the wall; the alert waits for acknowledgements.
    dashboard = client.get("/").get_data(as_text=True)
    assert 'data-testid="alerts-in-flight"' not in dashboard
    assert texts_of(dashboard, "no-alerts-in-flight") == ["Nincs folyamatban lévő riasztás."]
    assert wall_in_flight(client, headers) == 0
    waiting = dashboard.split('data-testid="alerts-awaiting-ack"')[1].split("</ul>")[0]
    assert f'data-alert="{alert_id}"' in waiting and "0 visszaigazolta" in waiting
    # The page's script and API clients read the same answer.
    assert 'data-in-flight="false"' in page
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["in_flight"] is False

    # Another alert, while it is being sent: its page says so (its script hides the notice when
    # done), the dashboard lists it in flight and the wall counts it.
    second = send_from_the_form(client, group)
    second_id = int(second.rsplit("/", 1)[1])
    page = client.get(second).get_data(as_text=True)
    assert texts_of(page, "in-flight-notice") == [f"A #{second_id} riasztás {NOTICE} 2 címzettnek."]
    dashboard = client.get("/").get_data(as_text=True)
    assert re.findall(r'<li data-alert="(\d+)">', dashboard.split('data-testid="alerts-in-flight"')[1].split("</ul>")[0]) == [
        str(second_id)]
    assert wall_in_flight(client, headers) == 1
    huey.flush()
