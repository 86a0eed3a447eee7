"""Logs never carry a phone number or an e-mail address, whoever writes the line (Riadó, a
library, a traceback); JSON lines carry the request id; every answer names its request id."""

from __future__ import annotations

import io
import json
import logging

import pytest

from incident.logs import JSON_FORMAT, Redact, mask


@pytest.mark.parametrize("text, hidden", [
    ("to +36301234567", "+36301234567"),
    ("to +36 30 123 4567 now", "+36 30 123 4567"),
    ("call 06-30/123-4567", "06-30/123-4567"),
    ("call 0036301234567", "0036301234567"),
    ("(+36 1) 555-1234", "555-1234"),
    ("mail kovacs.julia+riado@v.kerulet.hu", "kovacs.julia+riado"),
    ("GET /contacts?q=%2B36301234567", "36301234567"),
    ("to +36\u00a030\u00a0123\u00a04567", "123\u00a04567"),
    ("hívja: +36301234567-et vagy +36301234568nak", "3630123456"),
    ("from 36301234567", "36301234567"),
])
def test_phone_numbers_and_e_mails_are_masked(text, hidden):
    masked = mask(text)
    assert hidden not in masked
    assert masked.count("*") >= 3


def test_what_is_not_personal_is_left_alone():
    for text in ("delivery 1234 of alert 56, attempt 2: sent", "code 21211", "took 1500 ms", "GET /incidents/42/log",
                 "refused a webhook from 192.168.100.20", "at 47.497912, 19.040235", "delivery 12345678",
                 "sent 2026-11-30 17:24:38", "took 1234.5678 s"):
        assert mask(text) == text
    assert mask("+36301234567").endswith("67")  # enough to tell two apart when reading a log


def _json_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    from pythonjsonlogger.json import JsonFormatter

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(**JSON_FORMAT))
    handler.addFilter(Redact())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.propagate = False
    return logger, out


def test_a_library_line_and_a_traceback_are_masked_on_the_way_out():
    logger, out = _json_logger("riado.test.library")
    logger.warning("twilio: %s is not a mobile number (owner %s)", "+36 1 555 1234", "nagy.peter@example.org")
    try:
        raise ValueError("bad To: +36301234567")
    except ValueError:
        logger.exception("sending failed")
    text = out.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2 and lines[0]["level"] == "WARNING" and lines[0]["logger"] == "riado.test.library"
    for secret in ("555 1234", "nagy.peter", "+36301234567", "36301234567"):
        assert secret not in text
    assert "***@example.org" in lines[0]["message"]
    assert "ValueError" in lines[1]["exc_info"]


def test_every_answer_names_its_request_id(client):
    response = client.get("/healthz")
    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz").headers["X-Request-ID"] != generated
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"}).headers["X-Request-ID"] == "lb-7f3a.1"
    # Not a header to copy blindly into logs: anything odd is replaced.
    odd = client.get("/healthz", headers={"X-Request-ID": "x\" injected=1"}).headers["X-Request-ID"]
    assert odd != "x\" injected=1" and len(odd) == 32
