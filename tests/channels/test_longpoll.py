"""The live-update budget (``channels.longpoll``): how many threads long polls and event
streams may hold, in all, per client and per address, and its settings."""

from __future__ import annotations

import pytest

from channels.longpoll import LongPolls, long_polls_for, retry_seconds


def test_the_budget_holds_at_most_its_total_and_gives_back_on_release():
    polls = LongPolls(2, per_client=5, per_address=5)
    a, b = polls.try_hold("a", "10.0.0.1"), polls.try_hold("b", "10.0.0.2")
    assert a is not None and b is not None and polls.held == 2
    assert polls.try_hold("c", "10.0.0.3") is None
    assert polls.refused == 1
    a.release()
    a.release()                       # twice is harmless: it gives back one place, once
    assert polls.held == 1
    with polls.try_hold("c", "10.0.0.3") as c:
        assert c is not None and polls.held == 2
    assert polls.held == 1


def test_one_client_and_one_address_hold_no_more_than_their_share():
    polls = LongPolls(10, per_client=2, per_address=3)
    held = [polls.try_hold("kiosk-1", "10.0.0.1") for _ in range(2)]
    assert all(held)
    assert polls.try_hold("kiosk-1", "10.0.0.9") is None      # the client has its two
    assert polls.try_hold("kiosk-2", "10.0.0.1") is not None  # the address its third
    assert polls.try_hold("kiosk-3", "10.0.0.1") is None      # and no fourth
    assert polls.try_hold("kiosk-3", "10.0.0.2") is not None  # others still get theirs
    held[0].release()
    assert polls.try_hold("kiosk-1", "10.0.0.9") is not None


def test_a_budget_of_nothing_refuses_every_poll():
    polls = LongPolls(0)
    assert polls.try_hold("a", "10.0.0.1") is None
    assert polls.held == 0


def test_settings_default_to_half_the_threads_and_leave_threads_for_webhooks():
    polls = long_polls_for({})
    assert (polls.total, polls.per_client, polls.per_address) == (16, 2, 8)
    polls = long_polls_for({"THREADS": "8", "LONG_POLLS_PER_CLIENT": "3"})
    assert (polls.total, polls.per_client, polls.per_address) == (4, 3, 2)
    assert long_polls_for({"THREADS": "8", "LONG_POLLS": "0"}).total == 0
    with pytest.raises(ValueError, match="KAIFONG_LONG_POLLS .* less than KAIFONG_THREADS"):
        long_polls_for({"THREADS": "8", "LONG_POLLS": "8"})
    with pytest.raises(ValueError, match="KAIFONG_LONG_POLLS_PER_ADDRESS"):
        long_polls_for({"LONG_POLLS_PER_ADDRESS": "none"})


def test_refused_polls_come_back_with_jitter():
    waits = {retry_seconds(3.0) for _ in range(200)}
    assert min(waits) >= 1.5 and max(waits) <= 4.5 and len(waits) > 5
