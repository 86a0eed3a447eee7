"""The one place where accepting a watch event touches readiness (SPEC §7): raise the incident
to the proposed readiness level and apply the plan for its hazard at that level.

INTEGRATION POINT (issue 16, readiness plans): until ``Incident.readiness_level`` and applying a
plan exist in the core, the proposed level is written to the incident's log and no plan is
applied."""

from __future__ import annotations

import datetime as dt

from incident.models import Incident
from incident.operations.incidents import Who, append_entry, system_text

ROMAN = {1: "I", 2: "II", 3: "III"}


def prepare(incident: Incident, level: int, now: dt.datetime, author: Who) -> list[str]:
    """Raise ``incident`` to readiness ``level`` (never lower it) and apply the plans for its
    kind at that level not applied yet; written to its log. Returns the names of the plans applied."""
    append_entry(incident, "system", system_text("Readiness level proposed by the hazard watch: %(level)s.",
                                                 level=ROMAN.get(level, str(level))), at=now, author=author)
    return []
