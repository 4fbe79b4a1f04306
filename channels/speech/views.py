"""``GET /audio/<id>.wav``: the speech cache over HTTP, for the kiosk's read-aloud and for
Twilio's ``<Play>``. Public, as prompts are (the files hold no personal value), and cacheable
for good: a clip's id names its content."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file

from .cache import DEFAULT_RATE, DEFAULT_VOICES, RATE_LIMITS, Speech, speech_for

bp = Blueprint("audio", __name__)
_ID = re.compile(r"[0-9a-f]{32}")


@bp.get("/audio/<clip_id>.wav")
def audio(clip_id: str):
    if not _ID.fullmatch(clip_id):
        abort(404)
    speech = speech_for(current_app)
    path = speech.path(clip_id)
    if not path.exists():
        clip = speech.noted(clip_id)
        if clip is None or speech.ensure(clip) is None:
            abort(404)
    response = send_file(path, mimetype="audio/wav", conditional=True, max_age=365 * 86400)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.get("/audio/once/<token>.wav")
def audio_once(token: str):
    """A clip made for one listener (a personal value read back): unguessable, not cached by
    anyone, gone after ``ONCE_SECONDS``."""
    if not _ID.fullmatch(token):
        abort(404)
    path = speech_for(current_app).once_path(token)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype="audio/wav", conditional=False, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app) -> Speech:
    """Attach the speech service: ``AUDIO_DIR`` (default ``DATA_DIR/audio``), ``SPEECH_RATE``
    (words a minute), ``VOICE_EN``, ``VOICE_ZH_HK``; ``SPEECH_ENGINE`` replaces the engine (tests)."""
    directory = app.config.get("AUDIO_DIR") or Path(app.config["DATA_DIR"]) / "audio"
    rate = parse_rate(app.config.get("SPEECH_RATE", DEFAULT_RATE))
    voices = {"en": app.config.get("VOICE_EN") or DEFAULT_VOICES["en"],
              "zh-HK": app.config.get("VOICE_ZH_HK") or DEFAULT_VOICES["zh-HK"]}
    speech = Speech(directory, voices, rate, app.config.get("SPEECH_ENGINE"))
    app.extensions["kaifong_speech"] = speech
    app.register_blueprint(bp)
    return speech


def parse_rate(value) -> int:
    low, high = RATE_LIMITS
    try:
        rate = int(str(value).strip())
    except ValueError:
        rate = 0
    if not low <= rate <= high:
        raise ValueError(f"KAIFONG_SPEECH_RATE must be words a minute between {low} and {high} "
                         f"(150 to 175 suits older listeners), not {value!r}")
    return rate


__all__ = ["bp", "init_app", "parse_rate"]
