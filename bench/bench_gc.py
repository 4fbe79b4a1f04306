"""Garbage-collector pauses in the turns, with and without the start-up heap frozen.

A server process keeps its catalogue, router, templates and SQLAlchemy's compiled statements for
as long as it lives; ``create_app`` ends with ``freeze_long_lived()`` (``gc.collect()`` then
``gc.freeze()``), so that a full collection no longer walks them inside a citizen's turn. This
measures what that changes, in one process and one run: bench_core's scripted conversations
through ``Assistant.turn`` on a SQLite file (``engine_sqlite``), with the generated catalogue of
200 procedures (``--catalogue real`` for the 10 shipped ones), played ``--chunk`` conversations
at a time in each mode in turn, the first mode alternating:

  * as_is:  the collector as Python sets it up (``gc.unfreeze()`` before the chunk: everything
            back in the oldest generation, as in a process that never froze);
  * frozen: ``freeze_long_lived()`` before the chunk, as ``create_app`` does.

Per mode: the turns' p50/p99/max, the collections by generation and their pause time (timed
with ``gc.callbacks``), how many turns at or over p99 contained a pause, p99 of the turns
without one, and the slowest turns with their pause. ``gc_thresholds`` are Python's own.
``freeze``: how many objects the freeze takes out, how long it takes, and what one full
collection (``gc.collect()``, median of 7, wall and this thread's CPU time) costs in each
mode: the pause a turn meets when it happens to trigger one.

    .venv/bin/python bench/bench_gc.py [--conversations 600] [--chunk 50]
        [--catalogue generated|real] [--out FILE]

Prints one JSON document on stdout; progress on stderr. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant import load_catalogue, router_for  # noqa: E402
from bench.bench_core import (  # noqa: E402
    SEED,
    Player,
    SqliteTurns,
    load_dev,
    log,
    machine,
    make_sequence,
    summarise,
    write_generated_prompts,
)
from channels.app import freeze_long_lived  # noqa: E402

MODES = ("as_is", "frozen")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=600, help="per mode")
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--catalogue", choices=("generated", "real"), default="generated")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    dev = load_dev()
    doc: dict = {"machine": machine(), "setup": {
        "conversations_per_mode": args.conversations, "chunk": args.chunk,
        "catalogue": args.catalogue, "seed": args.seed, "workload": "bench_core engine_sqlite"}}
    with tempfile.TemporaryDirectory(prefix="kaifong-gc-") as tmp:
        tmp = Path(tmp)
        directory = None
        if args.catalogue == "generated":
            write_generated_prompts(tmp / "prompts", seed=args.seed)
            directory = tmp / "prompts"
        catalogue = load_catalogue(directory)
        router_for(catalogue)
        doc["setup"]["procedures"] = len(catalogue.procedures)
        (tmp / "db").mkdir()
        runner = SqliteTurns(catalogue, tmp / "db", days=30 + 2 * args.conversations // 20)
        try:
            Player(runner, dev, "warm-up", record=False, address_prefix="+8525").play(
                make_sequence(40, args.seed + 1))
            players = {mode: Player(runner, dev, mode, address_prefix=prefix)
                       for mode, prefix in zip(MODES, ("+8526", "+8527"), strict=True)}
            sequence = make_sequence(args.conversations, args.seed)
            chunks = [sequence[i:i + args.chunk] for i in range(0, len(sequence), args.chunk)]
            freezes = []
            for n, chunk in enumerate(chunks):
                for mode in (MODES if n % 2 == 0 else MODES[::-1]):
                    if mode == "frozen":
                        t0 = time.perf_counter()
                        freeze_long_lived()
                        freezes.append(time.perf_counter() - t0)
                    else:
                        gc.unfreeze()
                    players[mode].play(chunk)
                log(f"{min(len(sequence), (n + 1) * args.chunk)}/{len(sequence)} "
                    f"conversations per mode")
            # what one full collection costs, the pause a turn meets when it triggers one
            full = {}
            for mode in MODES:
                gc.unfreeze()
                if mode == "frozen":
                    freeze_long_lived()
                walls, cpus = [], []
                for _ in range(7):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    gc.collect()
                    walls.append(time.perf_counter() - t0)
                    cpus.append(time.thread_time() - c0)
                full[mode] = {"wall_ms": round(sorted(walls)[3] * 1000, 2),
                              "cpu_ms": round(sorted(cpus)[3] * 1000, 2)}
            frozen_objects = gc.get_freeze_count()
            tracked = len(gc.get_objects())
            gc.unfreeze()
        finally:
            runner.close()
    doc["freeze"] = {"objects_frozen": frozen_objects, "objects_tracked_after": tracked,
                     "freeze_ms_median": round(sorted(freezes)[len(freezes) // 2] * 1000, 1),
                     "full_collection_ms_median_of_7": full}
    keep = ("turns", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "gc", "slowest")
    doc["modes"] = {}
    for mode, player in players.items():
        result = summarise(player)
        doc["modes"][mode] = {key: result[key] for key in keep}
        for turn in doc["modes"][mode]["slowest"]:
            turn.pop("text", None)
        g = result["gc"]
        log(f"{mode}: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max "
            f"{result['max_ms']} ms; {g['of_which_with_a_pause']} of {g['turns_at_or_over_p99']}"
            f" turns >= p99 with a pause; pauses {g['pause_ms_total']} ms, gen2 "
            f"{g['collections']['gen2']} ({g['pause_ms_by_gen']['gen2']} ms)")
    as_is, frozen = doc["modes"]["as_is"], doc["modes"]["frozen"]
    doc["ratio_frozen_over_as_is"] = {
        key: round(frozen[key] / as_is[key], 3) for key in ("p50_ms", "p99_ms", "max_ms")}
    doc["ratio_frozen_over_as_is"]["gc_pause_total"] = round(
        frozen["gc"]["pause_ms_total"] / as_is["gc"]["pause_ms_total"], 3) \
        if as_is["gc"]["pause_ms_total"] else None
    doc["elapsed_s"] = round(time.perf_counter() - began, 1)
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
