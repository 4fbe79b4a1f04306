"""The SMS outbox worker: sends what the service says on its own (summaries, staff replies,
appointment reminders) through Twilio's REST API, and records Twilio's delivery reports.

Messages are queued by ``assistant.outbox.enqueue`` in the transaction of the change that causes
them. A worker round (``OutboxWorker.run_once``):

1. queues tomorrow's appointment reminders, once each (``appointment_reminders`` remembers), and
   cancels queued reminders of appointments cancelled since;
2. claims one due message in a short transaction, with a lease (two workers never hold the
   same message: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), and
   commits; a worker killed mid-send holds only that one, for its lease (``2 * SEND_TIMEOUT +
   30`` s), never a batch;
3. sends it with the twilio client, outside any transaction, records the result at once, and
   claims the next (up to ``batch`` a round). Twilio's errors are mapped here, at the
   boundary, onto ``SmsSendError``, per message:
   - permanent (a 4xx about the message: 21211 invalid number, 21610 unsubscribed, 21614 not
     a mobile ...): the message fails for good and the worker goes on with the next;
   - the message's own passing trouble (21611: the From number's queue is full): retried
     with backoff, counted as an attempt;
   - an outage (no connection, a timeout, 5xx, 429, refused credentials or other set-up
     errors): the message waits and the try is not counted (``assistant.outbox.defer``), and
     the worker pauses: 2 s, then twice as long after each outage in a row, up to
     ``MAX_PAUSE``, probing with one message after each pause; the first message sent ends
     the pause. The other messages are not touched.

``kaifong serve`` runs the worker in a daemon thread (``start_worker_thread``); ``kaifong
sms-worker`` runs it alone (``run_worker_cli``). Any number may run: each message goes out once
(the exception: a worker that dies, or times out, after Twilio took a message but before it
recorded the sid; the lease then hands the message to another worker, which sends it again:
the at-least-once window, at most one message per worker killed, since a worker holds one).
A worker that cannot record a send because the database failed just then keeps Twilio's sid and
records it first thing in its next rounds, within the lease (``2 * SEND_TIMEOUT + 30`` s), so a
database outage shorter than that sends nothing twice.

Logs carry message ids, counts and error codes: never a phone number or a message's text.
Twilio's own error messages quote the number, so they are not logged or stored either.

Settings (environment, or the Flask app's config): ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``,
``TWILIO_FROM_NUMBER``; ``KAIFONG_PUBLIC_URL`` (status callbacks go to ``<it>/sms/status``);
``KAIFONG_TWILIO_API_URL`` (another address for Twilio's API: a local fake, in tests);
``KAIFONG_SMS_WORKER`` (``on``/``off``: whether ``kaifong serve`` runs a worker; default on);
``KAIFONG_SMS_WORKER_INTERVAL`` (seconds between rounds when idle; default 2).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from collections import ChainMap, Counter
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from assistant.catalogue import load_catalogue
from assistant.errors import AssistantError, StoreError
from assistant.i18n import canonical_locale, format_when
from assistant.outbox import (
    OutboundMessage,
    claim,
    defer,
    enqueue,
    mark_failed,
    mark_sent,
    now_utc,
    opt_out,
    outbox,
    record_status,
)
from assistant.services import HONG_KONG, appointment_reminders, appointment_slots, appointments
from assistant.store import Store, conversations, database_url
from assistant.understanding import parse_hk_phone

from ..i18n import N_

__all__ = ["REMINDER", "OutboxWorker", "SmsConfigError", "SmsSendError", "handle_status",
           "make_client", "run_worker_cli", "start_worker_thread", "stop_worker_thread"]

log = logging.getLogger(__name__)

CHANNEL = "sms"
REMINDER = N_("Reminder: your appointment {reference} is tomorrow, {when}, at {office}. "
              "Reply to this message if you need help.")
#: reminders are queued in the day, Hong Kong time, not at midnight
REMINDER_HOURS = (time(9, 0), time(20, 0))
#: seconds for Twilio to connect, and again to answer; a request may take both
SEND_TIMEOUT = 10.0
#: messages a round sends at most (claimed one at a time)
BATCH = 10
INTERVAL = 2.0
#: after an outage the worker pauses this long, doubled after each outage in a row up to
#: MAX_PAUSE; the first message that goes out ends it
FIRST_PAUSE = timedelta(seconds=2)
MAX_PAUSE = timedelta(seconds=10)
#: Twilio's message statuses in the outbox's words; the others (receiving, received,
#: partially_delivered) change nothing
TWILIO_STATUSES = {
    "accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "delivered", "undelivered": "undelivered",
    "failed": "failed", "canceled": "failed",
}
#: 4xx errors about our own set-up, not about the message: retried (until someone fixes it)
_SETUP_CODES = {20003, 20005, 20404, 21212, 21603, 21606, 21659}
_SETUP_STATUSES = {401, 403, 404}
_UNSUBSCRIBED = 21610
#: 4xx errors that are about this message's moment, not the message: retried with backoff
_MESSAGE_TRANSIENT_CODES = {21611}
_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
_ON, _OFF = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class SmsConfigError(AssistantError, ValueError):
    """The SMS outbox is not configured, or wrongly; the message names the settings."""


class SmsSendError(AssistantError, RuntimeError):
    """Twilio did not take a message. ``code`` ("http:400 twilio:21211", "connection") is what
    is stored and logged; ``permanent``: retrying cannot help; ``outage``: nothing will get
    through for now (the worker pauses; the try does not count as an attempt); neither: this
    message's own passing trouble (retried with backoff); ``unsubscribed``: the recipient
    opted out at Twilio."""

    def __init__(self, code: str, *, permanent: bool = False, outage: bool = False,
                 unsubscribed: bool = False):
        super().__init__(f"the SMS provider did not take the message ({code})")
        self.code = code
        self.permanent = permanent
        self.outage = outage
        self.unsubscribed = unsubscribed


# -- settings and the client ----------------------------------------------------------------------

def _setting(config: Mapping, name: str) -> str | None:
    """``name`` from the config; a Flask config holds ``KAIFONG_X`` as ``X``."""
    value = config.get(name)
    if value in (None, "") and name.startswith("KAIFONG_"):
        value = config.get(name.removeprefix("KAIFONG_"))
    value = "" if value is None else str(value).strip()
    return value or None


def _flag(config: Mapping, name: str, default: bool) -> bool:
    value = _setting(config, name)
    if value is None:
        return default
    if value.lower() in _ON:
        return True
    if value.lower() in _OFF:
        return False
    raise SmsConfigError(f"{name} must be on or off, not {value!r}")


def _seconds(config: Mapping, name: str, default: float) -> float:
    value = _setting(config, name)
    try:
        seconds = default if value is None else float(value)
    except ValueError:
        seconds = -1
    if not 0 < seconds <= 3600:
        raise SmsConfigError(f"{name} must be a number of seconds between 0 and 3600")
    return seconds


def _require(config: Mapping, *names: str) -> list[str]:
    values = [_setting(config, name) for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if value is None]
    if missing:
        raise SmsConfigError(f"sending SMS needs {' and '.join(missing)}: set "
                             f"{'it' if len(missing) == 1 else 'them'} in the environment")
    return values


def make_client(config: Mapping, timeout: float = SEND_TIMEOUT) -> Client:
    """A twilio REST client from ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN``, with a
    timeout on every request (the worker's lease must outlast a send), talking to
    ``KAIFONG_TWILIO_API_URL`` instead of api.twilio.com when that is set."""
    account_sid, auth_token = _require(config, "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    api_url = _setting(config, "KAIFONG_TWILIO_API_URL")
    if api_url is not None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SmsConfigError("KAIFONG_TWILIO_API_URL must be an http(s) URL")
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    if api_url is not None:
        # The API domain's base URL is where every Messages request goes; edge and region
        # would rewrite its host name, so they are cleared.
        client.edge = client.region = None
        client.api.base_url = api_url.rstrip("/")
        log.warning("KAIFONG_TWILIO_API_URL is set: SMS go to %s, not to Twilio", api_url)
    return client


def close_client(client: Client) -> None:
    session = getattr(client.http_client, "session", None)
    if session is not None:
        session.close()


def _status_callback(config: Mapping) -> str | None:
    public = _setting(config, "KAIFONG_PUBLIC_URL")
    return f"{public.rstrip('/')}/sms/status" if public else None


# -- errors, mapped at the boundary --------------------------------------------------------------

def _send_error(error: Exception) -> SmsSendError:
    """What a twilio or requests exception means for the message."""
    if isinstance(error, TwilioException) and isinstance(getattr(error, "status", None), int):
        status = error.status
        code = error.code if isinstance(error.code, int) and error.code != status else None
        label = f"http:{status}" + (f" twilio:{code}" if code else "")
        if status == 429 or status >= 500 or status in _SETUP_STATUSES or code in _SETUP_CODES:
            return SmsSendError(label, outage=True)
        if code in _MESSAGE_TRANSIENT_CODES:
            return SmsSendError(label)
        if 400 <= status < 500:
            return SmsSendError(label, permanent=True, unsubscribed=code == _UNSUBSCRIBED)
        return SmsSendError(label, outage=True)
    if isinstance(error, requests.Timeout):
        # a read timeout: Twilio may have taken the message; it is retried all the same
        return SmsSendError("timeout", outage=True)
    if isinstance(error, requests.ConnectionError):
        return SmsSendError("connection", outage=True)
    if isinstance(error, requests.RequestException):
        return SmsSendError("request", outage=True)
    # a TwilioException without a status, or an answer that is not JSON
    return SmsSendError("bad_response", outage=True)


# -- the worker -------------------------------------------------------------------------------

class OutboxWorker:
    """Sends the SMS outbox. One per thread: it owns its twilio client."""

    def __init__(self, store: Store, client: Client, from_number: str, *, catalogue=None,
                 status_callback: str | None = None, batch: int = BATCH,
                 send_timeout: float = SEND_TIMEOUT):
        self.store = store
        self.client = client
        self.from_number = from_number
        self.catalogue = catalogue  # for reminders' wording; None: no reminders
        self.status_callback = status_callback
        self.batch = batch
        self.send_timeout = send_timeout
        # long enough to send one message (claimed one at a time), connect and read timeouts
        # both spent, and to record the result
        self.lease = timedelta(seconds=2 * send_timeout + 30)
        self._stop: threading.Event | None = None
        #: an outage pauses sending until then; how many outages in a row so far
        self.paused_until: datetime | None = None
        self.outages = 0
        #: sent, with Twilio's sid, but not recorded yet (the database failed just then):
        #: recorded first thing each round, well within the message's lease, so that no other
        #: worker sends it again
        self._unrecorded: list[tuple[int, str | None, datetime]] = []

    @classmethod
    def from_config(cls, store: Store, config: Mapping, *, catalogue=None,
                    **options) -> OutboxWorker:
        *_, from_number = _require(config, "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                                   "TWILIO_FROM_NUMBER")
        timeout = options.pop("send_timeout", SEND_TIMEOUT)
        client = make_client(config, timeout=timeout)
        return cls(store, client, from_number, catalogue=catalogue,
                   status_callback=_status_callback(config), send_timeout=timeout, **options)

    def close(self) -> None:
        close_client(self.client)

    # -- rounds

    def run_once(self, now: datetime | None = None) -> int:
        """One round: queue reminders, then claim, send and record due messages one at a
        time, up to ``batch``, unless an outage pauses sending. Returns how many messages it
        claimed (sent, failed, deferred or put back)."""
        now = now or now_utc()
        if self.catalogue is not None:
            self.queue_reminders(now)
        self._record_sent()               # what Twilio took while the database was out
        if self.paused_until is not None and now < self.paused_until:
            return 0
        counts: Counter = Counter()
        claimed = 0
        while claimed < self.batch and not self._stopping():
            with self.store.transaction() as session:
                messages = claim(session, CHANNEL, now, limit=1, lease=self.lease)
            if not messages:
                break
            [message] = messages
            claimed += 1
            try:
                sid = self._send(message)
            except SmsSendError as error:
                if error.outage:
                    counts[self._pause(message, error, now)] += 1
                    break                 # the others are not touched: sending waits
                counts[self._record_failure(message, error, now)] += 1
                continue
            self._unrecorded.append((message.id, sid, now))
            self._record_sent()           # raises StoreError when the database is out
            counts["sent"] += 1
            self.outages, self.paused_until = 0, None
        if counts:
            log.info("sms outbox: %s", ", ".join(f"{n} {what}" for what, n in sorted(
                counts.items())))
        return claimed

    def run_forever(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Rounds until ``stop`` is set: at once while there is more to send, else every
        ``interval`` seconds. A round that fails (the database is down) is logged and the
        next one tries again."""
        self._stop = stop
        try:
            while not stop.is_set():
                try:
                    claimed = self.run_once()
                except StoreError:
                    log.warning("sms outbox: the database is unavailable; trying again")
                    claimed = 0
                except Exception as error:  # noqa: BLE001 (the worker lives on)
                    # the class only: a message could carry personal data
                    log.error("sms outbox: round failed (%s)", type(error).__name__)
                    claimed = 0
                if claimed < self.batch:
                    wait = interval
                    if self.paused_until is not None:
                        wait = min(max(0.0, (self.paused_until - now_utc()).total_seconds()),
                                   MAX_PAUSE.total_seconds())
                        wait = max(wait, 0.05)
                    stop.wait(wait)
        finally:
            self._stop = None

    # -- sending

    def _send(self, message: OutboundMessage) -> str | None:
        options: dict[str, Any] = {"to": message.address, "from_": self.from_number,
                                   "body": message.body}
        if self.status_callback:
            options["status_callback"] = self.status_callback
        try:
            sent = self.client.messages.create(**options)
        except (TwilioException, requests.RequestException, ValueError) as error:
            raise _send_error(error) from error
        return sent.sid or None

    def _record_failure(self, message: OutboundMessage, error: SmsSendError,
                        now: datetime) -> str:
        with self.store.transaction() as session:
            status = mark_failed(session, message, error.code, now, permanent=error.permanent)
            if error.unsubscribed:  # Twilio will refuse every message to them: stop queuing
                opt_out(session, CHANNEL, message.address, now)
        if status is None:
            log.warning("sms %d: another worker took it over meanwhile", message.id)
            return "taken over"
        if status == "failed":
            log.warning("sms %d: not sent, giving up (%s)", message.id, error.code)
            return "failed"
        log.warning("sms %d: not sent, will retry (%s)", message.id, error.code)
        return "retrying"

    def _record_sent(self) -> None:
        while self._unrecorded:
            message_id, sid, at = self._unrecorded[0]
            with self.store.transaction() as session:
                mark_sent(session, message_id, sid, at)
            self._unrecorded.pop(0)

    def _pause(self, message: OutboundMessage, error: SmsSendError, now: datetime) -> str:
        """An outage: the message waits for the end of the pause, uncounted, and so does
        the worker."""
        pause = min(FIRST_PAUSE * 2 ** self.outages, MAX_PAUSE)
        self.outages += 1
        self.paused_until = now + pause
        with self.store.transaction() as session:
            status = defer(session, message, error.code, now)
        if status is None:
            log.warning("sms %d: another worker took it over meanwhile", message.id)
            return "taken over"
        if status == "failed":
            log.warning("sms %d: not sent, giving up (%s)", message.id, error.code)
            return "failed"
        log.warning("sms outbox: the provider is out (%s); pausing %d s (sms %d waits)",
                    error.code, pause.total_seconds(), message.id)
        return "deferred"

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    # -- reminders

    def queue_reminders(self, now: datetime) -> int:
        """Queue one reminder for each booked appointment of tomorrow (Hong Kong time) with a
        mobile number, once; cancel queued reminders of appointments no longer booked. Runs
        from 09:00 to 20:00 only. Returns how many it queued."""
        local = now.astimezone(HONG_KONG)
        a, s, r = appointments.c, appointment_slots.c, appointment_reminders.c
        with self.store.transaction() as session:
            session.execute(sa.update(outbox).where(
                outbox.c.status == "queued",
                outbox.c.id.in_(sa.select(r.outbox_id).join(appointments,
                                                            a.id == r.appointment_id)
                                .where(a.status != "booked")),
            ).values(status="cancelled", last_error="appointment_cancelled", updated_at=now))
            if not REMINDER_HOURS[0] <= local.time() < REMINDER_HOURS[1]:
                return 0
            tomorrow = local.date() + timedelta(days=1)
            start = datetime.combine(tomorrow, time(0), HONG_KONG)
            end = datetime.combine(tomorrow + timedelta(days=1), time(0), HONG_KONG)
            query = (sa.select(a.id, a.reference, a.phone, a.conversation_id, s.office,
                               s.starts_at, conversations.c.locale)
                     .join(appointment_slots, s.id == a.slot_id)
                     .outerjoin(conversations, conversations.c.id == a.conversation_id)
                     .where(a.status == "booked", a.phone.is_not(None),
                            s.starts_at >= start, s.starts_at < end,
                            ~sa.exists().where(r.appointment_id == a.id))
                     .order_by(s.starts_at, a.id))
            queued = 0
            for row in session.execute(query).all():
                # another worker may be on the same appointment: the first insert wins
                taken = session.execute(_insert_ignore(session, appointment_reminders).values(
                    appointment_id=row.id, queued_at=now).returning(r.appointment_id)).first()
                if taken is None:
                    continue
                number = _mobile_number(row.phone)
                if number is None:  # a fixed line gets no SMS; it is not looked at again
                    continue
                # "tomorrow" is true until midnight: after that the reminder is not sent
                message_id = enqueue(session, CHANNEL, number, self.reminder_text(row), "reminder",
                                     now, conversation_id=row.conversation_id, expires_at=start)
                session.execute(sa.update(appointment_reminders).where(
                    r.appointment_id == row.id).values(outbox_id=message_id))
                queued += 1
        if queued:
            log.info("sms outbox: %d reminders queued", queued)
        return queued

    def reminder_text(self, row) -> str:
        """In the conversation's language; in both (Chinese first) when it is not known."""
        try:
            locales = [canonical_locale(row.locale)] if row.locale else ["zh-HK", "en"]
        except ValueError:
            locales = ["zh-HK", "en"]
        return "\n\n".join(self._reminder(locale, row) for locale in locales)

    def _reminder(self, locale: str, row) -> str:
        cat = self.catalogue
        office = cat.facts_info.get("offices", {}).get(row.office)
        return cat.gettext(locale, REMINDER).format(
            reference=row.reference,
            when=format_when(row.starts_at.astimezone(HONG_KONG), locale),
            office=cat.gettext(locale, office["name"]) if office else row.office)


def _mobile_number(phone: str | None) -> str | None:
    """A Hong Kong mobile number in E.164 (``+85291234567``), or None (a fixed line: 2 or 3)."""
    digits = parse_hk_phone(phone or "")
    if digits is None or digits[0] in "23":
        return None
    return f"+852{digits}"


def _insert_ignore(session, table: sa.Table):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


# -- delivery reports ---------------------------------------------------------------------------

def handle_status(store: Store, form: Mapping) -> bool:
    """Twilio's status callback (``MessageSid``, ``MessageStatus``, ``ErrorCode``), its
    signature already checked by the view. Records the status; returns False when the sid is
    not one of ours (or not a sid at all)."""
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    if not _SID.fullmatch(sid):
        return False
    reported = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    status = TWILIO_STATUSES.get(reported)
    code = str(form.get("ErrorCode") or "")
    error = f"twilio:{code}" if code.isdigit() else None
    with store.transaction() as session:
        if status is None:
            return session.scalar(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.provider_id == sid)) > 0
        return record_status(session, sid, status, now_utc(), error)


# -- running it -----------------------------------------------------------------------------------

def _app_settings(app) -> Mapping:
    return ChainMap(app.config, os.environ)


def start_worker_thread(app) -> tuple[threading.Thread | None, threading.Event]:
    """For ``kaifong serve``: run a worker in a daemon thread with the app's store and
    catalogue. Returns ``(thread, stop)``; set ``stop`` (or call ``stop_worker_thread``) to end
    it. When ``KAIFONG_SMS_WORKER`` is off, or Twilio is not configured, no thread is started
    (``thread`` is None) and a warning says why: messages wait in the outbox meanwhile."""
    config = _app_settings(app)
    stop = threading.Event()
    if not _flag(config, "KAIFONG_SMS_WORKER", default=True):
        log.info("sms outbox: no worker in this process (KAIFONG_SMS_WORKER is off)")
        return None, stop
    interval = _seconds(config, "KAIFONG_SMS_WORKER_INTERVAL", INTERVAL)
    assistant = app.extensions["kaifong"]
    try:
        worker = OutboxWorker.from_config(assistant.store, config,
                                          catalogue=assistant.catalogue)
    except SmsConfigError as error:
        log.warning("sms outbox: worker not started: %s", error)
        return None, stop
    thread = threading.Thread(target=_run, args=(worker, stop, interval),
                              name="kaifong-sms-outbox", daemon=True)
    thread.start()
    return thread, stop


def stop_worker_thread(thread: threading.Thread | None, stop: threading.Event,
                       timeout: float | None = None) -> None:
    """Ask the worker to stop and wait for it: it finishes the message in hand and puts the
    rest of its batch back."""
    stop.set()
    if thread is not None:
        thread.join(timeout)


def _run(worker: OutboxWorker, stop: threading.Event, interval: float) -> None:
    try:
        worker.run_forever(stop, interval)
    finally:
        worker.close()


def run_worker_cli(config: Mapping | None = None, *, catalogue=None,
                   stop: threading.Event | None = None) -> int:
    """``kaifong sms-worker``: the worker alone, until Ctrl-C or SIGTERM (or ``stop``). Reads the
    database URL and Twilio's settings from ``config`` (default: the environment). Raises
    ``SmsConfigError`` (an ``AssistantError``) when a setting is missing. Returns 0."""
    config = os.environ if config is None else config
    stop = stop or threading.Event()
    interval = _seconds(config, "KAIFONG_SMS_WORKER_INTERVAL", INTERVAL)
    _require(config, "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # one line per request
    catalogue = catalogue or load_catalogue()
    store = Store(database_url(config))
    restore = _on_signals(stop)
    try:
        worker = OutboxWorker.from_config(store, config, catalogue=catalogue)
        log.info("sms outbox: worker started")
        try:
            worker.run_forever(stop, interval)
        finally:
            worker.close()
        log.info("sms outbox: worker stopped")
    finally:
        restore()
        store.close()
    return 0


def _on_signals(stop: threading.Event):
    """SIGTERM and SIGINT set ``stop`` (in the main thread only: Python's rule). Returns what
    puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: stop.set())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return restore
