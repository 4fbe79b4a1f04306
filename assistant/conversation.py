"""The turn runner: load a conversation, advance it, call services, commit, in one transaction.

This is the only place where the pure engine meets the store and the services. Every channel
calls ``Assistant.turn``. While the store's transaction is open the conversation is locked, so
two messages for one conversation are handled one after the other and nothing is lost.

Logs carry ids and step names only, never what the citizen wrote or any slot value.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta

from .catalogue import Catalogue
from .engine import advance
from .errors import ServiceError
from .model import (
    ActionResult,
    Choose,
    Digits,
    HandBack,
    Input,
    NoInput,
    Reply,
    Start,
    Text,
    new_state,
)
from .services import HONG_KONG, SERVICES, ServiceContext, seed_slots
from .store import Store

log = logging.getLogger(__name__)
#: a procedure cannot chain more service calls than this in one turn (a loop in the data)
MAX_ACTIONS_PER_TURN = 8


def storable(text: str) -> str:
    """Text every database can keep, the same length: a lone surrogate (from a broken decoder)
    and NUL (which PostgreSQL refuses) become U+FFFD; everything else is kept as it came."""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\x00", "\ufffd")


def describe_input(inp: Input) -> tuple[str, str]:
    """(role, text) of an input for the transcript."""
    if isinstance(inp, Text):
        return "user", inp.text
    if isinstance(inp, Digits):
        return "user", inp.digits
    if isinstance(inp, Choose):
        return "user", f"[{inp.value}]"
    if isinstance(inp, NoInput):
        return "system", "(no input)"
    if isinstance(inp, Start):
        return "system", "(session start)"
    if isinstance(inp, HandBack):
        return "staff", inp.note or "(handed back to the assistant)"
    return "system", type(inp).__name__


class Assistant:
    """The core as channels use it: a catalogue, a store and the services."""

    def __init__(self, catalogue: Catalogue, store: Store, services: dict | None = None):
        self.catalogue = catalogue
        self.store = store
        self.services = dict(SERVICES if services is None else services)

    def turn(self, channel: str, address: str, inp: Input, locale: str | None = None,
             modality: str | None = None) -> Reply:
        """One turn in its own transaction. ``modality`` is how the channel presents words
        (``voice``, ``screen``, ``text``): the catalogue's variant for it is said."""
        with self.store.turn(channel, address) as t:
            return self.advance_in(t, inp, locale, modality)

    def advance_in(self, t, inp: Input, locale: str | None = None,
                   modality: str | None = None, line_meta: dict | None = None) -> Reply:
        """One turn inside a transaction the channel opened with ``store.turn`` (so that it can
        check a replayed message id, or queue an outbound message, in the same transaction).
        ``line_meta`` goes with the input's transcript line (the kiosk says which button made
        it, for staff)."""
        if isinstance(inp, Text):
            inp = replace(inp, text=storable(inp.text))   # its confidence kept
        state = t.state or new_state(locale or "en")
        before = state.get("status")
        before_procedure = state.get("procedure")
        today = t.now.astimezone(HONG_KONG).date()
        role, text = describe_input(inp)
        t.add_line(role, text, line_meta)
        state, reply = advance(self.catalogue, state, inp, today, modality)
        parts: list[str] = []
        for _ in range(MAX_ACTIONS_PER_TURN):
            if reply.action is None:
                break
            result = self._call(t, reply.action.service, reply.action.args)
            t.add_event("action", {"service": reply.action.service, "ok": result.ok,
                                   "step": state.get("step")})
            parts += reply.parts
            state, reply = advance(self.catalogue, state, result, today)
        else:
            raise ServiceError("too many service calls in one turn: check the procedure")
        if parts:
            # what earlier advances of this turn said comes first, before the question
            reply = replace(reply, parts=(*parts, *reply.parts),
                            before=(*parts, *reply.before))
        if not reply.silent:
            t.add_line("assistant", reply.text, {"step": reply.step,
                                                 "procedure": reply.procedure})
        self._events(t, before, state, reply)
        if state.get("procedure") and state.get("procedure") != before_procedure:
            # a procedure begun (the oversight counts and the transparency record read it)
            t.add_event("procedure_started", {"procedure": state["procedure"]})
        t.state = state
        return reply

    def _call(self, t, service: str, args: dict) -> ActionResult:
        fn = self.services.get(service)
        if fn is None:
            log.error("no service registered as %s", service)
            return ActionResult(False, {"error": "no_such_service"})
        try:
            with t.session.begin_nested():
                return fn(ServiceContext.from_turn(t), args)
        except Exception:
            # the turn goes on: the procedure's on_failure path, or a person, takes over
            log.exception("service %s failed", service)
            return ActionResult(False, {"error": "service_error"})

    @staticmethod
    def _events(t, before: str | None, state: dict, reply: Reply) -> None:
        if state["status"] != before:
            data = {"from": before, "to": state["status"]}
            if state.get("escalation"):
                data.update(reason=state["escalation"]["reason"],
                            priority=state["escalation"]["priority"],
                            procedure=(state["escalation"].get("summary") or {}).get(
                                "procedure") or state.get("procedure"))
            t.add_event("status", data)
        if reply.ended:
            t.add_event("ended", {"procedure": (state.get("escalation") or {}).get("procedure")
                                  or reply.procedure, "reference": reply.reference})
        if reply.emergency:
            t.add_event("distress", {})
        if any(tag in reply.tags for tag in ("reprompt", "noinput")):
            t.add_event("miss", {"procedure": reply.procedure, "step": reply.step})


def seed_appointment_slots(store: Store, catalogue: Catalogue, days: int = 14,
                           start: date | None = None) -> int:
    """Make sure every office has appointment times for the next ``days`` days; returns how many
    were added. Idempotent, and safe with several processes at once (see ``seed_slots``)."""
    info = catalogue.facts_info
    offices = list(info.get("offices", {}))
    if not offices or not info.get("appointment_times"):
        return 0
    start = start or (date.today() + timedelta(days=1))
    with store.transaction() as session:
        return seed_slots(session, offices, start, days, info["appointment_times"],
                          info.get("appointment_capacity", 1))


__all__ = ["Assistant", "seed_appointment_slots", "describe_input", "HONG_KONG"]
