"""A budget for live updates, so that long polls and event streams never take the threads that
answer Twilio's webhooks.

The kiosk's ``GET /kiosk/<id>/lines`` (a long poll, up to 25 s) and the staff console's event
streams (up to 55 s) each hold a server thread while they wait: waitress and gunicorn's gthread
workers serve them from the same pool as ``POST /sms`` and the voice webhooks, which Twilio
abandons after 15 s. So a process lets live updates hold at most ``LONG_POLLS`` threads at once
(by default half of ``KAIFONG_THREADS``), one client at most ``LONG_POLLS_PER_CLIENT`` (a kiosk
visit, a member of staff: 2) and one remote address at most ``LONG_POLLS_PER_ADDRESS`` (by
default half the budget: anyone can open kiosk visits, and they would all come from one
address). A request beyond the budget is not queued: it is answered at once with what there is
now and "poll again in a few seconds" (the pages retry with back-off and jitter), so live
updates degrade to short polls instead of taking the webhooks' threads, and the rest of the
pool stays free for webhooks and pages whatever the consoles and kiosks hold.

Behind a reverse proxy every request comes from the proxy's address: raise
``KAIFONG_LONG_POLLS_PER_ADDRESS`` to the budget then (or let the proxy set the address).

The budget is per process; each gunicorn worker has its own, sized from its own threads
(``KAIFONG_THREADS`` must then say what ``--threads`` says).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Mapping

__all__ = ["DEFAULT_THREADS", "LongPolls", "Slot", "hold", "init_app", "long_polls_for",
           "retry_seconds"]

#: ``kaifong serve``'s threads when ``KAIFONG_THREADS`` is not set
DEFAULT_THREADS = 32
PER_CLIENT = 2
#: a refused poll is told to come back after about this long (the page backs off from it)
RETRY_SECONDS = 3.0


class Slot:
    """A held place in the budget; ``release()`` gives it back (more than once is harmless)."""

    def __init__(self, polls: LongPolls, keys: tuple[str, ...]):
        self._polls = polls
        self._keys = keys
        self._released = False

    def release(self) -> None:
        self._polls._release(self)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class LongPolls:
    """How many live updates this process holds, in all and by client and address."""

    def __init__(self, total: int, per_client: int = PER_CLIENT,
                 per_address: int | None = None):
        if total < 0 or per_client < 1 or (per_address is not None and per_address < 1):
            raise ValueError("long-poll limits must be positive")
        self.total = total
        self.per_client = per_client
        self.per_address = per_address if per_address is not None else max(1, total // 2)
        self._lock = threading.Lock()
        self._held = 0
        self._by_key: Counter = Counter()
        self.refused = 0          # since start: how often a poll was told to come back later

    @property
    def held(self) -> int:
        with self._lock:
            return self._held

    def try_hold(self, client: str | None, address: str | None) -> Slot | None:
        """A slot for a poll by ``client`` (a kiosk visit, a member of staff) from
        ``address``, or None when the process, the client or the address has its fill."""
        keys = tuple(k for k in (f"c:{client}" if client else None,
                                 f"a:{address}" if address else None) if k)
        limits = {"c": self.per_client, "a": self.per_address}
        with self._lock:
            if self._held >= self.total or any(self._by_key[k] >= limits[k[0]] for k in keys):
                self.refused += 1
                return None
            self._held += 1
            for key in keys:
                self._by_key[key] += 1
        return Slot(self, keys)

    def _release(self, slot: Slot) -> None:
        with self._lock:
            if slot._released:
                return
            slot._released = True
            self._held -= 1
            for key in slot._keys:
                self._by_key[key] -= 1
                if self._by_key[key] <= 0:
                    del self._by_key[key]


def _whole(config: Mapping, key: str, default: int | None, minimum: int) -> int | None:
    value = config.get(key)
    if value is None or str(value).strip() == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ValueError(f"KAIFONG_{key} must be a whole number of at least {minimum}, "
                         f"not {value!r}")
    return number


def long_polls_for(config: Mapping) -> LongPolls:
    """The budget from the app's config: ``THREADS`` (the server's threads: 32),
    ``LONG_POLLS`` (default half of them; 0 makes every live update a short poll),
    ``LONG_POLLS_PER_CLIENT`` (2) and ``LONG_POLLS_PER_ADDRESS`` (half the budget)."""
    threads = _whole(config, "THREADS", DEFAULT_THREADS, 1)
    total = _whole(config, "LONG_POLLS", threads // 2, 0)
    if total >= threads:
        raise ValueError(f"KAIFONG_LONG_POLLS ({total}) must leave threads for webhooks: it "
                         f"must be less than KAIFONG_THREADS ({threads})")
    return LongPolls(total, _whole(config, "LONG_POLLS_PER_CLIENT", PER_CLIENT, 1),
                     _whole(config, "LONG_POLLS_PER_ADDRESS", None, 1))


def retry_seconds(base: float = RETRY_SECONDS) -> float:
    """When a refused poll should come back: ``base`` with jitter (0.5x to 1.5x), so that
    refused pages do not all come back at the same moment."""
    return round(base * (0.5 + random.random()), 1)


def init_app(app) -> LongPolls:
    """The process's budget, on ``app.extensions["kaifong_long_polls"]``."""
    polls = app.extensions["kaifong_long_polls"] = long_polls_for(app.config)
    return polls


def hold(app, client: str | None, address: str | None) -> Slot | None:
    """A slot in ``app``'s budget (see ``LongPolls.try_hold``)."""
    return app.extensions["kaifong_long_polls"].try_hold(client, address)
