"""The services against SQLite and PostgreSQL, called as the turn runner calls them: inside a
conversation's turn."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from assistant.model import ActionResult
from assistant.services import (
    SERVICES,
    ServiceContext,
    appointment_slots,
    appointments,
    normalise_reference,
    reference_is_valid,
    reports,
    seed_slots,
)

from .conftest import run_together

NOW = datetime.now(UTC)


def call(store, service, args=None, address="+85291234567", now=None) -> ActionResult:
    """Call a service the way the turn runner does: inside the conversation's turn."""
    with store.turn("sms", address) as turn:
        ctx = ServiceContext.from_turn(turn)
        if now is not None:
            ctx.now = now
        return SERVICES[service](ctx, args or {})


def add_slot(store, starts_at, office="kowloon_city", capacity=1, booked=0) -> str:
    with store.transaction() as session:
        result = session.execute(insert(appointment_slots).values(
            office=office, starts_at=starts_at, capacity=capacity, booked=booked))
        return str(result.inserted_primary_key[0])


def booked(store, slot_id) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(select(appointment_slots.c.booked)
                           .where(appointment_slots.c.id == int(slot_id)))


def count(store, table) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_the_registry_names_every_service():
    assert set(SERVICES) == {"issue_reference", "find_slots", "book_slot", "find_booking",
                             "cancel_booking", "file_report"}


def test_reference_check_digit():
    assert reference_is_valid("KF0000422")  # sequence 42, Luhn digit 2
    assert normalise_reference(" kf 000042-2 ") == "KF0000422"
    assert normalise_reference("0000422") == "KF0000422"        # keyed on a phone: KF implied
    assert normalise_reference("0000423") is None                 # the check digit still counts
    assert reference_is_valid("KF12345674")  # more than six digits when the sequence grows
    for wrong in ("KF0000427", "KF0000432", "KF0004022", "KF000042", "XX0000422", "KF00004a2", ""):
        assert not reference_is_valid(wrong), wrong


def test_references_are_unique_and_valid(store):
    slot_id = add_slot(store, NOW + timedelta(days=1), capacity=5)
    references = [call(store, "issue_reference").data["reference"] for _ in range(5)]
    references += [call(store, "book_slot", {"slot_id": slot_id, "procedure": "book_appointment"},
                        address=f"+8529000000{i}").data["reference"] for i in range(5)]
    report = {"category": "street_light", "location": "Nathan Road", "details": "light out"}
    references += [call(store, "file_report", report).data["reference"] for _ in range(5)]
    assert len(set(references)) == 15
    assert all(reference_is_valid(r) and r.startswith("KF") and len(r) == 9 for r in references)


def test_seed_slots_is_idempotent_and_skips_sundays(store):
    monday = date(2030, 1, 7)
    assert monday.weekday() == 0
    offices, times = ["kowloon_city", "sha_tin"], ["09:30", "14:00"]
    with store.transaction() as session:
        assert seed_slots(session, offices, monday, 7, times, 3) == 2 * 6 * 2
    with store.transaction() as session:
        assert seed_slots(session, offices, monday, 7, times, 3) == 0
        assert seed_slots(session, ["kowloon_city"], monday, 14, ["09:30"], 3) == 6  # 2nd week
    assert count(store, appointment_slots) == 24 + 6
    with store.engine.connect() as conn:
        first = conn.execute(select(appointment_slots)
                             .order_by(appointment_slots.c.starts_at)).first()
    assert first.starts_at == datetime(2030, 1, 7, 1, 30, tzinfo=UTC)  # 09:30 in Hong Kong
    assert (first.capacity, first.booked) == (3, 0)
    slots = call(store, "find_slots", {"office": "sha_tin", "limit": 3}).data["slots"]
    assert [s["starts_at"] for s in slots] == [
        "2030-01-07T09:30:00+08:00", "2030-01-07T14:00:00+08:00", "2030-01-08T09:30:00+08:00"]


def test_find_slots_offers_only_future_slots_with_room(store):
    add_slot(store, NOW - timedelta(hours=1))  # past
    add_slot(store, NOW + timedelta(hours=1), capacity=2, booked=2)  # full
    add_slot(store, NOW + timedelta(hours=2), office="sha_tin")  # another office
    future = [add_slot(store, NOW + timedelta(days=d), capacity=2, booked=1)
              for d in (5, 1, 3, 2, 4)]
    result = call(store, "find_slots", {"office": "kowloon_city"})
    assert result.ok
    assert [s["id"] for s in result.data["slots"]] == [future[1], future[3], future[2], future[4]]
    first = result.data["slots"][0]
    assert first["office"] == "kowloon_city"
    assert datetime.fromisoformat(first["starts_at"]) == NOW + timedelta(days=1)
    assert first["starts_at"].endswith("+08:00")
    two = call(store, "find_slots", {"office": "kowloon_city", "limit": "2"})
    assert len(two.data["slots"]) == 2
    none = call(store, "find_slots", {"office": "tuen_mun"})
    assert none == ActionResult(False, {"error": "no_slots"})
    later = call(store, "find_slots", {"office": "kowloon_city"},
                 now=NOW + timedelta(days=4, hours=1))
    assert [s["id"] for s in later.data["slots"]] == [future[0]]


def test_booking_until_full_then_slot_taken(store):
    starts_at = NOW + timedelta(days=2)
    slot_id = add_slot(store, starts_at, capacity=2)
    args = {"slot_id": slot_id, "procedure": "hkid_replacement", "phone": "+852 9123 4567"}
    first, second = call(store, "book_slot", args), call(store, "book_slot", args)
    assert first.ok and second.ok
    assert first.data["office"] == "kowloon_city"
    assert datetime.fromisoformat(first.data["starts_at"]) == starts_at
    assert call(store, "book_slot", args) == ActionResult(False, {"error": "slot_taken"})
    assert booked(store, slot_id) == 2 and count(store, appointments) == 2
    assert call(store, "find_slots", {"office": "kowloon_city"}).data == {"error": "no_slots"}
    past = add_slot(store, NOW - timedelta(minutes=1))
    assert call(store, "book_slot", {"slot_id": past}).data == {"error": "slot_taken"}
    assert call(store, "book_slot", {"slot_id": "999999"}).data == {"error": "slot_taken"}
    assert call(store, "book_slot", {"slot_id": "not a number"}).data == {"error": "slot_taken"}


def test_two_turns_racing_for_the_last_place_one_wins(store, together):
    def book(slot_id, address):
        return call(store, "book_slot", {"slot_id": slot_id}, address=address)

    for round_ in range(5):
        slot_id = add_slot(store, NOW + timedelta(days=1, hours=round_))
        results = together(book, (slot_id, f"+8529000{round_}01"), (slot_id, f"+8529000{round_}02"))
        assert sorted(r.ok for r in results) == [False, True]
        assert [r.data for r in results if not r.ok] == [{"error": "slot_taken"}]
        assert booked(store, slot_id) == 1
    assert count(store, appointments) == 5


def test_cancel_frees_the_place(store):
    slot_id = add_slot(store, NOW + timedelta(days=3))
    booking = call(store, "book_slot", {"slot_id": slot_id, "procedure": "book_appointment"})
    reference = booking.data["reference"]
    assert call(store, "book_slot", {"slot_id": slot_id}).data == {"error": "slot_taken"}
    cancelled = call(store, "cancel_booking", {"reference": reference})
    assert cancelled.ok and cancelled.data["status"] == "cancelled"
    assert booked(store, slot_id) == 0
    assert call(store, "find_booking", {"reference": reference}).data["status"] == "cancelled"
    again = call(store, "cancel_booking", {"reference": reference})
    assert again.data == {"error": "already_cancelled"}
    assert booked(store, slot_id) == 0
    assert call(store, "book_slot", {"slot_id": slot_id}).ok
    assert call(store, "cancel_booking", {"reference": "KF9999994"}).data == {"error": "not_found"}
    assert call(store, "cancel_booking", {"reference": "nonsense"}).data == {"error": "not_found"}


def test_a_past_appointment_cannot_be_cancelled(store):
    slot_id = add_slot(store, NOW + timedelta(hours=1))
    reference = call(store, "book_slot", {"slot_id": slot_id}).data["reference"]
    later = call(store, "cancel_booking", {"reference": reference}, now=NOW + timedelta(hours=2))
    assert later.data == {"error": "too_late"} and booked(store, slot_id) == 1


def test_find_booking_checks_the_phone_when_given(store):
    starts_at = NOW + timedelta(days=1)
    slot_id = add_slot(store, starts_at, office="sha_tin")
    booking = call(store, "book_slot", {"slot_id": slot_id, "phone": "+852 9123 4567"})
    reference = booking.data["reference"]
    found = call(store, "find_booking", {"reference": reference.lower(), "phone": "91234567"})
    assert found.ok and found.data["reference"] == reference
    assert (found.data["office"], found.data["status"]) == ("sha_tin", "booked")
    assert datetime.fromisoformat(found.data["starts_at"]) == starts_at
    assert call(store, "find_booking", {"reference": reference}).ok
    wrong_phone = call(store, "find_booking", {"reference": reference, "phone": "98765432"})
    assert wrong_phone.data == {"error": "not_found"}
    assert call(store, "find_booking", {"reference": "KF0000422"}).data == {"error": "not_found"}


def test_file_report_keeps_the_report(store):
    result = call(store, "file_report", {"category": "noise", "location": "Mong Kok",
                                         "details": "drilling at night", "phone": "91234567"})
    assert result.ok and reference_is_valid(result.data["reference"])
    with store.engine.connect() as conn:
        report = conn.execute(select(reports)).one()
    assert (report.reference, report.category, report.location, report.details, report.phone) == (
        result.data["reference"], "noise", "Mong Kok", "drilling at night", "91234567")
    assert report.conversation_id == store.conversation_id("sms", "+85291234567")


def test_a_failed_turn_undoes_its_booking(store):
    slot_id = add_slot(store, NOW + timedelta(days=1))
    with pytest.raises(RuntimeError), store.turn("sms", "+85291234567") as turn:
        assert SERVICES["book_slot"](ServiceContext.from_turn(turn), {"slot_id": slot_id}).ok
        raise RuntimeError("the reply could not be rendered")
    assert booked(store, slot_id) == 0 and count(store, appointments) == 0


def test_a_database_error_in_a_savepoint_leaves_the_turn_usable(store):
    """What the turn runner does around each service call; on SQLite it needs the BEGIN recipe."""
    with store.turn("sms", "+85291234567") as turn:
        with pytest.raises(IntegrityError), turn.session.begin_nested():
            turn.session.execute(insert(appointments).values(  # no such slot: foreign key violation
                reference="KF0000000", slot_id=424242, status="booked", created_at=turn.now))
        turn.state = {"status": "bot"}
        turn.add_line("user", "still here")
    assert store.state("sms", "+85291234567") == {"status": "bot"}
    assert count(store, appointments) == 0


def test_seeding_from_several_processes_at_once_makes_each_slot_once(db_url, open_store):
    # three stores, as three workers booting on one empty database: each reads "no slots yet"
    # and inserts; the insert skips what another has made meanwhile instead of failing
    stores = [open_store() for _ in range(3)]
    monday, offices, times = date(2030, 1, 7), ["kowloon_city", "sha_tin"], ["09:30", "14:00"]

    def seed(store):
        with store.transaction() as session:
            return seed_slots(session, offices, monday, 14, times, 3)

    made = run_together(seed, *[(s,) for s in stores])
    assert sum(made) == 2 * 12 * 2                  # each slot counted by the one that made it
    assert count(stores[0], appointment_slots) == 2 * 12 * 2
