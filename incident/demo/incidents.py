"""Demo incidents: two closed ones from the past (a Danube flood defence at readiness level II and
a summer storm) with the log an officer would have kept, and two drills running now (a gas leak,
and a flood-defence drill at readiness level I, to be raised).
Everything is fictional; the water levels follow the district's flood-defence thresholds
(Vigadó tér: 620 / 700 / 800 cm for readiness levels I / II / III)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..models import Incident, Plan, Resource
from ..operations import incidents as ops
from ..operations import plans as plan_ops
from ..operations.users import find_user
from .people import DOMAIN

BUDAPEST = ZoneInfo("Europe/Budapest")

EMBANKMENT = {
    "type": "Polygon",
    "coordinates": [[
        [19.0452, 47.5078], [19.0481, 47.5078], [19.0503, 47.4992], [19.0539, 47.4893],
        [19.0511, 47.4884], [19.0472, 47.4986], [19.0452, 47.5078],
    ]],
}
KORUT = {
    "type": "Polygon",
    "coordinates": [[
        [19.0468, 47.5112], [19.0560, 47.5112], [19.0560, 47.5088], [19.0468, 47.5088], [19.0468, 47.5112],
    ]],
}
VACI_UTCA = {
    "type": "Polygon",
    "coordinates": [[
        [19.0525, 47.4950], [19.0548, 47.4950], [19.0548, 47.4928], [19.0525, 47.4928], [19.0525, 47.4950],
    ]],
}


def _t(text: str) -> dt.datetime:
    """A Budapest wall-clock time, ``2025-06-10 06:40`` (or ``06:40:15``)."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return dt.datetime.strptime(text, fmt).replace(tzinfo=BUDAPEST)


def _who(local_part: str) -> ops.Who:
    user = find_user(f"{local_part}@{DOMAIN}")
    return ops.Who(user.id if user else None, user.email if user else f"{local_part}@{DOMAIN}")


def _resource(name: str) -> Resource:
    return db.session.execute(select(Resource).where(Resource.name == name)).scalars().first()


# Each step: (time, who, what, payload). what: log kinds, "status", "readiness" (a level), "plan"
# (a readiness plan's name: applied then, its tasks due from that time), "assign" (name,
# quantity), "release" (index of the assignment in this incident, 0-based), or a wing's step (a
# function, see ``register_steps`` in this package).
FLOOD = {
    "key": "flood",
    "incident": {
        "title": "Dunai árvízvédekezés – II. fokú készültség",
        "kind": "flood", "severity": "severe", "commander": "Dr. Szabó Katalin polgármester",
        "description": "A Duna tetőzése 760 cm körül várható a Vigadó téri vízmércén. A pesti alsó rakpart "
                       "lezárva, a mobilgát és a homokzsákos magasítás a Jane Haining rakparton.",
        "location": {"type": "Point", "coordinates": [19.0492, 47.4962]},
        "area": EMBANKMENT,
    },
    "steps": [
        ("2025-06-10 06:40", "referens", "note", "OVF/FKI előrejelzés: a Duna Vigadó téri vízállása 48 órán belül 700 cm fölé emelkedik, tetőzés 750–770 cm között."),
        ("2025-06-10 07:05", "referens", "status", "active"),
        ("2025-06-10 07:30", "polgarmester", "decision", "A polgármester I. fokú árvízvédelmi készültséget rendel el (Vigadó tér: 628 cm, emelkedő). Összehívja a Helyi Védelmi Bizottságot 09:00-ra."),
        # 07:35-07:52: the SMS call-out of the HVB and its acknowledgements (the alert wing's steps).
        ("2025-06-10 07:55", "asszisztens1", "communication", "A HVB SMS-riasztására 6 visszaigazolás érkezett. Telefonon értesítve: Dr. Vass Károly (a telefonja nem volt elérhető), Tóth Judit (nem válaszolt) és Szűcs Tamás (SMS-t nem kér)."),
        ("2025-06-10 09:40", "aljegyzo", "action", "A Városgazdálkodási Kft. megkezdte a homokzsákok kiszállítását a Jane Haining rakpartra."),
        ("2025-06-10 09:50", "referens", "assign", ("Homokzsák-depó, Jane Haining rakpart (Vigadó tér)", 2500)),
        ("2025-06-10 10:05", "referens", "assign", ("Homokzsák-töltő gép", 1)),
        ("2025-06-11 05:30", "referens", "note", "Vigadó tér: 702 cm, 4 cm/óra emelkedés. Szivárgás a Széchenyi István téri aluljáróban."),
        ("2025-06-11 05:45", "polgarmester", "decision", "A polgármester II. fokú árvízvédelmi készültséget rendel el. Az alsó rakpart gyalogos forgalma is lezárva."),
        ("2025-06-11 06:10", "referens", "assign", ("Utánfutós nagy teljesítményű szivattyú", 1)),
        ("2025-06-11 06:15", "referens", "assign", ("Merülő zagyszivattyú, 2 colos", 2)),
        ("2025-06-11 06:30", "referens", "assign", ("Mobil világítótorony (aggregátoros)", 2)),
        ("2025-06-11 08:00", "sajto", "communication", "Lakossági tájékoztató a kerület honlapján és közösségi oldalán: rakparti lezárások, pincék ellenőrzése."),
        ("2025-06-11 14:20", "referens", "note", "A homokzsákos magasítás 380 m hosszon kész. Két pincében víz: szivattyúzás folyamatban."),
        ("2025-06-12 03:00", "referens", "note", "Tetőzés: 758 cm 02:30-kor a Vigadó téri vízmércén."),
        ("2025-06-12 18:00", "referens", "note", "Vigadó tér: 705 cm, apadó."),
        ("2025-06-13 08:10", "polgarmester", "decision", "A polgármester a II. fokú készültséget I. fokúra mérsékli (Vigadó tér: 684 cm, apadó)."),
        ("2025-06-13 08:30", "referens", "status", "contained"),
        ("2025-06-13 09:00", "referens", "release", 2),
        ("2025-06-13 09:00", "referens", "release", 3),
        ("2025-06-13 09:05", "referens", "release", 4),
        ("2025-06-14 10:00", "referens", "action", "A homokzsákok visszaszállítása a depóba; 1900 zsák újrahasznosítható, 600 sérült zsák elszállítva."),
        ("2025-06-14 10:10", "referens", "release", 0),
        ("2025-06-14 10:15", "referens", "release", 1),
        ("2025-06-14 11:00", "polgarmester", "decision", "A polgármester a készültséget megszünteti (Vigadó tér: 598 cm). A védekezés lezárva."),
        ("2025-06-14 11:05", "referens", "status", "closed"),
    ],
}

STORM = {
    "key": "storm",
    "incident": {
        "title": "Viharos szél – fakidőlések a Szent István körúton",
        "kind": "storm", "severity": "moderate", "commander": "Horváth Bence közbiztonsági referens",
        "description": "HungaroMet narancs figyelmeztetés (széllökés 90 km/h felett). Kidőlt fák és leszakadt "
                       "ágak a körúton és a Falk Miksa utcában.",
        "location": {"type": "Point", "coordinates": [19.0512, 47.5101]},
        "area": KORUT,
    },
    "steps": [
        ("2026-07-19 16:20", "referens", "note", "HungaroMet: narancs figyelmeztetés viharos szélre 17 és 21 óra között."),
        ("2026-07-19 17:45", "referens", "note", "Bejelentés: kidőlt fa a Szent István körút 14. előtt, a villamospályán."),
        ("2026-07-19 17:50", "referens", "status", "active"),
        ("2026-07-19 17:55", "referens", "communication", "Fővárosi Katasztrófavédelmi Igazgatóság és BKV diszpécser értesítve."),
        ("2026-07-19 18:10", "referens", "assign", ("Forgalomterelő kúp", 40)),
        ("2026-07-19 18:12", "referens", "assign", ("Polgárőr járőrautó", 1)),
        ("2026-07-19 18:40", "aljegyzo", "decision", "A Falk Miksa utca Szent István körút és Balaton utca közötti szakaszát a fák eltávolításáig lezárjuk."),
        ("2026-07-19 20:30", "referens", "note", "A tűzoltóság a fát eltávolította, a villamosforgalom 20:25-kor helyreállt."),
        ("2026-07-19 21:15", "referens", "status", "contained"),
        ("2026-07-19 21:20", "referens", "release", 0),
        ("2026-07-19 21:20", "referens", "release", 1),
        ("2026-07-20 09:00", "referens", "action", "Kárfelmérés: 3 kidőlt fa, 2 megrongált gépkocsi, épületkár nincs. A kertészeti szolgálat a csonkokat elszállította."),
        ("2026-07-20 09:30", "referens", "status", "closed"),
    ],
}


def _drill(now: dt.datetime) -> dict:
    start = now - dt.timedelta(hours=2)

    def at(minutes: int) -> str:
        return (start + dt.timedelta(minutes=minutes)).astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")

    return {
        "key": "drill",
        "incident": {
            "title": "GYAKORLAT – gázszivárgás a Váci utcában",
            "kind": "gas_leak", "severity": "severe", "drill": True,
            "commander": "Horváth Bence közbiztonsági referens",
            "description": "Törzsvezetési gyakorlat: gázszag egy Váci utcai társasház pincéjében, a ház és a "
                           "szomszédos üzletek kiürítése, a lakók befogadása.",
            "location": {"type": "Point", "coordinates": [19.0537, 47.4939]},
            "area": VACI_UTCA,
        },
        "steps": [
            (at(0), "referens", "note", "Gyakorlat kezdete. Bejelentés: gázszag a Váci utca 40. pincéjében."),
            (at(3), "referens", "status", "active"),
            (at(10), "polgarmester", "decision", "A polgármester elrendeli a Váci utca 38–42. kiürítését és a lakók ideiglenes befogadását."),
            (at(15), "referens", "assign", ("Eötvös József Gimnázium tornaterme", 60)),
            (at(16), "referens", "assign", ("Gyapjútakaró", 60)),
            (at(25), "asszisztens1", "communication", "A Váci utcai társasházak közös képviselői értesítve; a gyülekezési pont a Március 15. tér."),
            (at(40), "referens", "note", "A gázszolgáltató ügyelete a helyszínen, a főcsapot elzárta."),
        ],
    }


def _flood_drill(now: dt.datetime) -> dict:
    """A running flood-defence drill at readiness level I: the level-I flood plan was applied when
    the level was declared, in the drill's first minutes, so two of its tasks are overdue by now
    (what the dashboard and the incident page show a new user); the officer raises the level as
    the water rises, and the flood plan for the new level is offered on its page."""
    start = now - dt.timedelta(minutes=50)

    def at(minutes: int) -> str:
        return (start + dt.timedelta(minutes=minutes)).astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")

    return {
        "key": "flood_drill",
        "incident": {
            "title": "GYAKORLAT – árvízvédelmi törzsvezetési gyakorlat a pesti rakparton",
            "kind": "flood", "severity": "moderate", "drill": True,
            "commander": "Horváth Bence közbiztonsági referens",
            "description": "Törzsvezetési gyakorlat: a feltételezett árhullám a Vigadó téri vízmércén 640 cm-ről "
                           "emelkedik, 24 órán belül 700 cm fölé. A készültségi fokozatok és a védekezési terv "
                           "feladatainak gyakorlása.",
            "location": {"type": "Point", "coordinates": [19.0492, 47.4962]},
            "area": EMBANKMENT,
        },
        "steps": [
            (at(0), "referens", "note", "Gyakorlat kezdete. Feltételezett helyzet: Vigadó tér 628 cm, 3 cm/óra emelkedés."),
            (at(2), "referens", "status", "active"),
            (at(5), "polgarmester", "decision", "A polgármester (gyakorlatként) I. fokú árvízvédelmi készültséget rendel el."),
            (at(6), "referens", "readiness", 1),
            (at(6), "referens", "plan", "Dunai árvíz – I. fokú készültség"),
            (at(20), "referens", "note", "Feltételezett vízállás: 641 cm. Az alsó rakpart lezárásának előkészítése 645 cm-nél."),
        ],
    }


def _run(plan: dict, wing_steps: list) -> dict[str, int]:
    """Play a plan's steps, and the wings' steps for it, in time order (a wing's step after the
    core's of the same minute); what the wings' steps added."""
    added: dict[str, int] = {}
    steps = sorted([*plan["steps"], *wing_steps], key=lambda step: _t(step[0]))
    first_time, first_author = _t(steps[0][0]), _who(steps[0][1])
    incident = ops.create_incident(plan["incident"], now=first_time, author=first_author)
    db.session.flush()
    assignments = []
    for when, who, what, payload in steps:
        at, author = _t(when), _who(who)
        if callable(what):
            for key, n in what(incident, payload, at=at, author=author).items():
                added[key] = added.get(key, 0) + n
        elif what == "status":
            ops.update_incident(incident, {"status": payload}, now=at, author=author)
        elif what == "readiness":
            ops.update_incident(incident, {"readiness_level": payload}, now=at, author=author)
        elif what == "plan":
            plan = db.session.execute(select(Plan).where(Plan.name == payload)).scalar_one_or_none()
            if plan is not None:  # the district's plan, unless someone deleted it
                plan_ops.apply_plan(incident.id, plan.id, now=at, author=author)
        elif what == "assign":
            name, quantity = payload
            resource = _resource(name)
            if resource is not None:
                assignments.append(ops.assign(incident.id, {"resource_id": resource.id, "quantity": quantity}, now=at, author=author))
                db.session.flush()
            else:
                assignments.append(None)
        elif what == "release":
            if payload < len(assignments) and assignments[payload] is not None:
                ops.release(assignments[payload].id, now=at, author=author)
        else:
            ops.append_entry(incident, what, payload, at=at, author=author)
        db.session.flush()
    return added


def load_incidents(now: dt.datetime | None = None, wing_steps: dict | None = None) -> dict[str, int]:
    """Load the demo incidents that are not there yet (by title), each with the wings' steps for
    it (``{plan key: [step, ...]}``); how many incidents, and what the wings' steps added."""
    now = now or dt.datetime.now(dt.timezone.utc)
    have = set(db.session.execute(select(Incident.title)).scalars())
    added = {"incidents": 0}
    for plan in (FLOOD, STORM, _drill(now), _flood_drill(now)):
        if plan["incident"]["title"] not in have:
            for key, n in _run(plan, (wing_steps or {}).get(plan["key"], [])).items():
                added[key] = added.get(key, 0) + n
            added["incidents"] += 1
    return added
