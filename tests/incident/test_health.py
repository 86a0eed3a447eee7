"""/healthz answers for monitoring: 200 when the database and the queue work, 503 naming what fails."""

from __future__ import annotations

import socket


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_ok_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_healthz_names_an_unreachable_queue(app_factory):
    app = app_factory(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "ok", "queue": "error"}


def test_healthz_with_redis_queue(app_factory, redis_url):
    app = app_factory(REDIS_URL=redis_url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["queue"] == "ok"


def test_healthz_names_a_lost_database(backend, new_database, app_factory, tmp_path):
    if backend == "sqlite":
        folder = tmp_path / "gone"
        folder.mkdir()
        url = f"sqlite:///{folder / 'riado.db'}"
    else:
        url = new_database("lost")
    app = app_factory(SQLALCHEMY_DATABASE_URI=url)
    from flask_migrate import upgrade

    from incident.extensions import db

    with app.app_context():
        upgrade()
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    with app.app_context():
        db.engine.dispose()
    if backend == "sqlite":
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(url)
        with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{u.database}" WITH (FORCE)')
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error", "queue": "ok"}
