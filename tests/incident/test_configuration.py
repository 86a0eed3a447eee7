"""Configuration comes from the environment; a bad setting stops start-up with one clear sentence."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

RIADO = str(Path(sys.executable).with_name("riado"))


def _run(args, env_extra, timeout=60):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(env_extra)
    return subprocess.run([RIADO, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_clear_sentence(result, *expected):
    assert result.returncode != 0
    err = result.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    for word in expected:
        assert word in err, err
    return err


def test_unreachable_database_url_stops_start_up(tmp_path):
    port = _closed_port()
    result = _run(
        ["run", "--port", str(_closed_port())],
        {"DATABASE_URL": f"postgresql://riado:secret-pw@127.0.0.1:{port}/riado", "RIADO_INSTANCE_PATH": str(tmp_path)},
    )
    err = _one_clear_sentence(result, "Cannot connect to the database", f"127.0.0.1:{port}")
    assert "secret-pw" not in err  # the password never reaches the terminal or a log


def test_missing_spatialite_stops_start_up(tmp_path):
    result = _run(
        ["run", "--port", str(_closed_port())],
        {"SPATIALITE_LIBRARY_PATH": "/nonexistent/mod_spatialite", "RIADO_INSTANCE_PATH": str(tmp_path)},
    )
    _one_clear_sentence(result, "SpatiaLite could not be loaded", "libsqlite3-mod-spatialite")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"DATABASE_URL": "mysql://x@127.0.0.1/riado"}, ["DATABASE_URL", "mysql"]),
        ({"RIADO_LOCALE": "de"}, ["RIADO_LOCALE"]),
        ({"RIADO_TIMEZONE": "Mars/Olympus"}, ["RIADO_TIMEZONE"]),
        ({"PUBLIC_URL": "ftp://x"}, ["PUBLIC_URL"]),
        ({"RIADO_TRUSTED_PROXIES": "-1"}, ["RIADO_TRUSTED_PROXIES", "0 or more"]),
        ({"RIADO_TRUSTED_PROXIES": "nginx"}, ["RIADO_TRUSTED_PROXIES", "whole number"]),
        ({"RIADO_MAX_UPLOAD_MB": "16MB"}, ["RIADO_MAX_UPLOAD_MB", "whole number"]),
        ({"RIADO_MAX_UPLOAD_MB": "0"}, ["RIADO_MAX_UPLOAD_MB", "1 or more"]),
        ({"RIADO_SMS_CURRENCY": "forint", "RIADO_SMS_PRICE": "35"}, ["RIADO_SMS_CURRENCY", "ISO 4217"]),
        ({"RIADO_SMS_PRICE": "0.08"}, ["RIADO_SMS_PRICE", "without RIADO_SMS_CURRENCY", "set both"]),
        ({"RIADO_SMS_CURRENCY": "USD"}, ["RIADO_SMS_CURRENCY", "without RIADO_SMS_PRICE"]),
        ({"RIADO_MAX_DISTANCE_KM": "50km"}, ["RIADO_MAX_DISTANCE_KM", "kilometres"]),
        ({"RIADO_MAX_DISTANCE_KM": "-5"}, ["RIADO_MAX_DISTANCE_KM", "0 or more"]),
        ({"TWILIO_VOICE_FROM": "Riado"}, ["TWILIO_VOICE_FROM", "E.164"]),
        ({"TWILIO_VOICE_FROM": "+3612"}, ["TWILIO_VOICE_FROM", "E.164"]),
        ({"SMTP_URL": "https://mail.example.hu"}, ["SMTP_URL", "smtp://"]),
        ({"SMTP_URL": "smtp://mail.example.hu"}, ["MAIL_FROM", "SMTP_URL"]),
        ({"SMTP_URL": "smtp://mail.example.hu", "MAIL_FROM": "riado"}, ["MAIL_FROM", "e-mail address"]),
    ],
)
def test_bad_settings_are_named(tmp_path, env, words):
    result = _run(["run"], {"RIADO_INSTANCE_PATH": str(tmp_path), **env})
    _one_clear_sentence(result, *words)


def test_a_bad_smtp_url_is_named_without_its_password(tmp_path):
    result = _run(["run"], {"RIADO_INSTANCE_PATH": str(tmp_path), "MAIL_FROM": "riado@example.hu",
                            "SMTP_URL": "smtp://riado:secret-pw@mail.example.hu:99999"})
    err = _one_clear_sentence(result, "SMTP_URL", "port")
    assert "secret-pw" not in err


@pytest.mark.slow
def test_a_schema_behind_the_code_is_named(tmp_path):
    result = _run(["run", "--port", str(_closed_port())], {"RIADO_INSTANCE_PATH": str(tmp_path)})
    _one_clear_sentence(result, "riado db upgrade")


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    from incident.config import from_environment

    monkeypatch.setenv("RIADO_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = from_environment()["SECRET_KEY"]
    second = from_environment()["SECRET_KEY"]
    assert first == second and len(first) >= 40
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    other = tmp_path / "other"
    monkeypatch.setenv("RIADO_INSTANCE_PATH", str(other))
    assert from_environment()["SECRET_KEY"] != first  # never a constant in the code
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert from_environment()["SECRET_KEY"] == "from-the-environment"


def test_database_url_defaults_to_spatialite_in_the_instance_folder(tmp_path, monkeypatch):
    from incident.config import from_environment

    monkeypatch.setenv("RIADO_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert from_environment()["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'riado.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert from_environment()["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
