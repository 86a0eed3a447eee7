"""Human words for the codes the core's data uses (kinds, severities, statuses, roles, audit actions), in
the UI language: the core's labels in one place (the alert wing's are in ``alerts.labels``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

INCIDENT_KIND_LABELS = {
    "flood": _l("flood"),
    "storm": _l("storm"),
    "fire": _l("fire"),
    "hazmat": _l("hazardous materials"),
    "power_outage": _l("power outage"),
    "water_outage": _l("water outage"),
    "heat": _l("heat wave"),
    "snow_ice": _l("snow and ice"),
    "gas_leak": _l("gas leak"),
    "building_collapse": _l("building collapse"),
    "traffic": _l("traffic accident"),
    "epidemic": _l("epidemic"),
    "other": _l("other"),
}
SEVERITY_LABELS = {
    "extreme": _l("extreme"),
    "severe": _l("severe"),
    "moderate": _l("moderate"),
    "minor": _l("minor"),
    "unknown": _l("unknown"),
}
STATUS_LABELS = {
    "reported": _l("reported"),
    "active": _l("active"),
    "contained": _l("contained"),
    "closed": _l("closed"),
}
RESOURCE_STATUS_LABELS = {
    "available": _l("available"),
    "deployed": _l("deployed"),
    "maintenance": _l("in maintenance"),
    "unavailable": _l("unavailable"),
}
LOG_KIND_LABELS = {
    "note": _l("note"),
    "decision": _l("decision"),
    "action": _l("action"),
    "communication": _l("communication"),
    "system": _l("system"),
}
# The defence readiness degree (védelmi készültség) ordered for an incident.
READINESS_LABELS = {
    0: _l("no readiness level"),
    1: _l("Level I readiness"),
    2: _l("Level II readiness"),
    3: _l("Level III readiness"),
}
TASK_STATUS_LABELS = {
    "open": _l("to do"),
    "done": _l("done"),
    "skipped": _l("skipped"),
}

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "officer": _l("Officer"),
    "viewer": _l("Viewer"),
}
AUDIT_ACTION_LABELS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "simulate": _l("simulated SMS reply"),
}

def label(table: dict, code) -> str:
    """The word for ``code`` (the code itself if it has none)."""
    return str(table.get(code, code))
