"""The staff desk against the real store (SQLite and PostgreSQL): claiming, replying, handing
back, closing, masking, the audit trail, and the live-change wait."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from assistant import (
    Assistant,
    ClaimRefused,
    Desk,
    StaffActionError,
    Start,
    Text,
    mask_personal,
    seed_appointment_slots,
)
from assistant.outbox import outbox
from assistant.store import Turn


@pytest.fixture
def assistant(catalogue, store):
    seed_appointment_slots(store, catalogue, days=7, start=date.today() + timedelta(days=1))
    return Assistant(catalogue, store)


class Recorder:
    """A channel's deliverer that keeps what it was given (and proves it runs in the turn)."""

    def __init__(self):
        self.sent: list[tuple[str, object, str]] = []

    def __call__(self, t: Turn, message, kind: str) -> None:
        assert t.session.in_transaction()
        self.sent.append((t.address, message, kind))


@pytest.fixture
def desk(assistant):
    desk = Desk(assistant)
    desk.recorder = Recorder()
    desk.deliver_with("sms", desk.recorder)
    return desk


def talk(assistant, address, *turns, locale="en"):
    replies = [assistant.turn("sms", address, Start(), locale=locale)]
    replies += [assistant.turn("sms", address, Text(text)) for text in turns]
    return replies


def waiting(assistant, store, address="+85291234567", locale="en", *turns):
    turns = turns or ("lost my id card", "1", "person")
    talk(assistant, address, *turns, locale=locale)
    return store.conversation_id("sms", address)


def test_claim_tells_the_citizen_in_their_language_and_silences_the_assistant(
        assistant, store, desk):
    cid = waiting(assistant, store, "+85291110000", "zh-HK", "我唔見咗身份證", "1", "真人")
    desk.claim(cid, "agent1")
    assert store.state("sms", "+85291110000")["status"] == "with_staff"
    assert desk.recorder.sent == [("+85291110000", "而家有職員同你傾。請喺呢度寫低你想講嘅嘢。",
                                   "staff_joined")]
    assert assistant.turn("sms", "+85291110000", Text("喂？")).silent
    [entry] = desk.queue()
    assert entry.status == "with_staff" and entry.claimed_by == "agent1"


def test_two_agents_claiming_at_once_get_one_claim(assistant, store, desk, together):
    cid = waiting(assistant, store)

    def claim(staff):
        try:
            desk.claim(cid, staff)
            return staff
        except ClaimRefused:
            return None

    results = together(claim, ("agent1",), ("agent2",))
    winner = [r for r in results if r]
    assert len(winner) == 1
    assert desk.queue()[0].claimed_by == winner[0]
    assert [e.action for e in desk.audit_log()] == ["claimed"]
    assert len(desk.recorder.sent) == 1          # the citizen is told once


def test_a_conversation_not_waiting_cannot_be_claimed(assistant, store, desk):
    talk(assistant, "+85290000001", "lost my id card")
    cid = store.conversation_id("sms", "+85290000001")
    with pytest.raises(ClaimRefused):
        desk.claim(cid, "agent1")
    with pytest.raises(StaffActionError):
        desk.claim(999_999, "agent1")


def test_only_the_claimant_replies_hands_back_or_closes(assistant, store, desk):
    cid = waiting(assistant, store)
    with pytest.raises(StaffActionError):
        desk.reply(cid, "agent1", "hello")       # not claimed yet
    desk.claim(cid, "agent1")
    for act in (lambda: desk.reply(cid, "agent2", "hello"),
                lambda: desk.hand_back(cid, "agent2"),
                lambda: desk.close(cid, "agent2", "resolved")):
        with pytest.raises(StaffActionError):
            act()
    with pytest.raises(StaffActionError):
        desk.reply(cid, "agent1", "   ")
    with pytest.raises(StaffActionError):
        desk.close(cid, "agent1", "gave up")
    with pytest.raises(StaffActionError):
        desk.hand_back(cid, "agent1", procedure="no_such_procedure")


def test_reply_goes_to_the_transcript_and_through_the_channel(assistant, store, desk):
    cid = waiting(assistant, store)
    desk.claim(cid, "agent1")
    desk.reply(cid, "agent1", "Hello, I am Ms Chan. Is your card lost or stolen?")
    assert desk.recorder.sent[-1] == ("+85291234567",
                                      "Hello, I am Ms Chan. Is your card lost or stolen?",
                                      "staff_reply")
    last = store.transcript(cid)[-1]
    assert (last.role, last.meta) == ("staff", {"staff": "agent1"})


def test_hand_back_where_they_were_and_at_a_chosen_procedure(assistant, store, desk):
    cid = waiting(assistant, store)
    desk.claim(cid, "agent1")
    reply = desk.hand_back(cid, "agent1", note="explained the police report")
    assert reply.step == "what_happened"
    assert reply.parts[0] == "You are back with the assistant."
    assert desk.recorder.sent[-1][1] is reply and desk.recorder.sent[-1][2] == "hand_back"
    notes = [x for x in store.transcript(cid) if x.meta.get("note")]
    assert [x.text for x in notes] == ["explained the police report"]

    assistant.turn("sms", "+85291234567", Text("person"))
    desk.claim(cid, "agent2")
    reply = desk.hand_back(cid, "agent2", procedure="book_appointment")
    assert reply.procedure == "book_appointment"
    assert store.state("sms", "+85291234567")["status"] == "bot"
    assert [e.action for e in desk.audit_log()][:2] == ["handed_back", "claimed"]


def test_close_keeps_the_history_and_the_next_message_starts_with_the_assistant(
        assistant, store, desk):
    cid = waiting(assistant, store)
    desk.claim(cid, "agent1")
    desk.close(cid, "agent1", "referred", note="sent to the Immigration Department")
    assert store.state("sms", "+85291234567")["status"] == "closed"
    assert desk.recorder.sent[-1][2] == "staff_closed"
    assert desk.queue() == []
    reply = assistant.turn("sms", "+85291234567", Text("hello again"))
    assert reply.parts[0].startswith("Hello, I am Kaifong")
    texts = [x.text for x in store.transcript(cid)]
    assert "sent to the Immigration Department" in texts and texts[-1] == reply.text
    [closed] = desk.audit_log(limit=1)
    assert (closed.action, closed.staff, closed.detail) == ("closed", "agent1",
                                                            {"outcome": "referred"})


def test_personal_data_is_masked_unless_revealed_and_both_are_audited(assistant, store, desk):
    cid = waiting(assistant, store, "+85291234567", "en", "lost my id card", "1", "1", "1",
                  "yes", "A123456(3)", "yes", "person")
    queued = desk.queue()[0]
    assert queued.address == "+*********67"
    assert "A123456(3)" not in repr(queued) and queued.summary["slots"]["hkid"] == "A******(*)"
    conversation, lines = desk.conversation(cid, "agent1")
    assert all("A123456(3)" not in x.text for x in lines)
    assert any("A******(*)" in x.text for x in lines)
    conversation, lines = desk.conversation(cid, "supervisor1", reveal=True)
    assert any("A123456(3)" in x.text for x in lines)
    assert conversation.address == "+85291234567"
    assert conversation.summary["slots"]["hkid"] == "A123456(3)"
    assert [(e.staff, e.action) for e in desk.audit_log()] == [
        ("supervisor1", "revealed"), ("agent1", "viewed")]


def test_the_sms_deliverer_queues_in_the_same_transaction(assistant, store):
    from channels.sms.delivery import sms_deliverer
    desk = Desk(assistant)
    desk.deliver_with("sms", sms_deliverer(assistant))
    cid = waiting(assistant, store)
    desk.claim(cid, "agent1")
    desk.reply(cid, "agent1", "Hello from the counter")
    with pytest.raises(StaffActionError):
        desk.reply(cid, "agent2", "not mine")     # refused: nothing queued for it
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.address, outbox.c.body, outbox.c.kind)
                            .order_by(outbox.c.id)).all()
    assert [tuple(r) for r in rows] == [
        ("+85291234567", "A member of staff is with you now. Please write to them here.",
         "staff_joined"),
        ("+85291234567", "Hello from the counter", "staff_reply")]


def test_wait_for_change_wakes_on_a_turn_and_times_out_without_one(assistant, store, desk):
    cid = waiting(assistant, store)
    talk(assistant, "+85290000002", "lost my id card")       # with the assistant, not queued
    queue, conversation = desk.queue_version(), desk.conversation_version(cid)
    assert queue[0] == desk.queue_size() == 1
    started = time.monotonic()
    assert desk.wait_for_change(desk.queue_version, queue, timeout=0.3, poll=0.1) == queue
    assert time.monotonic() - started >= 0.25
    assistant.turn("sms", "+85290000002", Text("1"))
    assert desk.queue_version() == queue                     # not a change of the queue

    def later():
        time.sleep(0.2)
        assistant.turn("sms", "+85291234567", Text("are you there?"))

    thread = threading.Thread(target=later)
    thread.start()
    started = time.monotonic()
    changed = desk.wait_for_change(lambda: desk.conversation_version(cid), conversation,
                                   timeout=10, poll=5)
    thread.join()
    assert changed != conversation and time.monotonic() - started < 4   # woken, not polled
    assert desk.queue_version() != queue


@pytest.mark.parametrize("text,masked", [
    ("A123456(3)", "A******(*)"),
    ("my card is ab 123456 (a), thanks", "my card is a*******(*), thanks"),
    ("Ａ１２３４５６（７）", "Ａ******(*)"),
    ("身份證 Z6543210", "身份證 Z******(*)"),
    ("call +852 9123 4567", "call +*** **** **67"),
    ("電話91234567", "電話******67"),
    ("your reference is KF0000018", "your reference is KF0000018"),   # ours, 7 digits: kept
    ("KF0000017", "K*******(*)"),                     # not a reference (check digit): masked
    ("born 1945-03-12", "born ****-**-12"),
    ("your reference is KF12345678", "your reference is KF12345678"),   # not personal
    ("I am 75, my flat is 12", "I am 75, my flat is 12"),
    ("", ""),
])
def test_mask_personal(text, masked):
    assert mask_personal(text) == masked


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)   # SQLite is one process
def test_on_postgresql_another_process_commit_wakes_the_wait(db_url, open_store, catalogue):
    """Two stores on one database stand for two app processes: a turn committed through one
    wakes a console waiting in the other by LISTEN/NOTIFY, not by the waiter's polling (which
    is set longer than the whole wait here)."""
    here, there = open_store(), open_store()
    desk = Desk(Assistant(catalogue, here))
    other = Assistant(catalogue, there)
    talk(other, "+85291230000", "person")
    cid = here.conversation_id("sms", "+85291230000")
    since = desk.conversation_version(cid)
    here.wait_committed(0.01)                               # starts the listener
    for _ in range(100):
        if here.hears_other_processes:
            break
        time.sleep(0.05)
    assert here.hears_other_processes

    def later():
        time.sleep(0.3)
        other.turn("sms", "+85291230000", Text("still there?"))

    thread = threading.Thread(target=later)
    thread.start()
    started = time.monotonic()
    changed = desk.wait_for_change(lambda: desk.conversation_version(cid), since,
                                   timeout=30, poll=60)
    thread.join()
    # without the notification the wait would end only at its 30 s timeout
    assert changed != since and time.monotonic() - started < 15
    listener = here._listener
    here.close()                                            # the listener ends, and can be joined
    listener.join(timeout=10)
    assert not listener.is_alive()


def test_a_wait_for_one_conversation_reads_nothing_when_others_change(assistant, store, desk):
    """Many live views wait at once (a kiosk or a console each): a citizen's turn elsewhere
    wakes them, but only the views of that conversation read the database."""
    cid = waiting(assistant, store)
    talk(assistant, "+85290000002", "lost my id card")
    if not store.sqlite:                  # listening first (its start says "anything changed")
        store.wait_committed(0.01)
        for _ in range(100):
            if store.hears_other_processes:
                break
            time.sleep(0.05)
    since = desk.conversation_version(cid)
    reads = []

    def version():
        reads.append(1)
        return desk.conversation_version(cid)

    def later():
        time.sleep(0.2)
        for text in ("1", "1", "1"):                         # three turns of someone else
            assistant.turn("sms", "+85290000002", Text(text))
        assistant.turn("sms", "+85291234567", Text("are you there?"))

    thread = threading.Thread(target=later)
    thread.start()
    changed = desk.wait_for_change(version, since, timeout=10, poll=5, conversation_id=cid)
    thread.join()
    assert changed != since
    assert len(reads) == 2                # at the start, and once woken by its own change


def test_changed_since_names_the_conversations_or_says_it_does_not_know(store):
    mark = store.change_mark()
    assert store.changed_since(mark) == (mark, frozenset())
    store._changed(7)
    store._changed(9)
    assert store.changed_since(mark) == (mark + 2, frozenset({7, 9}))
    store._changed(None)                  # the listener (re)connected: anything may have
    assert store.changed_since(mark + 2) == (mark + 3, None)
    for _ in range(2000):                 # more than are remembered
        store._changed(1)
    assert store.changed_since(mark)[1] is None
    assert store.changed_since(store.change_mark() - 1)[1] == frozenset({1})
