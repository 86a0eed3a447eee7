"""The audit trail: every write says who, when, which record and what changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conftest import PASSWORD


def _audit(client, headers, **params):
    response = client.get("/api/v1/audit", headers=headers, query_string=params)
    assert response.status_code == 200
    return response.get_json()


def test_user_creation_and_change_are_audited_with_who_and_what(client, api):
    headers, admin = api("admin")
    created = client.post(
        "/api/v1/users",
        json={"email": "new@riado-test.example", "role": "viewer", "password": PASSWORD, "name": "Új Ember"},
        headers=headers,
    ).get_json()
    client.patch(f"/api/v1/users/{created['id']}", json={"role": "officer"}, headers=headers)
    entries = _audit(client, headers, entity="users", record_id=str(created["id"]))["items"]
    assert [e["action"] for e in entries] == ["update", "create"]
    update, create = entries
    assert update["actor"] == admin["email"] and update["actor_id"] == admin["id"]
    assert update["changes"] == {"role": ["viewer", "officer"]}
    assert update["request"] == f"PATCH /api/v1/users/{created['id']}"
    assert create["changes"]["email"] == [None, "new@riado-test.example"]
    assert create["changes"]["name"] == [None, "Új Ember"]
    # The password hash never reaches the trail, only the fact that it was set.
    assert create["changes"]["password_hash"] == [None, "***"]
    assert "T" in update["at"] and (update["at"].endswith("+00:00") or update["at"].endswith("Z"))


def test_password_change_is_audited_without_the_hash(client, api, make_user):
    headers, _ = api("admin")
    other = make_user("viewer")
    client.patch(f"/api/v1/users/{other['id']}", json={"password": "another-long-password"}, headers=headers)
    entry = _audit(client, headers, entity="users", record_id=str(other["id"]))["items"][0]
    assert entry["changes"] == {"password_hash": ["***", "***"]}


def test_audit_row_is_written_in_the_same_transaction_as_the_write(app):
    """A write that is rolled back leaves no audit row; one that commits leaves exactly one."""
    from incident.extensions import db
    from incident.models import AuditEntry, User
    from incident.operations.users import create_user

    with app.app_context():
        create_user("rolled@riado-test.example", PASSWORD, "viewer")
        db.session.flush()  # the listener has run and inserted its row...
        assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 1
        db.session.rollback()  # ...and it goes with the write
        assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0
        create_user("kept@riado-test.example", PASSWORD, "viewer")
        db.session.commit()
        rows = db.session.execute(select(AuditEntry)).scalars().all()
        assert [(r.action, r.entity, r.actor) for r in rows] == [("create", "users", "system")]


def test_deletion_is_audited_with_the_old_values(app):
    from incident.extensions import db
    from incident.models import AuditEntry, User
    from incident.operations.users import create_user

    with app.app_context():
        user = create_user("gone@riado-test.example", PASSWORD, "viewer", name="Elmegy")
        db.session.commit()
        user_id = user.id
        db.session.delete(user)
        db.session.commit()
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "delete")).scalar_one()
        assert entry.record_id == str(user_id)
        assert entry.changes["name"] == ["Elmegy", None]
        assert db.session.get(User, user_id) is None


@pytest.mark.parametrize("role", ["viewer", "officer"])
def test_only_admins_read_the_audit_trail(client, api, role):
    headers, _ = api(role)
    assert client.get("/api/v1/audit", headers=headers).status_code == 403


def test_audit_page_shows_changes_to_admins_escaped(client, make_user, login, api):
    headers, _ = api("admin")
    client.post(
        "/api/v1/users",
        json={"email": "x@riado-test.example", "role": "viewer", "password": PASSWORD, "name": "<script>alert(1)</script>"},
        headers=headers,
    )
    admin = make_user("admin")
    login(admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
