"""The engine takes answers as people give them (issue 12), walked through real procedures:
echo answers, polite refusals that are answers and not STOP, 冇 as 0, 萬五, rough numbers read
back, offices chosen by place, a person asked for in any words at any step."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest

from assistant.engine import understand_answer
from tests.conftest import Flow


def test_an_oala_pre_check_answered_as_people_speak(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    assert flow.say("長生津").procedure == "old_age_living_allowance"
    assert flow.say("1").step == "ask_age"
    assert flow.say("七十八歲").step == "ask_residence"
    assert flow.say("係").step == "ask_benefit"
    reply = flow.say("冇")                                   # neither payment
    assert reply.step == "ask_marital" and flow.state["pending"] == {"kind": "consent"}
    assert flow.say("好").step == "ask_marital"
    assert flow.say("老公過咗身").step == "ask_income"        # widowed: not married
    assert flow.say("冇").step == "ask_assets"                # no income: 0
    reply = flow.say("萬五")                                  # 15,000
    assert reply.step == "eligible_single"
    assert flow.state["slots"] | {} == {
        "age": 78, "hk_residence": True, "other_benefit": "none", "marital": "single",
        "income": 0, "assets": 15000}
    assert flow.say("1", "1", "1").step == "ask_questions"
    reply = flow.say("唔使喇，唔該")                          # a polite no: the answer, not STOP
    assert reply.ended and not reply.closed
    assert flow.state["status"] == "bot" and flow.state["pending"] == {"kind": "ended"}
    assert "積蓄及資產（港元）：15000" in reply.text and "每月入息（港元）：0" in reply.text


@pytest.mark.parametrize(("locale", "said", "read_back"), [
    ("zh-HK", "七十幾歲", "你話大約70。係咪70？"), ("en", "about 70", "You said about 70. Is 70 right?"),
    ("en", "nearly 70", "You said about 70. Is 70 right?"),
])
def test_a_rough_age_is_read_back_never_kept(catalogue, locale, said, read_back):
    flow = Flow(catalogue, locale=locale)
    flow.say("長生津" if locale == "zh-HK" else "old age living allowance", "1")
    reply = flow.say(said)
    assert reply.step == "ask_age" and reply.prompt.startswith(read_back)
    assert "age" not in flow.state["slots"]
    reply = flow.say("78" if locale == "en" else "七十八")    # the exact number instead of yes
    assert reply.step == "ask_residence" and flow.state["slots"]["age"] == 78


def test_a_rough_answer_confirmed_is_kept(catalogue):
    flow = Flow(catalogue)
    flow.say("old age living allowance", "1", "about 70")
    assert flow.say("yes").step == "ask_residence"
    assert flow.state["slots"]["age"] == 70


@pytest.mark.parametrize("said", ["5k", "$5,000", "5 thousand"])
def test_income_in_thousands(catalogue, said):
    flow = Flow(catalogue)
    flow.say("old age living allowance", "1", "78", "yes", "neither", "yes", "single")
    assert flow.say(said).step == "ask_assets" and flow.state["slots"]["income"] == 5000


@pytest.mark.parametrize("said", ["我想搵真人", "我要搵職員", "我想同人講", "想人幫手", "轉接",
                                  "operator", "a real person", "can I speak to someone"])
def test_a_person_asked_for_in_the_first_message(catalogue, said):
    flow = Flow(catalogue)
    reply = flow.say(said)
    assert reply.handed_off and flow.state["status"] == "waiting"
    assert flow.state["escalation"]["reason"] == "asked"


def test_a_person_asked_for_inside_a_procedure(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    flow.say("長生津", "1", "七十八歲")
    reply = flow.say("我唔識答，想同人講")
    assert reply.handed_off and flow.state["escalation"]["summary"]["step"] == "ask_residence"


def test_distress_stays_first(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    reply = flow.say("救命呀，我想搵真人")
    assert reply.emergency and flow.state["escalation"]["reason"] == "distress"


def test_people_mentioned_are_not_a_request_for_one(catalogue):
    flow = Flow(catalogue)
    reply = flow.say("my husband lost his id card")
    assert not reply.handed_off and flow.state["status"] == "bot"


def test_an_office_chosen_by_place(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    assert flow.say("預約", "1").step == "ask_office"
    reply = flow.say("屯門")                                  # no office offered there
    assert reply.step == "ask_office" and "屯門" in reply.text
    assert "reprompt" in reply.tags
    flow.say("我住藍田")
    assert flow.state["slots"]["office"] == "kwun_tong"


def test_understand_answer_reads_a_real_step_as_the_engine_does(catalogue):
    assert understand_answer(catalogue, "yes_no", "唔使喇，唔該", "zh-HK",
                             procedure="old_age_living_allowance", step="ask_questions") is False
    assert understand_answer(catalogue, "yes_no", "冇問題", "zh-HK",
                             procedure="old_age_living_allowance", step="ask_questions") is False
    assert understand_answer(catalogue, "choice", "my wife passed away", "en",
                             procedure="old_age_living_allowance", step="ask_marital") == 0
    assert understand_answer(catalogue, "choice", "大圍", "zh-HK",
                             procedure="book_appointment", step="ask_office") == 3
    assert understand_answer(catalogue, "number", "七十幾歲", "zh-HK", context="age") is None
    assert understand_answer(catalogue, "number", "born in 1950", "en", context="age") is None
    assert understand_answer(catalogue, "choice", "the second one", "en",
                             choices=["Yes", "No"]) == 1
    assert understand_answer(catalogue, "yes_no", "I want a real person", "en") is None


@pytest.mark.parametrize(("locale", "said", "heard"), [
    ("en", "70 or 80", "Please give just one answer."), ("zh-HK", "七十定八十", "請只俾一個答案。")])
def test_two_answers_are_asked_again_saying_why(catalogue, locale, said, heard):
    flow = Flow(catalogue, locale=locale)
    flow.say("長生津" if locale == "zh-HK" else "old age living allowance", "1")
    reply = flow.say(said)
    assert reply.step == "ask_age" and heard in reply.text and "age" not in flow.state["slots"]


def test_a_person_that_is_one_of_the_answers_follows_the_procedure(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    assert flow.say("醫療券").step == "ask_topic"
    reply = flow.say("同職員講")                       # the question's own "talk to a person"
    assert reply.handed_off and flow.state["escalation"]["reason"] == "voucher_question"


def test_a_stop_word_that_answers_the_question_is_the_answer(catalogue):
    flow = Flow(catalogue)
    flow.say("old age living allowance", "1", "78", "yes")
    assert flow.last.step == "ask_benefit"
    reply = flow.say("no more")                  # "do you get either of these now?" "no more"
    assert not reply.closed and flow.state["slots"]["other_benefit"] == "none"


def _at_age(catalogue) -> Flow:
    flow = Flow(catalogue, locale="zh-HK")
    flow.say("長生津")
    assert flow.say("1").step == "ask_age"
    return flow


def test_a_polite_no_to_a_question_that_is_not_yes_no_asks_before_closing(catalogue):
    flow = _at_age(catalogue)
    reply = flow.say("唔使喇，唔該")
    assert not reply.closed and flow.state["pending"] == {"kind": "want_stop"}
    assert reply.prompt == "你係咪想停喺度？唔係嘅話，請答返條問題。"
    reply = flow.say("唔係")                                 # not stopping: the question again
    assert not reply.closed and flow.state["pending"] is None and reply.step == "ask_age"
    assert flow.say("七十八歲").step == "ask_residence"       # and it is answered
    flow = _at_age(catalogue)
    flow.say("唔使喇，唔該")
    assert flow.say("係").closed                             # yes, stop
    flow = _at_age(catalogue)
    flow.say("唔使喇，唔該")
    assert flow.say("七十八").step == "ask_residence"         # the answer instead of yes or no
    flow = _at_age(catalogue)
    assert flow.say("停止").closed                           # an explicit STOP still closes


def test_help_me_inside_a_yes_no_answer_is_the_answer(catalogue):
    assert understand_answer(catalogue, "yes_no", "yes yes please help me", "en",
                             procedure="book_appointment", step="not_found") is True
    assert understand_answer(catalogue, "yes_no", "救命", "zh-HK",
                             procedure="book_appointment", step="not_found") is None


def test_a_date_named_at_the_appointment_step_is_read_as_an_appointment_date(catalogue):
    today = date(2026, 12, 5)
    read = partial(understand_answer, catalogue, "date", procedure="book_appointment",
                   step="choose_time", today=today)
    assert read("tomorrow") == "2026-12-06"
    assert read("jan 5") == "2027-01-05"                     # an appointment is not in the past
    assert read("3/1/27") == "2027-01-03"
    assert read("星期一", "zh-HK") == "2026-12-07"
    assert read("tomorrow or the day after") is None
    # the context key is the contract: a birth date asked with the same words is in the past
    assert understand_answer(catalogue, "date", "15/3/50", "en", context="birth_date",
                             today=today) == "1950-03-15"


@pytest.mark.parametrize(("text", "locale"), [
    ("half here half there", "en"), ("一半喺香港一半喺深圳", "zh-HK"),
    ("sometimes hong kong sometimes shenzhen", "en")])
def test_an_answer_split_between_two_options_is_asked_again(catalogue, text, locale):
    assert understand_answer(catalogue, "choice", text, locale, procedure="old_age_allowance",
                             step="ask_where_live") is None
