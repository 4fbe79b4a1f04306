"""The development helpers: ``kaifong voice-call`` drives a running server (a real socket) as
Twilio would, and ``kaifong chat --channel voice`` shows what a caller hears and which keys do
what."""

from __future__ import annotations

import io

import pytest

from channels.cli import main as kaifong
from channels.voice.devtools import CallError, TwilioCall, run_call

from .conftest import NUMBER, TOKEN, kept, state


def test_voice_call_drives_a_running_server(app, live_server):
    base = live_server(app)
    out = io.StringIO()
    assert run_call(base, TOKEN, NUMBER, ["2", "1", "3", "silence", "0", "dial:no-answer"],
                    out=out) == 0
    printed = out.getvalue()
    assert "[listening: dtmf speech, 1, timeout 10 s, language yue-Hant-HK]" in printed
    assert "> 0\n" in printed and "[putting through to +85221234567]" in printed
    assert printed.rstrip().endswith("[hang up]")
    assert state(app)["escalation"]["callback"]["why"] == "no_answer"


def test_voice_call_prints_what_each_clip_says_from_the_servers_cache(app, live_server):
    from channels.speech import speech_for
    out = io.StringIO()
    run_call(live_server(app), TOKEN, NUMBER, ["2"], out=out,
             audio_dir=speech_for(app).directory)
    printed = out.getvalue()
    assert "  play 廣東話請按1。\n" in printed and "  play For English, press 2.\n" in printed
    assert "  play To talk to a person, press 0.\n" in printed


def test_a_wrong_token_is_refused_by_a_running_server(app, live_server):
    call = TwilioCall(live_server(app), "not-the-token", NUMBER)
    with pytest.raises(CallError, match="403"):
        call.start()
    assert state(app) == {}


def test_voice_call_needs_the_token(monkeypatch, capsys):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    assert kaifong(["voice-call", "1"]) == 2
    assert "TWILIO_AUTH_TOKEN" in capsys.readouterr().err


def test_chat_shows_what_the_caller_hears_and_the_keys(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAIFONG_DATABASE_URL", raising=False)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(
        b"1\n1\n3\n1\n1\n1\n1\n211234563#\n")))
    assert kaifong(["chat", "--channel", "voice", "--address", "+85291112222"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("  (zh-HK) 街坊。廣東話請按1。\n  (en) Kaifong. For English, press 2.")
    assert "keys: 1 = 廣東話, 2 = English" in printed
    assert "> 211234563#\n  (zh-HK) 你俾嘅係：\n  (zh-HK) A-1-2-3-4-5-6-3\n" in printed
    assert "[listening: keys, then # or speech; 0 = a person, * = back; 10 s]" in printed


def test_a_second_process_carries_on_the_call(app, client, tmp_path, monkeypatch):
    """What a call needs between requests is in the store, not in a process: a second app on
    the same database (another process behind the load balancer) takes the next request."""
    from .conftest import Call, make_app
    call = Call(client)
    call.start()
    call.press("2")
    other = make_app(tmp_path, monkeypatch)
    call.post = Call(other.test_client()).post
    heard = call.press("1")
    assert kept(app)["reply"]["prompt"] == "Which one?" and heard.gather is not None
    other.extensions["kaifong"].store.close()
