"""The turn runner with the real store and services: persistence, restarts, concurrency,
escalation queue, and whole procedures from greeting to reference number."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest

from assistant import Assistant, Desk, Start, Text, seed_appointment_slots
from assistant.model import NoInput
from assistant.services import reference_is_valid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def assistant(catalogue, store):
    seed_appointment_slots(store, catalogue, days=7, start=date.today() + timedelta(days=1))
    return Assistant(catalogue, store)


def talk(assistant, address, *turns, channel="sms", locale="en"):
    replies = [assistant.turn(channel, address, Start(), locale=locale)]
    for text in turns:
        replies.append(assistant.turn(channel, address, Text(text)))
    return replies


HKID_EN = ["lost my id card", "1", "1", "1", "yes", "A123456(3)", "yes", "9123 4567",
           "yes", "sham shui po", "1", "yes", "1"]
HKID_ZH = ["我唔見咗身份證", "1", "1", "1", "係", "A123456(3)", "係", "91234567", "係", "深水埗", "1",
           "好", "啱"]


@pytest.mark.parametrize("turns,locale", [(HKID_EN, "en"), (HKID_ZH, "zh-HK")])
def test_identity_card_replacement_books_a_real_slot(assistant, store, turns, locale):
    replies = talk(assistant, "+85291234567", *turns, locale=locale)
    last = replies[-1]
    assert last.ended, [r.text for r in replies]
    assert reference_is_valid(last.reference)
    assert last.reference in last.text
    state = store.state("sms", "+85291234567")
    assert state["locale"] == locale and state["reference"] == last.reference
    # the booking is in the database, and can be found by reference and phone
    booking = assistant.services["find_booking"]
    with store.transaction() as session:
        from datetime import datetime

        from assistant.services import ServiceContext
        found = booking(ServiceContext(session, 0, datetime.now(UTC)),
                        {"reference": last.reference, "phone": "91234567"})
    assert found.ok and found.data["office"] == "sham_shui_po"


def test_transcript_and_events_are_kept_with_each_turn(assistant, store):
    talk(assistant, "a", "lost my id card", "person")
    cid = store.conversation_id("sms", "a")
    lines = store.transcript(cid)
    assert [line.role for line in lines] == ["system", "assistant", "user", "assistant", "user",
                                             "assistant"]
    assert lines[2].text == "lost my id card"
    kinds = [e.kind for e in store.events(cid)]
    assert "status" in kinds
    queue = store.queue()
    assert [(q.address, q.reason, q.priority) for q in queue] == [("a", "asked", 2)]


def test_queue_puts_distress_first(assistant, store):
    talk(assistant, "first", "person")
    talk(assistant, "second", "救命")
    assert [q.address for q in store.queue()] == ["second", "first"]
    assert store.queue()[0].reason == "distress"


def test_staff_take_silences_the_assistant_and_hand_back_resumes(assistant, store):
    talk(assistant, "s", "lost my id card", "1", "person")
    desk = Desk(assistant)
    cid = store.conversation_id("sms", "s")
    desk.claim(cid, "agent1")
    reply = assistant.turn("sms", "s", Text("hello?"))
    assert reply.silent
    assert store.transcript(cid)[-1].text == "hello?"      # the citizen's words still reach staff
    back = desk.hand_back(cid, "agent1")
    assert back.step == "what_happened" and store.state("sms", "s")["status"] == "bot"


def test_a_restarted_process_resumes_at_the_same_step(tmp_path, catalogue):
    """Two real processes, one after the other, on the same SQLite file."""
    env = dict(os.environ, KAIFONG_DATA_DIR=str(tmp_path))
    env.pop("KAIFONG_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "channels.cli", "chat", "--json", "--address", "+85261234567"]
    first = subprocess.run(cmd, input="lost my id card\n1\n", capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=60)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["step"] == "what_happened"
    second = subprocess.run(cmd, input="1\n2\n", capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=60)
    objects = [json.loads(line) for line in second.stdout.splitlines()]
    assert objects[0]["user"] is None and objects[0]["reply"].startswith("Welcome back.")
    assert objects[0]["step"] == "what_happened"
    assert objects[2]["slots"]["what_happened"] == "stolen"
    assert objects[2]["step"] == "bring_stolen"


def test_two_threads_on_one_conversation_lose_nothing(assistant, store):
    assistant.turn("sms", "busy", Start())
    errors = []

    def send(n):
        try:
            for i in range(15):
                assistant.turn("sms", "busy", Text(f"thread {n} message {i}"))
        except Exception as exc:   # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    state = store.state("sms", "busy")
    assert state["turns"] == 30
    lines = store.transcript(store.conversation_id("sms", "busy"))
    sent = [line.text for line in lines if line.role == "user"]
    assert sorted(sent) == sorted(f"thread {n} message {i}" for n in range(2) for i in range(15))
    for n in range(2):           # each thread's messages in the order it sent them
        mine = [s for s in sent if s.startswith(f"thread {n} ")]
        assert mine == [f"thread {n} message {i}" for i in range(15)]


@pytest.mark.parametrize("text", ["", "x" * 5000, "😀", "\x00\x1b[2J", "\ud800"])
def test_bad_input_is_kept_and_answered(assistant, store, text):
    talk(assistant, "bad", "lost my id card")
    reply = assistant.turn("sms", "bad", Text(text))
    assert reply.parts
    lines = store.transcript(store.conversation_id("sms", "bad"))
    assert lines[-2].role == "user" and len(lines[-2].text) == len(text)


def test_no_input_is_recorded_as_an_event(assistant, store):
    talk(assistant, "quiet", "lost my id card")
    assistant.turn("sms", "quiet", NoInput())
    kinds = [e.kind for e in store.events(store.conversation_id("sms", "quiet"))]
    assert "miss" in kinds


def test_a_failing_service_hands_over_without_losing_the_turn(catalogue, store):
    def broken(ctx, args):
        raise RuntimeError("database on fire")

    seed_appointment_slots(store, catalogue, days=3)
    assistant = Assistant(catalogue, store, services={"find_slots": broken})
    replies = talk(assistant, "f", "lost my id card", "1", "1", "1", "yes", "A123456(3)", "yes",
                   "91234567", "yes", "1")
    assert replies[-1].handed_off
    assert store.state("sms", "f")["escalation"]["reason"] == "no_appointment_times"


def test_the_recognisers_confidence_reaches_the_engine(assistant, store):
    talk(assistant, "+85291239999", "senior card", "1")
    reply = assistant.turn("sms", "+85291239999", Text("70", confidence=0.2))
    assert reply.tags == ("confirm",)                        # heard badly: read back
    assert "age" not in store.state("sms", "+85291239999")["slots"]


def test_an_appointment_is_booked_and_cancelled_with_keys_alone(assistant, store):
    """Every answer of book_appointment can be pressed (a phone's keypad): the purpose is a
    choice, and the reference is its digits, "KF" implied."""
    seed_appointment_slots(store, assistant.catalogue, days=3)
    address = "+85291238888"
    booked = talk(assistant, address, "book appointment", "1", "1", "2", "1", "91238888",
                  "1", "1", "1", "1")[-1]
    assert booked.ended and booked.reference, booked.text
    cancelled = talk(assistant, address, "book appointment", "3", booked.reference[2:], "1")[-1]
    assert cancelled.ended and "cancelled" in cancelled.text, cancelled.text
