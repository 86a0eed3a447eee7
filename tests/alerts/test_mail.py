"""E-mail alerts (alerts/mail.py) against a real SMTP server on 127.0.0.1 (aiosmtpd: the fixtures
of tests/smtp_server.py, which tests/conftest.py offers to every test), and the SMTP_URL and
MAIL_FROM settings."""

from __future__ import annotations

import logging
import select
import socket
import threading
import time

import pytest

from conftest import wait_for

from alerts.gateways import GatewayError, Sent
from alerts.mail import ConsoleMailer, SmtpMailer, build_message, mailer_name, make_mailer
from incident.config import (
    DEFAULT_MAIL_FROM,
    ConfigurationError,
    SmtpSettings,
    from_environment,
    parse_mail_from,
    parse_smtp_url,
)

SUBJECT = "Árvízvédelmi riasztás – őrség"
TEXT = "Árvízvédelmi riasztás: a Tisza-gáton 18 órától őrség.\nGyülekező: Fő tér 1., tűzoltószertár.\n"
HTML = "<p><strong>Árvízvédelmi riasztás</strong>: a Tisza-gáton 18 órától őrség.</p><p>Gyülekező: Fő tér 1.</p>"
SENDER = "Riadó Polgármesteri Hivatal <riado@polgarmester.example.hu>"


@pytest.fixture
def mailers():
    """``mailers(url_or_settings, **kwargs)``: SmtpMailers closed after the test."""
    made = []

    def make(url, sender=SENDER, **kwargs) -> SmtpMailer:
        config = {"SMTP_URL": url, "MAIL_FROM": sender}
        mailer = make_mailer(config, **kwargs)
        assert isinstance(mailer, SmtpMailer)
        made.append(mailer)
        return mailer

    yield make
    for mailer in made:
        mailer.close()


def _parts(message):
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


# The message


def test_a_message_arrives_with_hungarian_subject_text_and_html(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    sent = mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML, delivery_id=7)

    [received] = smtp_server.messages
    message = received.message
    assert received.mail_from == "riado@polgarmester.example.hu"
    assert received.rcpt_tos == ["kovacs.janos@example.hu"]
    assert message["Subject"] == SUBJECT
    assert str(message["From"]) == SENDER
    assert message["From"].addresses[0].addr_spec == "riado@polgarmester.example.hu"
    assert message["To"].addresses[0].addr_spec == "kovacs.janos@example.hu"
    assert message.get_content_type() == "multipart/alternative"
    parts = _parts(message)
    assert parts["text/plain"].replace("\r\n", "\n") == TEXT
    assert parts["text/html"].strip() == HTML
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime is not None
    # The sid is the Message-ID, which fits a provider sid's column (64 characters).
    assert sent == Sent(message["Message-ID"])
    assert sent.sid.startswith("<") and sent.sid.endswith("@polgarmester.example.hu>")
    assert len(sent.sid) <= 64
    # 7-bit clean on the wire: the letters travel encoded (RFC 2047 headers, quoted-printable).
    assert received.data.isascii()


def test_build_message_defaults():
    message = build_message("a@example.hu", SUBJECT, TEXT, HTML, DEFAULT_MAIL_FROM)
    assert message["From"] == "riado@localhost"
    assert message["Message-ID"].endswith("@localhost>")
    assert build_message("a@example.hu", "x", "y", None, DEFAULT_MAIL_FROM, "riado.example.hu")[
        "Message-ID"].endswith("@riado.example.hu>")
    assert build_message("a@example.hu", "x", "y", None, DEFAULT_MAIL_FROM).get_content_type() == "text/plain"
    wire = message.as_bytes()
    assert b"\r\nAuto-Submitted: auto-generated\r\n" in wire
    assert wire.isascii()
    assert "Árvízvédelmi" not in wire.decode("ascii")


def test_a_header_injection_is_no_address(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    for bad in ("a@example.hu\r\nBcc: b@example.hu", "a@example.hu, b@example.hu", "nem-cim", ""):
        with pytest.raises(GatewayError) as caught:
            mailer.send(bad, SUBJECT, TEXT, HTML)
        assert caught.value.retryable is False
    assert smtp_server.messages == []


def test_an_accented_domain_travels_as_idna_and_an_accented_mailbox_needs_smtputf8(make_smtp_server, mailers):
    server = make_smtp_server()
    mailer = mailers(server.url)
    mailer.send("Kovács József <jozsef@példa.hu>", SUBJECT, TEXT, HTML)
    [received] = server.messages
    assert received.rcpt_tos == ["jozsef@xn--plda-bpa.hu"]
    assert received.message["To"].addresses[0].display_name == "Kovács József"
    with pytest.raises(GatewayError) as caught:  # this server does not take SMTPUTF8
        mailer.send("józsef@example.hu", SUBJECT, TEXT, HTML)
    assert caught.value.retryable is False and "SMTPUTF8" in str(caught.value)
    mailer.send("jozsef@example.hu", SUBJECT, TEXT, HTML)  # the connection was kept usable

    utf8_server = make_smtp_server(smtputf8=True)
    mailers(utf8_server.url).send("józsef@példa.hu", SUBJECT, TEXT, HTML)
    [received] = utf8_server.messages
    assert received.rcpt_tos == ["józsef@xn--plda-bpa.hu"]
    assert received.message["Subject"] == SUBJECT
    assert received.message["To"].addresses[0].username == "józsef"


# Refusals and failures


def test_451_is_retryable_then_the_message_goes_through(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    smtp_server.fail_next(451, count=2)
    for _ in range(2):
        with pytest.raises(GatewayError) as caught:
            mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
        assert caught.value.retryable is True
        assert caught.value.code == 451
        assert "try again later" in str(caught.value)
    mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert len(smtp_server.messages) == 1


def test_a_4xx_after_data_is_retryable(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    smtp_server.fail_next(452, command="DATA")
    with pytest.raises(GatewayError) as caught:
        mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert (caught.value.code, caught.value.retryable) == (452, True)
    mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert len(smtp_server.messages) == 1


def test_550_for_one_address_is_final_and_the_next_message_still_goes(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    smtp_server.refuse("nincs.ilyen@example.hu", 550, text="5.1.1 <nincs.ilyen@example.hu>: User unknown")
    mailer.send("elso@example.hu", SUBJECT, TEXT, HTML)
    with pytest.raises(GatewayError) as caught:
        mailer.send("nincs.ilyen@example.hu", SUBJECT, TEXT, HTML)
    assert caught.value.retryable is False
    assert caught.value.code == 550
    assert "5.1.1" in str(caught.value) and "User unknown" in str(caught.value)
    mailer.send("masik@example.hu", SUBJECT, TEXT, HTML)

    first, second = smtp_server.messages
    assert second.rcpt_tos == ["masik@example.hu"]
    assert first.peer == second.peer  # one connection, kept open (and reset) across the refusal


def test_a_5xx_after_data_is_final(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    smtp_server.fail_next(554, command="DATA")
    with pytest.raises(GatewayError) as caught:
        mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert (caught.value.code, caught.value.retryable) == (554, False)
    assert "spam" in str(caught.value)


def test_a_stopped_server_is_retryable_and_a_restarted_one_is_used_again(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    mailer.send("elso@example.hu", SUBJECT, TEXT, HTML)  # a connection is kept open
    smtp_server.stop()
    with pytest.raises(GatewayError) as caught:
        mailer.send("masodik@example.hu", SUBJECT, TEXT, HTML)
    assert caught.value.retryable is True
    assert caught.value.code is None
    with pytest.raises(GatewayError) as caught:  # a new mailer: connection refused
        mailers(smtp_server.url).send("masodik@example.hu", SUBJECT, TEXT, HTML)
    assert caught.value.retryable is True
    assert "ConnectionRefusedError" in str(caught.value)

    smtp_server.start()
    mailer.send("harmadik@example.hu", SUBJECT, TEXT, HTML)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["elso@example.hu"], ["harmadik@example.hu"]]


def test_a_connection_the_server_closed_while_idle_is_replaced(make_smtp_server, mailers):
    server = make_smtp_server(timeout=0.3)  # aiosmtpd closes idle connections (421) after this
    mailer = mailers(server.url)
    mailer.send("elso@example.hu", SUBJECT, TEXT, HTML)
    kept = mailer._local.conn.sock
    wait_for(lambda: select.select([kept], [], [], 0)[0], timeout=10, interval=0.05)  # the server's 421 and close
    mailer.send("masodik@example.hu", SUBJECT, TEXT, HTML)
    first, second = server.messages
    assert first.peer != second.peer


def test_a_server_that_does_not_answer_times_out_retryable(mailers):
    import socket

    with socket.socket() as silent:  # accepts connections (the backlog) and never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        mailer = mailers(f"smtp://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(GatewayError) as caught:
            mailer.send("elso@example.hu", SUBJECT, TEXT, HTML)
    assert caught.value.retryable is True
    assert time.monotonic() - started < 5


def test_each_thread_has_its_own_connection(smtp_server, mailers):
    mailer = mailers(smtp_server.url)
    errors = []

    def send(n):
        try:
            for i in range(3):
                mailer.send(f"t{n}.{i}@example.hu", SUBJECT, TEXT, HTML)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(smtp_server.messages) == 12
    assert len({m.peer for m in smtp_server.messages}) == 4


# TLS and log-in


def test_starttls_with_a_percent_encoded_non_ascii_password(make_smtp_server, mailers):
    server = make_smtp_server(tls="starttls", users={"riado@example.hu": "jelszó/?#@:ő"})
    url = f"smtp://riado%40example.hu:jelsz%C3%B3%2F%3F%23%40%3A%C5%91@127.0.0.1:{server.port}?starttls=1"
    mailer = mailers(url, ssl_context=server.client_context())
    mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert server.messages[0].message["Subject"] == SUBJECT
    assert server.messages[0].login == "riado@example.hu"

    wrong = mailers(url.replace("jelsz", "rossz"), ssl_context=server.client_context())
    with pytest.raises(GatewayError) as caught:
        wrong.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert (caught.value.code, caught.value.retryable) == (535, False)
    assert "rossz" not in str(caught.value)
    assert len(server.messages) == 1


def test_smtps_with_an_ascii_password(make_smtp_server, mailers):
    server = make_smtp_server(tls="ssl", users={"riado": "s3cret"})
    mailer = mailers(f"smtps://riado:s3cret@127.0.0.1:{server.port}", ssl_context=server.client_context())
    mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert server.messages[0].message["Subject"] == SUBJECT
    assert server.messages[0].login == "riado"


def test_an_untrusted_certificate_is_retryable_and_names_the_server_without_password(make_smtp_server, mailers):
    server = make_smtp_server(tls="ssl", users={"riado": "s3cret"})
    mailer = mailers(f"smtps://riado:s3cret@127.0.0.1:{server.port}")  # the system's CAs only
    with pytest.raises(GatewayError) as caught:
        mailer.send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML)
    assert caught.value.retryable is True
    message = str(caught.value)
    assert f"smtps://riado:***@127.0.0.1:{server.port}" in message
    assert "s3cret" not in message
    assert server.messages == []


# The console


def test_the_console_mailer_records_and_sends_nothing(caplog):
    records = []

    def record(to, subject, text, delivery_id):
        records.append((to, subject, text, delivery_id))
        return "OUTBOX-1"

    assert ConsoleMailer(record).send("a@example.hu", SUBJECT, TEXT, HTML, delivery_id=3) == Sent("OUTBOX-1")
    assert records == [("a@example.hu", SUBJECT, TEXT, 3)]

    with caplog.at_level(logging.INFO, logger="alerts.mail"):
        sent = make_mailer({"SMTP_URL": None}).send("kovacs.janos@example.hu", SUBJECT, TEXT, HTML, delivery_id=4)
    assert sent.sid.startswith("CONSOLE-MAIL-")
    assert "would have been sent" in caplog.text and sent.sid in caplog.text
    assert "kovacs.janos" not in caplog.text and "Tisza" not in caplog.text  # no address, no body


def test_the_mailer_is_chosen_by_smtp_url():
    assert mailer_name({}) == "console"
    assert isinstance(make_mailer({"SMTP_URL": None, "MAIL_FROM": DEFAULT_MAIL_FROM}), ConsoleMailer)
    assert mailer_name({"SMTP_URL": parse_smtp_url("smtp://mail.example.hu")}) == "smtp"
    mailer = make_mailer({"SMTP_URL": "smtp://mail.example.hu", "MAIL_FROM": "riado@example.hu"})
    assert isinstance(mailer, SmtpMailer)
    assert mailer.settings == SmtpSettings("mail.example.hu", 25)
    assert mailer.envelope_from == "riado@example.hu"


# Settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.hu", SmtpSettings("mail.example.hu", 25, "none")),
        ("smtp://mail.example.hu:2525", SmtpSettings("mail.example.hu", 2525, "none")),
        ("smtp://mail.example.hu?starttls=1", SmtpSettings("mail.example.hu", 587, "starttls")),
        ("SMTP://u:p@Mail.Example.hu:25?starttls=true", SmtpSettings("mail.example.hu", 25, "starttls", "u", "p")),
        ("smtp://mail.example.hu?starttls=0", SmtpSettings("mail.example.hu", 25, "none")),
        ("smtps://mail.example.hu", SmtpSettings("mail.example.hu", 465, "ssl")),
        ("smtps://riado%40example.hu:jelsz%C3%B3%2F%23%3F%40%3A@mail.example.hu:465",
         SmtpSettings("mail.example.hu", 465, "ssl", "riado@example.hu", "jelszó/#?@:")),
        ("smtp://riado@mail.example.hu", SmtpSettings("mail.example.hu", 25, "none", "riado", None)),
        ("smtp://[::1]:25", SmtpSettings("::1", 25, "none")),
    ],
)
def test_smtp_url_is_parsed(url, expected):
    settings = parse_smtp_url(url)
    assert settings == expected
    assert settings.password == expected.password


def test_the_password_is_never_shown():
    settings = parse_smtp_url("smtps://riado:titkos%2Fjelszo@mail.example.hu")
    assert settings.describe() == "smtps://riado:***@mail.example.hu:465"
    assert "titkos" not in repr(settings) and "titkos" not in str(settings)
    assert parse_smtp_url("smtp://h?starttls=1").describe() == "smtp://h:587?starttls=1"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://mail.example.hu", ["SMTP_URL", "smtp://", "'http://'"]),
        ("mail.example.hu:25", ["SMTP_URL", "smtp://"]),
        ("smtp://", ["SMTP_URL", "no host"]),
        ("smtp://mail.example.hu:0", ["SMTP_URL", "port"]),
        ("smtp://mail.example.hu:levelezes", ["SMTP_URL", "port"]),
        ("smtp://riado:tit/kos@mail.example.hu", ["SMTP_URL", "percent-encoded"]),
        ("smtp://mail.example.hu/inbox", ["SMTP_URL", "no path"]),
        ("smtp://mail.example.hu?tls=1", ["SMTP_URL", "'tls'"]),
        ("smtp://mail.example.hu?starttls=maybe", ["SMTP_URL", "starttls"]),
        ("smtps://mail.example.hu?starttls=1", ["SMTP_URL", "smtps://"]),
        ("smtp://:titkos@mail.example.hu", ["SMTP_URL", "user name"]),
    ],
)
def test_bad_smtp_urls_are_named(url, words):
    with pytest.raises(ConfigurationError) as caught:
        parse_smtp_url(url)
    for word in words:
        assert word in str(caught.value)
    assert "titkos" not in str(caught.value) and "tit/kos" not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    ["riado@example.hu", "riado@localhost", "riado@polgarmester.local", "Riadó <riado@example.hu>",
     '"Riadó, Polgármesteri Hivatal" <riado@example.hu>'],
)
def test_good_mail_from(value):
    assert parse_mail_from(f"  {value} ") == value


@pytest.mark.parametrize(
    "value",
    ["riado", "riado@", "@example.hu", "a@example.hu, b@example.hu", "riado@-example.hu", "ria do@example.hu",
     "riado@example.hu\nBcc: x@example.hu", "riado@exa_mple.hu"],
)
def test_bad_mail_from_is_named(value):
    with pytest.raises(ConfigurationError) as caught:
        parse_mail_from(value)
    assert "MAIL_FROM" in str(caught.value)


@pytest.fixture
def environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RIADO_INSTANCE_PATH", str(tmp_path))
    for name in ("SMTP_URL", "MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_from_the_environment(environment):
    settings = from_environment()
    assert settings["SMTP_URL"] is None
    assert settings["MAIL_FROM"] == "riado@localhost"

    environment.setenv("SMTP_URL", "smtps://riado:titkos@mail.example.hu")
    environment.setenv("MAIL_FROM", "Riadó <riado@example.hu>")
    settings = from_environment()
    assert settings["SMTP_URL"] == SmtpSettings("mail.example.hu", 465, "ssl", "riado", "titkos")
    assert settings["MAIL_FROM"] == "Riadó <riado@example.hu>"
    assert "titkos" not in repr(settings["SMTP_URL"])


def test_smtp_url_without_mail_from_is_named(environment):
    environment.setenv("SMTP_URL", "smtp://mail.example.hu")
    with pytest.raises(ConfigurationError) as caught:
        from_environment()
    assert "MAIL_FROM" in str(caught.value) and "SMTP_URL" in str(caught.value)


def test_bad_settings_in_the_environment_are_named(environment):
    environment.setenv("SMTP_URL", "imap://mail.example.hu")
    with pytest.raises(ConfigurationError, match="SMTP_URL"):
        from_environment()
    environment.setenv("SMTP_URL", "smtp://mail.example.hu")
    environment.setenv("MAIL_FROM", "nem egy cím")
    with pytest.raises(ConfigurationError, match="MAIL_FROM"):
        from_environment()
    environment.delenv("SMTP_URL")  # checked with the console mailer too
    with pytest.raises(ConfigurationError, match="MAIL_FROM"):
        from_environment()


def _dribbling_server(pause: float):
    """A server that answers DATA one line at a time, ``pause`` seconds apart (a 354, then a
    three-line 250): each line is quick enough for a reply's timeout, the whole is not. Records
    whether the client was still there for the last line."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen = {"hung_up_before_250": None}

    def serve():
        conn, _ = listener.accept()
        lines = conn.makefile("rb")
        conn.sendall(b"220 lassu.example ESMTP\r\n")
        while line := lines.readline():
            command = line.strip().upper()
            if command.startswith(b"EHLO"):
                conn.sendall(b"250-lassu.example\r\n250 8BITMIME\r\n")
            elif command.startswith((b"MAIL", b"RCPT")):
                conn.sendall(b"250 OK\r\n")
            elif command == b"DATA":
                time.sleep(pause)
                conn.sendall(b"354 go on\r\n")
                while lines.readline().rstrip(b"\r\n") != b".":
                    pass
                try:
                    for part in (b"250-queued\r\n", b"250-as\r\n", b"250 4F2A\r\n"):
                        time.sleep(pause)
                        conn.sendall(part)
                    seen["hung_up_before_250"] = False
                except OSError:
                    seen["hung_up_before_250"] = True
                break
            elif command == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
        conn.close()
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"smtp://127.0.0.1:{listener.getsockname()[1]}", seen, thread


def test_a_send_ends_within_its_time_however_slowly_the_server_answers(mailers):
    """Every line of the server's answer comes within the reply timeout, but the whole send would
    outlast ``send_seconds`` (the delivery's lease share): the mailer cuts it at that time, as a
    retryable timeout, and the server never gets to say it took the message."""
    url, seen, server = _dribbling_server(pause=0.8)
    mailer = mailers(url, send_seconds=1.5, timeout=5)
    with pytest.raises(GatewayError) as caught:
        mailer.send("lassu@example.hu", SUBJECT, TEXT, HTML)
    assert caught.value.retryable is True and "took longer than 1.5 s" in str(caught.value)
    server.join(10)
    assert seen["hung_up_before_250"] is True
