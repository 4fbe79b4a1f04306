"""The ``kaifong`` command: serve, seed-slots, chat, route, eval-routing, eval-answers, validate, purge,
sms-worker, sms-send, staff add.

The JSON shapes printed by ``chat --json`` and ``eval-routing --json`` are a contract (see
DESIGN.md): programs outside the project read them. Human output goes to stdout; problems go to
stderr with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import os
import secrets
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import AssistantError, CatalogueError

if TYPE_CHECKING:
    from assistant import Assistant

# Everything else is imported by the command that needs it: ``kaifong --help`` and ``kaifong
# chat`` must not load Flask, the blueprints, Twilio's client, the speech engine or Alembic
# (bench/bench_startup_cli.py measures it; tests/channels/test_cli_imports.py holds it).

#: the channels ``chat`` can play
CHANNELS = ("kiosk", "sms", "voice")
#: ``assistant.staff.STAFF_ROLES`` (a test holds them equal; ``add_staff`` checks the role
#: again): that module needs SQLAlchemy, which ``kaifong --help`` has no use for
STAFF_ROLES = ("agent", "supervisor")


def _modality(channel: str) -> str:
    """How the channel presents words (the engine asks the catalogue for this, never the
    channel)."""
    if channel == "sms":
        from .sms.inbound import MODALITY
        return MODALITY
    return {"kiosk": "screen", "voice": "voice"}[channel]


def _renderer(channel: str):
    if channel == "sms":
        from .sms.render import render_sms
        return render_sms
    if channel == "kiosk":
        from .kiosk.render import render_kiosk_text
        return render_kiosk_text
    from .voice.render import render_speech
    return render_speech


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 1
    except AssistantError as exc:
        print(f"kaifong: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kaifong", description="Kaifong: a neighbourly "
                                     "assistant for public-service procedures.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the whole service")
    p.add_argument("--host", default=os.environ.get("KAIFONG_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("KAIFONG_PORT", "8080")))
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("seed-slots", help="make sure every office has appointment times for the "
                       "next DAYS days (idempotent; safe while the service runs)")
    p.add_argument("--days", type=int, default=SEED_DAYS)
    p.set_defaults(func=cmd_seed_slots)
    p = sub.add_parser("media", help="run the phone's media service alone (Twilio Media Streams "
                       "at /voice/stream, for KAIFONG_VOICE_RECOGNISER=vosk; kaifong serve also "
                       "runs one)")
    p.add_argument("--host", default=os.environ.get("KAIFONG_MEDIA_HOST",
                                                    os.environ.get("KAIFONG_HOST", "127.0.0.1")))
    p.add_argument("--port", type=int, default=_media_port(os.environ))
    p.set_defaults(func=cmd_media)

    p = sub.add_parser("chat", help="talk to the assistant in this terminal")
    p.add_argument("--locale", default=None, type=_locale,
                   help="en (the default) or zh-HK; by SMS, the first message decides unless given")
    p.add_argument("--channel", default="sms", choices=CHANNELS)
    p.add_argument("--address", default="terminal",
                   help="names the conversation; the same address resumes it")
    p.add_argument("--json", action="store_true", help="one JSON object per turn")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("route", help="which procedures a request means")
    p.add_argument("text")
    p.add_argument("--locale", default="en", type=_locale)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_route)

    p = sub.add_parser("eval-routing", help="measure routing on a JSON Lines file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval_routing)

    p = sub.add_parser("eval-answers", help="measure how answers inside procedures are "
                       "understood, on a JSON Lines file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval_answers)

    p = sub.add_parser("validate", help="lint the catalogue")
    p.add_argument("path", nargs="?", default=None)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("purge", help="delete what is kept past its retention period (or past "
                       "DAYS): transcripts, answers, numbers, free text")
    p.add_argument("--older-than", type=_days, default=None, metavar="DAYS",
                   help="one period for everything, in days (default: the service's period, "
                        "KAIFONG_RETENTION_DAYS, and each procedure's own)")
    p.add_argument("--dry-run", action="store_true",
                   help="count what would go, change nothing (the audit log records the count)")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("sms-worker", help="send the SMS outbox (runs until Ctrl-C; "
                       "kaifong serve also runs one)")
    p.set_defaults(func=cmd_sms_worker)

    p = sub.add_parser("sms-send", help="send a text to a running server as Twilio would, signed "
                       "with TWILIO_AUTH_TOKEN (development)")
    p.add_argument("text")
    p.add_argument("--url", default="http://127.0.0.1:8080/sms",
                   help="the webhook's address, exactly as Twilio would call it")
    p.add_argument("--from", dest="sender", default="+85291234567")
    p.add_argument("--to", default=os.environ.get("TWILIO_FROM_NUMBER") or "+85230000000")
    p.add_argument("--sid", default=None,
                   help="MessageSid (default: a new one; the same one again is a Twilio retry)")
    p.add_argument("--media", type=int, default=0, help="pretend this many pictures came with it")
    p.set_defaults(func=cmd_sms_send)

    p = sub.add_parser("voice-call", help="call a running server as Twilio would: signed voice "
                       "webhooks, following the TwiML (development; TWILIO_AUTH_TOKEN)")
    p.add_argument("turns", nargs="*", help="keys (1, 91234567#, *2), say:WORDS, silence, "
                   "wav:PATH (on a media stream: a recording said), "
                   "record:SECONDS (a voice message after the tone; 0: an empty one), or "
                   "dial:STATUS (how a transfer ends: completed, no-answer, busy)")
    p.add_argument("--url", default="http://127.0.0.1:8080",
                   help="the server's address as Twilio calls it (KAIFONG_PUBLIC_URL)")
    p.add_argument("--from", dest="caller", default="+85291234567")
    p.add_argument("--to", default=os.environ.get("TWILIO_FROM_NUMBER") or "+85230000000")
    p.add_argument("--audio-dir", default=None, help="the server's audio cache, to print what "
                   "each clip says (default: KAIFONG_DATA_DIR/audio when it exists)")
    p.set_defaults(func=cmd_voice_call)

    p = sub.add_parser("speech", help="the synthesised audio of the kiosk and the phone")
    speech = p.add_subparsers(dest="speech_command", required=True)
    p = speech.add_parser("prerender", help="synthesise every prompt the channels will play "
                          "that is not in the audio cache yet, with a progress bar")
    p.add_argument("--format", choices=("kiosk", "phone"), default=None,
                   help="only this format (default: both)")
    p.set_defaults(func=cmd_speech_prerender)

    p = sub.add_parser("staff", help="staff console accounts")
    staff = p.add_subparsers(dest="staff_command", required=True)
    p = staff.add_parser("add", help="create a staff account (password from a prompt, or the "
                         "first line of stdin when it is not a terminal)")
    p.add_argument("user")
    p.add_argument("--role", required=True, choices=STAFF_ROLES)
    p.set_defaults(func=cmd_staff_add)
    p = staff.add_parser("demo", help="on a database with no staff yet, create the supervisor "
                         f"{DEMO_SUPERVISOR!r} and print its password once (to be changed at the "
                         "first sign-in); with staff already, do nothing")
    p.set_defaults(func=cmd_staff_demo)
    return parser


def _locale(value: str) -> str:
    from assistant.i18n import canonical_locale

    try:
        return canonical_locale(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- serve ------------------------------------------------------------------------------------

#: how many days ahead `kaifong serve` and `kaifong seed-slots` make appointment times
SEED_DAYS = 14


def cmd_serve(args) -> int:
    from waitress import serve

    from assistant import seed_appointment_slots
    from assistant.store import database_url

    from .app import create_app
    from .retention import start_purge_thread
    from .sms.outbound import start_worker_thread, stop_worker_thread

    app = create_app()
    # once, before the service answers: one process, so nothing races for the rows
    seed_appointment_slots(app.extensions["kaifong"].store, app.extensions["kaifong"].catalogue,
                           days=SEED_DAYS)
    base = f"http://{args.host}:{args.port}"
    print(f"Kaifong is running on {database_url(os.environ).split(':')[0]}.", flush=True)
    print(f"  health:      {base}/healthz", flush=True)
    if "sms" in app.blueprints:      # registered only with TWILIO_AUTH_TOKEN
        public = (app.config.get("PUBLIC_URL") or base).rstrip("/")
        print(f"  SMS webhook: {public}/sms   (status callback: {public}/sms/status)", flush=True)
    print(f"  staff:       {base}/staff/   (accounts: kaifong staff add USER --role agent)",
          flush=True)
    if "kiosk" in app.blueprints:
        for kiosk_id in sorted(app.extensions["kaifong_kiosk"].ids):
            print(f"  kiosk:       {base}/kiosk/{kiosk_id}/", flush=True)
    if "voice" in app.blueprints:
        public = (app.config.get("PUBLIC_URL") or base).rstrip("/")
        print(f"  phone:       {public}/voice   (Twilio's \"A call comes in\" webhook)",
              flush=True)
    if "simulator" in app.blueprints:
        print(f"  simulators:  {base}/simulator/   (text messages and a phone call, as Twilio "
              "would send them)", flush=True)
    print("  chat:        kaifong chat --locale zh-HK   (in another terminal)", flush=True)
    start_prerender_thread(app)
    stop_media = start_media_thread(app, os.environ.get("KAIFONG_MEDIA_HOST") or args.host,
                                    _media_port(os.environ))
    thread, stop = start_worker_thread(app)   # says itself why, when it cannot start
    if thread is not None:
        print("  SMS outbox:  sending (worker thread started)", flush=True)
    purging, stop_purging = start_purge_thread(app)
    if purging is not None:
        print(f"  retention:   {app.extensions['kaifong'].catalogue.retention_days} days, "
              "purged daily (kaifong purge --dry-run shows what would go)", flush=True)
    try:
        # each open staff console holds a thread for its live updates (up to a minute at a
        # time), besides the threads that answer webhooks and pages
        serve(app, host=args.host, port=args.port, threads=_threads(os.environ))
    finally:
        stop_purging.set()
        stop_worker_thread(thread, stop, timeout=30)
        if stop_media is not None:
            stop_media()
    return 0


def _media_port(environ) -> int:
    value = environ.get("KAIFONG_MEDIA_PORT", "").strip() or "8081"
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"kaifong: KAIFONG_MEDIA_PORT must be a port number, not {value!r}")
    return int(value)


def start_media_thread(app, host: str, port: int):
    """The phone's media service beside the web app, when the phone listens with Vosk: on its
    own port (a proxy sends /voice/stream there); returns the function that stops it."""
    from .voice.media.service import service_for, start_in_thread

    service = service_for(app)
    if service is None:
        return None
    _thread, stop = start_in_thread(service, host, port)
    print(f"  media:       ws://{host}:{port}/voice/stream   (Twilio Media Streams; route "
          "wss://PUBLIC/voice/stream here)", flush=True)
    return stop


def cmd_media(args) -> int:
    import asyncio

    from .app import create_app
    from .voice.media.service import service_for

    app = create_app()
    service = service_for(app)
    if service is None:
        print("kaifong: the media service is for KAIFONG_VOICE_RECOGNISER=vosk, with "
              "TWILIO_AUTH_TOKEN and a model (KAIFONG_VOSK_MODEL_EN, KAIFONG_VOSK_MODEL_ZH_HK)",
              file=sys.stderr)
        return 2
    print(f"Kaifong's media service: ws://{args.host}:{args.port}/voice/stream", flush=True)
    try:
        asyncio.run(service.serve(args.host, args.port))
    finally:
        service.close()
    return 0


def _threads(environ) -> int:
    value = environ.get("KAIFONG_THREADS", "").strip() or "32"
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise SystemExit(f"kaifong: KAIFONG_THREADS must be a whole number of at least 1, "
                         f"not {value!r}")
    return threads


def cmd_speech_prerender(args) -> int:
    from .app import create_app
    from .speech import FORMATS, speech_for

    app = create_app({"HOUSEKEEPING": "off"})      # a one-off: no timers
    speech = speech_for(app)
    try:
        clips = speech.static_clips(app.extensions["kaifong"].catalogue)
        if args.format:
            clips = [c for c in clips if c.sample_rate == FORMATS[args.format]]
        cached = sum(1 for c in clips if speech.ready(c))
        print(f"{len(clips)} prompts, {cached} already in {speech.directory}", flush=True)
        made, failed = speech.prerender(clips, progress=_progress_bar(sys.stderr))
    finally:
        speech.close()
    print(f"synthesised {made}, failed {failed}", flush=True)
    return 1 if failed else 0


def _progress_bar(stream, width: int = 40):
    """A bar redrawn in place on a terminal; elsewhere (a log, CI) a line every tenth."""
    tty = stream.isatty()
    shown = {"step": -1}

    def show(done: int, total: int, failed: int) -> None:
        step = (100 if tty else 10) * done // max(total, 1)
        if step == shown["step"] and done != total:
            return
        shown["step"] = step
        filled = width * done // max(total, 1)
        extra = f", {failed} failed" if failed else ""
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{extra}"
        stream.write(f"\r{line}" + ("\n" if done == total else "") if tty else f"{line}\n")
        stream.flush()
    return show


def start_prerender_thread(app):
    """At start-up: the prompts missing from the audio cache, in the background (the service
    answers meanwhile; a clip asked for first is synthesised on demand)."""
    import threading

    from .speech import speech_for

    speech = speech_for(app)
    clips = speech.static_clips(app.extensions["kaifong"].catalogue)
    missing = [c for c in clips if not speech.ready(c)]
    if not missing:
        return None

    def run():
        made, failed = speech.prerender(missing)
        print(f"  audio:       {made} prompts synthesised"
              + (f", {failed} failed (see the log)" if failed else ""), flush=True)

    thread = threading.Thread(target=run, name="kaifong-prerender", daemon=True)
    thread.start()
    print(f"  audio:       synthesising {len(missing)} prompts in the background", flush=True)
    return thread


def cmd_voice_call(args) -> int:
    from .voice.devtools import run_call

    token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        print("kaifong: set TWILIO_AUTH_TOKEN to the server's token to sign the calls",
              file=sys.stderr)
        return 2
    audio_dir = args.audio_dir or Path(os.environ.get("KAIFONG_DATA_DIR") or "var") / "audio"
    return run_call(args.url, token, args.caller, args.turns, to=args.to,
                    audio_dir=audio_dir if Path(audio_dir).is_dir() else None)


def cmd_sms_worker(args) -> int:
    from .sms.outbound import run_worker_cli

    return run_worker_cli()


def cmd_seed_slots(args) -> int:
    from assistant import load_catalogue, seed_appointment_slots
    from assistant.store import Store, database_url

    if args.days < 1:
        print("kaifong: --days must be at least 1", file=sys.stderr)
        return 2
    catalogue = load_catalogue()
    store = Store(database_url(os.environ))
    try:
        made = seed_appointment_slots(store, catalogue, days=args.days)
    finally:
        store.close()
    print(f"appointment slots: {made} added for the next {args.days} days")
    return 0


# -- chat -------------------------------------------------------------------------------------

def cmd_chat(args) -> int:
    from assistant import Assistant, load_catalogue, seed_appointment_slots
    from assistant.store import Store, database_url

    from .retention import with_retention_setting

    catalogue = with_retention_setting(load_catalogue(), os.environ)
    store = Store(database_url(os.environ))
    try:
        seed_appointment_slots(store, catalogue)
        assistant = Assistant(catalogue, store)
        return _chat_loop(assistant, args)
    finally:
        store.close()


def _chat_loop(assistant: Assistant, args) -> int:
    from assistant import Start

    if args.channel == "sms" and not args.json:
        return _sms_loop(assistant, args)
    if args.channel == "voice" and not args.json:
        from .voice.devtools import voice_chat
        interactive = sys.stdin.isatty()
        if interactive:
            print("(Press keys as the caller would: 1, 91234567#, *2; or type what they say; an "
                  "empty line is silence.)", flush=True)
        return voice_chat(assistant, args, _lines(interactive), os.environ)
    render = _renderer(args.channel)
    interactive = sys.stdin.isatty() and not args.json
    modality = _modality(args.channel)
    reply = assistant.turn(args.channel, args.address, Start(), locale=args.locale or "en",
                           modality=modality)
    _show(assistant, args, None, reply, render)
    for line in _lines(interactive):
        inp = _input_for(args.channel, line, reply)
        reply = assistant.turn(args.channel, args.address, inp, modality=modality)
        _show(assistant, args, line, reply, render)
    return 0


def _lines(interactive: bool):
    """The user's turns, one per line of stdin, with a prompt on a terminal."""
    # bytes in, replaced on decode: invalid UTF-8 must not end the conversation
    stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = stream.readline()
        if not line:
            return
        yield line.rstrip("\r\n")


def _sms_loop(assistant: Assistant, args) -> int:
    """Exactly what a phone would show: each line is one text message to the service, answered
    as the webhook answers it (keywords, pages, idle resume), each message with its segments.
    As on a phone, nothing comes before the first message."""
    from .sms.inbound import parse_idle, receive
    from .sms.mapping import InboundSms

    interactive = sys.stdin.isatty()
    idle = parse_idle(os.environ.get("KAIFONG_SMS_IDLE_MINUTES"))
    if interactive:
        print("(Type a text message as the citizen would; M shows the next page.)", flush=True)
    for line in _lines(interactive):
        messages = receive(assistant, InboundSms(args.address, line), idle, locale=args.locale)
        for message in messages:
            print(message, flush=True)
            _print_segments(message)
        if not messages:
            print("(no reply)", flush=True)
        print(flush=True)
    return 0


def _print_segments(text: str) -> None:
    from .sms.segments import count_segments

    count = count_segments(text)
    print(f"   [{count.segments} segment(s), {count.encoding}, {count.units} units]", flush=True)


def _input_for(channel: str, line: str, last_reply):
    """What the line means on this channel: a button on the kiosk, keys on the phone."""
    from assistant import Choose, Digits, Text

    stripped = line.strip()
    if channel == "kiosk":
        for option in last_reply.options:
            if stripped == option.key:
                return Choose(option.value)
    if channel == "voice" and stripped and all(ch in "0123456789*#" for ch in stripped):
        return Digits(stripped)
    return Text(line)


def _show(assistant: Assistant, args, user: str | None, reply, render) -> None:
    gettext = assistant.catalogue.gettext
    text = render(reply, gettext)
    if args.json:
        state = assistant.store.state(args.channel, args.address) or {}
        print(json.dumps({
            "user": user,
            "reply": text,
            "options": [{"key": o.key, "label": o.label} for o in reply.options],
            "expect": {"kind": reply.expect.kind, "choices": list(reply.expect.choices)},
            "procedure": state.get("procedure"),
            "step": state.get("step"),
            "slots": state.get("slots", {}),
            "status": state.get("status", "bot"),
            "locale": state.get("locale", reply.locale),
            "reference": state.get("reference"),
        }, ensure_ascii=False), flush=True)
        return
    print(text or "(a member of staff has this conversation)", flush=True)
    print(flush=True)


# -- routing ----------------------------------------------------------------------------------

def cmd_route(args) -> int:
    from assistant import load_catalogue, router_for

    catalogue = load_catalogue()
    result = router_for(catalogue).route(args.text)
    top = [{"id": pid, "score": round(score, 1)} for pid, score in result.ranked[:5]]
    if args.json:
        print(json.dumps({"text": args.text, "locale": args.locale, "decision": result.decision,
                          "predicted": result.top, "top": top}, ensure_ascii=False))
        return 0
    print(f"decision: {result.decision}" + (f" -> {result.top}" if result.top else ""))
    for item in top:
        title = catalogue.gettext(args.locale, catalogue.procedures[item["id"]].title)
        print(f"  {item['score']:5.1f}  {item['id']}  ({title})")
    return 0


def _read_examples(path: str, what: str, parse) -> list | None:
    """``parse`` of each JSON line of ``path`` (blank lines skipped); None, said on stderr with
    the line's number, when the file cannot be read or a line is not ``what``."""
    examples = []
    try:
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    examples.append(parse(json.loads(line)))
                except (ValueError, KeyError, TypeError) as exc:
                    print(f"{path}:{number}: not {what} ({exc})", file=sys.stderr)
                    return None
    except OSError as exc:
        print(f"kaifong: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None
    return examples


def cmd_eval_routing(args) -> int:
    from assistant import load_catalogue, router_for
    from assistant.i18n import canonical_locale

    catalogue = load_catalogue()
    router = router_for(catalogue)

    def parse(row: dict) -> tuple:
        return row["text"], row.get("expect"), canonical_locale(row.get("locale") or "en")

    examples = _read_examples(args.file, "a routing example", parse)
    if examples is None:
        return 1
    items = []
    for text, expect, locale in examples:
        result = router.route(text)
        items.append({"text": text, "locale": locale, "expect": expect,
                      "predicted": result.top,
                      "top": [{"id": pid, "score": round(score, 1)}
                              for pid, score in result.ranked[:5]]})
    summary = _routing_summary(items)
    for locale in sorted({i["locale"] for i in items}):
        summary["by_locale"][locale] = _routing_summary(
            [i for i in items if i["locale"] == locale], nested=False)
    if args.json:
        print(json.dumps({"summary": summary, "items": items}, ensure_ascii=False))
        return 0
    rows = [("all", summary)] + list(summary["by_locale"].items())
    print(f"{'':8}{'n':>5}{'top-1':>8}{'top-3':>8}{'out-of-scope rejected':>24}")
    for name, s in rows:
        print(f"{name:8}{s['n']:>5}{_pct(s['top1_accuracy']):>8}{_pct(s['top3_accuracy']):>8}"
              f"{_pct(s['oos_rejection']):>24}")
    return 0


def _routing_summary(items: list[dict], nested: bool = True) -> dict:
    in_scope = [i for i in items if i["expect"] is not None]
    out_scope = [i for i in items if i["expect"] is None]
    top1 = sum(1 for i in in_scope if i["predicted"] == i["expect"])
    top3 = sum(1 for i in in_scope if i["expect"] in [t["id"] for t in i["top"][:3]])
    rejected = sum(1 for i in out_scope if i["predicted"] is None)
    summary = {
        "n": len(items), "in_scope": len(in_scope), "out_of_scope": len(out_scope),
        "top1_accuracy": top1 / len(in_scope) if in_scope else None,
        "top3_accuracy": top3 / len(in_scope) if in_scope else None,
        "oos_rejection": rejected / len(out_scope) if out_scope else None,
    }
    if nested:
        summary["by_locale"] = {}
    return summary


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


# -- answers ----------------------------------------------------------------------------------

def cmd_eval_answers(args) -> int:
    """Each line: {"kind", "locale", "text", "expect", optional "choices", "procedure", "step",
    "context", "today"}; each answer goes through the engine's own reading of that question."""
    from assistant import load_catalogue
    from assistant.engine import ANSWER_KINDS, understand_answer
    from assistant.i18n import canonical_locale

    catalogue = load_catalogue()

    def parse(row: dict) -> tuple:
        kind, text = row["kind"], row["text"]
        if kind not in ANSWER_KINDS or not isinstance(text, str):
            raise ValueError(f"kind {kind!r}")
        locale = canonical_locale(row.get("locale") or "en")
        today = date.fromisoformat(row["today"]) if row.get("today") else None
        procedure, step = row.get("procedure"), row.get("step")
        if procedure is not None and step not in getattr(
                catalogue.procedures.get(procedure), "steps", {}):
            raise ValueError(f"no step {procedure}/{step}")
        return row, kind, text, locale, today, procedure, step

    examples = _read_examples(args.file, "an answer example", parse)
    if examples is None:
        return 1
    items = []
    for row, kind, text, locale, today, procedure, step in examples:
        got = understand_answer(
            catalogue, kind, text, locale, procedure=procedure if step else None,
            step=step if procedure else None, choices=row.get("choices"),
            context=row.get("context"), today=today)
        items.append({**row, "locale": locale, "got": got})
    summary = _answers_summary(items)
    summary["by_kind"] = {}
    for kind in [k for k in ANSWER_KINDS if any(i["kind"] == k for i in items)]:
        of_kind = [i for i in items if i["kind"] == kind]
        summary["by_kind"][kind] = {
            locale: _answers_summary([i for i in of_kind if i["locale"] == locale])
            for locale in sorted({i["locale"] for i in of_kind})}
    if args.json:
        print(json.dumps({"summary": summary, "items": items}, ensure_ascii=False))
        return 0
    print(f"{'':16}{'n':>5}{'accuracy':>10}{'wrong':>7}{'asked again':>13}")
    rows = [("all", summary)] + [(f"{kind} {locale}", s) for kind, by in summary[
        "by_kind"].items() for locale, s in by.items()]
    for name, s in rows:
        print(f"{name:16}{s['n']:>5}{_pct(s['accuracy']):>10}{s['wrong']:>7}"
              f"{s['asked_again']:>13}")
    for i in items:
        if _is_wrong(i):
            print(f"wrong: {i['kind']} {i['locale']}: {i['text']!r} -> {i['got']!r} "
                  f"(expected {i['expect']!r})")
    return 0


def _same_answer(got, expect) -> bool:
    if got is None or expect is None:
        return got is None and expect is None
    if isinstance(got, bool) or isinstance(expect, bool):
        return got is expect
    return str(got) == str(expect)


def _is_wrong(item: dict) -> bool:
    """Understood, but not as expected: worse than asking again."""
    return item["got"] is not None and not _same_answer(item["got"], item.get("expect"))


def _answers_summary(items: list[dict]) -> dict:
    correct = sum(1 for i in items if _same_answer(i["got"], i.get("expect")))
    return {"n": len(items), "correct": correct,
            "accuracy": correct / len(items) if items else None,
            "wrong": sum(1 for i in items if _is_wrong(i)),
            "asked_again": sum(1 for i in items if i["got"] is None),
            "asked_again_expected_value": sum(1 for i in items if i["got"] is None
                                              and i.get("expect") is not None)}


# -- validate ---------------------------------------------------------------------------------

def cmd_validate(args) -> int:
    from assistant import load_catalogue
    from assistant.catalogue import PROMPTS_DIR, missing_translations, record_problems
    from assistant.wording import wording_problems

    from .sms.budget import budget_problems
    from .voice.lint import voice_text_problems

    path = Path(args.path) if args.path else PROMPTS_DIR
    only_file = None
    if path.is_file():
        only_file = path.name
        path = path.parent.parent if path.parent.name == "procedures" else path.parent
    if not path.is_dir():
        print(f"kaifong: no catalogue at {path}", file=sys.stderr)
        return 1
    problems: list[tuple[str, str, str]] = []
    try:
        catalogue = load_catalogue(path)
    except CatalogueError as exc:
        problems = exc.problems
        catalogue = None
    if catalogue is not None:
        problems += missing_translations(catalogue)
        problems += record_problems(catalogue)
        problems += channel_translation_problems(catalogue)
        problems += voice_text_problems(catalogue)
        problems += budget_problems(catalogue)
        problems += wording_problems(catalogue)
        problems += channel_wording_problems(catalogue)
    if only_file:
        problems = [p for p in problems if p[0] in (only_file, "shared.yaml", "facts.yaml")]
    for file, step, problem in problems:
        print(f"{file}: {step or '-'}: {problem}")
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    count = len(catalogue.procedures)
    print(f"ok: {count} procedures, {len(catalogue.locales)} languages, no problems")
    return 0


def channel_translation_problems(catalogue) -> list[tuple[str, str, str]]:
    """The words the channels add (SMS options, page markers and keyword replies; the staff
    console's labels and canned replies), untranslated."""
    from .kiosk import TEXTS as KIOSK_TEXTS
    from .sms import TEXTS as SMS_TEXTS
    from .staff import TEXTS as STAFF_TEXTS
    from .transparency import TEXTS as TRANSPARENCY_TEXTS
    from .voice import TEXTS as VOICE_TEXTS

    return [(where, "", f"no {locale} translation for {msgid[:60]!r}")
            for locale in catalogue.locales if locale != "en"
            for where, texts in (("channels/sms", SMS_TEXTS), ("channels/staff", STAFF_TEXTS),
                                 ("channels/kiosk", KIOSK_TEXTS), ("channels/voice", VOICE_TEXTS),
                                 ("channels/transparency", TRANSPARENCY_TEXTS))
            for msgid in texts if catalogue.gettext(locale, msgid) == msgid]


def channel_wording_problems(catalogue) -> list[tuple[str, str, str]]:
    """The words a channel adds, checked in every language as the catalogue's texts are for
    that channel's modality (a text message never asks to press a key)."""
    from assistant.wording import FORBIDDEN

    from .sms import TEXTS as SMS_TEXTS

    problems = []
    for where, modality, texts in (("channels/sms", "text", SMS_TEXTS),):
        pattern, what = FORBIDDEN[modality]
        for msgid in texts:
            for locale in catalogue.locales:
                said = catalogue.gettext(locale, msgid)
                m = pattern.search(said)
                if m:
                    problems.append((where, "", f"{what} ({modality}, {locale}: {m.group(0)!r} "
                                                f"in {said[:50]!r})"))
    return problems


# -- purge ------------------------------------------------------------------------------------

def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"a whole number of days, at least 1, not {value!r}")
    return days


def cmd_purge(args) -> int:
    from assistant import load_catalogue
    from assistant.retention import Retention, purge
    from assistant.store import Store, database_url

    from .retention import audio_dir, with_retention_setting
    from .speech.cache import sweep_once_clips

    try:
        catalogue = with_retention_setting(load_catalogue(), os.environ)
    except ValueError as exc:
        print(f"kaifong: {exc}", file=sys.stderr)
        return 1
    store = Store(database_url(os.environ))
    try:
        files = 0
        if not args.dry_run:
            files = sweep_once_clips(audio_dir({
                "AUDIO_DIR": os.environ.get("KAIFONG_AUDIO_DIR"),
                "DATA_DIR": os.environ.get("KAIFONG_DATA_DIR") or "var"}))
        result = purge(store, Retention.of(catalogue, args.older_than), dry_run=args.dry_run,
                       files=files)
    finally:
        store.close()
    period = (f"older than {args.older_than} days" if args.older_than else
              f"past their periods (the service's: {catalogue.retention_days} days)")
    print(f"{'would purge' if args.dry_run else 'purged'} what is {period}:")
    for name, count in result.counts().items():
        print(f"  {name.replace('_', ' ')}: {count}")
    return 0


# -- staff ------------------------------------------------------------------------------------

def cmd_staff_add(args) -> int:
    from assistant.staff import add_staff
    from assistant.store import Store, database_url

    password = _new_password()
    store = Store(database_url(os.environ))
    try:
        user = add_staff(store.engine, args.user, password, args.role)
    finally:
        store.close()
    print(f"added {user.username} ({user.role})")
    return 0


DEMO_SUPERVISOR = "demo-supervisor"


def cmd_staff_demo(args) -> int:
    from assistant.staff import add_staff, any_staff
    from assistant.store import Store, database_url

    store = Store(database_url(os.environ))
    try:
        if any_staff(store.engine):
            print("staff:       accounts exist already (kaifong staff add USER --role agent "
                  "adds more)")
            return 0
        password = secrets.token_urlsafe(12)
        add_staff(store.engine, DEMO_SUPERVISOR, password, "supervisor",
                  must_change_password=True)
    finally:
        store.close()
    # printed once, here, and nowhere else: only its hash is kept
    print(f"staff:       first sign-in: user {DEMO_SUPERVISOR}, one-time password {password}\n"
          "             (you choose your own password at the first sign-in)")
    return 0


def _new_password() -> str:
    """Asked twice on a terminal; else the first line of stdin. Never echoed or printed."""
    from assistant.staff import MIN_PASSWORD_LENGTH, StaffError

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if len(password) >= MIN_PASSWORD_LENGTH and getpass.getpass("Again: ") != password:
            raise StaffError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    return password


# -- sms-send (development) -------------------------------------------------------------------

def cmd_sms_send(args) -> int:
    """POST one text to the SMS webhook with the form and the signature Twilio would send, and
    print the messages of the TwiML reply."""
    from .sms.devtools import send_as_twilio  # its errors are AssistantErrors: see main()

    token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        print("kaifong: set TWILIO_AUTH_TOKEN to the token the server checks signatures with",
              file=sys.stderr)
        return 1
    messages = send_as_twilio(args.url, token, sender=args.sender, to=args.to, body=args.text,
                              sid=args.sid, media=args.media,
                              account_sid=os.environ.get("TWILIO_ACCOUNT_SID"))
    for message in messages:
        print(message)
        _print_segments(message)
        print()
    if not messages:
        print("(no reply)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
