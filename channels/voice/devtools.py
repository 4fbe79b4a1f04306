"""Development helpers: a call as Twilio makes it, and the phone in a terminal.

``TwilioCall`` drives a running server through a whole call as Twilio would: it posts the form
fields of Twilio's voice webhook (CallSid, AccountSid, From, To, CallStatus, Direction,
ApiVersion, and Digits or SpeechResult with Confidence, or a recording's RecordingUrl,
RecordingSid and RecordingDuration), signed with the twilio library's own
``RequestValidator.compute_signature`` over the exact URL, and follows the TwiML: a ``<Gather>``'s
action with what the caller does, its ``<Redirect>`` when the caller does nothing, a
``<Record>``'s action with the voice message left (or its ``<Redirect>`` when it was empty: Twilio
requests no action then), a ``<Dial>``'s action with how the transfer ended. ``kaifong voice-call`` uses it, and so do the tests (through
Flask's test client instead of a socket).

``voice_chat`` is ``kaifong chat --channel voice``: the same call flow, without HTTP or audio,
showing what the caller would hear and which keys do what. The service itself calls neither.
"""

from __future__ import annotations

import itertools
import json
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from twilio.request_validator import RequestValidator

from assistant.errors import AssistantError

__all__ = ["CallError", "Heard", "TwilioCall", "parse_twiml", "voice_chat", "voice_form"]

ACCOUNT_SID = "AC" + "0" * 32
_calls = itertools.count(1)


class CallError(AssistantError, ConnectionError):
    """The webhook could not be reached, refused the request, or did not answer with TwiML."""


@dataclass
class Heard:
    """One TwiML answer, read as Twilio reads it."""

    #: ("play", url) or ("say", text, language), in order
    sounds: list[tuple] = field(default_factory=list)
    gather: dict | None = None
    #: a ``<Record>``'s attributes
    record: dict | None = None
    redirect: str | None = None
    dial: dict | None = None
    hangup: bool = False
    xml: str = ""
    #: a ``<Connect><Stream>``: {"url", "action", "parameters": {name: value}}
    stream: dict | None = None

    @property
    def said(self) -> list[str]:
        """The ``<Say>`` texts (what Twilio's own voice speaks: fallbacks only)."""
        return [s[1] for s in self.sounds if s[0] == "say"]

    @property
    def played(self) -> list[str]:
        return [s[1] for s in self.sounds if s[0] == "play"]


def parse_twiml(xml: str) -> Heard:
    root = ET.fromstring(xml)
    if root.tag != "Response":
        raise ValueError("not a TwiML <Response>")
    heard = Heard(xml=xml)

    def sounds(element):
        for child in element:
            if child.tag == "Play":
                heard.sounds.append(("play", (child.text or "").strip()))
            elif child.tag == "Say":
                heard.sounds.append(("say", child.text or "", child.get("language")))

    sounds(root)
    for child in root:
        if child.tag == "Gather":
            heard.gather = dict(child.attrib)
            sounds(child)
        elif child.tag == "Record":
            heard.record = dict(child.attrib)
        elif child.tag == "Redirect":
            heard.redirect = (child.text or "").strip()
        elif child.tag == "Dial":
            heard.dial = {**child.attrib, "number": (child.text or "").strip()}
        elif child.tag == "Hangup":
            heard.hangup = True
        elif child.tag == "Connect":
            stream = child.find("Stream")
            if stream is not None:
                heard.stream = {"url": stream.get("url"), "action": child.get("action"),
                                "parameters": {p.get("name"): p.get("value")
                                               for p in stream.findall("Parameter")}}
    return heard


def voice_form(call_sid: str, caller: str, to: str, *, status: str = "in-progress",
               digits: str | None = None, speech: str | None = None,
               confidence: float | None = None, dial_status: str | None = None,
               recording_seconds: int | None = None, recording_sid: str | None = None,
               account_sid: str = ACCOUNT_SID) -> dict[str, str]:
    """The fields Twilio posts to a voice webhook (and after a ``<Gather>``, a ``<Record>`` or a
    ``<Dial>``). A recording's ``Digits`` is the key that ended it (or "hangup")."""
    form = {"CallSid": call_sid, "AccountSid": account_sid, "From": caller, "To": to,
            "Caller": caller, "Called": to, "CallStatus": status, "Direction": "inbound",
            "ApiVersion": "2010-04-01", "FromCountry": "HK", "ToCountry": "HK"}
    if digits is not None:
        form["Digits"] = digits
    if speech is not None:
        form["SpeechResult"] = speech
        form["Confidence"] = f"{0.9 if confidence is None else confidence:.8f}"
    if recording_seconds is not None:
        sid = recording_sid or "RE" + uuid.uuid4().hex
        form.update({"RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}"
                                     f"/Recordings/{sid}",
                     "RecordingSid": sid, "RecordingDuration": str(recording_seconds)})
        form.setdefault("Digits", "#")
    if dial_status is not None:
        form.update({"DialCallStatus": dial_status, "DialCallSid": "CA" + uuid.uuid4().hex,
                     "DialCallDuration": "42" if dial_status == "completed" else "0"})
    return form


def gathered(keys: str, gather: dict) -> str:
    """What Twilio posts as ``Digits`` when the caller presses ``keys`` at a ``<Gather>`` with
    these attributes: the first ``numDigits`` keys, or the keys before ``finishOnKey``."""
    if gather.get("numDigits"):
        return keys[:int(gather["numDigits"])]
    finish = gather.get("finishOnKey", "#")
    if finish and finish in keys:
        return keys[:keys.index(finish)]
    return keys


#: post(url, form, signature) -> (status code, body text)
Poster = Callable[[str, dict, str], tuple[int, str]]


class TwilioCall:
    """One call: ``call.start()``, then ``call.press("1")``, ``call.say("yes", 0.9)``,
    ``call.silence()``, ``call.dial_ends("no-answer")``; each returns what the caller hears."""

    def __init__(self, base_url: str, token: str, caller: str, to: str = "+85230000000",
                 post: Poster | None = None, call_sid: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token, self.caller, self.to = token, caller, to
        self.call_sid = call_sid or f"CA{next(_calls):08d}{uuid.uuid4().hex[:24]}"
        self.post = post or _http_post
        self.last: Heard | None = None
        self.log: list[tuple[str, Heard]] = []

    def start(self) -> Heard:
        return self._send(self.base_url + "/voice", voice_form(
            self.call_sid, self.caller, self.to, status="ringing"), "(call)")

    def press(self, keys: str) -> Heard:
        """Keys as the caller presses them; what Twilio posts is what its <Gather> took: the
        first key of a one-key menu, an entry without the "#" that ended it."""
        action = self._gather_action()
        return self._send(action, self._form(digits=gathered(keys, self.last.gather)), keys)

    def say(self, words: str, confidence: float = 0.92) -> Heard:
        return self._send(self._gather_action(), self._form(speech=words, confidence=confidence),
                          words)

    def silence(self) -> Heard:
        """Nothing: Twilio follows the ``<Redirect>`` after the ``<Gather>``."""
        if self.last is None or not self.last.redirect:
            raise CallError("nothing to wait on: the last answer has no <Redirect>")
        return self._send(self.last.redirect, self._form(), "(silence)")

    def record(self, seconds: int = 23, *, end: str = "#", sid: str | None = None) -> Heard:
        """A voice message of ``seconds`` after the tone, ended by ``end`` ("#", or "hangup");
        0 seconds is what Twilio does with an empty one: no action, its ``<Redirect>``."""
        if self.last is None or not self.last.record:
            raise CallError("the last answer does not <Record>")
        if seconds <= 0:
            return self.silence()
        return self._send(self.last.record["action"], self._form(
            digits=end, recording_seconds=seconds, recording_sid=sid), f"(message {seconds} s)")

    def streamed(self, what: str = "(stream)") -> Heard:
        """The media stream of the last answer has closed: Twilio requests the
        ``<Connect>``'s action (the answer is the media service's, kept in the store)."""
        if self.last is None or not self.last.stream:
            raise CallError("the last answer did not <Connect> a <Stream>")
        return self._send(self.last.stream["action"], self._form(), what)

    def dial_ends(self, status: str = "completed") -> Heard:
        if self.last is None or not self.last.dial:
            raise CallError("the last answer did not <Dial>")
        return self._send(self.last.dial["action"], self._form(dial_status=status),
                          f"(dial {status})")

    def again(self) -> Heard:
        """Twilio sending the last request again (it does, when an answer was slow)."""
        url, form = self._previous
        return self._send(url, form, "(again)")

    def _gather_action(self) -> str:
        if self.last is None or not self.last.gather:
            raise CallError("the last answer does not <Gather>")
        return self.last.gather["action"]

    def _form(self, **kwargs) -> dict:
        return voice_form(self.call_sid, self.caller, self.to, **kwargs)

    def _send(self, url: str, form: dict, what: str) -> Heard:
        signature = RequestValidator(self.token).compute_signature(url, form)
        self._previous = (url, form)
        status, body = self.post(url, form, signature)
        if status != 200:
            raise CallError(f"{urlsplit(url).path} answered {status}")
        try:
            heard = parse_twiml(body)
        except (ET.ParseError, ValueError) as error:
            raise CallError(f"{url} did not answer with TwiML") from error
        self.last = heard
        self.log.append((what, heard))
        return heard


def _http_post(url: str, form: dict, signature: str, timeout: float = 60) -> tuple[int, str]:
    request = Request(url, data=urlencode(form).encode("utf-8"), method="POST", headers={
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": "TwilioProxy/1.1 (kaifong voice-call)"})
    try:
        with urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except HTTPError as error:
        error.close()
        return error.code, ""
    except (URLError, OSError) as error:
        raise CallError(f"cannot reach {url}: {getattr(error, 'reason', error)}") from error


def run_call(url: str, token: str, caller: str, turns: Iterable[str], out=None,
             to: str = "+85230000000", audio_dir: str | Path | None = None) -> int:
    """``kaifong voice-call``: each turn is keys ("1", "91234567#"), ``say:words``,
    ``silence``, ``record:SECONDS`` (a voice message; 0: an empty one), or ``dial:STATUS``; prints what the caller hears (each clip's text when the
    server's audio cache, ``audio_dir``, is on this machine; its URL otherwise; any ``<Say>``),
    and what the call listens for."""
    out = out or sys.stdout
    texts = _clip_texts(Path(audio_dir)) if audio_dir else (lambda url: None)
    call = TwilioCall(url, token, caller, to)
    heard = call.start()
    _print_heard(None, heard, out, texts)
    for turn in turns:
        if heard.hangup or (not heard.gather and not heard.dial and not heard.record
                            and not heard.stream):
            print("(the call has ended)", file=out)
            return 0
        if heard.stream:
            heard = _on_stream(call, turn, out)
        elif turn == "silence":
            heard = call.silence()
        elif turn.startswith("say:"):
            heard = call.say(turn[4:])
        elif turn.startswith("dial:"):
            heard = call.dial_ends(turn[5:])
        elif turn.startswith("record:"):
            heard = call.record(int(turn[7:] or "0"))
        else:
            heard = call.press(turn)
        _print_heard(turn, heard, out, texts)
    return 0


def _on_stream(call: TwilioCall, turn: str, out) -> Heard:
    """A turn on a media stream (``KAIFONG_VOICE_RECOGNISER=vosk``), as Twilio streams it: keys
    as ``dtmf`` once the question has played, ``say:WORDS`` synthesised by espeak-ng (English)
    and ``wav:PATH`` streamed as telephone audio, ``silence`` as nothing until the service's
    timeout; then the ``<Connect>``'s action, as Twilio requests it when the stream closes."""
    import subprocess
    import tempfile
    import wave

    import numpy as np

    from .media.caller import Press, Say, run_call, telephone

    actions: list = []
    if turn.startswith(("say:", "wav:")):
        with tempfile.TemporaryDirectory() as folder:
            path = turn[4:]
            if turn.startswith("say:"):
                path = str(Path(folder) / "said.wav")
                subprocess.run(["espeak-ng", "-v", "en", "-w", path, turn[4:]], check=True,
                               capture_output=True)
            with wave.open(path) as w:
                pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)[::w.getnchannels()]
                actions.append(Say(telephone(pcm, w.getframerate()), after_prompt=0.3))
    elif turn != "silence":
        actions = [Press(key, after_prompt=0.2 + 0.15 * i) for i, key in enumerate(turn)]
    stream = call.last.stream
    result = run_call(stream["url"], call.call_sid, stream["parameters"]["token"], actions,
                      limit=120)
    heard_for = result.played * 0.02
    print(f"  (streamed: {heard_for:.1f} s of the question played"
          f"{', cleared' if 'clear' in result.times else ''}"
          f"{', refused' if result.refused else ''})", file=out)
    return call.streamed(turn)


def _clip_texts(directory: Path):
    """url -> the clip's text, from the notes the speech service keeps beside each clip."""
    def text(url: str) -> str | None:
        clip_id = url.rsplit("/", 1)[-1].removesuffix(".wav")
        try:
            return json.loads((directory / f"{clip_id}.json").read_text(encoding="utf-8"))["text"]
        except (OSError, ValueError, KeyError):
            return None
    return text


def _print_heard(turn: str | None, heard: Heard, out, texts=lambda url: None) -> None:
    if turn is not None:
        print(f"> {turn}", file=out)
    for sound in heard.sounds:
        if sound[0] == "play":
            print(f"  play {texts(sound[1]) or sound[1]}", file=out)
        else:
            print(f"  say  {sound[1]}", file=out)
    if heard.gather:
        print(f"  [listening: {heard.gather.get('input')}, "
              f"{heard.gather.get('numDigits') or 'until ' + (heard.gather.get('finishOnKey') or '-')}"
              f", timeout {heard.gather.get('timeout')} s, language {heard.gather.get('language')}]",
              file=out)
    if heard.record:
        print(f"  [recording after the tone: up to {heard.record.get('maxLength')} s, ends with "
              f"{heard.record.get('finishOnKey')}]", file=out)
    if heard.stream:
        print(f"  [a media stream: {heard.stream['url']} plays the question and listens]",
              file=out)
    if heard.dial:
        print(f"  [putting through to {heard.dial['number']}]", file=out)
    if heard.hangup:
        print("  [hang up]", file=out)
    print(file=out, flush=True)


# -- the phone in a terminal ---------------------------------------------------------------------

def voice_chat(assistant, args, lines: Iterable[str], environ, out=None) -> int:
    """Each line: keys (``1``, ``91234567#``, ``*2``), words (what a caller would say), or an
    empty line (silence); after the tone of a voice message, its length in seconds (an empty
    line: nothing recorded). Prints what the caller would hear and which keys do what."""
    from .call import CallFlow
    from .mapping import CallRequest, Recording
    from .settings import parse_settings

    out = out or sys.stdout
    config = {k[len("KAIFONG_"):]: v for k, v in environ.items() if k.startswith("KAIFONG_")}
    flow = CallFlow(assistant, parse_settings(config), lambda: datetime.now(UTC))
    sid = "CA" + uuid.uuid4().hex
    step = flow.answer(CallRequest(sid, args.address))
    _print_step(step, assistant.catalogue.gettext, out)
    for line in lines:
        if step.hangup or (step.listen is None and step.record is None):
            break
        print(f"> {line.strip() or '(silence)'}", file=out)
        keys = line.strip()
        if step.record is not None:
            seconds = int(keys) if keys.isdigit() else 0
            recording = Recording("https://api.twilio.com/2010-04-01/Accounts/" + ACCOUNT_SID
                                  + "/Recordings/RE" + "0" * 32, "RE" + "0" * 32,
                                  seconds) if seconds else None
            step = flow.recorded(CallRequest(sid, args.address, digits="#",
                                             recording=recording), step.n)
            _print_step(step, assistant.catalogue.gettext, out)
            continue
        if keys and all(ch in "0123456789*#" for ch in keys):
            call = CallRequest(sid, args.address, digits=keys.rstrip("#") or keys)
        elif keys:
            call = CallRequest(sid, args.address, speech=line.strip(), confidence=0.9)
        else:
            call = CallRequest(sid, args.address)
        step = flow.turn(call, step.n)
        _print_step(step, assistant.catalogue.gettext, out)
    return 0


def _print_step(step, gettext, out) -> None:
    for speak in step.speak:
        text = "-".join(ch for ch in speak.text if ch.isalnum()) if speak.spell else speak.text
        print(f"  ({speak.locale}) {text}", file=out)
    if step.keys:
        print("  keys: " + ", ".join(f"{k} = {label}" for k, label in step.keys), file=out)
    if step.listen is not None:
        listen = step.listen
        how = ("one key" if listen.max_keys == 1 else f"keys, then {listen.end_key}")
        print(f"  [listening: {how}{' or speech' if listen.speech else ''}; 0 = a person, "
              f"* = back; {listen.timeout} s]", file=out)
    if step.record is not None:
        print(f"  [recording after the tone, up to {step.record.max_seconds} s, ends with "
              f"{step.record.end_key}; type its length in seconds, or nothing]", file=out)
    if step.transfer is not None:
        print(f"  [putting through to {step.transfer.number}]", file=out)
    if step.hangup:
        print("  [hang up]", file=out)
    print(file=out, flush=True)
