"""The console's Flask views: sign-in, sign-out, the home page, and the guard in front of them.

The guard (``_guard``, the blueprint's ``before_request``) runs before every view: it ends an idle
session and one whose user's session version has moved on (signed out, or a new password:
``assistant.staff.end_sessions``; so a copied cookie stops working, everywhere), sends anyone not signed in to the sign-in page (303 for GET, 401 otherwise) and checks
the CSRF token of every POST. A new route under ``/staff`` is therefore protected without doing
anything; only ``staff.login`` is open, and a test walks ``app.url_map`` to hold that.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from assistant.i18n import babel_name, canonical_locale
from assistant.staff import StaffError, authenticate, change_password, end_sessions, find_staff

from ..i18n import N_
from .csrf import FIELD, csrf_token, valid_csrf
from .secret import load_or_create_secret_key

log = logging.getLogger(__name__)

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates",
               static_folder="static")

OPEN_ENDPOINTS = frozenset({"staff.login"})
#: what an open page fetches by itself (live updates): not activity, so the session still ends
#: when the member of staff walks away from an open console
PASSIVE_ENDPOINTS = frozenset({"staff.events", "staff.queue_fragment",
                               "staff.conversation_events", "staff.lines", "staff.static"})
#: all that a member of staff whose password must change first can reach
CHANGE_FIRST_ENDPOINTS = frozenset({"staff.password", "staff.logout", "staff.static"})
#: every console response: no resource from elsewhere, no framing, nothing kept in caches
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' "
                               "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

REFUSED = N_("That user name and password did not work. Check them and try again, or ask a "
             "supervisor.")
IDLE_ENDED = N_("You were signed out because the console was not used for a while.")
SIGNED_OUT = N_("You have signed out.")
PASSWORDS_DIFFER = N_("The two new passwords are not the same.")
PASSWORD_SHORT = N_("The new password must be at least 12 characters long.")
PASSWORD_SAME = N_("Choose a new password, not the one you have now.")
PASSWORD_WRONG = N_("Your current password is not right.")
#: the words the console adds in code (the templates hold the rest)
TEXTS = (REFUSED, IDLE_ENDED, SIGNED_OUT, PASSWORDS_DIFFER, PASSWORD_SHORT, PASSWORD_SAME,
         PASSWORD_WRONG)


def init_app(app: Flask) -> None:
    """Cookie settings, the secret key, the lock-out and idle settings; then the blueprint."""
    config = app.config
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_or_create_secret_key(config["DATA_DIR"])
    idle = _positive_int(config, "STAFF_SESSION_MINUTES", 30)
    config["STAFF_SESSION_MINUTES"] = idle
    config["STAFF_LOCK_MINUTES"] = _positive_int(config, "STAFF_LOCK_MINUTES", 15)
    config["STAFF_MAX_FAILED_LOGINS"] = _positive_int(config, "STAFF_MAX_FAILED_LOGINS", 5)
    config.setdefault("STAFF_CLOCK", None)       # tests inject one; None is the real clock
    # Secure unless the service declares itself plain http (KAIFONG_PUBLIC_URL=http://...). With
    # no public URL it stays Secure: browsers accept Secure cookies from http://localhost.
    public = str(config.get("PUBLIC_URL") or "").strip().lower()
    config["SESSION_COOKIE_SECURE"] = not public.startswith("http://")
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=idle)
    config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.register_blueprint(bp)
    app.after_request(_headers_outside_the_blueprint)


def _headers_outside_the_blueprint(response):
    """A path under /staff that no console route matched (a 404, a 405) never reaches the
    blueprint's own ``after_request``: it gets the console's headers here."""
    if request.blueprint != "staff" and (request.path == "/staff"
                                         or request.path.startswith("/staff/")):
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"
    return response


def _positive_int(config, key: str, default: int) -> int:
    value = config.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"KAIFONG_{key} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ValueError(f"KAIFONG_{key} must be at least 1, not {number}")
    return number


def _now() -> datetime:
    clock = current_app.config.get("STAFF_CLOCK")
    return clock() if clock else datetime.now(UTC)


def _engine():
    return current_app.extensions["kaifong"].store.engine


def _locale() -> str:
    # read once a request: a page of the queue asks for it several times a row
    if "staff_lang" not in g:
        g.staff_lang = session.get("lang") or "en"
    return g.staff_lang


def _(msgid: str, **values) -> str:
    text = current_app.extensions["kaifong"].catalogue.gettext(_locale(), msgid)
    return text % values if values else text


@bp.context_processor
def _template_helpers():
    locale = _locale()
    return {"_": _, "csrf_token": lambda: csrf_token(session), "csrf_field": FIELD,
            "html_lang": babel_name(locale).replace("_", "-"), "locale": locale,
            "staff": g.get("staff")}


@bp.before_request
def _guard():
    wanted = request.args.get("lang")
    if wanted:
        try:
            session["lang"] = canonical_locale(wanted)
        except ValueError:
            pass                          # an unknown language keeps the one already chosen
    g.staff = None
    g.notice = None
    now = _now()
    seen = session.get("seen")
    if "user" in session:
        idle = timedelta(minutes=current_app.config["STAFF_SESSION_MINUTES"])
        if not isinstance(seen, (int, float)) or now.timestamp() - seen > idle.total_seconds():
            _end_session()
            g.notice = IDLE_ENDED
        else:
            g.staff = find_staff(_engine(), session["user"])
            # the account is gone, or its sessions were ended (signed out, a new password):
            # so is this one, whoever holds the cookie
            if g.staff is None or session.get("version") != g.staff.session_version:
                g.staff = None
                _end_session()
    if g.staff is not None:
        if request.endpoint not in PASSIVE_ENDPOINTS:
            # passive requests leave the cookie alone: one answered late (a live update still
            # running when the page changed language, or signed out) must not put back an
            # older session (SESSION_REFRESH_EACH_REQUEST is off: an unchanged session sends
            # no cookie)
            session["seen"] = now.timestamp()
            session.permanent = True
    elif request.endpoint not in OPEN_ENDPOINTS:
        if request.method in SAFE_METHODS:
            return redirect(url_for("staff.login"), 303)
        abort(401)
    if request.method not in SAFE_METHODS and not valid_csrf(session, request.form.get(FIELD)):
        log.warning("staff console: POST %s refused, missing or wrong CSRF token", request.path)
        abort(400)
    if g.staff is not None and g.staff.must_change_password and \
            request.endpoint not in CHANGE_FIRST_ENDPOINTS:
        if request.method in SAFE_METHODS:
            return redirect(url_for("staff.password"), 303)
        abort(403)
    return None


def _end_session() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.staff is not None:
            return redirect(url_for("staff.home"), 303)
        notice = g.notice or (SIGNED_OUT if request.args.get("signed_out") else None)
        return render_template("staff/login.html", error=None, notice=notice, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    config = current_app.config
    user = authenticate(_engine(), username, password, now=_now(),
                        max_failures=config["STAFF_MAX_FAILED_LOGINS"],
                        lock_for=timedelta(minutes=config["STAFF_LOCK_MINUTES"]))
    if user is None:
        # the name is logged (never the password) so repeated attempts can be seen
        log.warning("staff console: sign-in refused for user %r from %s", username[:64],
                    request.remote_addr)
        return render_template("staff/login.html", error=REFUSED, notice=None,
                               username=username), 401
    _end_session()                        # a new session (and CSRF token) for the signed-in user
    session["user"] = user.username
    session["version"] = user.session_version
    session["seen"] = _now().timestamp()
    session.permanent = True
    log.info("staff console: %s signed in (%s)", user.username, user.role)
    return redirect(url_for("staff.home"), 303)


@bp.route("/password", methods=["GET", "POST"])
def password():
    if request.method == "GET":
        return render_template("staff/password.html", error=None,
                               first=g.staff.must_change_password)
    new = request.form.get("new", "")
    if new != request.form.get("again", ""):
        error = PASSWORDS_DIFFER
    else:
        try:
            version = change_password(_engine(), g.staff.username,
                                      request.form.get("current", ""), new)
        except StaffError as problem:
            error = {"short": PASSWORD_SHORT, "same": PASSWORD_SAME}.get(problem.code,
                                                                        PASSWORD_WRONG)
        else:
            log.info("staff console: %s changed their password", g.staff.username)
            session["version"] = version          # this session goes on; the others end
            return redirect(url_for("staff.home"), 303)
    return render_template("staff/password.html", error=error,
                           first=g.staff.must_change_password), 400


@bp.post("/logout")
def logout():
    log.info("staff console: %s signed out", g.staff.username)
    end_sessions(_engine(), g.staff.username)   # this cookie, and any copy of it, ends here
    _end_session()
    return redirect(url_for("staff.login", signed_out=1), 303)


@bp.after_request
def _headers(response):
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "staff.static":
        response.headers["Cache-Control"] = "no-store"    # pages hold personal data
    return response
