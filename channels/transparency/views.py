"""The transparency pages' views: the index and one record per procedure (see the package)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, abort, current_app, render_template, request

from assistant.i18n import babel_name, canonical_locale
from assistant.transparency import procedure_figures, shown

from ..i18n import N_

bp = Blueprint("transparency", __name__, url_prefix="/transparency",
               template_folder="templates")

#: the period of the published figures
DAYS = 30
#: how long computed figures are served before they are counted again
FIGURES_SECONDS = 300
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "public, max-age=300",
}

WHAT_IT_DOES = N_("Kaifong is an automated assistant. It guides people through this procedure "
                  "one step at a time, by text message, by phone or at a kiosk in a district "
                  "office, in English or Cantonese. It explains, asks the questions the "
                  "procedure needs and books or reports where the procedure does. It never "
                  "decides whether anyone is entitled to anything: staff of the department "
                  "decide.")
HOW_IT_WORKS = N_("The steps, questions and answers are written in advance by people and "
                  "checked before use. The assistant matches what people type or say to those "
                  "steps; it does not write its own answers, and it does not learn from "
                  "conversations.")
REACH_A_PERSON = N_("A person is always available. At any step: by text message, reply 0 or "
                    "PERSON; on the phone, press 0; at a kiosk, touch \"Ask a member of "
                    "staff\". Or call {staff_number}. The assistant also hands over by itself "
                    "when it does not understand, and at once when someone seems to be in "
                    "danger.")
KEEPS = N_("It asks for {what}, to {why}.")
KEEPS_NOTHING = N_("It asks for no personal data.")
KEPT_FOR = N_("What people tell it, and the conversation itself, are kept for {days} days, "
              "then deleted. A conversation that a member of staff is handling is kept until "
              "the case is closed, then for {days} days. After that only the reference number, "
              "the procedure, the outcome and the dates remain, with nothing personal.")
ACCOUNTABLE = N_("{owner} is accountable for this procedure. The Kaifong service operator runs "
                 "the assistant.")
FIGURES_NOTE = N_("Counts of conversations in the last {days} days. A count under 5 is shown "
                  "as \"<5\", so that no one can be singled out.")
TEXTS = (WHAT_IT_DOES, HOW_IT_WORKS, REACH_A_PERSON, KEEPS, KEEPS_NOTHING, KEPT_FOR,
         ACCOUNTABLE, FIGURES_NOTE)


def init_app(app: Flask) -> None:
    app.extensions["kaifong_transparency"] = {"lock": threading.Lock(), "at": 0.0,
                                              "figures": {}}
    app.register_blueprint(bp)


def _locale() -> str:
    wanted = request.args.get("lang")
    if wanted:
        try:
            return canonical_locale(wanted)
        except ValueError:
            pass
    best = request.accept_languages.best_match(["en", "zh-HK", "zh-Hant", "zh-TW", "zh"])
    return "zh-HK" if best and best.startswith("zh") else "en"


def _figures() -> dict:
    """The last ``DAYS`` days' figures, counted again at most every ``FIGURES_SECONDS``."""
    cache = current_app.extensions["kaifong_transparency"]
    with cache["lock"]:
        if time.monotonic() - cache["at"] > FIGURES_SECONDS or not cache["at"]:
            now = datetime.now(UTC)
            cache["figures"] = procedure_figures(current_app.extensions["kaifong"].store,
                                                 now - timedelta(days=DAYS), now)
            cache["at"] = time.monotonic()
        return cache["figures"]


def _render(template: str, **values):
    locale = _locale()
    catalogue = current_app.extensions["kaifong"].catalogue

    def _(msgid: str, **fill) -> str:
        text = catalogue.gettext(locale, msgid)
        return text.format(**fill) if fill else text

    response = current_app.make_response(render_template(
        template, _=_, locale=locale, html_lang=babel_name(locale).replace("_", "-"),
        catalogue=catalogue, **values))
    response.headers.update(HEADERS)
    response.headers["Content-Language"] = locale
    return response


@bp.get("/")
def index():
    catalogue = current_app.extensions["kaifong"].catalogue
    procedures = sorted(catalogue.procedures.values(), key=lambda p: p.id)
    return _render("transparency/index.html", procedures=procedures)


@bp.get("/<procedure_id>")
def record(procedure_id: str):
    catalogue = current_app.extensions["kaifong"].catalogue
    proc = catalogue.procedures.get(procedure_id)
    if proc is None:
        abort(404)
    figures = _figures().get(proc.id, {})
    return _render("transparency/record.html", proc=proc, days=DAYS,
                   retention=catalogue.retention_for(proc.id),
                   staff_number=catalogue.facts.get("staff_number", ""),
                   reviewed_on=catalogue.facts_info.get("reviewed_on"),
                   figures={k: shown(figures.get(k, 0))
                            for k in ("started", "finished", "handed_to_person")},
                   texts={"what_it_does": WHAT_IT_DOES, "how_it_works": HOW_IT_WORKS,
                          "reach": REACH_A_PERSON, "keeps": KEEPS,
                          "keeps_nothing": KEEPS_NOTHING, "kept_for": KEPT_FOR,
                          "accountable": ACCOUNTABLE, "figures_note": FIGURES_NOTE})
