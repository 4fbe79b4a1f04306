"""Shared fixtures: the real catalogue, a small test catalogue, and ``Flow``, a helper that reads
like a transcript (the citizen's turns in, the assistant's replies out)."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from assistant import load_catalogue
from assistant.catalogue import PROMPTS_DIR
from assistant.engine import advance
from assistant.model import ActionResult, Input, Reply, Start, Text

# real-browser fixtures (live_server, browser, page, screenshot), for every test package
pytest_plugins = ["tests.browser"]

DATA = Path(__file__).parent / "data"
TODAY = date(2026, 11, 25)   # a Wednesday


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than about two seconds (runs in CI)")


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="session")
def mini_catalogue(tmp_path_factory):
    """The shared prompts and facts of the real catalogue, with one test procedure."""
    root = tmp_path_factory.mktemp("mini_prompts")
    (root / "procedures").mkdir()
    shutil.copy(PROMPTS_DIR / "facts.yaml", root / "facts.yaml")
    shutil.copy(DATA / "mini" / "mini_all_kinds.yaml", root / "procedures" / "mini_all_kinds.yaml")
    shared = yaml.safe_load((PROMPTS_DIR / "shared.yaml").read_text(encoding="utf-8"))
    shared["menu"] = [{"label": "Tests", "procedures": ["mini_all_kinds"]},
                      {"label": "Cards and identity card", "procedures": ["mini_all_kinds"]}]
    (root / "shared.yaml").write_text(yaml.safe_dump(shared, allow_unicode=True), encoding="utf-8")
    return load_catalogue(root)


SLOTS = {"slots": [
    {"id": "11", "starts_at": "2026-11-26T10:30:00+08:00", "office": "sham_shui_po"},
    {"id": "12", "starts_at": "2026-11-27T14:30:00+08:00", "office": "sham_shui_po"},
]}


def fake_services():
    """Pure stand-ins for the engine's tests only: the real services are tested against the
    database in test_services.py and through ``Assistant`` in test_conversation.py."""
    counter = iter(range(1, 1000))
    return {
        "find_slots": lambda args: ActionResult(True, SLOTS),
        "book_slot": lambda args: ActionResult(True, {
            "reference": f"KF{next(counter):06d}0", "office": "sham_shui_po",
            "starts_at": next(s["starts_at"] for s in SLOTS["slots"] if s["id"] == args["slot_id"])}),
        "issue_reference": lambda args: ActionResult(True, {"reference": "KF0000990"}),
    }


class Clock:
    """A clock that stands still until told to move (``advance``): what the channels take as
    their ``*_CLOCK`` setting in tests, so that time limits are tested without waiting."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class Flow:
    """Drive the pure engine turn by turn, as a transcript: ``flow.say("yes").text``."""

    def __init__(self, catalogue, locale: str = "en", services=None, start: bool = True,
                 modality: str | None = None):
        self.catalogue = catalogue
        self.modality = modality
        self.state = None
        self.services = services if services is not None else fake_services()
        self.replies: list[Reply] = []
        self.locale = locale
        if start:
            from assistant.model import new_state
            self.state = new_state(locale)
            self.send(Start())

    def send(self, inp: Input) -> Reply:
        self.state, reply = advance(self.catalogue, self.state, inp, TODAY, self.modality)
        parts = list(reply.parts)
        for _ in range(10):
            if reply.action is None:
                break
            result = self.services[reply.action.service](reply.action.args)
            self.state, reply = advance(self.catalogue, self.state, result, TODAY)
            parts += reply.parts
        else:
            raise AssertionError("the engine keeps asking for services: a loop in the procedure")
        from dataclasses import replace
        reply = replace(reply, parts=tuple(parts))
        self.replies.append(reply)
        return reply

    def say(self, *texts: str) -> Reply:
        reply = None
        for text in texts:
            reply = self.send(Text(text))
        return reply

    @property
    def last(self) -> Reply:
        return self.replies[-1]
