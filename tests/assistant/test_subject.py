"""Subject access and erasure in the core, on SQLite and PostgreSQL: what is found for a phone
number (its address, answers and words that hold it, not a longer number that contains it) and
for a reference; erasure of all of it, an open case closed, the rest untouched."""

from __future__ import annotations

import pytest

from assistant import Assistant, Desk, Start, Text
from assistant.errors import StaffActionError
from assistant.subject import erase_subject, find_subject, subject_key


def test_keys_are_canonical_and_anything_else_is_refused():
    assert subject_key("phone", "+852 6123-4588") == "61234588"
    assert subject_key("reference", "kf 000042-2") == "KF0000422"
    for by, value in (("phone", "12345"), ("reference", "KF0000421"), ("name", "Chan")):
        with pytest.raises(StaffActionError):
            subject_key(by, value)


def test_a_phone_number_is_found_wherever_it_is_held_and_erased(catalogue, store):
    assistant = Assistant(catalogue, store)
    desk = Desk(assistant)
    assistant.turn("sms", "+85261234588", Start(), "en", "text")
    assistant.turn("sms", "+85261234588", Text("hello"), "en", "text")
    # someone at a kiosk gives it in words, and asks for a person (an open case)
    assistant.turn("kiosk", "demo:1", Text("person please, ring 6123 4588"), "en", "screen")
    # a longer number that contains the same digits is someone else's
    assistant.turn("kiosk", "demo:2", Text("my account is 9612345881"), "en", "screen")
    data = find_subject(store, "phone", "61234588")
    assert sorted(c["address"] for c in data.conversations) == ["+85261234588", "demo:1"]
    assert any("ring 6123 4588" in line["text"] for c in data.conversations
               for line in c["transcript"])
    assert data.as_json()["search"] == {"by": "phone", "phone": "61234588"}

    kiosk = store.conversation_id("kiosk", "demo:1")
    assert [c.id for c in desk.queue()] == [kiosk]
    result = erase_subject(store, "phone", "6123 4588")
    assert result.conversations == 2 and result.transcript_lines > 0
    assert desk.queue() == []                       # the open case is closed
    assert find_subject(store, "phone", "61234588").conversations == []
    assert store.conversation_id("kiosk", "demo:2") is not None
    assert any("9612345881" in line.text
               for line in store.transcript(store.conversation_id("kiosk", "demo:2")))


def test_a_search_says_when_it_could_not_gather_everything(catalogue, store, monkeypatch):
    import assistant.subject as subject
    assistant = Assistant(catalogue, store)
    for n in range(3):
        assistant.turn("kiosk", f"demo:{n}", Text("my phone is 6123 4588"), "en", "screen")
    assert not find_subject(store, "phone", "61234588").truncated
    monkeypatch.setattr(subject, "LIMIT", 2)
    data = find_subject(store, "phone", "61234588")
    assert data.truncated and len(data.conversations) == 2
