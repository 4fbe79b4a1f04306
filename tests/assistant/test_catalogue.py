"""The shipped catalogue loads clean, every procedure can be walked to its end in both languages,
and a broken file fails at load with the file, the step and the problem."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from assistant import load_catalogue
from assistant.catalogue import PROMPTS_DIR, missing_translations, parse_condition
from assistant.engine import advance
from assistant.errors import CatalogueError
from assistant.model import ActionResult, Choose, Text, new_state
from tests.conftest import SLOTS, TODAY, Flow

CATALOGUE_IDS = {
    "senior_citizen_card", "elderly_health_voucher", "old_age_allowance",
    "old_age_living_allowance", "transport_fare_concession", "hkid_replacement",
    "public_housing_status", "book_appointment", "report_problem", "elderly_vaccination",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_catalogue_has_exactly_the_ten_procedures(catalogue):
    assert set(catalogue.procedures) == CATALOGUE_IDS


def test_every_text_is_translated(catalogue):
    assert missing_translations(catalogue) == []


def test_facts_name_their_department_and_review_date(catalogue):
    assert catalogue.facts_info["reviewed_on"] is not None
    assert set(catalogue.facts) == set(catalogue.facts_info["departments"])


# -- walking every path of every procedure ----------------------------------------------------

def answers(catalogue, proc, step, pending):
    """Every answer worth trying here: each option, yes and no, numbers either side of each fact
    the procedure's conditions compare with, and one valid value of the other kinds."""
    if pending in ("consent", "confirm"):
        return ["1", "2"]
    if step.kind in ("info", "review"):
        return ["1"]
    if step.type in ("choice", "appointment"):
        count = len(step.options) if step.type == "choice" else len(SLOTS["slots"])
        return [str(i + 1) for i in range(count)]
    if step.type == "yes_no":
        return ["1", "2"]
    if step.type == "number":
        facts = {f for s in proc.steps.values() for cond, _ in s.cases for f in cond.facts()}
        values = {step.min or 0, step.max or 120}
        values |= {catalogue.facts[f] + d for f in facts for d in (-1, 1)}
        lo, hi = step.min or 0, step.max if step.max is not None else 10**9
        return [str(int(v)) for v in sorted(values) if lo <= v <= hi]
    return [{"date": "tomorrow", "hkid": "A123456(3)", "phone": "9123 4567",
             "text": "KF0000010"}[step.type]]


RESULTS = {
    "find_slots": SLOTS,
    "book_slot": {"reference": "KF0000010", "starts_at": SLOTS["slots"][0]["starts_at"],
                  "office": "sham_shui_po"},
    "find_booking": {"reference": "KF0000010", "starts_at": SLOTS["slots"][0]["starts_at"],
                     "office": "kwun_tong", "status": "booked"},
    "cancel_booking": {"reference": "KF0000010"},
    "file_report": {"reference": "KF0000028"},
    "issue_reference": {"reference": "KF0000036"},
}


def settle(catalogue, state, reply):
    """Every way the services a reply asks for can answer: each succeeds, or fails."""
    if reply.action is None:
        return [(state, reply)]
    outcomes = [True] if reply.action.service == "issue_reference" else [True, False]
    out = []
    for ok in outcomes:
        result = ActionResult(ok, RESULTS[reply.action.service] if ok else {"error": "test"})
        s2, r2 = advance(catalogue, state, result, TODAY)
        out += settle(catalogue, s2, r2)
    return out


def explore(catalogue, pid, locale, limit=20000):
    """Depth-first over every answer at every step; returns steps met, ends and turns taken."""
    proc = catalogue.procedures[pid]
    state, reply = advance(catalogue, new_state(locale), Choose(pid), TODAY)
    todo = settle(catalogue, state, reply)
    met, ends, seen, turns = set(), [], set(), 0
    while todo:
        state, reply = todo.pop()
        if locale == "zh-HK":
            assert all(CJK.search(t) for t in reply.parts), (pid, reply.step, reply.parts)
        met |= set(state["history"]) | {state["step"]}
        if reply.ended or reply.handed_off:
            ends.append(reply)
            continue
        if state["procedure"] is None:          # declined the collection statement: the menu
            assert "person" in [o.value for o in reply.options]
            continue
        key = json.dumps({k: v for k, v in state.items() if k != "turns"}, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        step = proc.steps[state["step"]]
        for answer in answers(catalogue, proc, step, (state["pending"] or {}).get("kind")):
            turns += 1
            assert turns < limit, f"{pid}: more than {limit} turns to explore"
            s2, r2 = advance(catalogue, state, Text(answer), TODAY)
            assert "reprompt" not in r2.tags, (pid, step.id, answer, r2.text)
            todo += settle(catalogue, s2, r2)
    return met, ends


@pytest.mark.parametrize("locale", ["en", "zh-HK"])
@pytest.mark.parametrize("pid", sorted(CATALOGUE_IDS))
def test_every_path_of_every_procedure_reaches_an_end_in_both_languages(catalogue, pid, locale):
    proc = catalogue.procedures[pid]
    met, ends = explore(catalogue, pid, locale)
    # steps a conversation never rests at: they pass straight on
    passing = {s.id for s in proc.steps.values() if s.kind in ("branch", "action", "end",
                                                                "handoff")
               or (s.kind == "info" and not s.wait)}
    assert set(proc.steps) - passing - met == set()
    finished = [r for r in ends if r.ended]
    assert finished, f"{pid}: no path ends with a summary"
    # a reference only where something was booked, reported or found, and then in the reply
    assert all(r.reference in r.text for r in finished if r.reference)
    submits = any(s.kind == "action" and s.service in ("book_slot", "file_report")
                  for s in proc.steps.values())
    assert any(r.reference for r in finished) == submits or pid == "book_appointment"
    assert all(r.next_steps or r.summary for r in finished)
    assert any(r.handed_off for r in ends), f"{pid}: no path reaches a person"


def test_a_procedure_can_be_finished_by_typing_only_in_chinese(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    reply = flow.say("我想申請長者咭")
    assert reply.procedure == "senior_citizen_card"
    assert CJK.search(reply.text)


# -- validation names the file, the step and the problem ------------------------------------

@pytest.fixture
def broken(tmp_path):
    """A copy of the real prompts, to break one thing at a time."""
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)

    def edit(pid, change):
        path = root / "procedures" / f"{pid}.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        return root

    return edit


def problems_of(root):
    with pytest.raises(CatalogueError) as info:
        load_catalogue(root)
    return info.value.problems


def test_a_dangling_step_is_named(broken):
    root = broken("hkid_replacement", lambda d: d["steps"]["ask_hkid"].update(next="nowhere"))
    assert ("hkid_replacement.yaml", "ask_hkid",
            "leads to a step that does not exist: 'nowhere'") in problems_of(root)


def test_an_unreachable_step_is_named(broken):
    root = broken("hkid_replacement", lambda d: d["steps"].update(
        orphan={"kind": "info", "say": "Hello", "next": "done"}))
    assert ("hkid_replacement.yaml", "orphan", "unreachable: no step leads here") in \
        problems_of(root)


def test_a_bad_condition_is_named(broken):
    def change(doc):
        doc["steps"]["branch_x"] = {"kind": "branch", "cases": [{"when": "age >>> 3",
                                                                 "next": "done"}],
                                    "otherwise": "done"}
        doc["steps"]["intro"]["next"] = "branch_x"
    problems = problems_of(broken("hkid_replacement", change))
    assert any(f == "hkid_replacement.yaml" and s == "branch_x" and "cannot read" in p
               for f, s, p in problems)


def test_unknown_keys_types_and_too_many_options_are_named(broken):
    def change(doc):
        step = doc["steps"]["what_happened"]
        step["colour"] = "red"
        step["options"] += [{"value": f"x{i}", "label": f"X{i}"} for i in range(3)]
        doc["steps"]["ask_phone"]["type"] = "telephone"
    problems = problems_of(broken("hkid_replacement", change))
    texts = {(s, p) for _, s, p in problems}
    assert ("what_happened", "unknown key 'colour' for a question step") in texts
    assert ("what_happened", "a choice question needs 2 to 5 options") in texts
    assert any(s == "ask_phone" and p.startswith("type must be one of") for s, p in texts)


def test_a_placeholder_that_is_neither_slot_nor_fact_is_named(broken):
    root = broken("hkid_replacement", lambda d: d["steps"]["intro"].update(say="Fee {no_such}"))
    assert ("hkid_replacement.yaml", "intro",
            "text uses {no_such}, which is neither a slot nor a fact") in problems_of(root)


def test_invalid_yaml_is_named_with_its_line(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    (root / "procedures" / "report_problem.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    problems = problems_of(root)
    assert any(f == "report_problem.yaml" and p.startswith("not valid YAML") for f, _, p in problems)


def test_a_missing_translation_is_named(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    path = root / "procedures" / "hkid_replacement.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "Which time suits you?", "Which time suits you best?"), encoding="utf-8")
    cat = load_catalogue(root)
    assert ("hkid_replacement.yaml", "choose_time",
            "no zh-HK translation for 'Which time suits you best?'") in missing_translations(cat)


@pytest.mark.parametrize("text,slots,expected", [
    ("age >= 65", {"age": 70}, True),
    ("age >= 65", {"age": 64}, False),
    ("age >= senior_card_min_age and lives_alone == yes", {"age": 70, "lives_alone": True}, True),
    ("age < 10 or purpose == replace", {"age": 70, "purpose": "replace"}, True),
    ("purpose != 'new'", {"purpose": "new"}, False),
    ("phone is set", {}, False),
    ("phone is not set", {}, True),
    ("age >= 65", {}, False),
])
def test_conditions(catalogue, text, slots, expected):
    assert parse_condition(text, catalogue.facts).holds(slots, catalogue.facts) is expected


@pytest.mark.parametrize("text", ["", "age", "age >= ", "age => 3", "__import__('os') == 1"])
def test_conditions_that_cannot_be_read(catalogue, text):
    with pytest.raises(ValueError):
        parse_condition(text, catalogue.facts)
