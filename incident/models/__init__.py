"""Riadó's data model, one module per aggregate."""

from .audit import AuditEntry
from .municipality import Municipality
from .users import ROLES, ApiToken, User

__all__ = ["ROLES", "ApiToken", "AuditEntry", "Municipality", "User"]
