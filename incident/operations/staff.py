"""Staff as the records name them. A log entry, an assignment and an alert store the e-mail of the
user who wrote them (the log's hash chain covers it, so it stays as stored); pages, API answers,
CSV and reports show the person by name and position instead, and the e-mail only to those who
see personal data (officers, admins). Every place that shows staff goes through ``Staff``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import User
from ..phones import mask_email


@dataclass(frozen=True)
class StaffMember:
    """How one author is shown: ``name`` (or what stands for it: ``system``, ``sms``, a masked
    address), ``position``, and ``email`` only for readers who may see it."""

    name: str
    position: str = ""
    email: str | None = None

    @property
    def display(self) -> str:
        """``Kiss Anna (közbiztonsági referens)``."""
        return f"{self.name} ({self.position})" if self.position else self.name


class Staff:
    """The users a page's records name, read in one query: ``staff(user_id, label)`` → StaffMember.
    ``label`` is what the record stored (an e-mail, or ``system``, ``cli``, ``demo``, ``sms``…);
    ``user_id`` finds the user where the record kept it, else the stored e-mail does."""

    def __init__(self, people: Iterable[tuple[int | None, str | None]], personal: bool):
        self.personal = personal
        pairs = [(user_id, label) for user_id, label in people if user_id or label]
        ids = {user_id for user_id, _label in pairs if user_id}
        emails = {label.lower() for user_id, label in pairs if not user_id and label and "@" in label}
        self._by_id: dict[int, User] = {}
        self._by_email: dict[str, User] = {}
        if ids or emails:
            users = db.session.execute(
                select(User).where(or_(User.id.in_(ids), func.lower(User.email).in_(emails)))
            ).scalars()
            for user in users:
                self._by_id[user.id] = user
                self._by_email[user.email.lower()] = user

    def _address(self, email: str) -> str:
        return email if self.personal else mask_email(email)

    def __call__(self, user_id: int | None, label: str | None) -> StaffMember | None:
        if not (user_id or label):
            return None
        label = label or ""
        user = self._by_id.get(user_id) if user_id else None
        if user is None and "@" in label:
            user = self._by_email.get(label.lower())
        email = label if "@" in label else user.email if user is not None else None
        if user is not None:
            name = (user.name or "").strip() or self._address(user.email)
            return StaffMember(name, (user.position or "").strip(), email if self.personal else None)
        if "@" in label:  # a user no longer on record: the address, masked for viewers
            return StaffMember(self._address(label), "", label if self.personal else None)
        return StaffMember(label)  # system, cli, demo, sms, worker: not a person's data

    def name(self, user_id: int | None, label: str | None) -> str | None:
        """The name and position (``author_name`` in the API), for every reader."""
        member = self(user_id, label)
        return None if member is None else member.display

    def field(self, user_id: int | None, label: str | None) -> str | None:
        """What an ``author``-like field of the API holds: the stored label (an e-mail) for
        officers and admins, as the contract always had it; the name and position for others."""
        if self.personal or not label:
            return label
        return self.name(user_id, label)


def staff_for(*, personal: bool, entries=(), assignments=(), alerts=(), tasks=()) -> Staff:
    """The people who wrote these log entries, assigned or released these assignments, sent
    these alerts, or applied and ticked these incident tasks, read at once, shown as
    ``personal`` allows."""
    people = [(entry.author_id, entry.author) for entry in entries]
    people += [(None, who) for assignment in assignments for who in (assignment.assigned_by, assignment.released_by)]
    people += [(alert.created_by_id, alert.created_by) for alert in alerts]
    people += [(None, who) for task in tasks for who in (task.applied_by, task.done_by)]
    return Staff(people, personal)
