"""Retention periods: the service's, a procedure's own, ``--older-than``; what the collection
statement says; staff cases counted from their close; the transparency record's fields checked
by validation. The whole schema scanned after a purge is in tests/channels/test_retention.py."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assistant import Assistant, Desk, Start, Text
from assistant.catalogue import record_problems
from assistant.retention import PURGED_PREFIX, Retention, purge, retention_from_env
from assistant.store import conversations, transcript_lines
from channels.retention import with_retention_setting

HKID = "A123456(3)"


def with_period(catalogue, procedure: str, days: int | None):
    procs = dict(catalogue.procedures)
    procs[procedure] = dataclasses.replace(procs[procedure], retention_days=days)
    return dataclasses.replace(catalogue, procedures=procs)


def to_consent(assistant: Assistant, address: str):
    assistant.turn("sms", address, Start(), "en", "text")
    for said in ("lost my id card", "1", "1", "1"):
        reply = assistant.turn("sms", address, Text(said), "en", "text")
    return reply


def test_the_collection_statement_says_the_period_that_is_kept(catalogue, store):
    said = to_consent(Assistant(catalogue, store), "+85291110001").text
    assert "We keep it for 90 days, then delete it." in said
    shorter = with_retention_setting(catalogue, {"RETENTION_DAYS": "30"})
    assert shorter.retention_days == 30 and catalogue.retention_days == 90
    said = to_consent(Assistant(shorter, store), "+85291110002").text
    assert "We keep it for 30 days, then delete it." in said
    own = with_period(shorter, "hkid_replacement", 400)
    assert own.retention_for("hkid_replacement") == 400
    assert own.retention_for("report_problem") == 30
    said = to_consent(Assistant(own, store), "+85291110003").text
    assert "We keep it for 400 days" in said
    zh = Assistant(own, store)
    zh.turn("sms", "+85291110004", Start(), "zh-HK", "text")
    for text in ("唔見咗身份證", "1", "1", "1"):
        reply = zh.turn("sms", "+85291110004", Text(text), "zh-HK", "text")
    assert "資料會保存400日" in reply.text


def test_a_bad_retention_setting_is_refused_not_read_as_nothing():
    assert retention_from_env({}) is None
    assert retention_from_env({"KAIFONG_RETENTION_DAYS": " 120 "}) == 120
    for bad in ("0", "-5", "ninety", "9.5"):
        with pytest.raises(ValueError):
            retention_from_env({"KAIFONG_RETENTION_DAYS": bad})


def _age(store, address: str, days: int) -> None:
    past = datetime.now(UTC) - timedelta(days=days)
    cid = store.conversation_id("sms", address)
    with store.engine.begin() as conn:
        conn.execute(sa.update(conversations).where(conversations.c.id == cid).values(
            created_at=past, updated_at=past))
        conn.execute(sa.update(transcript_lines).where(
            transcript_lines.c.conversation_id == cid).values(at=past))


def _purged(store, address: str) -> bool:
    return store.conversation_id("sms", address) is None


def test_each_conversation_is_kept_for_the_period_of_what_it_consented_to(catalogue, store):
    own = with_period(catalogue, "hkid_replacement", 200)
    assistant = Assistant(own, store)
    to_consent(assistant, "+85291110011")
    assistant.turn("sms", "+85291110011", Text("yes"), "en", "text")       # consented
    assistant.turn("sms", "+85291110012", Text("hello"), "en", "text")     # no procedure
    for address in ("+85291110011", "+85291110012"):
        _age(store, address, 120)
    result = purge(store, Retention.of(own))
    assert result.conversations == 1
    assert not _purged(store, "+85291110011")      # 200 days promised
    assert _purged(store, "+85291110012")          # the service's 90
    # --older-than puts one period on everything
    assert purge(store, Retention.of(own, older_than=100)).conversations == 1
    assert _purged(store, "+85291110011")


def test_a_staff_case_is_kept_until_closed_then_counted_from_the_close(catalogue, store):
    assistant = Assistant(catalogue, store)
    desk = Desk(assistant)
    address = "+85291110021"
    assistant.turn("sms", address, Text(f"person please, my number is {HKID}"), "en", "text")
    cid = store.conversation_id("sms", address)
    _age(store, address, 150)
    assert purge(store, Retention.of(catalogue)).kept_open_cases == 1       # waiting
    desk.claim(cid, "mei")
    desk.close(cid, "mei", "resolved")
    _age(store, address, 0)      # the lines stay old; the close is today
    with store.engine.begin() as conn:
        conn.execute(sa.update(conversations).where(conversations.c.id == cid).values(
            created_at=datetime.now(UTC) - timedelta(days=150)))
    result = purge(store, Retention.of(catalogue))
    assert result.transcript_lines == 0 and result.kept_open_cases == 1
    assert any(HKID in line.text for line in store.transcript(cid))
    # 91 days after the close, it goes
    later = datetime.now(UTC) + timedelta(days=91)
    result = purge(store, Retention.of(catalogue), now=later)
    assert result.conversations == 1 and store.transcript(cid) == []
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(conversations).where(conversations.c.id == cid)).one()
    assert row.address == f"{PURGED_PREFIX}{cid}"
    assert row.state["outcome"] == "resolved" and "slots" not in row.state


def test_every_procedure_states_its_owner_purpose_and_retention(catalogue):
    assert record_problems(catalogue) == []
    procs = dict(catalogue.procedures)
    procs["hkid_replacement"] = dataclasses.replace(
        procs["hkid_replacement"], owner=None, states_retention=False)
    bare = dataclasses.replace(catalogue, procedures=procs)
    assert [(p[0], p[1]) for p in record_problems(bare)] == [
        ("hkid_replacement.yaml", "owner"), ("hkid_replacement.yaml", "retention_days")]
