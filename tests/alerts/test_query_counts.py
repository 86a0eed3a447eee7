"""The pages that list opt-outs and the after-action report read the database a fixed number of
times, however many people opted out or how many alerts an incident had: one opt-out or twenty,
one alert or twenty, the same statements (counted on the engine)."""

from __future__ import annotations

import contextlib

from sqlalchemy import event, select

from factories import assign, committed, create_group, create_incident, create_resource

PHONE = "+362055504{:02d}"


@contextlib.contextmanager
def statements():
    """Every SQL statement sent to the database meanwhile (in an app context)."""
    from incident.extensions import db

    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def people(app, n: int, first: int, alerts: int = 1) -> tuple[int, int]:
    """Two alert groups of the same ``n`` contacts (phones from ``first``) and ``alerts`` alerts to
    them, asking for an acknowledgement, as if sent, for an incident: (incident id, last alert id)."""
    from alerts import operations as ops
    from alerts.models import Alert, Delivery
    from incident.extensions import db
    from incident.operations import contacts

    incident = create_incident(app, title=f"Árvíz {first}")["id"]
    groups = [create_group(app, f"Csoport {first}")["id"], create_group(app, f"Másik csoport {first}")["id"]]
    for i in range(first, first + n):
        committed(app, lambda i=i: contacts.create_contact({"name": f"Tag {i:02d}", "phone": PHONE.format(i),
                                                            "groups": groups}))
    for _ in range(alerts):
        alert = committed(app, lambda: ops.create_alert({"body": "HVB 9-kor", "groups": groups, "require_ack": True,
                                                         "incident_id": incident}, None)[0])
    with app.app_context():
        for delivery in db.session.execute(select(Delivery).join(Delivery.alert).where(Alert.incident_id == incident)).scalars():
            delivery.status = "sent"
        db.session.commit()
    return incident, alert["id"]


def everybody_stops(app, alert_id: int) -> None:
    from alerts import operations as ops
    from alerts.models import Delivery
    from incident.extensions import db

    with app.test_request_context():
        phones = db.session.execute(select(Delivery.phone).where(Delivery.alert_id == alert_id)).scalars().all()
        for phone in phones:
            ops.handle_reply(phone, "STOP")
        db.session.commit()


def test_opt_outs_are_read_in_a_fixed_number_of_statements(app):
    from alerts import operations as ops

    counted = {}
    for n, first in ((1, 0), (20, 1)):
        _incident, alert_id = people(app, n, first)
        everybody_stops(app, alert_id)
        with app.app_context():
            with statements() as on_the_alert_page:
                opted_out = ops.opted_out_deliveries(alert_id)
            with statements() as on_the_dashboard:
                warned, total = ops.recent_group_opt_outs()
        assert len(opted_out) == n
        assert all(groups == [f"Csoport {first}", f"Másik csoport {first}"] for _delivery, groups in opted_out)
        assert total == {1: 1, 20: 21}[n] and len(warned) == min(total, 10)  # the first one's still warned about
        assert all(len(w.groups) == 2 and w.alert_id is not None for w in warned)
        counted[n] = (len(on_the_alert_page), len(on_the_dashboard))
    assert counted[1] == counted[20], counted


def test_the_after_action_report_is_built_in_a_fixed_number_of_statements(app, client, make_user, login):
    from alerts import after_action
    from incident.extensions import db
    from incident.models import Incident

    one, _ = people(app, 1, 0)
    many, _ = people(app, 2, 10, alerts=20)
    for incident, resources in ((one, 1), (many, 3)):
        for i in range(resources):
            assign(app, incident, create_resource(app, name=f"Szivattyú {incident}-{i}")["id"])

    counted = {}
    for incident_id in (one, many):
        with app.app_context():
            incident = db.session.get(Incident, incident_id)
            with statements() as sent:
                report = after_action.build_report(incident)
            counted[incident_id] = len(sent)
            assert len(report.alerts) == (1 if incident_id == one else 20)
            assert all(f.merged == 0 and f.never_confirmed for f in report.alerts)
    assert counted[one] == counted[many], counted
    login(make_user("viewer"))
    assert client.get(f"/incidents/{many}/after-action").status_code == 200
