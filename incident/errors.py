"""Errors of the core that callers turn into answers: 422 naming a field, 409 for a conflict,
404 for a record that is not there. The answers are made in one place each (``incident.api``
for JSON, ``incident.web.errors`` for pages and for a missing record everywhere)."""

from __future__ import annotations


class FieldError(ValueError):
    """One input value is unacceptable; ``field`` names it, ``message`` says why (may be lazy)."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self._message = message

    @property
    def message(self) -> str:
        return str(self._message)


class FieldErrors(ValueError):
    """Several input values are unacceptable: ``{field: [messages]}``. ``confirm`` names the flag
    (``confirm_far``) that would let a value through that is refused only until the user confirms
    it (a place far from the municipality): a form then offers that checkbox."""

    def __init__(self, errors: dict[str, list[str]], confirm: str | None = None):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        self.confirm = confirm


class ConflictError(Exception):
    """The write breaks a rule of the data (over-allocation, a stale version, a duplicate).
    ``details``: more of the answer's JSON body, beside ``message`` and ``errors`` (what stands in
    the way, already dumped by the API's schema)."""

    def __init__(self, message, field: str | None = None, details: dict | None = None):
        super().__init__(str(message))
        self.field = field
        self._message = message
        self.details = details or {}

    @property
    def message(self) -> str:
        return str(self._message)


class NotFound(LookupError):
    """The record asked for is not there (404); ``what`` names its kind, for the message."""

    def __init__(self, what: str, record_id=None):
        super().__init__(f"No such {what}" + (f": {record_id}" if record_id is not None else "") + ".")
        self.what = what
        self.record_id = record_id
