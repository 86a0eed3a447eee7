"""The pages of plans and checklists, as officers and viewers use them: write and reorder a plan
without scripts, import one with a mistake, raise an incident's readiness level and be offered the
plan, apply it, tick and skip tasks, print the checklist; the dashboard, the situation report
and the wall map's counts show it."""

from __future__ import annotations

import datetime as dt
import io
import re

from conftest import csrf_from
from factories import PAYLOADS, create_incident


def _plan(app, **changes):
    from factories import committed
    from incident.operations import plans as ops

    raw = {"name": "Árvíz – II. fokú készültség", "hazard": "flood", "level": 2, "tasks": [
        {"title": "HVB összehívása", "responsible": "Titkárság", "due_minutes": 30},
        {"title": "Alsó rakpart lezárása", "responsible": "Közterület-felügyelet", "due_minutes": 60},
    ], **changes}
    return committed(app, lambda: ops.create_plan(raw))


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_an_officer_writes_and_reorders_a_plan_on_its_page(as_officer):
    client = as_officer
    token = csrf_from(_text(client.get("/plans/new")))
    form = {"csrf_token": token, "name": "Vihar – I. fok", "hazard": "storm", "level": "1", "description": "",
            "version": "", "rows": "3",
            "task-0-title": "Fák ellenőrzése", "task-0-details": "", "task-0-responsible": "Kertészet",
            "task-0-due_minutes": "120",
            "task-1-title": "Lakosság tájékoztatása", "task-1-details": "", "task-1-responsible": "Sajtó",
            "task-1-due_minutes": "30",
            "task-2-title": "", "task-2-details": "", "task-2-responsible": "", "task-2-due_minutes": ""}
    # Moving a row comes back with what was typed, nothing saved.
    moved = client.post("/plans/new", data={**form, "action": "up-1"})
    assert moved.status_code == 200
    page = _text(moved)
    assert page.index("Lakosság tájékoztatása") < page.index("Fák ellenőrzése")
    assert client.get("/api/v1/plans").get_json()["total"] == 0
    # A bad due time is put beside its row; nothing is saved.
    bad = client.post("/plans/new", data={**form, "task-1-due_minutes": "-3", "action": "save"})
    assert bad.status_code == 422 and "field-error" in _text(bad)
    assert client.get("/api/v1/plans").get_json()["total"] == 0
    saved = client.post("/plans/new", data={**form, "action": "save"})
    assert saved.status_code == 302
    plan = client.get("/api/v1/plans").get_json()["items"][0]
    assert [t["title"] for t in plan["tasks"]] == ["Fák ellenőrzése", "Lakosság tájékoztatása"]
    # Edited: reordered, a new revision.
    edit = _text(client.get(f"/plans/{plan['id']}/edit"))
    version = re.search(r'name="version" value="(\d+)"', edit).group(1)
    swapped = {**form, "version": version, "task-0-title": "Lakosság tájékoztatása", "task-0-responsible": "Sajtó",
               "task-0-due_minutes": "30", "task-1-title": "Fák ellenőrzése", "task-1-responsible": "Kertészet",
               "task-1-due_minutes": "120", "action": "save"}
    assert client.post(f"/plans/{plan['id']}/edit", data=swapped).status_code == 302
    again = client.get(f"/api/v1/plans/{plan['id']}").get_json()
    assert again["revision"] == 2 and again["tasks"][0]["title"] == "Lakosság tájékoztatása"
    # A stale form is refused.
    assert client.post(f"/plans/{plan['id']}/edit", data=swapped).status_code == 409
    assert "Vihar – I. fok" in _text(client.get("/plans")) and "Fák ellenőrzése" in _text(client.get(f"/plans/{plan['id']}/print"))


def test_a_bad_plan_file_on_the_import_page_names_row_and_field(as_officer):
    client = as_officer
    token = csrf_from(_text(client.get("/plans/import")))
    data = ("plan,hazard,level,title,due_minutes\r\nHőség 1.,heat,1,Hűtött terem,60\r\nHőség 1.,heat,1,,30\r\n"
            "Hőség 1.,heat,1,Ivókutak,hamar\r\n").encode()
    response = client.post("/plans/import", data={"csrf_token": token, "file": (io.BytesIO(data), "hoseg.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    # In the file's order: its row, then the field as the plan's form calls it (and the column).
    rows = re.findall(r'data-testid="import-error-row">(\d+)</td><td data-testid="import-error-field">([^<]+) '
                      r'<small class="muted">\(<code>([^<]+)</code>', _text(response))
    assert rows == [("3", "Feladat", "title"), ("4", "Határidő (perc)", "due_minutes")]
    assert client.get("/api/v1/plans").get_json()["total"] == 0
    data = data.replace(b",hamar", b",45")
    good = data.replace(b",,30", b",Idosotthonok hivasa,30")
    done = client.post("/plans/import", data={"csrf_token": token, "file": (io.BytesIO(good), "hoseg.csv")},
                       content_type="multipart/form-data")
    assert done.status_code == 302 and client.get("/api/v1/plans").get_json()["total"] == 1


def test_two_plans_of_a_file_named_alike_but_for_case_are_refused_on_the_page_naming_the_row(as_officer):
    """"Straße" and "STRASSE" are one name to Riadó (casefold): the second is an error of the file,
    shown on the import page like any other, not the database's refusal."""
    client = as_officer
    token = csrf_from(_text(client.get("/plans/import")))
    data = "plan,hazard,level,title\r\nStraße,flood,1,Gátőrség\r\nSTRASSE,flood,2,Homokzsákok\r\n".encode()
    response = client.post("/plans/import", data={"csrf_token": token, "file": (io.BytesIO(data), "ket.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and response.mimetype == "text/html"
    page = _text(response)
    assert re.search(r'data-testid="import-error-row">3</td>', page)
    assert "A(z) STRASSE terv kétszer szerepel a fájlban (itt is: 2)." in page
    assert client.get("/api/v1/plans").get_json()["total"] == 0


def test_raising_the_level_offers_the_plan_which_is_applied_only_when_accepted(app, as_officer):
    client = as_officer
    plan = _plan(app)
    incident = create_incident(app)
    url = f"/incidents/{incident['id']}"
    page = _text(client.get(url))
    assert 'data-testid="plan-offer"' not in page
    token = csrf_from(page)
    raised = client.post(f"{url}/readiness", data={"csrf_token": token, "readiness_level": "2", "from": "0"})
    assert raised.status_code == 302 and raised.headers["Location"].endswith("#plan-offer")
    page = _text(client.get(url))
    assert 'data-testid="plan-offer"' in page and plan["name"] in page
    assert client.get(f"/api/v1/incidents/{incident['id']}/tasks").get_json()["total"] == 0  # not silently
    # A stale level is refused.
    stale = client.post(f"{url}/readiness", data={"csrf_token": token, "readiness_level": "3", "from": "0"})
    assert stale.status_code == 409
    applied = client.post(f"{url}/plans", data={"csrf_token": token, "plan_id": str(plan["id"])})
    assert applied.status_code == 302
    page = _text(client.get(url))
    assert 'data-testid="plan-offer"' not in page
    assert page.count('data-testid="task"') == 2
    tasks = client.get(f"/api/v1/incidents/{incident['id']}/tasks").get_json()["items"]
    # Done; skipping needs a reason; reopened.
    first = {"csrf_token": token, "version": str(tasks[0]["version"])}
    assert client.post(f"{url}/tasks/{tasks[0]['id']}", data={**first, "status": "done"}).status_code == 302
    no_reason = client.post(f"{url}/tasks/{tasks[1]['id']}", data={"csrf_token": token, "version": "1",
                                                                    "status": "skipped", "note": ""})
    assert no_reason.status_code == 422 and 'data-testid="task-error"' in _text(no_reason)
    assert client.post(f"{url}/tasks/{tasks[1]['id']}", data={"csrf_token": token, "version": "1", "status": "skipped",
                                                              "note": PAYLOADS[0]}).status_code == 302
    # Ticking a stale form (someone changed it meanwhile) is refused.
    assert client.post(f"{url}/tasks/{tasks[0]['id']}", data={**first, "status": "open"}).status_code == 409
    page = _text(client.get(url))
    assert PAYLOADS[0] not in page and "&lt;script&gt;" in page
    printed = _text(client.get(f"{url}/checklist"))
    assert "HVB összehívása" in printed and "☑" in printed and "☒" in printed and "data-print" in printed
    report = _text(client.get(f"{url}/report"))
    assert 'data-testid="report-checklist"' in report and "HVB összehívása" in report
    assert client.get(f"/api/v1/incidents/{incident['id']}/log/verify").get_json()["ok"]


def test_overdue_tasks_are_highlighted_listed_and_counted(app, as_officer):
    from factories import committed
    from incident.operations import plans as ops

    client = as_officer
    plan = _plan(app)
    incident = create_incident(app, title="Árvíz <b>teszt</b>")
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=45)
    committed(app, lambda: ops.apply_plan(incident["id"], plan["id"], now=long_ago)[0])
    page = _text(client.get(f"/incidents/{incident['id']}"))
    assert page.count('data-overdue="true"') == 1  # 30 minutes passed, 60 not yet
    dashboard = _text(client.get("/"))
    overdue = dashboard.split('data-testid="overdue-tasks"')[1].split("</ul>")[0]
    assert "HVB összehívása" in overdue and "Alsó rakpart" not in overdue and "&lt;b&gt;teszt" in overdue
    summary = client.get("/api/v1/map/summary?drill=false").get_json()
    assert {"key": "overdue_tasks", "value": 1} in [{k: c[k] for k in ("key", "value")} for c in summary["counts"]]


def test_a_viewer_sees_the_checklist_but_no_buttons(app, client, make_user, login):
    plan = _plan(app)
    incident = create_incident(app)
    from factories import committed
    from incident.operations import plans as ops

    committed(app, lambda: ops.apply_plan(incident["id"], plan["id"])[0])
    login(make_user("viewer"))
    page = _text(client.get(f"/incidents/{incident['id']}"))
    assert "HVB összehívása" in page
    assert 'data-testid="task-done"' not in page and 'data-testid="readiness-form"' not in page
    assert client.get("/plans/new").status_code == 403
    assert client.get("/plans").status_code == 200 and client.get(f"/plans/{plan['id']}").status_code == 200


def test_the_after_action_report_and_the_wall_show_the_checklist_and_the_level(app, as_officer):
    import csv

    from factories import committed
    from incident.operations import plans as ops

    client = as_officer
    plan = _plan(app)
    incident = create_incident(app, title="Árvíz gyakorlat", drill=True)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    tasks = committed(app, lambda: ops.apply_plan(incident["id"], plan["id"], now=start)[0])
    committed(app, lambda: ops.change_task(tasks["id"], {"status": "done"}, now=start + dt.timedelta(minutes=42))[0])
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"readiness_level": 2},
                 headers={"X-CSRFToken": csrf_from(_text(client.get("/")))})
    page = _text(client.get(f"/incidents/{incident['id']}/after-action"))
    section = page.split('data-testid="aar-checklist"')[1].split("</section>")[0]
    assert "HVB összehívása" in section and 'data-testid="task-delay"' in section  # done 12 minutes late
    rows = list(csv.DictReader(io.StringIO(client.get(f"/incidents/{incident['id']}/after-action.csv")
                                           .data.decode("utf-8-sig"), newline="")))
    task_rows = [r for r in rows if r["section"] == "task"]
    assert [(r["item"], r["kind"], r["duration_s"]) for r in task_rows] == [
        ("HVB összehívása", "done", "720.000"), ("Alsó rakpart lezárása", "open", task_rows[1]["duration_s"])]
    summary = client.get("/api/v1/map/summary?drill=true").get_json()
    assert [(r["number"], r["level"]) for r in summary["readiness"]] == [(incident["number"], 2)]
    assert client.get("/api/v1/map/summary?drill=false").get_json()["readiness"] == []
    assert 'data-readiness' in _text(client.get("/map/wall?drill=1"))


def test_a_plan_for_any_level_is_offered_at_every_level(app, as_officer):
    """A plan with no level of its own holds at every readiness level: raising an incident to any
    level offers it (beside the level's own plan), until it is applied."""
    client = as_officer
    level_two = _plan(app)
    any_level = _plan(app, name="Árvíz – minden fokozat", level=None, tasks=[
        {"title": "Vízállás naplózása óránként", "responsible": "Ügyelet", "due_minutes": 60}])
    incident = create_incident(app)
    url = f"/incidents/{incident['id']}"
    token = csrf_from(_text(client.get(url)))

    def offered() -> list[str]:
        page = _text(client.get(url))
        if 'data-testid="plan-offer"' not in page:
            return []
        offer = page.split('data-testid="plan-offer"')[1].split("</section>")[0]
        return re.findall(r'<a href="/plans/\d+">([^<]+)</a>', offer)

    raised = client.post(f"{url}/readiness", data={"csrf_token": token, "readiness_level": "1", "from": "0"})
    assert raised.status_code == 302 and raised.headers["Location"].endswith("#plan-offer")
    assert offered() == [any_level["name"]]
    client.post(f"{url}/readiness", data={"csrf_token": token, "readiness_level": "2", "from": "1"})
    assert offered() == [level_two["name"], any_level["name"]]  # the level's own first
    assert client.post(f"{url}/plans", data={"csrf_token": token, "plan_id": str(any_level["id"])}).status_code == 302
    assert offered() == [level_two["name"]]
    client.post(f"{url}/readiness", data={"csrf_token": token, "readiness_level": "3", "from": "2"})
    assert offered() == []  # no level-III plan; the one for any level is applied already
    assert client.get(f"/api/v1/incidents/{incident['id']}/tasks").get_json()["total"] == 1


def test_lateness_is_never_understated(app, as_officer):
    """A task 59 seconds past its due time is late by a minute (not 0 minutes, not on time), on
    the incident page, its checklist, the dashboard and the list of overdue tasks."""
    from factories import committed
    from incident.database import clock_at
    from incident.operations import plans as ops
    from incident.web.display import duration_text

    client = as_officer
    plan = _plan(app)
    incident = create_incident(app)
    applied = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    committed(app, lambda: ops.apply_plan(incident["id"], plan["id"], now=applied)[0])
    due = applied + dt.timedelta(minutes=30)
    with clock_at(due):
        page = _text(client.get(f"/incidents/{incident['id']}"))
        assert 'data-overdue="true"' not in page  # due this very moment: not late yet
    with clock_at(due + dt.timedelta(seconds=59)):
        page = _text(client.get(f"/incidents/{incident['id']}"))
        assert page.count('data-overdue="true"') == 1
        late = re.findall(r'data-testid="task-delay">([^<]+)<', page)
        assert late == ["késés: 1 perc"]
        assert re.findall(r'data-testid="task-delay">([^<]+)<', _text(client.get(f"/incidents/{incident['id']}/checklist"))) == ["késés: 1 perc"]
        dashboard = _text(client.get("/")).split('data-testid="overdue-tasks"')[1].split("</ul>")[0]
        assert "késés: 1 perc" in dashboard and "0 perc" not in dashboard
        assert re.findall(r'data-testid="overdue-late">([^<]+)<', _text(client.get("/incidents/overdue-tasks"))) == ["1 perc"]
    with clock_at(due + dt.timedelta(minutes=12, seconds=1)):
        assert re.findall(r'data-testid="task-delay">([^<]+)<', _text(client.get(f"/incidents/{incident['id']}"))) == [
            "késés: 13 perc"]
    with app.test_request_context():
        assert [duration_text(s, up=True) for s in (0, 1, 59, 60, 61, 3600)] == [
            "0 perc", "1 perc", "1 perc", "1 perc", "2 perc", "1 óra 0 perc"]
        assert [duration_text(s) for s in (59, 61)] == ["0 perc", "1 perc"]  # other durations as before


def test_the_dashboard_says_how_many_tasks_are_overdue_and_links_to_them_all(app, client, make_user, login):
    """More overdue tasks than the dashboard lists: it says how many there are and links to the
    full list, paged, the longest overdue first."""
    from factories import committed
    from incident.operations import plans as ops
    from incident.views.shell import OVERDUE_SHOWN

    many = _plan(app, name="Árvíz – sok feladat", tasks=[
        {"title": f"Feladat {n:02d}", "responsible": "Ügyelet", "due_minutes": n} for n in range(1, 61)])
    incident = create_incident(app, title="Árvíz <i>sok</i>")
    committed(app, lambda: ops.apply_plan(incident["id"], many["id"],
                                          now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2))[0])
    login(make_user("viewer"))
    dashboard = _text(client.get("/"))
    panel = dashboard.split('data-testid="overdue-panel"')[1].split("</section>")[0]
    assert panel.count('data-testid="overdue-task"') == OVERDUE_SHOWN < 60
    assert re.search(r'data-testid="overdue-total">\((\d+)\)', panel).group(1) == "60"
    more = re.search(r'data-testid="overdue-more"><strong>([^<]+)<', panel).group(1)
    assert str(OVERDUE_SHOWN) in more and "60" in more
    assert 'href="/incidents/overdue-tasks"' in panel
    first = _text(client.get("/incidents/overdue-tasks"))
    titles = re.findall(r'<strong class="task-late">(Feladat \d+)</strong>', first)
    assert titles == [f"Feladat {n:02d}" for n in range(1, 51)]  # 50 a page, the longest overdue first
    assert "&lt;i&gt;sok" in first and "60" in re.search(r'data-testid="overdue-total">([^<]+)<', first).group(1)
    second = _text(client.get("/incidents/overdue-tasks?page=2"))
    assert re.findall(r'<strong class="task-late">(Feladat \d+)</strong>', second) == [
        f"Feladat {n:02d}" for n in range(51, 61)]
    # Fewer than the dashboard lists: all of them, no "more" line.
    committed(app, lambda: [ops.change_task(t.id, {"status": "done"}) for t in ops.incident_tasks(incident["id"])[3:]][-1][0])
    panel = _text(client.get("/")).split('data-testid="overdue-panel"')[1].split("</section>")[0]
    assert panel.count('data-testid="overdue-task"') == 3 and 'data-testid="overdue-more"' not in panel


def test_a_closed_incidents_tasks_are_measured_to_its_closing(app, as_officer):
    """A task left open when the incident closed was as late as it was at the closing: hours
    later the incident page, its report and the API say the same, not hours late."""
    from factories import committed, move_incident
    from incident.database import clock_at
    from incident.operations import plans as ops

    client = as_officer
    plan = _plan(app)
    incident = create_incident(app)
    applied = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=50)
    committed(app, lambda: ops.apply_plan(incident["id"], plan["id"], now=applied)[0])
    move_incident(app, incident["id"], "active", "contained", "closed")
    url = f"/incidents/{incident['id']}"

    def delays(path):
        return re.findall(r'data-testid="task-delay">([^<]+)<', _text(client.get(path)))

    at_closing = delays(url)
    assert len(at_closing) == 1 and re.fullmatch(r"késés: (20|21) perc", at_closing[0])
    with clock_at(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)):
        assert delays(url) == at_closing
        assert delays(f"{url}/checklist") == at_closing
        report = delays(f"{url}/report")
        assert report and "óra" not in " ".join(report)
        overdue = [t["overdue"] for t in client.get(f"/api/v1/incidents/{incident['id']}/tasks").get_json()["items"]]
        assert overdue == [True, False]  # the second was due after the closing
