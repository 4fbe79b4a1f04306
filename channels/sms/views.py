"""The SMS webhooks: ``POST /sms`` (Twilio Messaging) and ``POST /sms/status`` (delivery reports).

Each view verifies, maps, calls the channel (which calls the core), and renders. A request
without a valid ``X-Twilio-Signature`` for the configured auth token gets 403 with a fixed body,
before anything is read from or written to the store. The signature is checked against the
address Twilio called: ``KAIFONG_PUBLIC_URL`` (the public address of the app's root, for a
server behind a proxy) with the request's path and query string. There is no setting that turns
the check off: without ``TWILIO_AUTH_TOKEN`` these endpoints are not registered at all.

When the database cannot be reached within ``KAIFONG_WEBHOOK_DB_SECONDS`` (1.5), or anything
else fails, ``POST /sms`` still answers 200 with TwiML: a short apology in the language of the
message (both, when it cannot tell), so Twilio sends it and the citizen knows to try again.
Twilio gives up at 15 s, and an error status would send nothing at all.

Logs carry no number and no message text: a failure logs its type and where it happened.
"""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, request
from twilio.request_validator import RequestValidator

from assistant.errors import ReplayConflict, StoreError

from ..twilio_auth import forbidden, parse_public_url, signed, webhook_db_seconds
from . import outbound  # the outbox worker's half of the channel: delivery reports
from .inbound import UNAVAILABLE, parse_idle, receive
from .mapping import BadInbound, inbound_from_form, locales_of, twiml

__all__ = ["NO_TOKEN", "SmsConfig", "bp", "init_app"]

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__)

NO_TOKEN = (
    "kaifong: SMS is off: TWILIO_AUTH_TOKEN is not set, so Twilio's signatures cannot be checked\n"
    "  and POST /sms is not served. Set TWILIO_AUTH_TOKEN to your Twilio account's auth token,\n"
    "  and KAIFONG_PUBLIC_URL to the address Twilio calls (e.g. https://kaifong.example.org)\n"
    "  when the service is behind a proxy.")


@dataclass(frozen=True)
class SmsConfig:
    validator: RequestValidator
    public_url: str | None
    idle: timedelta
    #: how long a webhook gives the database before it answers with an apology
    db_seconds: float = 1.5


def init_app(app: Flask) -> bool:
    """Register the SMS endpoints if Twilio's auth token is configured; say so if it is not.
    A public URL or idle time that makes no sense stops the start-up."""
    token = (app.config.get("TWILIO_AUTH_TOKEN") or "").strip()
    if not token:
        print(NO_TOKEN, file=sys.stderr, flush=True)
        return False
    app.extensions["kaifong_sms"] = SmsConfig(
        RequestValidator(token), parse_public_url(app.config.get("PUBLIC_URL")),
        parse_idle(app.config.get("SMS_IDLE_MINUTES")), webhook_db_seconds(app.config))
    app.register_blueprint(bp)
    return True


@bp.post("/sms")
def inbound():
    config: SmsConfig = current_app.extensions["kaifong_sms"]
    if not _signed(config):
        return _forbidden()
    try:
        sms = inbound_from_form(request.form)
    except BadInbound:
        return Response("bad request\n", 400, mimetype="text/plain")
    assistant = current_app.extensions["kaifong"]
    try:
        messages = assistant.store.call_within(config.db_seconds, receive, assistant, sms,
                                               config.idle)
    except ReplayConflict:
        # a MessageSid already answered for another number: no Twilio retry (its ids are
        # unique), so neither that number's reply nor a new turn; nothing is written
        log.warning("SMS: a message id already used by another number was refused")
        return Response(twiml([]), 409, mimetype="text/xml")
    except StoreError as error:
        log.error("SMS: the database could not be reached (%s); answered with an apology",
                  type(error).__name__)
        return _apology(assistant, sms.body)
    except Exception as error:
        _log_failure("an inbound message", error)
        return _apology(assistant, sms.body)
    return Response(twiml(messages), 200, mimetype="text/xml")


def _apology(assistant, body: str) -> Response:
    texts = [assistant.catalogue.gettext(locale, UNAVAILABLE) for locale in locales_of(body)]
    return Response(twiml(["\n".join(texts)]), 200, mimetype="text/xml")




@bp.post("/sms/status")
def status():
    config: SmsConfig = current_app.extensions["kaifong_sms"]
    if not _signed(config):
        return _forbidden()
    store = current_app.extensions["kaifong"].store
    try:
        known = store.call_within(config.db_seconds, outbound.handle_status, store,
                                  request.form.to_dict())
    except StoreError as error:   # Twilio's report is lost; the message itself is not
        log.error("SMS: a delivery report could not be kept (%s)", type(error).__name__)
        return Response("unavailable\n", 503, mimetype="text/plain")
    except Exception as error:
        _log_failure("a delivery report", error)
        return Response("error\n", 500, mimetype="text/plain")
    if not known:
        log.info("delivery report for a message the outbox does not know")
    return Response(status=204)


def _signed(config: SmsConfig) -> bool:
    return signed(config.validator, config.public_url)


def _forbidden() -> Response:
    return forbidden()


def _log_failure(what: str, error: BaseException) -> None:
    # the exception's message may quote what the citizen wrote: its type and its frames only
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("SMS: handling %s failed with %s\n%s", what, type(error).__name__, frames)
