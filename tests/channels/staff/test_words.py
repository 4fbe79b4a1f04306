"""The console's words instead of codes (``channels.staff.words``), on the real catalogue: Hong
Kong time in the staff member's language, waiting times, hand-off reasons, slot values, choices,
kiosk touches and the transcript's system lines, in English and Chinese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistant.catalogue import missing_translations
from channels.staff.console import REASONS
from channels.staff.words import Words, hong_kong


@pytest.fixture
def en(catalogue):
    return Words(catalogue, "en")


@pytest.fixture
def zh(catalogue):
    return Words(catalogue, "zh-HK")


# 16:15 UTC on 26 November is 00:15 on 27 November in Hong Kong
LATE = datetime(2026, 11, 26, 16, 15, tzinfo=UTC)


def test_times_are_hong_kong_time_in_the_staff_members_language(en, zh):
    assert hong_kong(LATE).isoformat() == "2026-11-27T00:15:00+08:00"
    assert en.when(LATE, "time") == zh.when(LATE, "time") == "00:15"
    assert en.when(LATE) == "Friday 27 November 2026 00:15"
    assert zh.when(LATE) == "11月27日（星期五）00:15"
    assert en.when(LATE, "full") == "27 Nov 2026 00:15:00"
    assert zh.when(LATE, "full") == "2026年11月27日 00:15:00"
    # a naive time from the database is UTC
    assert en.when(LATE.replace(tzinfo=None), "time") == "00:15"


def test_waiting_times_are_translated(en, zh):
    since = LATE - timedelta(minutes=70)
    assert en.waited(since, LATE) == "1 h 10 min"
    assert zh.waited(since, LATE) == "1 小時 10 分鐘"
    assert zh.waited(LATE - timedelta(minutes=10), LATE) == "10 分鐘"
    assert zh.waited(None) == "-"


def test_every_hand_off_of_every_procedure_has_words_for_staff_in_both_languages(catalogue, en,
                                                                                 zh):
    handoffs = [(pid, s) for pid, p in catalogue.procedures.items() for s in p.steps.values()
                if s.kind == "handoff"]
    assert len(handoffs) >= 10
    for pid, step in handoffs:
        assert step.reason_label, f"{pid}: {step.id} has no reason_label"
        said = zh.reason(step.reason, pid, REASONS)
        assert said != step.reason.replace("_", " ") and not any(c.isascii() and c.isalpha()
                                                                 for c in said.replace(
                                                                     "JoyYou", "")), said
    assert en.reason("danger_now", "report_problem", REASONS) == "Danger now: contact them first"
    assert zh.reason("housing_callback", None, REASONS) == "就公屋申請回電"
    assert zh.reason("asked", None, REASONS) == zh.t(REASONS["asked"])
    assert en.reason("something_new", None, REASONS) == "something new"


def test_a_reason_label_without_translation_fails_validation(catalogue):
    assert not [p for p in missing_translations(catalogue) if "Danger now" in p[2]]
    t = catalogue.translations["zh-HK"]
    saved = t._catalog.pop("Danger now: contact them first")
    try:
        assert [p for p in missing_translations(catalogue) if "Danger now" in p[2]]
    finally:
        t._catalog["Danger now: contact them first"] = saved


def test_slot_values_are_words(en, zh):
    assert en.slot_value("report_problem", "danger", True) == "Yes"
    assert zh.slot_value("report_problem", "danger", False) != "False" and \
        zh.slot_value("report_problem", "danger", False) == zh.t("No")
    assert zh.slot_value("report_problem", "danger", True) != "True"
    assert en.slot_value("old_age_living_allowance", "other_benefit", "cssa") == "CSSA"
    assert zh.slot_value("old_age_living_allowance", "other_benefit", "cssa") == \
        zh.t("CSSA") != "CSSA"
    assert en.slot_value("old_age_living_allowance", "other_benefit", "not_sure") == "Not sure"
    # what the citizen wrote, and a masked number, stay as they are
    assert zh.slot_value("report_problem", "location", "Nam Cheong St") == "Nam Cheong St"
    assert en.slot_value(None, "phone", "******67") == "******67"


def test_choices_and_kiosk_touches_are_what_the_visitor_pressed(en, zh, catalogue):
    assert en.line("user", "[next]", {}, "hkid_replacement") == "Chose: Next"
    assert en.line("user", "[hkid_replacement]", {}, None) == "Chose: Replace an identity card"
    assert zh.line("user", "[hkid_replacement]", {}, None) == \
        f"選擇：{zh.t(catalogue.procedures['hkid_replacement'].title)}"
    touch = {"touch": "choose:cssa", "procedure": "old_age_living_allowance",
             "step": "other_benefit"}
    assert en.line("user", "[cssa]", touch, None) == "Pressed: CSSA"
    assert en.line("user", "*", {"touch": "back"}, None) == "Pressed: Back"
    # the staff button sends the command word: staff see a press, not the citizen typing 真人
    assert en.line("user", "真人", {"touch": "person"}, None) == "Pressed the staff button"
    assert zh.line("user", "真人", {"touch": "person"}, None) == "按了職員按鈕"
    # an option the catalogue has no words for: the button's own words
    slot = {"touch": "choose:slot-42", "shown": "Tuesday 1 December, 10:30 am"}
    assert en.line("user", "[slot-42]", slot, None) == "Pressed: Tuesday 1 December, 10:30 am"
    # what a citizen typed is theirs, brackets or not
    assert en.line("user", "真人", {}, None) == "真人"
    assert en.line("user", "I need [help]", {}, None) == "I need [help]"


def test_system_lines_are_translated(en, zh):
    assert en.line("system", "(session start)", {}, None) == "(the conversation started)"
    assert zh.line("system", "(session start)", {}, None) == "（對話開始）"
    assert zh.line("staff", "(handed back to the assistant)", {}, None) == "（交回助手）"
    assert zh.language("en") == "英文" and en.language("zh-HK") == "Chinese"


def test_steps_are_words(en, zh, catalogue):
    question = catalogue.procedures["report_problem"].questions["danger"]
    assert en.step("report_problem", question.id) == question.label
    assert zh.step("report_problem", question.id) == zh.t(question.label) != question.label
    handoff = next(s for s in catalogue.procedures["report_problem"].steps.values()
                   if s.kind == "handoff" and s.reason == "danger_now")
    assert en.step("report_problem", handoff.id) == "Danger now: contact them first"
    assert en.step("report_problem", "no_such_step") is None
    assert en.step(None, question.id) is None
