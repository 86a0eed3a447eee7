"""Logs: readable text by default (``riado run``), one JSON object per line with
RIADO_LOG_FORMAT=json (python-json-logger) for a log system. Every line carries the request id of
the request it belongs to, and a delivery's lines the request id of the alert it belongs to (kept
with the alert, so that the worker's lines for an alert can be found from the request that sent
it). Phone numbers, e-mail addresses and searched texts (a ``q`` parameter: a person's name
looked up in the reception register or the contacts) never reach a log: every line is masked on
its way out, whatever logger wrote it (the access log's request lines too).

One line per request (``event: request``) and per delivery attempt (``event: delivery_attempt``)
in the JSON format; the text format leaves request lines to the web server's access log."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from flask import Flask, g, request

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("riado_request_id", default=None)
log = logging.getLogger("riado.request")

# A phone number: 8 to 15 digits, maybe led by + (or %2B, as in a URL) or 00, maybe with spaces
# (also no-break and thin ones), dashes, slashes or brackets between them (+36 30 123 4567,
# 06-30/123-4567, 0036301234567, 36301234567); letters may follow (+36301234567nek). Dots are no
# separator, so addresses (192.168.100.20), coordinates and decimals are left alone.
PHONE = re.compile(r"(?<![\w.%])(?:\+|%2[Bb]|00)?\d(?:[ \u00a0\u2009\u202f\-/()]{0,2}\d){7,14}(?![\d.])")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@([\w-]+(?:\.[\w-]+)+)")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A search parameter's value in an address, plain (?q=Kov%C3%A1cs&…) or itself encoded inside
# another parameter (/login?next=%2Freception%2Fsearch%3Fq%3DKov%C3%A1cs): the name searched.
SEARCHED = re.compile(r"(?i)((?:[?&]|%3F|%26)q(?:=|%3D))(?:(?!%26)[^&\s\"'#])+")


def _phone(match: re.Match) -> str:
    """Masked, if it may be a phone number: led by + or 0 (international or national), or long
    enough to be one without (36301234567). An id of eight digits and a date stay as they are."""
    text = match.group(0)
    digits = re.sub(r"\D", "", text.replace("%2B", "+").replace("%2b", "+"))
    if DATE.match(text) or not (text[0] in "+%0" or len(digits) >= 10):
        return text
    return re.sub(r"\d", "*", text[:-2]) + text[-2:]


def mask(text: str) -> str:
    """Phone numbers keep their last two digits (``+36*********67``); e-mails their domain; a
    searched text in an address (``?q=…``) nothing (``?q=***``)."""
    text = SEARCHED.sub(r"\1***", text)
    text = EMAIL.sub(lambda m: "***@" + m.group(1), text)
    return PHONE.sub(_phone, text)


class Redact(logging.Filter):
    """On a handler: the message made and masked, the request id added."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the line
            message = str(record.msg)
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
            record.exc_info = None  # formatters would format it again, unmasked: the text is kept
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key in _EXTRA_TEXT and isinstance(value, str):
                record.__dict__[key] = mask(value)
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


_EXTRA_TEXT = {"route", "path", "provider_message"}


# python-json-logger's formatter as Riadó uses it (here and for gunicorn's own lines).
JSON_FORMAT = {"fmt": "{asctime}{levelname}{name}{message}", "style": "{", "datefmt": "%Y-%m-%dT%H:%M:%S%z",
               "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
               "json_ensure_ascii": False}


def gunicorn_config(json_lines: bool) -> dict:
    """gunicorn's logconfig_dict: its own lines (start, workers; and in the text format its access
    log, whose query strings may hold a searched phone number) masked like Riadó's, and as JSON
    with RIADO_LOG_FORMAT=json (where the request lines are Riadó's own)."""
    formatter = {"()": "pythonjsonlogger.json.JsonFormatter", **JSON_FORMAT} if json_lines else \
        {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "main", "filters": ["redact"], "stream": "ext://sys.stderr"}
    access = {"class": "logging.StreamHandler", "formatter": "access", "filters": ["redact"], "stream": "ext://sys.stdout"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"main": formatter, "access": {"format": "%(message)s"}},
        "filters": {"redact": {"()": "incident.logs.Redact"}},
        "handlers": {"console": handler, "access": access},
        "root": {"level": "INFO", "handlers": []},  # Riadó's own handler comes with the app (configure)
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
                    "gunicorn.access": {"handlers": [] if json_lines else ["access"], "level": "INFO",
                                        "propagate": False}},
    }


def configure(app: Flask, *, force: bool = False) -> None:
    """Set up the root logger of this process for the app's RIADO_LOG_FORMAT (once per process)."""
    root = logging.getLogger()
    if any(getattr(h, "riado", False) for h in root.handlers) and not force:
        return
    handler = logging.StreamHandler()
    handler.riado = True
    if app.config["RIADO_LOG_FORMAT"] == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(**JSON_FORMAT))
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the request lines are ours
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact())
    for old in [h for h in root.handlers if getattr(h, "riado", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _begin() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.riado_request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.riado_request_token = request_id.set(g.riado_request_id)
    g.riado_log_started = time.perf_counter()


def _finish(response):
    from flask import current_app
    from flask_login import current_user

    rid = g.get("riado_request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    started = g.get("riado_log_started")
    if started is not None and current_app.config["RIADO_LOG_FORMAT"] == "json":
        user_id = getattr(current_user, "id", None) if current_user and current_user.is_authenticated else None
        log.info("%s %s %s", request.method, request.url_rule.rule if request.url_rule else request.path,
                 response.status_code, extra={
                     "event": "request", "method": request.method,
                     "route": request.url_rule.rule if request.url_rule else None,
                     "status": response.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                     "user_id": user_id})
    return response


def _end(_exc=None) -> None:
    token = g.pop("riado_request_token", None)
    if token is not None:
        request_id.reset(token)


def current_request_id() -> str | None:
    return request_id.get()


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)
    app.teardown_request(_end)
