"""A new colleague, with nothing but the guide: a browser reads the steps of the guide's call-out
and drill from Riadó's own help page and does what they say, by the words on the screen (a menu
entry, a link's or a button's text, a field's label), as a person who has never seen Riadó
would. Both end as the guide promises: an alert sent to the committee, followed on its page; a
drill recorded, alerted, answered, closed and reported on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from browser.guide import follow, load_demo_district, new_page, read_steps, sign_in, stop_the_clock
from conftest import running_consumer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["hu", "en"])
def test_a_new_colleague_sends_a_call_out_and_runs_a_drill_from_the_guide_alone(app, live_server, browser, make_user,
                                                                                 monkeypatch, lang):
    from alerts.models import Alert, Delivery
    from incident.extensions import db
    from incident.models import Incident

    stop_the_clock(monkeypatch)
    load_demo_district(app)
    colleague = make_user("officer", name="Új Kolléga" if lang == "hu" else "New Colleague")
    base = live_server
    page = new_page(browser, base, lang)
    huey = app.extensions["huey"]
    huey.flush()
    done: list[str] = []
    try:
        sign_in(page, base, colleague["email"], colleague["password"], lang)
        with running_consumer(huey):
            # The call-out, from the dashboard.
            steps = read_steps(page, base, "callout", "callout")
            assert len(steps) >= 8
            page.goto(base + "/")
            done += follow(page, steps)
            call_out = page.url
            # The drill, from the dashboard again.
            steps = read_steps(page, base, "drill", "drill")
            drill_title = page.locator("ol[data-walk=drill] [data-kind=record]").inner_text()
            page.goto(base + "/")
            done += follow(page, steps)
    except Exception as exc:  # what the colleague had done when the guide lost them
        raise AssertionError("the guide lost the new colleague after:\n" + "\n".join(done[-6:])) from exc
    finally:
        page.context.close()
        huey.flush()

    with app.app_context():
        alerts = db.session.execute(select(Alert).where(Alert.created_by_id == colleague["id"]).order_by(Alert.id)).scalars().all()
        assert len(alerts) == 2
        first, second = alerts
        # The call-out: to the committee (8 phones; one member takes no SMS), asking for a reply.
        assert call_out.endswith(f"/alerts/{first.id}")
        assert not first.drill and first.require_ack and first.recipients == 8
        assert first.status == "done"
        # The drill: recorded as the guide says, alerted with the drill prefix, answered, closed.
        drill = db.session.execute(select(Incident).where(Incident.title == drill_title)).scalar_one()
        assert drill.drill and drill.kind == "gas_leak" and drill.severity == "severe" and drill.status == "closed"
        assert second.drill and second.incident_id == drill.id and second.body.startswith("GYAKORLAT! ")
        acknowledged = db.session.execute(select(Delivery).where(Delivery.alert_id == second.id,
                                                                 Delivery.acknowledged_at.is_not(None))).scalars().all()
        assert len(acknowledged) == 1
