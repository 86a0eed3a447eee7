"""A fake Twilio REST API on 127.0.0.1 for tests and benchmarks: the real twilio SDK talks HTTP to
it. It accepts Messages.json and Calls.json posts, records them, answers as Twilio does (201 with a
message or call resource, or an error body with Twilio's code), answers GETs of those resources
with the status a test reported (``report``, ``report_call``), and can be scripted per phone
number: fail with a permanent error code, answer 429 or 500 a number of times, or be slow. Status
callbacks (of messages and of calls) and a key pressed during a call (posted to the action of
the call's <Gather>) can be sent back to the application, signed like Twilio signs them."""

from __future__ import annotations

import itertools
import json
import secrets
import socket
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token-for-tests"


@dataclass
class Received:
    sid: str
    to: str
    body: str
    sender: str
    status_callback: str | None
    validity_period: str | None
    at: float


@dataclass
class Call:
    """A call the fake accepted, with what Twilio would have been asked to do."""

    sid: str
    to: str
    sender: str
    twiml: str
    url: str | None
    status_callback: str | None
    status_callback_events: list[str]
    status_callback_method: str | None
    at: float

    def says(self) -> list[tuple[str, str | None]]:
        """Every <Say> of the TwiML, in order: (text, language)."""
        return [(say.text or "", say.get("language")) for say in ET.fromstring(self.twiml).iter("Say")]

    def gather(self) -> ET.Element:
        found = ET.fromstring(self.twiml).find("Gather")
        assert found is not None, self.twiml
        return found


@dataclass
class Script:
    """What the fake does for one phone number."""

    error_code: int | None = None  # a permanent Twilio error (HTTP 400)
    problem_json: bool = False  # answer errors as RFC 9457 problem details (TwilioServiceException)
    transient: list[int] = field(default_factory=list)  # HTTP statuses to answer first, in order
    delay: float = 0.0  # seconds before answering


class FakeTwilio:
    def __init__(self, auto_deliver: bool = False):
        """``auto_deliver``: report each accepted message "delivered" to its StatusCallback soon after."""
        self.auto_deliver = auto_deliver
        self.callback_pool = None
        self.callback_results: list[int] = []
        self.messages: list[Received] = []
        self.calls: list[Call] = []
        self.attempts: list[tuple[str, int]] = []  # (to, HTTP status answered)
        self.scripts: dict[str, Script] = {}
        self.outage_status: int | None = None  # answer every request with this (e.g. 500)
        self.latency = 0.0  # seconds before answering a phone that has no script of its own
        self.in_flight = 0  # Messages requests received and not yet answered
        self.peak_in_flight = 0  # the most there were at once
        self.lock = threading.Lock()
        self.gathered = threading.Condition(self.lock)
        # With gather_until = N, a message is held until N are in flight at once (or gather_timeout
        # passes): a test of the concurrency sees the peak it allows, however slowly threads start.
        self.gather_until = 0
        self.gather_timeout = 3.0
        self._sids = itertools.count(1)
        # What the Message resource says of a message (``report``): "sent" until told otherwise.
        self.provider_status: dict[str, tuple[str, int | None]] = {}
        self.fetched: list[str] = []  # Message and Call resources fetched, in order
        # Message ids of this fake's own, as Twilio's are unique: a second fake on the same
        # database (a benchmark's next case) must not replay the first one's status callbacks.
        self._sid_prefix = secrets.token_hex(4)
        self.server = None
        self.thread = None

    # scripting

    def script(self, phone: str, **kwargs) -> None:
        self.scripts[phone] = Script(**kwargs)

    def sent_to(self, phone: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if m.to == phone]

    def calls_to(self, phone: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.to == phone]

    def count_by_phone(self) -> dict[str, int]:
        with self.lock:
            counts: dict[str, int] = {}
            for m in self.messages:
                counts[m.to] = counts.get(m.to, 0) + 1
            return counts

    # the server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Twilio's own API

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length:
                    # The client died mid-request (a worker killed with SIGKILL): like Twilio,
                    # take nothing from a request that never arrived whole.
                    self.close_connection = True
                    return
                pairs = urllib.parse.parse_qsl(raw.decode())
                form = dict(pairs)
                if self.path.endswith("/Calls.json"):
                    return fake.handle_call(self, form, pairs)
                if not self.path.endswith("/Messages.json"):
                    return self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                fake.handle_message(self, form)

            def do_GET(self):  # noqa: N802
                # A Message or Call resource (what a client fetches to learn its status).
                sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
                if self.path.endswith(".json") and "/Calls/" in self.path:
                    return fake.handle_call_fetch(self, sid)
                with fake.lock:
                    message = next((m for m in fake.messages if m.sid == sid), None)
                    status, error_code = fake.provider_status.get(sid, ("sent", None))
                fake.fetched.append(sid)
                if not self.path.endswith(".json") or "/Messages/" not in self.path or message is None:
                    return self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                return self._answer(200, {"sid": sid, "account_sid": ACCOUNT_SID, "to": message.to, "status": status,
                                          "error_code": error_code, "body": message.body})

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024

        if self.auto_deliver:
            from concurrent.futures import ThreadPoolExecutor

            self.callback_pool = ThreadPoolExecutor(max_workers=8)
        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.callback_pool:
            self.callback_pool.shutdown(wait=True, cancel_futures=True)
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def handle_message(self, handler, form: dict) -> None:
        with self.gathered:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.gathered.notify_all()
            if self.gather_until:
                self.gathered.wait_for(lambda: self.in_flight >= self.gather_until, timeout=self.gather_timeout)
        try:
            self._handle_message(handler, form)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle_message(self, handler, form: dict) -> None:
        to = form.get("To", "")
        script = self.scripts.get(to, Script())
        delay = script.delay or self.latency
        if delay:
            time.sleep(delay)
        with self.lock:
            status = self.outage_status
            if status is None and script.transient:
                status = script.transient.pop(0)
            if status is None and script.error_code is not None:
                status = 400
            self.attempts.append((to, status or 201))
            received = None
            if status is None:
                sid = f"SM{self._sid_prefix}{next(self._sids):024x}"
                received = Received(sid, to, form.get("Body", ""), form.get("From") or form.get("MessagingServiceSid", ""),
                                    form.get("StatusCallback"), form.get("ValidityPeriod"), time.time())
                self.messages.append(received)
        if status is not None and script.problem_json:
            code = script.error_code if status == 400 else (20429 if status == 429 else 20500)
            return handler._answer(status, {"type": f"https://www.twilio.com/docs/errors/{code}", "title": "Problem",
                                            "status": status, "code": code, "detail": "RFC 9457 problem details"})
        if status == 400:
            message = (f"The 'To' number {to} is not a valid phone number." if script.error_code == 21211
                       else f"Error {script.error_code}")  # Twilio's words for 21211 name the number
            return handler._answer(400, {"code": script.error_code, "message": message,
                                         "more_info": f"https://www.twilio.com/docs/errors/{script.error_code}", "status": 400})
        if status is not None:
            return handler._answer(status, {"code": 20429 if status == 429 else 20500, "message": "try again", "status": status})
        if self.callback_pool is not None and received.status_callback:
            self.callback_pool.submit(self._deliver, received)
        return handler._answer(201, {
            "sid": sid, "account_sid": ACCOUNT_SID, "to": to, "from": form.get("From"), "body": form.get("Body"),
            "status": "queued", "num_segments": "1", "direction": "outbound-api", "error_code": None,
            "messaging_service_sid": form.get("MessagingServiceSid"), "date_created": None, "price": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        })

    def report(self, message: Received, status: str, error_code: int | None = None) -> None:
        """The carrier reports ``status`` of ``message``: its Message resource says so from now on
        (no status callback is posted: call ``status_callback`` for that)."""
        with self.lock:
            self.provider_status[message.sid] = (status, error_code)

    def report_call(self, call: Call, status: str) -> None:
        """The call ended up ``status`` (queued, ringing, in-progress, completed, busy, no-answer,
        failed, canceled): its Call resource says so from now on (no status callback is posted:
        call ``call_status`` for that)."""
        with self.lock:
            self.provider_status[call.sid] = (status, None)

    def handle_call_fetch(self, handler, sid: str) -> None:
        """GET .../Calls/<sid>.json: the call's resource, its status as ``report_call`` set it
        ("in-progress" until then: placed, its outcome not known), or 404 for a call it never placed."""
        with self.lock:
            call = next((c for c in self.calls if c.sid == sid), None)
            status, _ = self.provider_status.get(sid, ("in-progress", None))
            self.fetched.append(sid)
        if call is None:
            return handler._answer(404, {"code": 20404, "message": "not found", "status": 404})
        return handler._answer(200, {
            "sid": sid, "account_sid": ACCOUNT_SID, "to": call.to, "from": call.sender, "status": status,
            "direction": "outbound-api", "duration": "41" if status == "completed" else "0", "answered_by": None,
            "price": None, "date_created": None, "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json",
        })

    def _scripted_status(self, to: str, script: Script) -> int | None:
        """The HTTP status a scripted phone (or an outage) is answered with; None: accepted.
        Called with the lock held."""
        status = self.outage_status
        if status is None and script.transient:
            status = script.transient.pop(0)
        if status is None and script.error_code is not None:
            status = 400
        self.attempts.append((to, status or 201))
        return status

    def handle_call(self, handler, form: dict, pairs: list[tuple[str, str]]) -> None:
        """POST /2010-04-01/Accounts/<sid>/Calls.json: recorded and answered as Twilio does
        (201, a call resource "queued"), or the scripted failure for its To."""
        to = form.get("To", "")
        script = self.scripts.get(to, Script())
        delay = script.delay or self.latency
        if delay:
            time.sleep(delay)
        if not (form.get("Twiml") or form.get("Url") or form.get("ApplicationSid")):
            return handler._answer(400, {"code": 21205, "message": "Url, Twiml or ApplicationSid is required",
                                         "status": 400})
        with self.lock:
            status = self._scripted_status(to, script)
            if status is None:
                sid = f"CA{self._sid_prefix}{next(self._sids):024x}"
                self.calls.append(Call(
                    sid, to, form.get("From", ""), form.get("Twiml", ""), form.get("Url"), form.get("StatusCallback"),
                    [value for key, value in pairs if key == "StatusCallbackEvent"], form.get("StatusCallbackMethod"),
                    time.time()))
        if status == 400:
            return handler._answer(400, {"code": script.error_code, "message": f"Error {script.error_code}",
                                         "more_info": f"https://www.twilio.com/docs/errors/{script.error_code}", "status": 400})
        if status is not None:
            return handler._answer(status, {"code": 20429 if status == 429 else 20500, "message": "try again", "status": status})
        return handler._answer(201, {
            "sid": sid, "account_sid": ACCOUNT_SID, "to": to, "from": form.get("From"), "status": "queued",
            "direction": "outbound-api", "answered_by": None, "duration": None, "price": None, "date_created": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json",
        })

    # callbacks to the application

    @staticmethod
    def signed_post(url: str, params: dict, auth_token: str = AUTH_TOKEN, public_url: str | None = None) -> tuple[int, str]:
        """POST ``params`` to the app as Twilio would: form-encoded, with X-Twilio-Signature computed
        over the public URL (``public_url`` + path, if the app is reached at another address)."""
        signed_url = url
        if public_url:
            parts = urllib.parse.urlsplit(url)
            signed_url = public_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        signature = RequestValidator(auth_token).compute_signature(signed_url, params)
        request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(), method="POST",
                                         headers={"X-Twilio-Signature": signature,
                                                  "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode()

    def _deliver(self, message: Received) -> None:
        time.sleep(0.05)  # as a carrier would, a little later
        try:
            status, _ = self.status_callback(message, "delivered")
        except OSError:
            status = 0
        with self.lock:
            self.callback_results.append(status)

    def status_callback(self, message: Received, status: str, error_code: int | None = None, **kwargs) -> tuple[int, str]:
        params = {"MessageSid": message.sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, "To": message.to}
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.signed_post(message.status_callback, params, **kwargs)

    def call_status(self, call: Call, status: str, error_code: int | None = None, **kwargs) -> tuple[int, str]:
        """The call's status callback (CallStatus: initiated, ringing, in-progress, completed,
        busy, no-answer, failed, canceled), signed, to its StatusCallback."""
        params = {"CallSid": call.sid, "CallStatus": status, "AccountSid": ACCOUNT_SID, "To": call.to,
                  "From": call.sender, "Direction": "outbound-api", "ApiVersion": "2010-04-01"}
        if status == "completed":
            params["CallDuration"] = "41"
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.signed_post(call.status_callback, params, **kwargs)

    def press(self, call: Call, digits: str, **kwargs) -> tuple[int, str]:
        """The listener pressed ``digits``: Twilio posts them, signed, to the action URL of the
        call's <Gather> (the URL taken from the TwiML, as Twilio does)."""
        gather = call.gather()
        assert (gather.get("method") or "POST").upper() == "POST"
        params = {"CallSid": call.sid, "Digits": digits, "AccountSid": ACCOUNT_SID, "To": call.to, "From": call.sender,
                  "CallStatus": "in-progress", "Direction": "outbound-api", "FinishedOnKey": ""}
        return self.signed_post(gather.get("action"), params, **kwargs)
