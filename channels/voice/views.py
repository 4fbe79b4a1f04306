"""The phone's webhooks: ``POST /voice`` (a call comes in), ``POST /voice/turn?n=N`` (what the
caller did at step N, or nothing), ``POST /voice/recorded?n=N`` (the voice message left at step
N, or none), ``POST /voice/dialled?n=N`` (how a transfer to staff ended).

Each view verifies the Twilio signature (``channels.twilio_auth``, as for SMS: 403 with a fixed
body, before anything is read from or written to the store), maps the form, runs the call flow
(``call.CallFlow``), gives the step its audio (``audio.PhoneAudio``) and renders TwiML
(``twiml.build_twiml``, through the recogniser strategy). Without ``TWILIO_AUTH_TOKEN`` none of
these is registered; ``GET /audio/<id>.wav`` belongs to the speech service and stays.

When the database cannot be reached within ``KAIFONG_WEBHOOK_DB_SECONDS`` (1.5), or anything
else fails, the answer is still TwiML (200): a short apology, said in Cantonese and then in
English (the call's language is in the database), and the call ends.

Logs carry no number and nothing the caller said (nor a recording's address): a failure logs its
type and its frames.
"""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, request, url_for
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from assistant.errors import ReplayConflict, StoreError

from ..speech import speech_for
from ..twilio_auth import forbidden, parse_public_url, signed, webhook_db_seconds
from .audio import PhoneAudio, phone_clips
from .call import UNAVAILABLE, CallFlow
from .callstep import CallStep
from .delivery import voice_deliverer
from .mapping import BadCall, CallRequest, call_from_form
from .media.answers import read_answer
from .media.token import mint, stream_key
from .recognisers import SAY_LANGUAGES, recogniser_named
from .settings import VoiceSettings, parse_settings
from .twiml import build_twiml

__all__ = ["NO_TOKEN", "VoiceChannel", "bp", "init_app"]

log = logging.getLogger(__name__)
#: where the media service listens (channels.voice.media.service.PATH)
STREAM_PATH = "/voice/stream"
bp = Blueprint("voice", __name__)

NO_TOKEN = (
    "kaifong: the phone is off: TWILIO_AUTH_TOKEN is not set, so Twilio's signatures cannot be\n"
    "  checked and POST /voice is not served. Set TWILIO_AUTH_TOKEN, and KAIFONG_PUBLIC_URL to\n"
    "  the address Twilio calls when the service is behind a proxy.")


@dataclass
class VoiceChannel:
    validator: RequestValidator
    public_url: str | None
    settings: VoiceSettings
    flow: CallFlow
    recogniser: object
    #: how long a webhook gives the database before it answers with an apology
    db_seconds: float = 1.5


def init_app(app: Flask) -> bool:
    """Register the phone's webhooks if Twilio's auth token is configured (say so if not), and
    the phone's clips as a static source of the speech service either way (so that they are
    rendered ahead of time even on a machine that only pre-renders). A setting that makes no
    sense stops the start-up."""
    settings = parse_settings(app.config)
    speech = speech_for(app)
    if phone_clips not in speech.static_sources:
        speech.static_sources.append(phone_clips)
    token = (app.config.get("TWILIO_AUTH_TOKEN") or "").strip()
    if not token:
        print(NO_TOKEN, file=sys.stderr, flush=True)
        return False
    # a member of staff's words to a phone caller go by text message (see delivery)
    desk = app.extensions["kaifong_desk"]
    desk.deliver_with("voice", voice_deliverer(app.extensions["kaifong"]))
    clock = app.config.get("VOICE_CLOCK") or (lambda: datetime.now(UTC))
    if not callable(clock):            # tests pass a function; the environment cannot
        raise TypeError("VOICE_CLOCK is for tests: a function returning the time now")
    public_url = parse_public_url(app.config.get("PUBLIC_URL"))
    app.extensions["kaifong_voice"] = VoiceChannel(
        RequestValidator(token), public_url, settings,
        CallFlow(app.extensions["kaifong"], settings, clock),
        _recogniser(settings, token), webhook_db_seconds(app.config))
    app.register_blueprint(bp)
    return True


def _recogniser(settings: VoiceSettings, auth_token: str):
    if settings.recogniser != "vosk":
        return recogniser_named(settings.recogniser)
    key = stream_key(auth_token)
    return recogniser_named("vosk", stream_url=settings.media_url or "",
                            mint=lambda call_sid, n, conversation: mint(key, call_sid, n,
                                                                        conversation),
                            locales=tuple(locale for locale, _ in settings.vosk_models))


def _channel() -> VoiceChannel:
    return current_app.extensions["kaifong_voice"]


@bp.post("/voice")
def incoming():
    return _handle(lambda flow, call: flow.answer(call))


@bp.post("/voice/turn")
def turn():
    return _handle_step(lambda flow, call, n: flow.turn(_streamed(flow, call, n), n))


def _streamed(flow: CallFlow, call: CallRequest, n: int) -> CallRequest:
    """With our own recogniser, a request without keys or words follows a media stream (or a
    keypad ``<Gather>`` that heard nothing): the stream's answer for (CallSid, n), if it left
    one; if it left none, the stream was lost."""
    if _channel().settings.recogniser != "vosk" or call.digits is not None or \
            call.speech is not None:
        return call
    with flow.assistant.store.engine.connect() as conn:
        answer = read_answer(conn, call.call_sid, n)
    if answer is None:
        return replace(call, stream_lost=True)
    return replace(call, digits=answer.get("digits") or None,
                   speech=answer.get("speech") or None, confidence=answer.get("confidence"))


@bp.post("/voice/recorded")
def recorded():
    return _handle_step(lambda flow, call, n: flow.recorded(call, n))


@bp.post("/voice/dialled")
def dialled():
    return _handle_step(lambda flow, call, n: flow.dialled(call, n))


def _handle_step(run):
    """A follow-up request for step ``?n=N`` (the TwiML's action URL); without a step number
    it is handled as a bad request, after the signature check, like any other."""
    n = request.args.get("n", type=int)
    return _handle(None if n is None else lambda flow, call: run(flow, call, n))


def _handle(run):
    channel = _channel()
    if not signed(channel.validator, channel.public_url):
        return forbidden()
    if run is None:
        return Response("bad request\n", 400, mimetype="text/plain")
    try:
        call = call_from_form(request.form)
    except BadCall:
        return Response("bad request\n", 400, mimetype="text/plain")
    store = current_app.extensions["kaifong"].store
    try:
        step = store.call_within(channel.db_seconds, run, channel.flow, call)
    except ReplayConflict:      # a call's id already used by another caller: no retry
        log.warning("voice: a call id already used by another caller was refused")
        return Response(VoiceResponse().to_xml(), 409, mimetype="text/xml")
    except StoreError as error:
        log.error("voice: the database could not be reached (%s); answered with an apology",
                  type(error).__name__)
        return _apology()
    except Exception as error:
        _log_failure(error)
        return _apology()
    return Response(render(step, call), 200, mimetype="text/xml")


def _apology() -> Response:
    catalogue = current_app.extensions["kaifong"].catalogue
    response = VoiceResponse()
    for locale in ("zh-HK", "en"):
        response.say(catalogue.gettext(locale, UNAVAILABLE, "voice"),
                     language=SAY_LANGUAGES.get(locale, "en-GB"))
    response.hangup()
    return Response(response.to_xml(), 200, mimetype="text/xml")


def render(step: CallStep, call: CallRequest | None = None) -> str:
    """The step as TwiML, with its clips synthesised (or ``<Say>`` where they cannot be)."""
    channel = _channel()
    base = channel.public_url or request.host_url
    action = _absolute(base, url_for("voice.turn", n=step.n))
    dial_action = _absolute(base, url_for("voice.dialled", n=step.n))
    record_action = _absolute(base, url_for("voice.recorded", n=step.n))
    recogniser = channel.recogniser
    if call is not None and step.listen is not None and recogniser.name == "vosk":
        if not recogniser.stream_url:
            recogniser.stream_url = _stream_url(base)
        conversation = current_app.extensions["kaifong"].store.conversation_id(
            "voice", call.caller)
        recogniser = recogniser.bound(call.call_sid, step.n, conversation)
    if step.listen is not None and getattr(recogniser, "streams", lambda _: False)(step.listen):
        sounds = []            # the media service plays the clips (and makes any missing)
    else:
        sounds = PhoneAudio(speech_for(current_app), base).sounds(step)
    return build_twiml(step, sounds, recogniser, action, dial_action, record_action)


def _stream_url(base: str) -> str:
    """The media service behind the same public address: ``wss://host/voice/stream``."""
    scheme, _, rest = base.partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest.split("/")[0] + STREAM_PATH


def _absolute(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _log_failure(error: BaseException) -> None:
    # the exception's message may quote what the caller said: its type and its frames only
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("voice: handling a call failed with %s\n%s", type(error).__name__, frames)
