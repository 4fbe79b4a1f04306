"""A local stand-in for Twilio's Messages API: a real HTTP server that the real twilio client
(pointed at it with ``KAIFONG_TWILIO_API_URL``) talks to over a real socket.

It answers ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` as Twilio does: HTTP basic
auth with the account sid and auth token (401 and error 20003 otherwise), form fields ``To``,
``From``, ``Body``, ``StatusCallback``, and a 201 with the message resource as JSON (sid ``SM`` +
32 hex digits, status ``queued``). Errors have Twilio's shape: ``{"code", "message",
"more_info", "status"}``.

It fails on demand: ``fail_next(n, status)`` answers the next n requests with that status;
``down()`` closes the listening socket (connection refused) and ``down(refuse=False)`` answers
503 to everything; ``up()`` brings it back on the same port; ``invalid_number(to)`` and
``reject(to, code)`` refuse one recipient as Twilio refuses an invalid or unsubscribed number.

Tests use the ``fake_twilio`` fixture: ``from tests.channels.sms.fake_twilio import fake_twilio``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
FROM_NUMBER = "+85230001234"
_MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json")


@dataclass(frozen=True)
class AcceptedMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 from_number: str = FROM_NUMBER):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.port = 0
        self.requests = 0           # every POST that reached the server, accepted or not
        self.messages: list[AcceptedMessage] = []
        self._changed = threading.Condition()
        self._fail: list[int] = []
        self._unavailable = False
        self._rejections: dict[str, tuple[int, int, str]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: called with each accepted message, before the answer goes back
        self.on_message: Callable[[AcceptedMessage], None] | None = None

    # -- the server's life ---------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        if self._server is None:
            server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
            server.fake = self
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, name="fake-twilio",
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def down(self, refuse: bool = True) -> None:
        """An outage: nothing listens (connection refused), or, with ``refuse=False``, every
        request gets a 503."""
        if refuse:
            self.close()
        else:
            self._unavailable = True

    def up(self) -> None:
        self._unavailable = False
        self.start()

    # -- failures on demand --------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        with self._changed:
            self._fail.extend([status] * n)

    def reject(self, to: str, code: int, message: str, status: int = 400) -> None:
        """Refuse every message to ``to`` with Twilio's error ``code``."""
        self._rejections[to] = (status, code, message)

    def invalid_number(self, to: str) -> None:
        self.reject(to, 21211, f"The 'To' number {to} is not a valid phone number.")

    def unsubscribed(self, to: str) -> None:
        self.reject(to, 21610, "Attempt to send to unsubscribed recipient")

    # -- what it received ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> dict[str, str]:
        """The settings that point the outbox worker here."""
        return {"TWILIO_ACCOUNT_SID": self.account_sid, "TWILIO_AUTH_TOKEN": self.auth_token,
                "TWILIO_FROM_NUMBER": self.from_number, "KAIFONG_TWILIO_API_URL": self.url}

    def bodies(self) -> list[str]:
        with self._changed:
            return [m.body for m in self.messages]

    def wait_for(self, count: int, timeout: float = 60) -> bool:
        """Until ``count`` messages have been accepted; False if they have not within
        ``timeout`` seconds (a generous bound on a hang, not a timing being measured)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.messages) >= count, timeout)

    # -- answering (called by the handler, in the server's threads) ---------------------------

    def _answer(self, path: str, authorization: str | None, form: dict[str, str]
                ) -> tuple[int, dict]:
        match = _MESSAGES.fullmatch(path)
        if match is None:
            return _error(404, 20404, "The requested resource was not found")
        with self._changed:
            self.requests += 1
            forced = self._fail.pop(0) if self._fail else (503 if self._unavailable else None)
        if forced is not None:
            return _error(forced, 20429 if forced == 429 else forced,
                          "Too Many Requests" if forced == 429 else "Service Unavailable")
        if not self._authorised(authorization):
            return _error(401, 20003, "Authenticate")
        if match["account"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        for field, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
            if not form.get(field):
                return _error(400, code, f"A '{field}' phone number is required."
                              if field != "Body" else "Message body is required.")
        to = form["To"]
        if to in self._rejections:
            status, code, message = self._rejections[to]
            return _error(status, code, message)
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC), usegmt=False)
        accepted = AcceptedMessage(sid, to, form["From"], form["Body"], form.get("StatusCallback"))
        with self._changed:
            self.messages.append(accepted)
            self._changed.notify_all()
        if self.on_message is not None:
            self.on_message(accepted)
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return 201, {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form["Body"],
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form["From"], "messaging_service_sid": None, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
            "status": "queued", "subresource_uris": {"media": f"{base}/Media.json"},
            "to": to, "uri": f"{base}.json",
        }

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(user, self.account_sid)
                and hmac.compare_digest(password, self.auth_token))


def _error(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message, "status": status,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}"}


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so an outage is seen by the very next request
    server_version = "FakeTwilio/1.0"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        status, body = self.server.fake._answer(self.path, self.headers.get("Authorization"),
                                                form)
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        status, body = _error(405, 20004, "Method not allowed")
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        pass  # quiet: the tests read what was received from the server object instead


@pytest.fixture
def fake_twilio():
    server = FakeTwilio().start()
    yield server
    server.close()
