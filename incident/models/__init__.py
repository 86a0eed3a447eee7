"""Riadó's data model, one module per aggregate."""

from .audit import AuditEntry
from .contacts import AlertGroup, Contact, contact_groups
from .incidents import (
    GENESIS_HASH,
    INCIDENT_KINDS,
    LOG_KINDS,
    SEVERITIES,
    STATUSES,
    Assignment,
    Counter,
    Incident,
    LogEntry,
)
from .municipality import Municipality
from .plans import PLAN_LEVELS, READINESS_LEVELS, TASK_STATUSES, IncidentTask, Plan, PlanTask
from .resources import RESOURCE_STATUSES, SEEDED_KINDS, Resource, ResourceKind
from .users import ROLES, ApiToken, SignInAttempt, User, UserSession

__all__ = [
    "GENESIS_HASH",
    "INCIDENT_KINDS",
    "LOG_KINDS",
    "SEVERITIES",
    "STATUSES",
    "Assignment",
    "Counter",
    "Incident",
    "LogEntry",
    "RESOURCE_STATUSES",
    "ROLES",
    "SEEDED_KINDS",
    "AlertGroup",
    "ApiToken",
    "AuditEntry",
    "Contact",
    "Municipality",
    "IncidentTask",
    "PLAN_LEVELS",
    "Plan",
    "PlanTask",
    "READINESS_LEVELS",
    "TASK_STATUSES",
    "Resource",
    "ResourceKind",
    "SignInAttempt",
    "User",
    "UserSession",
    "contact_groups",
]
