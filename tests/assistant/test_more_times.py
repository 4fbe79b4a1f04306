"""Other days and times at an appointment question: ``Choose("more_times")`` runs the search
that found the times again, from the last one offered (a kiosk's "Other days and times")."""

from __future__ import annotations

from datetime import timedelta

from assistant.engine import MORE_TIMES
from assistant.model import ActionResult, Choose

from ..conftest import SLOTS, Flow, fake_services
from .test_services import NOW, add_slot, call

LATER = {"slots": [
    {"id": "21", "starts_at": "2026-11-30T09:30:00+08:00", "office": "sham_shui_po"},
]}


def _at_the_times(flow: Flow):
    flow.send(Choose("book_appointment"))
    flow.send(Choose("book"))
    flow.send(Choose("sham_shui_po"))
    flow.send(Choose("form"))
    flow.send(Choose("yes"))                              # the collection statement
    flow.send(Choose("91234567"))
    reply = flow.send(Choose("yes"))                      # the number read back
    assert reply.question == "Which time suits you?"
    return reply


def test_more_times_asks_for_the_times_after_the_last_one_offered(catalogue):
    asked = []
    services = fake_services()

    def find(args):
        asked.append(args)
        return ActionResult(True, LATER if args.get("after") else SLOTS)

    services["find_slots"] = find
    flow = Flow(catalogue, services=services)
    _at_the_times(flow)
    reply = flow.send(Choose(MORE_TIMES))
    assert asked[-1] == {"office": "sham_shui_po", "limit": 4,
                         "after": SLOTS["slots"][-1]["starts_at"]}
    assert reply.question == "Which time suits you?"
    assert [o.value for o in reply.options] == ["21"]
    reply = flow.send(Choose("21"))
    assert "Monday 30 November" in reply.question         # read back: the later time


def test_no_more_times_offers_the_same_times_again(catalogue):
    services = fake_services()
    services["find_slots"] = lambda args: (ActionResult(False, {"error": "no_slots"})
                                           if args.get("after") else ActionResult(True, SLOTS))
    flow = Flow(catalogue, services=services)
    _at_the_times(flow)
    reply = flow.send(Choose(MORE_TIMES))
    assert "no_more_times" in reply.tags and not reply.handed_off
    assert [o.value for o in reply.options] == ["11", "12"]


def test_find_slots_after_a_time(store):
    first, second, third = (add_slot(store, NOW + timedelta(days=d)) for d in (1, 2, 3))
    found = call(store, "find_slots", {"office": "kowloon_city", "limit": 1}).data["slots"]
    assert [s["id"] for s in found] == [first]
    later = call(store, "find_slots", {"office": "kowloon_city", "limit": 1,
                                       "after": found[-1]["starts_at"]}).data["slots"]
    assert [s["id"] for s in later] == [second]
    naive = call(store, "find_slots", {"office": "kowloon_city", "limit": 1,
                                       "after": "2000-01-01T00:00"}).data["slots"]
    assert [s["id"] for s in naive] == [first]            # no zone: not trusted, ignored
    assert third
