"""The media stream's pure layers: Twilio's frames to events and back, mu-law both ways, the
stream token, and the keypad-tone detector."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from channels.voice.media import protocol as p
from channels.voice.media.token import mint, stream_key, verify
from channels.voice.media.vad import VoiceActivity, is_tone

KEY = stream_key("test-voice-token")


def test_twilio_frames_become_events():
    payload = base64.b64encode(b"\xff" * 160).decode()
    assert p.parse('{"event": "connected", "protocol": "Call"}') == p.Connected()
    start = p.parse(json.dumps({"event": "start", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": "CA1", "customParameters": {"token": "t", "n": "3"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
    assert start == p.Start("MZ1", "CA1", {"token": "t", "n": "3"})
    media = p.parse(json.dumps({"event": "media", "media": {
        "track": "inbound", "timestamp": "40", "payload": payload}}))
    assert media == p.Media(b"\xff" * 160, 40)
    assert p.parse('{"event": "dtmf", "dtmf": {"digit": "5"}}') == p.Dtmf("5")
    assert p.parse('{"event": "mark", "mark": {"name": "end"}}') == p.Mark("end")
    assert p.parse('{"event": "stop", "stop": {}}') == p.Stop()
    assert p.parse('{"event": "later"}') == p.Unknown("later")
    for bad in ("not json", "[1]", '{"event": "media", "media": {"payload": "%%%"}}',
                '{"event": "dtmf"}'):
        with pytest.raises(p.BadFrame):
            p.parse(bad)


def test_frames_sent_to_twilio():
    assert json.loads(p.media_frame("MZ1", b"\x00\xff")) == {
        "event": "media", "streamSid": "MZ1", "media": {"payload": "AP8="}}
    assert json.loads(p.mark_frame("MZ1", "end")) == {
        "event": "mark", "streamSid": "MZ1", "mark": {"name": "end"}}
    assert json.loads(p.clear_frame("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


def test_mu_law_as_g711_says():
    # G.711's table: 0xFF and 0x7F are zero, 0x00 and 0x80 the loudest, 0xEF is 132 ...
    assert p.ulaw_to_pcm(bytes([0xFF, 0x7F, 0x00, 0x80, 0xEF, 0x6F])).tolist() == [
        0, 0, -32124, 32124, 132, -132]
    assert p.pcm_to_ulaw(np.array([0, -32768, 32767, 132, -132], np.int16)) == bytes(
        [0xFF, 0x00, 0x80, 0xEF, 0x6F])
    # every code decodes and encodes back to itself (but -0, 0x7F, which is +0's 0xFF)
    codes = bytes(c for c in range(256) if c != 0x7F)
    assert p.pcm_to_ulaw(p.ulaw_to_pcm(codes)) == codes
    # and a sample comes back within the step of its segment (about 3 % of its size)
    x = np.arange(-32000, 32000, 37, dtype=np.int16)
    error = np.abs(p.ulaw_to_pcm(p.pcm_to_ulaw(x)).astype(int) - x)
    assert np.all(error <= np.maximum(8, np.abs(x.astype(int)) // 16))


def test_a_token_is_for_its_call_its_step_and_a_minute():
    token = mint(KEY, "CA1", 4, 17, now=1000)
    claims = verify(KEY, token, "CA1", now=1030)
    assert (claims.call_sid, claims.n, claims.conversation_id) == ("CA1", 4, 17)
    assert verify(KEY, token, "CA2", now=1030) is None           # another call's
    assert verify(KEY, token, "CA1", now=1061) is None           # expired
    assert verify(stream_key("another"), token, "CA1", now=1030) is None
    head, mac = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps(
        {"c": "CA1", "n": 5, "v": 17, "e": 2000}).encode()).decode().rstrip("=")
    assert verify(KEY, f"{forged}.{mac}", "CA1", now=1030) is None
    for junk in ("", ".", "x.y", "é.é", token + "x"):
        assert verify(KEY, junk, "CA1", now=1030) is None
    with pytest.raises(ValueError):
        stream_key("")


def _tone(low: int, high: int, n: int = 160) -> np.ndarray:
    t = np.arange(n) / 8000
    return (6000 * np.sin(2 * np.pi * low * t) + 6000 * np.sin(2 * np.pi * high * t)).astype(
        np.int16)


def test_keypad_tones_are_not_speech():
    vad = VoiceActivity()
    for low in (697, 770, 852, 941):
        for high in (1209, 1336, 1477):
            tone = _tone(low, high)
            assert is_tone(tone)
            assert not vad.speech(tone)
    rng = np.random.default_rng(1)
    assert not is_tone((rng.standard_normal(160) * 3000).astype(np.int16))
    assert not is_tone(np.zeros(160, np.int16))
    # a voiced sound (a 140 Hz buzz with its harmonics, as a vowel has) is not a key
    t = np.arange(160) / 8000
    vowel = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 20)) * 4000
    assert not is_tone(vowel.astype(np.int16))


def test_a_phrase_said_again_is_heard_once():
    from channels.voice.media.vosk_engine import _once

    phrases = {"yes": "yes", "go on": "go on"}
    assert _once("yes yes", phrases) == "yes"
    assert _once("go on go on", phrases) == "go on"
    assert _once("yes no", phrases) == "yes no"          # not a repetition: as it was heard
    assert _once("no no", phrases) == "no no"            # not a phrase of the grammar
