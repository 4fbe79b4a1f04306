"""The kiosk's Flask views under ``/kiosk/<kiosk_id>/``: verify, map, call, render.

  GET  /kiosk/<id>/            the welcome screen, or the visitor's current screen
  POST /kiosk/<id>/start       the first touch at welcome: a session, then what was touched
  POST /kiosk/<id>/touch       any touch on a screen (a button named ``do``)
  GET  /kiosk/<id>/more-time   "Do you need more time?" (the page's timer, or a meta refresh)
  GET|POST /kiosk/<id>/end     the wipe: idle timeout, "Finish" (once confirmed), or the
                               visitor's "No, that's all" (the core closed the conversation)
  GET  /kiosk/<id>/lines       staff messages for the live page (a long poll, within the
                               process's live-update budget: ``channels.longpoll``)

Every touch is a POST answered with a redirect to ``/kiosk/<id>/`` (post-redirect-get), and
personal values travel only in POST bodies. Every response is ``no-store`` with a
Content-Security-Policy that allows the kiosk's own scripts and styles only (static files,
which hold nothing personal, are cached by version). A page without a valid session cookie is
the welcome screen, never someone's screen. The wipe clears the cookie, sends
``Clear-Site-Data``, and redirects to welcome.

Views only: the store work is in ``visit``, the decisions in the pure modules.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import escape

from assistant import Assistant
from assistant.i18n import babel_name, canonical_locale, format_day

from ..longpoll import hold, retry_seconds
from ..speech import speech_for
from . import texts as T
from .entry import DATE_STEPS, DIGITS, DateEntry, complete, display, keys_for, missing
from .readaloud import screen_clips, static_clips
from .screens import Screen, screen_for, welcome_screen
from .session import COOKIE, KioskConfig, address_for, new_token, parse_config, valid_token
from .touches import other_locale
from .visit import (
    KEYPAD_SCREENS,
    WAITING,
    Visit,
    deliverer,
    read_visit,
    staff_lines,
    start_visit,
    today_in_hong_kong,
    touch,
    wipe,
)

__all__ = ["bp", "init_app"]

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static", static_url_path="/static")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'
#: a long poll for staff messages answers after at most this long
POLL_SECONDS = 25.0
_STATIC = Path(__file__).parent / "static"
#: static files are named by their content: cached by the browser, refetched when they change
STATIC_VERSION = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(_STATIC.glob("*.*")))
                                ).hexdigest()[:12]
LANGUAGE_NAMES = {"en": "English", "zh-HK": "中文"}


def init_app(app: Flask) -> None:
    """Check the kiosk's settings (a wrong one stops the start), register the pages, a desk
    deliverer (a hand-back becomes the kiosk's screen) and the read-aloud's static clips."""
    config = parse_config(app.config)
    app.extensions["kaifong_kiosk"] = config
    app.config.setdefault("KIOSK_CLOCK", None)       # tests move time; None is the real clock
    assistant: Assistant = app.extensions["kaifong"]
    app.extensions["kaifong_desk"].deliver_with("kiosk", deliverer(assistant))
    speech_for(app).static_sources.append(static_clips)
    app.register_blueprint(bp)


def _config() -> KioskConfig:
    return current_app.extensions["kaifong_kiosk"]


def _assistant() -> Assistant:
    return current_app.extensions["kaifong"]


def _now() -> datetime:
    clock = current_app.config.get("KIOSK_CLOCK")
    return clock() if clock else datetime.now(UTC)


@bp.url_value_preprocessor
def _kiosk_id(endpoint, values):
    if values and "kiosk_id" in values:
        g.kiosk_id = values.pop("kiosk_id")
        if g.kiosk_id not in _config().ids:
            abort(404)                    # only configured kiosks exist


@bp.url_defaults
def _add_kiosk_id(endpoint, values):
    if "kiosk_id" not in values and "kiosk_id" in g and endpoint != "kiosk.static":
        values["kiosk_id"] = g.kiosk_id


@bp.before_request
def _same_origin():
    # the cookie is SameSite=Strict; a POST from another site is refused outright as well.
    # With Referrer-Policy no-referrer a browser sends "Origin: null" for our own forms, so
    # Fetch Metadata decides then; a request with neither header (not a browser) passes, and
    # has no cookie of a visitor to use.
    if request.method != "POST":
        return
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site is not None and site not in ("same-origin", "none"):
        abort(403)
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        abort(403)
    if origin == "null" and site is None:
        abort(403)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.endpoint == "kiosk.static" and request.args.get("v") == STATIC_VERSION:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


# -- the session ------------------------------------------------------------------------------

def _visit() -> Visit | None:
    token = request.cookies.get(COOKIE)
    if not valid_token(token):
        return None
    return read_visit(_assistant(), _config(), g.kiosk_id, token, _now())


def _set_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, path=_cookie_path(), httponly=True, samesite="Strict",
                        secure=_config().secure_cookie)


def _forget_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=_cookie_path(), httponly=True, samesite="Strict",
                           secure=_config().secure_cookie)


def _cookie_path() -> str:
    return f"/kiosk/{g.kiosk_id}/"


def _to_screen() -> Response:
    return redirect(url_for("kiosk.screen"), 303)


def _to_welcome(forget: bool) -> Response:
    response = _to_screen()
    if forget:
        _forget_cookie(response)
    return response


# -- pages -------------------------------------------------------------------------------------

@bp.get("/<kiosk_id>/")
def screen():
    visit = _visit()
    if visit is None:
        response = _welcome()
        if COOKIE in request.cookies:
            _forget_cookie(response)
        return response
    return _render_visit(visit)


@bp.post("/<kiosk_id>/start")
def start():
    locale = _locale_or_default(request.form.get("lang"))
    do = str(request.form.get("do", ""))[:200]
    token = new_token()
    now = _now()
    start_visit(_assistant(), g.kiosk_id, token, locale, do, today_in_hong_kong(now), now)
    response = _to_screen()
    _set_cookie(response, token)
    return response


@bp.post("/<kiosk_id>/touch")
def touched():
    visit = _visit()
    if visit is None:
        return _to_welcome(COOKIE in request.cookies)
    do = str(request.form.get("do", ""))[:200]
    now = _now()
    if touch(_assistant(), visit, do, request.form, today_in_hong_kong(now), now):
        # "No, that's all": the core said goodbye; the session ends, and the welcome screen
        # says goodbye in the visitor's language, with nothing of theirs on it
        return _wiped(url_for("kiosk.screen", lang=visit_locale(visit), bye=1))
    return _to_screen()


def visit_locale(visit: Visit) -> str:
    """The language the visitor last saw (a touch may have changed it)."""
    return (_visit() or visit).locale


@bp.get("/<kiosk_id>/more-time")
def more_time():
    visit = _visit()
    if visit is None:
        return _to_welcome(COOKIE in request.cookies)
    config = _config()
    return _page("kiosk/more_time.html", visit.locale, seconds=config.warning_seconds,
                 screen=Screen("more_time", visit.locale, _t(visit.locale, T.MORE_TIME_HEADING),
                               body=_t(visit.locale, T.MORE_TIME_BODY,
                                       seconds=config.warning_seconds)),
                 timer="warning")


@bp.route("/<kiosk_id>/end", methods=["GET", "POST"])
def end():
    """The wipe. GET for the timers (a meta refresh can only GET), POST for "Finish"."""
    if request.method == "GET" and request.headers.get("Sec-Fetch-Site") not in (
            None, "same-origin", "none"):
        return _to_screen()               # a link from elsewhere ends no one's session
    return _wiped(url_for("kiosk.screen"))


def _wiped(to: str) -> Response:
    token = request.cookies.get(COOKIE)
    if valid_token(token):
        wipe(_assistant(), address_for(g.kiosk_id, token))
    response = redirect(to, 303)
    _forget_cookie(response)
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


@bp.get("/<kiosk_id>/lines")
def lines():
    """New staff-screen lines after ``after``, waiting up to ``POLL_SECONDS`` for one."""
    visit = _visit()
    if visit is None:
        return _json({"gone": True})
    after = request.args.get("after", type=int, default=0)
    desk = current_app.extensions["kaifong_desk"]
    seconds = float(current_app.config.get("KIOSK_POLL_SECONDS", POLL_SECONDS))
    cid = visit.conversation_id
    found = staff_lines(_assistant(), visit, after)
    retry = None
    if not found:
        # waiting holds a thread: only within the live-update budget (channels.longpoll), so
        # that webhooks always find one; beyond it, what there is now and "come back later"
        slot = hold(current_app, "kiosk:" + request.cookies[COOKIE], request.remote_addr)
        if slot is None:
            retry = retry_seconds()
        else:
            with slot:
                since = desk.conversation_version(cid)
                desk.wait_for_change(lambda: desk.conversation_version(cid), since,
                                     timeout=seconds, conversation_id=cid)
            visit = _visit()
            if visit is None:
                return _json({"gone": True})
            found = staff_lines(_assistant(), visit, after)
    body = {"status": visit.status, "staff": visit.with_staff,
            "lines": [_line(visit.locale, x) for x in found]}
    if retry is not None:
        body["retry"] = retry             # seconds; the page backs off from it
    return _json(body)


# -- rendering ---------------------------------------------------------------------------------

def _t(locale: str, msgid: str, **values) -> str:
    text = _assistant().catalogue.gettext(locale, msgid)
    return text.format(**values) if values else text


def _locale_or_default(value: str | None) -> str:
    try:
        return canonical_locale(value) if value else _config().locale
    except ValueError:
        return _config().locale


def _welcome() -> Response:
    locale = _locale_or_default(request.args.get("lang"))
    screen = welcome_screen(_assistant().catalogue, locale)
    bye = request.args.get("bye") == "1"
    # a welcome screen left in the other language (or saying goodbye) goes back to the
    # kiosk's own after the idle time, so that the next person finds it as the kiosk is set up
    timer = "idle" if locale != _config().locale or bye else None
    return _page("kiosk/welcome.html", locale, screen=screen, timer=timer, bye=bye,
                 idle_to=url_for("kiosk.screen"),
                 languages=[(code, LANGUAGE_NAMES[code]) for code in ("zh-HK", "en")])


def _render_visit(visit: Visit) -> Response:
    cat = _assistant().catalogue
    locale = visit.locale
    reply = visit.reply
    mode = visit.data.get("mode")
    extra: dict = {}
    if mode == "finish":
        # asked first, on any screen (the staff screen too: a visitor may give up waiting)
        screen = Screen("finish", locale, _t(locale, T.FINISH_HEADING),
                        body=_t(locale, T.FINISH_BODY))
    elif visit.with_staff:
        # what the assistant said when it handed over (the emergency number after distress
        # words) stays on the screen above the staff member's messages
        said = screen_for(reply, cat) if reply is not None else None
        said = said if said is not None and said.kind == "staff" else None
        screen = Screen("staff", locale, _t(locale, T.STAFF_HEADING),
                        body=_t(locale, T.STAFF_BODY), notes=said.notes if said else (),
                        emergency=bool(said and said.emergency))
        found = staff_lines(_assistant(), visit)
        extra.update(staff=[_line(locale, x) for x in found], status=visit.status,
                     after=found[-1].seq if found else int(visit.data.get("staff_after", 0)))
    elif mode == "describe":
        screen = Screen("describe", locale, _t(locale, T.DESCRIBE_HEADING),
                        body=_t(locale, T.DESCRIBE_HINT), back=True)
    elif mode == "send_phone":
        screen = Screen("phone", locale, _t(locale, T.SEND_PHONE_HEADING), back=True,
                        problem=visit.data.get("problem") == "not_mobile",
                        notes=((_t(locale, T.NOT_A_MOBILE),)
                               if visit.data.get("problem") == "not_mobile" else ()))
        extra["sending"] = True
    else:
        screen = screen_for(reply, cat)
    spell_extra: list[str] = []
    if screen.kind in KEYPAD_SCREENS:
        entry = visit.data.get("entry", "")
        shown = display(screen.kind, entry)
        extra.update(entry=shown, keyed=entry, keys=keys_for(screen.kind, entry), digits=DIGITS,
                     complete=complete(screen.kind, entry),
                     missing=_missing(locale, screen.kind, entry))
        if entry:
            spell_extra.append(shown)
    if screen.kind == "date":
        picked = DateEntry.from_iso(visit.data.get("date"), today_in_hong_kong(_now()))
        extra.update(date=picked, date_steps=DATE_STEPS,
                     date_shown=format_day(picked.date, locale))
    if screen.kind == "end":
        extra.update(qr=_qr_svg(screen.reference, _t(locale, T.QR_LABEL)),
                     sent=visit.data.get("sent"),
                     sent_enough=visit.data.get("problem") == "sent_enough")
    # "Please stay here": no time limit while the visitor waits for or talks with staff
    timer = None if visit.with_staff and visit.status in WAITING else "idle"
    return _page("kiosk/screen.html", locale, screen=screen, timer=timer,
                 spell_extra=spell_extra, **extra)


def _missing(locale: str, kind: str, entry: str) -> str:
    """What is still to key in, in words ("" when nothing is)."""
    found = missing(kind, entry)
    if found is None:
        return ""
    what, count = found
    msgid = {"phone": T.MISSING_PHONE_ONE if count == 1 else T.MISSING_PHONE,
             "hkid_letter": T.MISSING_HKID_LETTER, "hkid_digits": T.MISSING_HKID_DIGITS,
             "hkid_check": T.MISSING_HKID_CHECK, "reference": T.MISSING_REFERENCE}[what]
    return _t(locale, msgid, count=count) if "{count}" in msgid else _t(locale, msgid)


def _qr_svg(reference: str | None, label: str) -> str:
    """The reference as a QR code, inline SVG drawn on the server (no script, no image file),
    sized by the stylesheet (a viewBox, no fixed size), with the quiet zone the standard asks
    for (4 modules) and its name for screen readers."""
    if not reference:
        return ""
    svg = segno.make(reference, error="m").svg_inline(border=4, omitsize=True, dark="#000",
                                                      light="#fff")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def _line(locale: str, line) -> dict:
    who = {"staff": T.FROM_STAFF, "user": T.FROM_YOU}.get(line.role, T.FROM_ASSISTANT)
    return {"seq": line.seq, "role": line.role, "who": _t(locale, who), "text": line.text}


def _json(body: dict) -> Response:
    return current_app.response_class(json.dumps(body, ensure_ascii=False),
                                      mimetype="application/json")


def _page(template: str, locale: str, screen: Screen, timer: str | None, spell_extra=(),
          **context) -> Response:
    speech = speech_for(current_app)
    extra_words = []
    if context.get("date_shown"):
        # a date may be a date of birth: said a word at a time ("28", "December", "1950"), so
        # that no clip holds it whole
        extra_words += context["date_shown"].replace(",", " ").split()
    clips = screen_clips(speech, screen, extra_words, spell_extra)
    speech.want(clips)
    config = _config()
    html = render_template(
        template, screen=screen, locale=locale, T=T,
        t=lambda msgid, **values: _t(locale, msgid, **values),
        html_lang=babel_name(locale).replace("_", "-"),
        other=other_locale(_assistant().catalogue, locale), language_names=LANGUAGE_NAMES,
        clips=" ".join(c.url for c in clips), timer=timer, idle=config.idle_seconds,
        warning=config.warning_seconds, static_version=STATIC_VERSION,
        idle_to=context.pop("idle_to", None) or url_for("kiosk.more_time"), **context)
    return Response(html, mimetype="text/html")
