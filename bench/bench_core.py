"""Core benchmark: the pure engine, the engine with its SQLite commit, and routing, with the real
catalogue (10 procedures) and a generated one of 200, measured in one run so ratios compare.

  1. engine:        ``advance()`` alone (no I/O); one turn = advance() plus its action
                    round-trips, answered by in-memory fake services;
  2. engine_sqlite: ``Assistant.turn()`` on a fresh SQLite file: load, advance, real services,
                    transcript, events, commit;
  3. routing:       ``router.route(text)`` over tests/data/routing_dev.jsonl (cycled) after a
                    warm-up, plus the one-off cost of loading each catalogue and building its
                    router (the first ``router_for``).

The turn workload is a seeded mix of scripted conversations that walk real procedures from the
greeting to the end (en and zh-HK, keys and free text, commands, misses such as "purple", a
hand-off to a person, a cancellation of an earlier booking, and free-text requests taken from the
routing set). Every script is checked on both catalogues before anything is timed. Conversations
run interleaved, 16 open at a time, each on its own address.

    .venv/bin/python bench/bench_core.py [--quick] [--out FILE] [--seed N]

Prints one JSON document on stdout; progress goes to stderr. Nothing here is a test: no
assertion on timings anywhere.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

import yaml

from assistant import (
    ActionResult,
    Assistant,
    Start,
    Store,
    Text,
    advance,
    load_catalogue,
    new_state,
    router_for,
    seed_appointment_slots,
)
from assistant.catalogue import PROMPTS_DIR

ROOT = Path(__file__).resolve().parents[1]
DEV_FILE = ROOT / "tests" / "data" / "routing_dev.jsonl"
SEED = 20261125
TODAY = date(2026, 11, 25)          # the engine-alone runs' "today" (a Wednesday)
GENERATED_PROCEDURES = 200
ACTIVE = 16                         # conversations open at once (turns are interleaved)
CHUNK = 100                         # conversations per catalogue before the other one plays
PHONE = "9123 4567"
OFFICES = ("sham shui po", "kwun tong", "wan chai", "sha tin")

# iterations: (engine conversations, sqlite conversations, routing calls) per catalogue
DEFAULT_SIZES = {"engine": 2000, "sqlite": 800, "routing": 6000, "warmup": 40}
QUICK_SIZES = {"engine": 250, "sqlite": 80, "routing": 800, "warmup": 16}


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The workload: scripted conversations.
# Placeholders: {office} (the next of OFFICES), {time} (one of the 4 times offered, picked with
# the seed), {ref} (the reference of an earlier booking, for a cancellation), {dev} (a request
# from the routing development set, picked with the seed).

@dataclass(frozen=True)
class Script:
    name: str
    locale: str
    turns: tuple[str, ...]
    weight: int
    ends: int = 1              # procedures the conversation finishes (reply.ended), -1: any
    handoff: bool = False      # ends waiting for a person
    books: bool = False        # ends with a booked appointment (its reference feeds a cancel)


SCRIPTS = (
    Script("hkid_replacement_en", "en", ("lost my id card", "1", "1", "1", "yes", "A123456(3)",
                                         "yes", PHONE, "yes", "{office}", "{time}", "yes", "1"), 10, books=True),
    Script("book_appointment_en", "en", ("book appointment", "1", "{office}", "help with a form",
                                         "yes", PHONE, "yes", "{time}", "yes", "1"), 8, books=True),
    Script("cancel_appointment_en", "en", ("cancel my appointment", "cancel", "{ref}", "yes",
                                           PHONE, "yes", "yes"), 4),
    Script("old_age_allowance_then_report_en", "en", (
        "fruit mony", "help", "1", "repeat", "80", "back", "80", "yes", "3", "1", "1", "1", "1",
        "1", "no", "start again", "report a problem", "no", "2", "building 3",
        "loud music at night", "no", "1"), 6, ends=2),
    Script("old_age_allowance_zh", "zh-HK", ("生果金", "1", "75", "係", "3", "1", "1", "1", "1",
                                             "1", "唔係"), 6),
    Script("senior_citizen_card_en", "en", ("purple", "senior card", "1", "68", "2", "1", "1",
                                            "1", "1"), 8),
    Script("report_problem_en", "en", ("street light broken", "no", "1", "outside the wet market",
                                       "off for a week", "yes", "yes", PHONE, "yes", "1"), 8),
    Script("health_voucher_zh", "zh-HK", ("醫療券", "2", "1", "1", "1", "1"), 8),
    Script("vaccination_en", "en", ("flu jab", "72", "flu", "1", "1", "1", "1", "1", "1", "no"), 6),
    Script("housing_status_zh", "zh-HK", ("查公屋申請", "1", "係", "1", "1", "唔係"), 6),
    Script("oala_en", "en", ("oala", "1", "70", "yes", "3", "yes", "single", "5000", "100000",
                             "1", "1", "1", "no"), 4),
    Script("oala_zh", "zh-HK", ("長生津", "1", "70", "係", "3", "係", "單身", "5000", "100000",
                                "1", "1", "1", "唔係"), 4),
    Script("transport_fare_en", "en", ("joyyou card", "1", "65", "1", "1", "no"), 6),
    Script("menu_keys_voucher_en", "en", ("3", "1", "1", "1", "1", "2"), 6),
    Script("ask_for_person_en", "en", ("purple", "what is this", "talk to a person", "hello?"), 3,
           ends=0, handoff=True),
    Script("free_text_requests", "en", ("{dev}", "start again", "{dev}", "start again", "{dev}",
                                        "stop"), 10, ends=-1),
)
BY_NAME = {s.name: s for s in SCRIPTS}
BOOKING_CHOICE = ("choose_time", "choose_new_time")
COMMAND_WORDS = {"help", "repeat", "back", "start again", "stop"}


def load_dev() -> list[dict]:
    with DEV_FILE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def make_sequence(n: int, seed: int) -> list[tuple[str, int]]:
    """``n`` (script name, seed of its own) in a seeded order. A cancellation only comes when a
    booking is surely finished by then (at most ACTIVE - 1 older conversations are still open)."""
    rng = random.Random(seed)
    names = [s.name for s in SCRIPTS]
    weights = [s.weight for s in SCRIPTS]
    seq, books, cancels = [], 0, 0
    for _ in range(n):
        name = rng.choices(names, weights)[0]
        if name == "cancel_appointment_en":
            if books - (ACTIVE - 1) > cancels:
                cancels += 1
            else:
                name = "book_appointment_en"
        if BY_NAME[name].books:
            books += 1
        seq.append((name, rng.randrange(1 << 30)))
    return seq


class Placeholders:
    """Fills the placeholders of the turns, the same way in every phase."""

    def __init__(self, dev: list[dict]):
        self.dev = [row["text"] for row in dev]
        self.office = 0
        self.refs: deque[str] = deque()

    def fill(self, text: str, rng: random.Random) -> str:
        if text == "{office}":
            self.office += 1
            return OFFICES[self.office % len(OFFICES)]
        if text == "{ref}":
            if not self.refs:
                raise RuntimeError("no booking to cancel: the sequence is wrong")
            return self.refs.popleft()
        if text == "{dev}":
            return rng.choice(self.dev)
        if text == "{time}":
            return str(rng.randint(1, 4))
        return text


# ---------------------------------------------------------------------------------------------
# Fake services for the engine alone (like tests/conftest.py's fake_services, for every service
# the procedures call). Pure and in memory; fresh dicts each call, as the real ones return.

def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


class FakeServices:
    SLOTS = (("11", "2026-11-26T10:30:00+08:00"), ("12", "2026-11-26T14:30:00+08:00"),
             ("13", "2026-11-27T09:30:00+08:00"), ("14", "2026-11-27T11:30:00+08:00"))

    def __init__(self):
        self.n = 0
        self.calls: Counter = Counter()

    def _reference(self) -> str:
        self.n += 1
        payload = f"{self.n:06d}"
        return f"KF{payload}{_luhn_digit(payload)}"

    def __call__(self, service: str, args: dict) -> ActionResult:
        self.calls[service] += 1
        office = "sham_shui_po"
        if service == "find_slots":
            office = args.get("office") or office
            return ActionResult(True, {"slots": [
                {"id": i, "starts_at": s, "office": office} for i, s in self.SLOTS]})
        if service == "book_slot":
            starts = dict(self.SLOTS).get(str(args.get("slot_id")), self.SLOTS[0][1])
            return ActionResult(True, {"reference": self._reference(), "office": office,
                                       "starts_at": starts})
        if service in ("find_booking", "cancel_booking"):
            return ActionResult(True, {"reference": args.get("reference"), "office": office,
                                       "starts_at": self.SLOTS[0][1],
                                       "status": "booked" if service == "find_booking"
                                       else "cancelled"})
        if service in ("issue_reference", "file_report"):
            return ActionResult(True, {"reference": self._reference()})
        return ActionResult(False, {"error": "no_such_service"})


class EngineTurns:
    """One turn of the pure engine: advance() plus its action round-trips."""

    name = "engine"

    def __init__(self, catalogue):
        self.catalogue = catalogue
        self.services = FakeServices()
        self.states: dict[str, dict] = {}

    def __call__(self, address: str, inp, locale: str):
        state = self.states.get(address) or new_state(locale)
        state, reply = advance(self.catalogue, state, inp, TODAY)
        parts, actions = list(reply.parts), 0
        while reply.action is not None:
            actions += 1
            if actions > 8:
                raise RuntimeError("the engine keeps asking for services")
            result = self.services(reply.action.service, reply.action.args)
            state, reply = advance(self.catalogue, state, result, TODAY)
            parts += reply.parts
        self.states[address] = state
        return replace(reply, parts=tuple(parts)), actions

    def end_conversation(self, address: str) -> None:
        self.states.pop(address, None)

    def close(self) -> None:
        pass


class SqliteTurns:
    """One turn through ``Assistant.turn`` on a fresh SQLite file with seeded appointment slots."""

    name = "engine_sqlite"

    def __init__(self, catalogue, directory: Path, days: int):
        self.store = Store(f"sqlite:///{directory}/bench.db")
        seed_appointment_slots(self.store, catalogue, days=days)
        self.assistant = Assistant(catalogue, self.store)
        self.calls: Counter = Counter()
        real_services = dict(self.assistant.services)
        for name, fn in real_services.items():   # count the calls; the real service does the work
            self.assistant.services[name] = self._counted(name, fn)

    def _counted(self, name, fn):
        def call(ctx, args):
            self.calls[name] += 1
            return fn(ctx, args)
        return call

    def __call__(self, address: str, inp, locale: str):
        before = sum(self.calls.values())
        reply = self.assistant.turn("sms", address, inp, locale=locale)
        return reply, sum(self.calls.values()) - before

    def end_conversation(self, address: str) -> None:
        pass

    def pragmas(self) -> dict:
        with self.store.engine.connect() as conn:
            conn.execution_options(kaifong_read_only=True)   # a plain BEGIN, as the store reads
            return {
                "sqlite_version": conn.exec_driver_sql("select sqlite_version()").scalar(),
                "journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
                "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                    conn.exec_driver_sql("PRAGMA synchronous").scalar()),
                "wal_autocheckpoint_pages": conn.exec_driver_sql(
                    "PRAGMA wal_autocheckpoint").scalar(),
            }

    def close(self) -> None:
        self.store.close()


# ---------------------------------------------------------------------------------------------
# Timing, with the garbage collector's pauses attributed to the turns they fall in.

class GcWatch:
    def __init__(self):
        self.pause_ns = 0
        self.max_pause_ns = 0
        self.by_gen = Counter()
        self.pause_by_gen = Counter()
        self._start = 0
        self._gen = 0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start, self._gen = time.perf_counter_ns(), info["generation"]
        else:
            d = time.perf_counter_ns() - self._start
            self.pause_ns += d
            self.max_pause_ns = max(self.max_pause_ns, d)
            self.by_gen[self._gen] += 1
            self.pause_by_gen[self._gen] += d

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)

    def report(self) -> dict:
        return {
            "collections": {f"gen{g}": self.by_gen[g] for g in range(3)},
            "pause_ms_total": round(self.pause_ns / 1e6, 1),
            "pause_ms_by_gen": {f"gen{g}": round(self.pause_by_gen[g] / 1e6, 1)
                                for g in range(3)},
            "max_pause_ms": round(self.max_pause_ns / 1e6, 2),
        }


class TurnRecord(NamedTuple):
    """A tuple of plain values: the garbage collector soon stops tracking it, so that keeping
    thousands of them does not add to the pauses being measured."""

    ns: int
    gc_ns: int
    kind: str
    script: str
    index: int              # turn number in the conversation (0 = the session start)
    text: str
    procedure: str | None   # where the conversation was when the turn came
    step: str | None
    actions: int


def pct(sorted_values: list, q: float):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def ms(ns) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


def classify(inp, text: str, prev, reply, actions: int) -> str:
    if isinstance(inp, Start):
        return "start"
    if actions:
        return "service_call"
    if any(tag in reply.tags for tag in ("reprompt", "noinput", "offer_person")):
        return "miss"
    if text.strip().lower() in COMMAND_WORDS or "help" in reply.tags or "repeat" in reply.tags:
        return "command"
    if prev is not None and prev.procedure is None and not prev.handed_off:
        return "menu_key" if text.strip().isdigit() else "menu_free_text"
    return "step_answer"


class Player:
    """Plays conversations on one runner, ACTIVE open at a time, one turn each in turn; keeps
    the timings across calls of ``play`` (so that two catalogues can take turns, chunk by
    chunk, and share the machine's drifts alike)."""

    def __init__(self, runner, dev: list[dict], label: str, record: bool = True,
                 address_prefix: str = "+8526"):
        self.runner, self.label, self.record = runner, label, record
        self.address_prefix = address_prefix
        self.fill = Placeholders(dev)
        self.records: list[TurnRecord] = []
        self.stats: Counter = Counter()
        self.gc = GcWatch()
        self.number = 0

    def play(self, sequence) -> None:
        runner, fill, gc_watch = self.runner, self.fill, self.gc
        open_convs: list[dict] = []
        todo = deque(sequence)
        perf = time.perf_counter_ns
        with gc_watch:
            while todo or open_convs:
                while todo and len(open_convs) < ACTIVE:
                    name, seed = todo.popleft()
                    script = BY_NAME[name]
                    open_convs.append({"script": script, "rng": random.Random(seed), "i": 0,
                                       "turns": list(script.turns), "prev": None, "ends": 0,
                                       "address": f"{self.address_prefix}{self.number:07d}"})
                    self.number += 1
                    self.stats["conversations"] += 1
                    self.stats[f"script:{name}"] += 1
                for conv in list(open_convs):
                    script, i = conv["script"], conv["i"]
                    if i == 0:
                        inp, text = Start(), "(session start)"
                    else:
                        text = fill.fill(conv["turns"][i - 1], conv["rng"])
                        inp = Text(text)
                    prev = conv["prev"]
                    gc_before = gc_watch.pause_ns
                    t0 = perf()
                    reply, actions = runner(conv["address"], inp, script.locale)
                    dt = perf() - t0
                    kind = classify(inp, text, prev, reply, actions)
                    if self.record:
                        self.records.append(TurnRecord(
                            dt, gc_watch.pause_ns - gc_before, kind, script.name, i, text,
                            prev.procedure if prev else None, prev.step if prev else None,
                            actions))
                    self.stats["turns"] += 1
                    self.stats[f"kind:{kind}"] += 1
                    self.stats[f"locale:{reply.locale}"] += 1
                    if reply.ended:
                        conv["ends"] += 1
                        if script.books and reply.reference:
                            fill.refs.append(reply.reference)
                    conv["prev"], conv["i"] = reply, i + 1
                    if conv["i"] > len(conv["turns"]):
                        if script.books and not reply.ended and reply.step in BOOKING_CHOICE:
                            # another conversation took the last place at that time: the
                            # citizen is offered the times still free and picks one
                            conv["turns"] += ["{time}", "yes", "1"]   # the time, its read-back, the review
                            self.stats["booking_retries"] += 1
                            continue
                        check_outcome(script, conv, reply, self.label)
                        runner.end_conversation(conv["address"])
                        open_convs.remove(conv)


def check_outcome(script: Script, conv: dict, reply, label: str) -> None:
    ok = (reply.handed_off if script.handoff else reply.ended) and (
        script.ends < 0 or conv["ends"] == script.ends)
    if not ok:
        raise SystemExit(f"{label}: script {script.name} did not go as written (ended "
                         f"{conv['ends']} time(s), last step {reply.procedure}/{reply.step}, "
                         f"handed off: {reply.handed_off}); check the turns against "
                         f"`kaifong chat`")


def summarise(player: Player) -> dict:
    records = player.records
    every = sorted(r.ns for r in records)
    total = sum(every)
    by_kind = {}
    for kind in sorted({r.kind for r in records}):
        values = sorted(r.ns for r in records if r.kind == kind)
        by_kind[kind] = {"turns": len(values), "p50_ms": ms(pct(values, 0.5)),
                         "p99_ms": ms(pct(values, 0.99)), "max_ms": ms(values[-1]),
                         "mean_ms": ms(sum(values) / len(values))}
    p99 = pct(every, 0.99)
    over = [r for r in records if r.ns >= p99]
    without_gc = sorted(r.ns for r in records if r.gc_ns == 0)
    slowest = sorted(records, key=lambda r: -r.ns)[:8]
    gc_report = player.gc.report()
    gc_report.update({
        "turns_with_a_pause": sum(1 for r in records if r.gc_ns),
        "turns_at_or_over_p99": len(over),
        "of_which_with_a_pause": sum(1 for r in over if r.gc_ns),
        "p99_ms_of_turns_without_a_pause": ms(pct(without_gc, 0.99)),
    })
    return {
        "conversations": player.stats["conversations"],
        "turns": len(every),
        "turns_per_s": round(len(every) / (total / 1e9), 1),
        "p50_ms": ms(pct(every, 0.5)), "p90_ms": ms(pct(every, 0.9)),
        "p99_ms": ms(p99), "max_ms": ms(every[-1]), "mean_ms": ms(total / len(every)),
        "booking_retries": player.stats["booking_retries"],
        "by_kind": by_kind,
        "slowest": [{"ms": ms(r.ns), "gc_ms": ms(r.gc_ns), "kind": r.kind, "script": r.script,
                     "turn": r.index, "text": r.text, "at": f"{r.procedure}/{r.step}",
                     "service_calls": r.actions} for r in slowest],
        "gc": gc_report,
    }


# ---------------------------------------------------------------------------------------------
# The generated catalogue.

EN_NOUNS = """lantern bicycle kite parrot orchard fishing pottery bamboo ferry harbour market bakery
tailor garden rooftop signboard awning canopy kiosk hawker noodle teahouse temple festival dragon
lion drum banner mural fountain aquarium turtle goldfish pigeon kennel stable tram minibus taxi
trolley scooter barbecue camping hiking swimming rowing sailing karaoke mahjong chess billiards
bowling archery fencing tennis badminton football basketball cricket rugby theatre cinema gallery
museum library archive studio workshop laundry salon barber florist butcher grocer pharmacy
optician nursery hostel guesthouse restaurant canteen bistro brewery winery printing scaffold
crane elevator escalator generator antenna satellite drone radio telescope compass anchor
lighthouse pier jetty slipway wharf quarry furnace kiln forge loom sewing""".split()  # noqa: SIM905
ZH_NOUNS = """燈籠 單車 風箏 鸚鵡 果園 釣魚 陶瓷 竹棚 渡海 海港 街市 餅店 裁縫 花園 天台 招牌 簷篷 帳篷
報攤 小販 麵檔 茶樓 廟宇 節慶 舞龍 舞獅 鑼鼓 橫額 壁畫 噴泉 水族 烏龜 金魚 白鴿 狗舍 馬房 電車 小輪
的士 滑板 燒烤 露營 行山 游泳 划艇 帆船 麻雀 象棋 桌球 保齡 射箭 劍擊 網球 羽毛 足球 籃球 板球 欖球
劇場 戲院 畫廊 博物 圖書 檔案 影樓 工場 洗衣 髮型 理髮 花店 肉檔 雜貨 藥房 眼鏡 牙科 托兒 旅舍 賓館
酒樓 飯堂 餐廳 酒廠 印刷 棚架 吊機 升降 扶手 發電 天線 衛星 航拍 電台 望遠 指南 船錨 燈塔 碼頭 石礦
熔爐 窯爐 鐵匠 織布 縫紉""".split()  # noqa: SIM905
EN_TEMPLATES = (
    "permit for {a} {n}", "{a} licence {n}", "apply for {a} permit {n}", "renew {b} licence {n}",
    "{a} {b} registration {n}", "{a} subsidy {n}", "{b} allowance scheme {n}",
    "lost {a} certificate {n}", "{a} {b} form {n}", "{b} inspection {n}", "{a} exemption {n}",
    "replace {b} badge {n}", "{a} {b} enquiry {n}", "{b} quota {n}", "{a} fee waiver {n}",
    "{b} {a} appeal {n}",
)
ZH_TEMPLATES = (
    "{a}牌照{n}", "申請{a}許可證{n}", "續{b}牌照{n}", "{a}{b}登記{n}", "{a}資助{n}", "{b}津貼計劃{n}",
    "補領{a}證書{n}", "{a}{b}表格{n}", "{b}檢查{n}", "{a}豁免{n}", "補{b}徽章{n}", "{a}{b}查詢{n}",
    "{b}配額{n}", "{a}費用減免{n}", "{b}{a}上訴{n}", "{a}許可{n}",
)


def write_generated_prompts(dest: Path, total: int = GENERATED_PROCEDURES,
                            seed: int = SEED) -> dict:
    """shared.yaml, facts.yaml and the real procedures, plus ``total - 10`` procedures made from
    them (19 of each), each with its own id (= file name), title and synonyms."""
    procs = dest / "procedures"
    procs.mkdir(parents=True)
    for name in ("shared.yaml", "facts.yaml"):
        shutil.copy(PROMPTS_DIR / name, dest / name)
    real = sorted((PROMPTS_DIR / "procedures").glob("*.yaml"))
    for path in real:
        shutil.copy(path, procs / path.name)
    rng = random.Random(seed)
    templates = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in real]
    synonyms = 0
    for i in range(1, total - len(real) + 1):
        doc = json.loads(json.dumps(templates[(i - 1) % len(templates)], default=str))
        template_id = doc["id"]
        pid = f"gen_{i:03d}_{template_id}"
        a, b = rng.sample(EN_NOUNS, 2)
        za, zb = rng.sample(ZH_NOUNS, 2)
        doc["id"] = pid
        doc["title"] = f"{a.capitalize()} and {b} permit {i}"
        doc["summary"] = f"Generated for the benchmark from {template_id} ({i})."
        doc["synonyms"] = {"en": [t.format(a=a, b=b, n=i) for t in EN_TEMPLATES],
                           "zh-HK": [t.format(a=za, b=zb, n=i) for t in ZH_TEMPLATES]}
        doc["description"] = {"en": [f"I need the {a} and {b} permit number {i}."],
                              "zh-HK": [f"我想申請{za}{zb}許可證{i}。"]}
        synonyms += len(EN_TEMPLATES) + len(ZH_TEMPLATES)
        for step in doc["steps"].values():
            args = step.get("with")
            if isinstance(args, dict) and args.get("procedure") == template_id:
                args["procedure"] = pid
        (procs / f"{pid}.yaml").write_text(
            yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return {"generated_files": total - len(real), "generated_synonyms": synonyms}


# ---------------------------------------------------------------------------------------------
# Routing.

def bench_routing(catalogue, dev: list[dict], calls: int) -> dict:
    t0 = time.perf_counter_ns()
    router = router_for(catalogue)
    build_ns = time.perf_counter_ns() - t0
    texts = [row["text"] for row in dev]
    correct = in_scope = rejected = out_scope = 0
    scored = []
    for row in dev:                      # warm-up, and a sanity check of what routing decides
        result = router.route(row["text"])
        scored.append(len(result.ranked))
        if row["expect"] is None:
            out_scope += 1
            rejected += result.top is None
        else:
            in_scope += 1
            correct += result.top == row["expect"]
    perf = time.perf_counter_ns
    times = []
    with GcWatch() as gc_watch:
        for i in range(calls):
            text = texts[i % len(texts)]
            t = perf()
            router.route(text)
            times.append(perf() - t)
    times.sort()
    return {
        "procedures": len(catalogue.procedures), "router": router.kind,
        "phrases": len(getattr(router, "phrases", ())),
        "vocabulary": len(getattr(router, "vocabulary", None) or router.model.vocabulary),
        "calls": calls,
        "p50_ms": ms(pct(times, 0.5)), "p99_ms": ms(pct(times, 0.99)),
        "mean_ms": ms(sum(times) / len(times)), "max_ms": ms(times[-1]),
        "build_ms": ms(build_ns),
        "procedures_scored_per_request": {"mean": round(sum(scored) / len(scored), 1),
                                          "max": max(scored)},
        "dev_top1_start": round(correct / in_scope, 3) if in_scope else None,
        "dev_out_of_scope_rejected": round(rejected / out_scope, 3) if out_scope else None,
        "gc": gc_watch.report(),
    }


# ---------------------------------------------------------------------------------------------

def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite_library": sqlite3.sqlite_version,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "gc_thresholds": gc.get_threshold(),
    }
    try:
        import rapidfuzz
        import sqlalchemy
        info["packages"] = {"sqlalchemy": sqlalchemy.__version__,
                            "rapidfuzz": rapidfuzz.__version__, "pyyaml": yaml.__version__}
    except ImportError:
        pass
    return info


def filesystem_of(path: Path) -> str | None:
    """The file system type the database file lives on (best effort, Linux only)."""
    try:
        best, kind = "", None
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                mount = parts[1]
                if str(path).startswith(mount) and len(mount) > len(best):
                    best, kind = mount, parts[2]
        return kind
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (< 30 s)")
    parser.add_argument("--out", help="also write the JSON document to this file")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    began = time.perf_counter()
    dev = load_dev()
    doc: dict = {"machine": machine(), "mode": "quick" if args.quick else "default",
                 "seed": args.seed, "sizes": sizes}

    with tempfile.TemporaryDirectory(prefix="kaifong-bench-") as tmp:
        tmp = Path(tmp)
        # -- catalogues --------------------------------------------------------------------
        t0 = time.perf_counter_ns()
        gen_info = write_generated_prompts(tmp / "prompts", seed=args.seed)
        write_ns = time.perf_counter_ns() - t0
        catalogues, cat_doc = {}, {}
        for name, directory in (("real", None), ("generated", tmp / "prompts")):
            # cold: parsed, checked and written to a fresh cache; warm: read from it
            loads = []
            for _ in range(2):
                t0 = time.perf_counter_ns()
                catalogues[name] = load_catalogue(directory, cache_dir=tmp / "catalogue-cache")
                loads.append(time.perf_counter_ns() - t0)
            cat_doc[name] = {"procedures": len(catalogues[name].procedures),
                             "load_ms": ms(loads[0]), "warm_load_ms": ms(loads[1])}
        cat_doc["generated"].update(gen_info, write_ms=ms(write_ns))
        doc["catalogues"] = cat_doc
        log(f"catalogues: {cat_doc}")

        # -- routing (builds each router: first router_for) --------------------------------
        doc["routing"] = {}
        for name, cat in catalogues.items():
            doc["routing"][name] = bench_routing(cat, dev, sizes["routing"])
            r = doc["routing"][name]
            log(f"routing {name}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                f"build {r['build_ms']} ms")

        # -- every script on both catalogues, before any timing ----------------------------
        for name, cat in catalogues.items():
            check = [("book_appointment_en", 1)] * ACTIVE + [(s.name, n)
                                                             for n, s in enumerate(SCRIPTS)]
            Player(EngineTurns(cat), dev, f"check {name}", record=False).play(check)
        log("scripts: all walk as written on both catalogues")

        sequence = make_sequence(max(sizes["engine"], sizes["sqlite"]), args.seed)
        warmup = make_sequence(sizes["warmup"], args.seed + 1)

        # -- engine alone ------------------------------------------------------------------
        players = {}
        for name, cat in catalogues.items():
            Player(EngineTurns(cat), dev, f"engine {name} warm-up", record=False).play(warmup)
            players[name] = Player(EngineTurns(cat), dev, f"engine {name}")
        alternate(players, sequence[:sizes["engine"]], "engine")
        doc["engine"] = {}
        for name, player in players.items():
            doc["engine"][name] = summarise(player)
            doc["engine"][name]["service_calls"] = dict(sorted(
                player.runner.services.calls.items()))
        workload_stats = players["real"].stats

        # -- engine + SQLite commit --------------------------------------------------------
        days = 30 + sizes["sqlite"] // 20     # plenty of free appointment times
        players = {}
        try:
            for name, cat in catalogues.items():
                directory = tmp / f"db_{name}"
                directory.mkdir()
                runner = SqliteTurns(cat, directory, days)
                players[name] = Player(runner, dev, f"sqlite {name}")
                if name == "real":
                    doc["machine"]["sqlite"] = runner.pragmas()
                    doc["machine"]["database_dir_filesystem"] = filesystem_of(directory)
                Player(runner, dev, f"sqlite {name} warm-up", record=False,
                       address_prefix="+8525").play(warmup)
                runner.calls.clear()
            alternate(players, sequence[:sizes["sqlite"]], "engine_sqlite")
            doc["engine_sqlite"] = {}
            for name, player in players.items():
                result = summarise(player)
                result["service_calls"] = dict(sorted(player.runner.calls.items()))
                directory = tmp / f"db_{name}"
                result["database_mb"] = round(sum(
                    f.stat().st_size for f in directory.iterdir()) / 1e6, 2)
                doc["engine_sqlite"][name] = result
        finally:
            for player in players.values():
                player.runner.close()

    # -- the workload, as the engine phase with the real catalogue played it ---------------
    stats = workload_stats
    turns = stats["turns"]
    doc["workload"] = {
        "scripts": {s.name: {"weight": s.weight, "locale": s.locale, "turns": len(s.turns) + 1,
                             "first": s.turns[0]} for s in SCRIPTS},
        "conversations_engine": sizes["engine"], "conversations_sqlite": sizes["sqlite"],
        "open_at_once": ACTIVE,
        "played_by_script": {k.split(":", 1)[1]: v for k, v in sorted(stats.items())
                             if k.startswith("script:")},
        "turns": turns,
        "turn_kinds": {k.split(":", 1)[1]: {"turns": v, "share": round(v / turns, 3)}
                       for k, v in sorted(stats.items()) if k.startswith("kind:")},
        "reply_locales": {k.split(":", 1)[1]: round(v / turns, 3)
                          for k, v in sorted(stats.items()) if k.startswith("locale:")},
        "notes": "one turn = a message in (or a session start) and the whole reply out, "
                 "including the service calls it triggers; engine phase: fake services in "
                 "memory, today fixed at 2026-11-25; sqlite phase: real services, SQLite file "
                 "in a temporary directory, appointment slots seeded",
    }
    doc["ratios"] = {
        "engine_p50_generated_over_real": _ratio(doc["engine"], "p50_ms"),
        "engine_p99_generated_over_real": _ratio(doc["engine"], "p99_ms"),
        "sqlite_p50_generated_over_real": _ratio(doc["engine_sqlite"], "p50_ms"),
        "sqlite_p99_generated_over_real": _ratio(doc["engine_sqlite"], "p99_ms"),
        "sqlite_over_engine_p50_real": round(doc["engine_sqlite"]["real"]["p50_ms"]
                                             / doc["engine"]["real"]["p50_ms"], 1),
        "routing_p50_generated_over_real": _ratio(doc["routing"], "p50_ms"),
    }
    doc["elapsed_s"] = round(time.perf_counter() - began, 1)
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    log(f"done in {doc['elapsed_s']} s")
    return 0


def alternate(players: dict, sequence: list, label: str) -> None:
    """The catalogues take turns, CHUNK conversations at a time, the first one alternating, so
    that a drift of the machine (caches, clock, the disk) weighs on both alike."""
    chunks = [sequence[i:i + CHUNK] for i in range(0, len(sequence), CHUNK)]
    names = list(players)
    gc.collect()       # once: later collections fall where they fall, and are reported
    for n, chunk in enumerate(chunks):
        for name in (names if n % 2 == 0 else names[::-1]):
            players[name].play(chunk)
        log(f"{label}: {min(len(sequence), (n + 1) * CHUNK)}/{len(sequence)} conversations")
    for name, player in players.items():
        every = sorted(r.ns for r in player.records)
        log(f"{label} {name}: {len(every)} turns, p50 {ms(pct(every, 0.5))} ms, "
            f"p99 {ms(pct(every, 0.99))} ms, max {ms(every[-1])} ms")


def _ratio(section: dict, key: str) -> float | None:
    real, gen = section["real"].get(key), section["generated"].get(key)
    return round(gen / real, 2) if real and gen else None


if __name__ == "__main__":
    sys.exit(main())
