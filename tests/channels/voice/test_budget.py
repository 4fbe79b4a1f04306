"""The phone is brief, measured in seconds of real espeak-ng audio (not wall-clock time): the
first question within 12 s of the language choice, every procedure's first answer a caller can
act on within 12 s, and a re-prompt (the question and its keys) within 8 s, in both languages.
And the Cantonese voice keeps the tones apart better than plain ``yue``."""

from __future__ import annotations

import pytest

from bench.bench_phone_budget import make_app, measure_calls, pitch

FIRST_QUESTION_SECONDS = 12.0
REPROMPT_SECONDS = 8.0


@pytest.fixture(scope="module")
def real_app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("budget"))
    yield app
    app.extensions["kaifong_speech"].close()
    app.extensions["kaifong"].store.close()


@pytest.mark.slow
def test_the_spoken_budget(real_app):
    figures = measure_calls(real_app)
    over = []
    for locale, f in figures.items():
        if f["after_language_s"] > FIRST_QUESTION_SECONDS:
            over.append((locale, "after the language choice", f["after_language_s"]))
        if f["menu_reprompt_s"] > REPROMPT_SECONDS:
            over.append((locale, "the menu asked again", f["menu_reprompt_s"]))
        for pid, p in f["procedures"].items():
            if p["before_first_action_s"] > FIRST_QUESTION_SECONDS:
                over.append((locale, pid, "before its first answer", p["before_first_action_s"]))
            if p["reprompt_s"] > REPROMPT_SECONDS:
                over.append((locale, pid, "its first question again", p["reprompt_s"]))
    assert not over, over
    assert set(figures) == {"zh-HK", "en"} and all(len(f["procedures"]) == 10
                                                   for f in figures.values())


@pytest.mark.slow
def test_the_cantonese_voice_keeps_the_tones_apart(real_app, tmp_path):
    tones = pitch(real_app, tmp_path)
    chosen = real_app.extensions["kaifong_speech"].voices["zh-HK"]
    assert chosen != "sit/yue"
    assert tones[chosen]["range_semitones"] > 1.5 * tones["sit/yue"]["range_semitones"]
    assert tones[chosen]["tone3_tone6_semitones"] > 1.5 * tones["sit/yue"]["tone3_tone6_semitones"]
