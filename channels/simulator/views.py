"""The simulators' pages. Each exchange goes through ``app.test_client()`` to the real webhook,
signed with the twilio library's ``RequestValidator`` for the address the webhook checks; nothing
of the channel is imitated here.

The SMS page shows exactly what the phone would receive: every message the webhook answered
(kept by the channel with each MessageSid, for Twilio's retries) and every message queued in
the SMS outbox for the number (a member of staff's reply, the assistant's question after a
hand-back, a summary sent from the kiosk or the phone), each with its segments, in the order
they were made. It never reads the transcript's assistant or staff lines: a staff member's
private note is in the transcript, and it is never sent. The phone page shows the TwiML the
webhook answered.

With our own recogniser (``KAIFONG_VOICE_RECOGNISER=vosk``) a question is a ``<Connect><Stream>``:
the page (``static/simulator.js``) is then Twilio's side of the media stream, from the browser
to the media service itself: the microphone as 8 kHz mu-law 20 ms frames, the keys as ``dtmf``,
what comes back played (``clear`` honoured, each ``mark`` answered once what was before it has
played); when the service closes the stream, the page requests the ``<Connect>``'s action, as
Twilio does."""

from __future__ import annotations

import ipaddress
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from twilio.request_validator import RequestValidator

from assistant.outbox import outbox
from assistant.store import inbound_messages

from ..sms.devtools import twilio_form
from ..sms.segments import count_segments
from ..speech import speech_for
from ..voice.devtools import gathered, voice_form

bp = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="templates",
               static_folder="static")

DEFAULT_NUMBER = "+85291234567"
SERVICE_NUMBER = "+85230000000"
#: first messages the page suggests: each starts a procedure (tests/channels/simulator checks)
SUGGESTIONS = ("lost my id card", "我想申請長者咭", "fruit money")


def init_app(app: Flask) -> bool:
    """Register the simulators when ``KAIFONG_SIMULATORS`` is on (and a token signs for them)."""
    value = str(app.config.get("SIMULATORS", "off")).strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0", "yes", "no", ""):
        raise ValueError(f"KAIFONG_SIMULATORS must be on or off, not {value!r}")
    if value not in ("on", "true", "1", "yes"):
        return False
    if not (app.config.get("TWILIO_AUTH_TOKEN") or "").strip():
        raise ValueError("KAIFONG_SIMULATORS=on needs TWILIO_AUTH_TOKEN: the simulators sign "
                         "their requests with it, as Twilio does (./scripts/serve makes one)")
    app.register_blueprint(bp)
    return True


@bp.before_request
def only_this_machine():
    try:
        local = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        local = False
    if not local:
        abort(403)


@bp.after_request
def headers(response):
    response.headers["Cache-Control"] = "no-store"
    # a media stream's page talks to the media service (its own origin: another port, or wss)
    connect = " ".join(("'self'", *([g.stream_origin] if g.get("stream_origin") else [])))
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self'; "
        f"connect-src {connect}; frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/")
def index():
    return render_template("simulator/index.html", sms="sms" in current_app.blueprints,
                           phone="voice" in current_app.blueprints)


# -- SMS ----------------------------------------------------------------------------------------

@bp.route("/sms", methods=["GET", "POST"])
def sms():
    if "sms" not in current_app.blueprints:
        abort(404)
    number = _number(request.values.get("from"))
    error = None
    if request.method == "POST":
        body = request.form.get("body", "")
        if not body.strip():
            error = "Type a message first."
        else:
            status, _ = post_as_twilio("/sms", twilio_form(number, SERVICE_NUMBER, body))
            if status != 200:
                error = f"The webhook answered {status}."
            else:
                return redirect(url_for(".sms", **{"from": number}) + "#last")
    return render_template("simulator/sms.html", number=number, thread=sms_thread(number),
                           suggestions=SUGGESTIONS, error=error)


def sms_thread(number: str) -> list[dict]:
    """The texts between the number and the service, in order: what the citizen sent, and
    every message the service sent (``who`` "service"), with its segment count; for one from
    the outbox, its kind and status."""
    store = current_app.extensions["kaifong"].store
    cid = store.conversation_id("sms", number)
    if cid is None:
        return []
    rows: list[tuple] = []
    for line in store.transcript(cid):
        if line.role == "user":
            rows.append((line.at, 0, line.seq, {"who": "citizen", "text": line.text}))
    i, o = inbound_messages.c, outbox.c
    with store.engine.connect() as conn:
        for row in conn.execute(sa.select(i.id, i.output, i.received_at).where(
                i.channel == "sms", i.conversation_id == cid)):
            for n, text in enumerate((row.output or {}).get("messages") or []):
                rows.append((row.received_at, 1, row.id * 100 + n, _sent(text)))
        for row in conn.execute(sa.select(o.id, o.body, o.kind, o.status, o.created_at).where(
                o.channel == "sms", o.address == number)):
            rows.append((row.created_at, 2, row.id, _sent(row.body, kind=row.kind,
                                                          status=row.status)))
    rows.sort(key=lambda r: r[:3])
    return [r[3] for r in rows]


def _sent(text: str, **more) -> dict:
    count = count_segments(text)
    return {"who": "service", "text": text, "segments": count.segments,
            "encoding": count.encoding, "units": count.units, **more}


# -- the phone ----------------------------------------------------------------------------------

@bp.route("/phone", methods=["GET", "POST"])
def phone():
    if "voice" not in current_app.blueprints:
        abort(404)
    number = _number(request.values.get("from"))
    if request.method == "GET":
        return render_template("simulator/phone.html", number=number, call=None, verbs=[],
                               error=None)
    call = request.form.get("call") or "CA" + uuid.uuid4().hex
    target = request.form.get("action") or "/voice"
    fields: dict = {}
    if request.form.get("start"):
        target = "/voice"
    elif "digits" in request.form:
        # what Twilio would post: the keys its <Gather> took (a menu's first key, or an entry
        # without the "#" that ended it)
        fields["digits"] = gathered(request.form["digits"], {
            "numDigits": request.form.get("num_digits") or None,
            "finishOnKey": request.form.get("finish", "#")})
    elif request.form.get("speech", "").strip():
        fields["speech"] = request.form["speech"].strip()
        fields["confidence"] = _confidence(request.form.get("confidence"))
    elif request.form.get("dial"):
        fields["dial_status"] = request.form["dial"]
    elif request.form.get("record"):
        fields["recording_seconds"] = _seconds(request.form.get("seconds"))
    # else: the caller said and pressed nothing (Gather timed out): Twilio goes on to the verb
    # after the Gather, which the page offers as "Stay silent"
    form = voice_form(call, number, SERVICE_NUMBER, **fields)
    error, verbs = None, []
    for _ in range(5):       # follow <Redirect> as Twilio does, unless it waits for the caller
        status, twiml = post_as_twilio(_path_of(target), form)
        if status != 200:
            error = f"The webhook answered {status}."
            break
        verbs = read_twiml(twiml)
        redirect_to = next((v["url"] for v in verbs if v["verb"] == "Redirect"), None)
        if not redirect_to or any(v["verb"] in ("Gather", "Dial", "Record", "Stream")
                                  for v in verbs):
            break
        target, form = redirect_to, voice_form(call, number, SERVICE_NUMBER)
    stream = next((v for v in verbs if v["verb"] == "Stream"), None)
    if stream is not None:
        url = urlsplit(stream["url"])
        g.stream_origin = f"{url.scheme}://{url.netloc}"
    return render_template("simulator/phone.html", number=number, call=call, verbs=verbs,
                           error=error)


def _confidence(value: str | None) -> float:
    try:
        return min(max(float(value or 0.9), 0.0), 1.0)
    except ValueError:
        return 0.9


def _seconds(value: str | None) -> int:
    try:
        return min(max(int(value or 20), 0), 600)
    except ValueError:
        return 20


def read_twiml(twiml: str) -> list[dict]:
    """The verbs of a TwiML answer as the page shows them: what is played or said (with the
    clip's text from the audio cache), what a Gather waits for, where a Dial goes."""
    speech = speech_for(current_app)
    verbs = []

    def spoken(el) -> dict:
        if el.tag == "Play":
            url = (el.text or "").strip()
            clip_id = urlsplit(url).path.rsplit("/", 1)[-1].removesuffix(".wav")
            clip = speech.noted(clip_id)
            return {"verb": "Play", "url": urlsplit(url).path,
                    "text": clip.text if clip else ""}
        return {"verb": "Say", "text": (el.text or "").strip(),
                "language": el.get("language", "")}

    for el in ET.fromstring(twiml):
        if el.tag in ("Play", "Say"):
            verbs.append(spoken(el))
        elif el.tag == "Gather":
            verbs.append({"verb": "Gather", "action": el.get("action") or "",
                          "input": el.get("input") or "dtmf",
                          "hints": el.get("hints") or "", "language": el.get("language") or "",
                          "finish": el.get("finishOnKey", "#"),
                          "num_digits": el.get("numDigits") or "",
                          "inside": [spoken(c) for c in el if c.tag in ("Play", "Say")]})
        elif el.tag == "Redirect":
            verbs.append({"verb": "Redirect", "url": (el.text or "").strip()})
        elif el.tag == "Connect" and el.find("Stream") is not None:
            stream = el.find("Stream")
            verbs.append({"verb": "Stream", "action": el.get("action") or "",
                          "url": stream.get("url") or "",
                          "parameters": {p.get("name"): p.get("value")
                                         for p in stream.findall("Parameter")}})
        elif el.tag == "Dial":
            number = (el.findtext("Number") or el.text or "").strip()
            verbs.append({"verb": "Dial", "action": el.get("action") or "", "number": number})
        elif el.tag == "Record":
            verbs.append({"verb": "Record", "action": el.get("action") or "",
                          "max": el.get("maxLength") or ""})
        elif el.tag == "Hangup":
            verbs.append({"verb": "Hangup"})
        else:
            verbs.append({"verb": el.tag})
    return verbs


# -- signing and posting ------------------------------------------------------------------------

def post_as_twilio(path: str, form: dict[str, str]) -> tuple[int, str]:
    """POST ``form`` to this app's ``path`` as Twilio would: signed for the address the webhook
    checks (``KAIFONG_PUBLIC_URL`` when set, else this server's own)."""
    app = current_app._get_current_object()
    host = request.host_url.rstrip("/")
    public = (app.config.get("PUBLIC_URL") or "").rstrip("/")
    url = (public or host) + path
    signature = RequestValidator(app.config["TWILIO_AUTH_TOKEN"].strip()).compute_signature(
        url, form)
    with app.test_client() as client:
        response = client.post(path, data=form, base_url=host,
                               headers={"X-Twilio-Signature": signature})
        return response.status_code, response.get_data(as_text=True)


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _number(value: str | None) -> str:
    value = (value or "").strip()
    digits = value.lstrip("+")
    if value and digits.isdigit() and 8 <= len(digits) <= 15:
        return value if value.startswith("+") else "+852" + digits if len(digits) == 8 else "+" + digits
    return DEFAULT_NUMBER
