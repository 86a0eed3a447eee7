"""The one place where accepting a watch event touches readiness (SPEC §7): raise the incident
to the proposed readiness level and apply the plans for its hazard at that level (the readiness
plans of issue 16, in the core)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from incident.extensions import db
from incident.models import Incident, IncidentTask
from incident.operations.incidents import Who, change_readiness
from incident.operations.plans import apply_plan, plans_for

ROMAN = {1: "I", 2: "II", 3: "III"}


def prepare(incident: Incident, level: int, now: dt.datetime, author: Who) -> list[str]:
    """Raise ``incident`` (locked by the caller) to readiness ``level``, never lowering it (a
    change written to its log), and apply the plans for its kind at that level not applied to it
    yet (each written to its log). Returns the names of the plans applied."""
    if level > (incident.readiness_level or 0):
        change_readiness(incident, level, now, author)
        incident.version += 1
    applied = set(db.session.execute(
        select(IncidentTask.plan_id).where(IncidentTask.incident_id == incident.id).distinct()).scalars())
    names = []
    for plan in plans_for(incident.kind, level):
        if plan.id not in applied:
            apply_plan(incident.id, plan.id, now=now, author=author)
            names.append(plan.name)
    return names
