"""The pure engine, turn by turn, on a test procedure with every step kind."""

from __future__ import annotations

import copy

import pytest

from assistant.engine import MISSES_HAND_OFF, advance, mask_hkid
from assistant.model import ActionResult, Choose, Digits, HandBack, NoInput, Start, Text, new_state
from tests.conftest import TODAY, Flow, fake_services


def walk_to(flow: Flow, *turns: str):
    return flow.say(*turns)


@pytest.fixture
def flow(mini_catalogue):
    return Flow(mini_catalogue)


def test_greeting_offers_the_menu_and_a_person(flow):
    reply = flow.last
    assert "Kaifong" in reply.parts[0]
    assert reply.prompt.startswith("What do you need help with?")
    assert [(o.key, o.value) for o in reply.options] == [("1", "group:0"), ("2", "group:1"),
                                                         ("0", "person")]
    assert reply.expect.kind == "choice"
    assert "0" in reply.expect.digits and "*" in reply.expect.digits


def test_every_step_kind_from_greeting_to_reference(flow):
    assert flow.say("test procedure").step == "intro"           # routed from free text
    assert flow.last.options[0].label == "Next"                   # information waits
    assert flow.say("ok").prompt == "Do you have a card?"
    assert flow.say("yes").expect.kind == "number"
    assert flow.say("七十").step == "colour"                      # branch: 70 >= 65
    assert flow.say("2").expect.kind == "date"
    reply = flow.say("tomorrow")
    assert "consent" not in reply.tags and reply.prompt.startswith("Before we go on")
    assert "90 days" in reply.prompt                              # the collection statement
    assert flow.say("yes").expect.kind == "hkid"
    assert flow.say("a123456 3").prompt == "You gave: A123456(3). Is that right?"
    assert flow.say("係").expect.kind == "phone"
    reply = flow.say("+852 9123-4567")
    assert reply.prompt == "You gave: 9123 4567. Is that right?"     # read back, and spelled
    assert reply.spell == ("9123 4567",) and reply.progress == (6, 8)   # 6th of at most 8
    assert flow.say("yes").expect.kind == "text"
    reply = flow.say("nothing more")
    assert reply.step == "pick_time" and len(reply.options) == 2  # action ran, times offered
    assert flow.say("1").tags == ("confirm",)                     # an appointment is read back
    reply = flow.say("yes")
    assert reply.step == "check" and "review" in reply.tags       # every answer, to check
    assert [i.slot for i in reply.summary.items] == [
        "has_card", "age", "colour", "when", "hkid", "phone", "note", "appointment"]
    assert reply.options[0].value == "ok" and reply.options[3].value == "change:colour"
    reply = flow.say("1")
    assert reply.ended and reply.reference == "KF0000010"
    assert reply.before[0] == "Your reference number is KF0000010. Please keep it."
    assert reply.next_steps.lines() == [
        ("bring", "Bring: your card"), ("bring", "Bring: a pen"),
        ("when", "When: " + reply.summary.items[-1].value),
        ("where", "Where: Sham Shui Po District Office, 2/F, Cheung Sha Wan Government Offices, "
                  "303 Cheung Sha Wan Road"),
        ("hours", "Open: Monday to Friday 9 am to 6 pm; Saturday 9 am to 12 noon"),
        ("fee", "Fee: $370"), ("call", "Questions: call 2852 3125")]
    text = reply.text
    # the reference, then what to do next, before the answers
    assert text.index("KF0000010") < text.index("Bring: your card") < text.index("Age: 70")
    assert "Age: 70" in text and "Colour: Blue" in text
    assert "Date: Thursday 26 November 2026" in text
    assert "A123***(*)" in text and "A123456(3)" not in text      # masked in the summary
    assert "Phone: 9123 4567" in text
    assert "Your reference number is KF0000010" in text
    assert flow.state["slots"] == {"age": 70, "hkid": "A123456(3)", "phone": "91234567"}
    # what a voice spells: the reference and the personal values as the summary shows them
    assert reply.spell == ("KF0000010", "A123***(*)", "9123 4567")
    assert reply.progress is None                                 # no procedure now


def test_progress_counts_questions_asked_and_the_most_still_ahead(mini_catalogue):
    flow = Flow(mini_catalogue)
    assert flow.last.progress is None                             # the menu
    assert flow.say("test procedure").progress is None            # information, not a question
    first = flow.say("ok")
    assert first.prompt == "Do you have a card?" and first.progress[0] == 1
    second = flow.say("yes")
    assert second.progress[0] == 2 and second.progress[1] <= first.progress[1]
    assert flow.say("nonsense").progress == second.progress       # a miss is the same question


def test_an_answer_heard_with_little_confidence_is_read_back(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "ok", "yes")
    reply = flow.send(Text("seventy", confidence=0.31))
    assert reply.tags == ("confirm",) and reply.prompt == "You gave: 70. Is that right?"
    assert reply.expect.kind == "yes_no"
    assert flow.send(Text("yes", confidence=0.9)).step == "colour"
    # heard clearly: no read-back (this step has none of its own)
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "ok", "yes")
    assert flow.send(Text("seventy", confidence=0.93)).step == "colour"


def test_branch_otherwise_and_end_with_issued_reference(flow):
    reply = flow.say("test procedure", "1", "yes", "40")
    assert reply.ended and "You are under 65." in reply.text
    # nothing was applied for, booked or reported: information, and no reference
    assert reply.reference is None and "reference" not in reply.text
    assert reply.action is None


def test_handoff_step_puts_the_conversation_in_the_queue(flow):
    reply = flow.say("test procedure", "1", "no")
    assert reply.handed_off and "A person will help you get a card." in reply.text
    assert flow.state["status"] == "waiting"
    assert flow.state["escalation"]["reason"] == "no_card"
    assert flow.state["escalation"]["priority"] == 3
    assert flow.state["escalation"]["summary"]["slots"] == {"has_card": False}


def test_action_failure_goes_to_on_failure(mini_catalogue):
    services = fake_services()
    services["find_slots"] = lambda args: ActionResult(False, {"error": "no_slots"})
    flow = Flow(mini_catalogue, services=services)
    reply = flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)",
                     "yes", "91234567", "yes", "none")
    assert "No times." in reply.text and flow.state["status"] == "waiting"


def test_slot_taken_while_choosing_finds_times_again(mini_catalogue):
    services = fake_services()
    services["book_slot"] = lambda args: ActionResult(False, {"error": "slot_taken"})
    flow = Flow(mini_catalogue, services=services)
    reply = flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)",
                     "yes", "91234567", "yes", "none", "1", "yes", "1")
    assert reply.step == "pick_time" and not reply.ended


# -- global commands, in both languages, by word and by key --------------------------------

def at_colour(catalogue):
    flow = Flow(catalogue)
    flow.say("test procedure", "1", "yes", "70")
    assert flow.last.step == "colour"
    return flow


@pytest.mark.parametrize("word", ["help", "HELP!", "幫助", "唔明", "*1", "hlep"])
def test_help(mini_catalogue, word):
    flow = at_colour(mini_catalogue)
    reply = flow.send(Digits(word)) if word.startswith("*") else flow.say(word)
    assert "help" in reply.tags and "BACK" in reply.text and reply.step == "colour"
    assert reply.prompt == "Which colour?"
    assert flow.state["misses"] == 0


@pytest.mark.parametrize("word", ["repeat", "say again", "再講一次", "*2"])
def test_repeat(mini_catalogue, word):
    flow = at_colour(mini_catalogue)
    reply = flow.say(word)
    assert reply.parts == ("Which colour?",) and "repeat" in reply.tags


@pytest.mark.parametrize("word", ["back", "go back", "返回", "上一步", "*"])
def test_back_asks_the_previous_question_again(mini_catalogue, word):
    flow = at_colour(mini_catalogue)
    reply = flow.say(word)
    assert reply.step == "ask_age" and "age" not in flow.state["slots"]
    assert flow.say("80").step == "colour"


@pytest.mark.parametrize("word", ["start again", "start over", "重新開始", "由頭嚟過", "*3"])
def test_start_over(mini_catalogue, word):
    flow = at_colour(mini_catalogue)
    reply = flow.say(word)
    assert reply.procedure is None and flow.state["slots"] == {}
    assert reply.prompt.startswith("What do you need help with?")


@pytest.mark.parametrize("word", ["person", "talk to a person", "真人", "搵職員", "0"])
def test_person(mini_catalogue, word):
    flow = at_colour(mini_catalogue)
    reply = flow.say(word)
    assert reply.handed_off and flow.state["status"] == "waiting"
    assert flow.state["escalation"]["reason"] == "asked"
    assert flow.state["escalation"]["summary"]["step"] == "colour"


@pytest.mark.parametrize("word", ["stop", "bye", "停止", "拜拜", "*5"])
def test_stop_closes_and_the_next_message_starts_afresh(mini_catalogue, word):
    flow = at_colour(mini_catalogue)
    reply = flow.say(word)
    assert reply.ended and flow.state["status"] == "closed"
    reply = flow.say("hello")
    assert flow.state["status"] == "bot" and "Kaifong" in reply.text


@pytest.mark.parametrize("word,locale", [("中文", "zh-HK"), ("廣東話", "zh-HK"),
                                         ("language", "zh-HK"), ("*4", "zh-HK")])
def test_change_language(mini_catalogue, word, locale):
    flow = at_colour(mini_catalogue)
    reply = flow.say(word)
    assert flow.state["locale"] == locale and reply.locale == locale
    assert reply.step == "colour"
    back = flow.say("english")
    assert flow.state["locale"] == "en" and back.parts[0] == "OK, I will use English."


def test_option_words_beat_command_words(mini_catalogue):
    flow = at_colour(mini_catalogue)
    assert flow.say("紅色").step == "when"


def test_zero_answers_a_number_question_that_allows_it(mini_catalogue):
    flow = Flow(mini_catalogue)
    reply = flow.say("test procedure", "1", "yes", "0")
    assert reply.ended and flow.state["status"] == "bot"


# -- misses ---------------------------------------------------------------------------------

def test_reprompts_escalate_then_offer_then_hand_over(mini_catalogue):
    flow = at_colour(mini_catalogue)
    first = flow.say("purple")
    assert first.parts == ("Sorry, I did not understand.", "Which colour?")
    second = flow.say("purple")
    assert "Please reply with one of the numbers." in second.text
    third = flow.say("purple")
    assert "offer_person" in third.tags and "reply 0" in third.text
    for _ in range(MISSES_HAND_OFF - 4):
        flow.say("purple")
    last = flow.say("purple")
    assert last.handed_off and flow.state["escalation"]["reason"] == "misses"
    assert flow.state["escalation"]["priority"] == 1


def test_a_good_answer_resets_the_misses(mini_catalogue):
    flow = at_colour(mini_catalogue)
    flow.say("purple", "purple")
    flow.say("red")
    assert flow.state["misses"] == 0
    assert flow.say("someday maybe").parts[0] == "Sorry, I did not understand."


def test_no_input_is_its_own_reprompt(mini_catalogue):
    flow = at_colour(mini_catalogue)
    reply = flow.send(NoInput())
    assert reply.parts[0] == "Are you still there?" and "noinput" in reply.tags
    assert flow.say("").parts[0].startswith("Are you still there?")


def test_number_out_of_range_says_the_range(mini_catalogue):
    flow = Flow(mini_catalogue)
    reply = flow.say("test procedure", "1", "yes", "200")
    assert "Please give a number from 0 to 120." in reply.text


def test_hkid_with_a_wrong_check_digit_says_so(mini_catalogue):
    flow = Flow(mini_catalogue)
    reply = flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(4)")
    assert "number in brackets" in reply.text and reply.step == "ask_hkid"


def test_read_back_no_asks_again(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)")
    reply = flow.say("no")
    assert reply.parts == ("Let us try again.", "Your identity card number?")
    assert "hkid" not in flow.state["slots"]


def test_declining_the_collection_statement_asks_nothing_personal(mini_catalogue):
    flow = Flow(mini_catalogue)
    reply = flow.say("test procedure", "1", "yes", "70", "red", "today", "no")
    assert "I will not ask for it" in reply.text and reply.procedure is None
    assert "hkid" not in flow.state["slots"]
    assert any(o.value == "person" for o in reply.options)


def test_nothing_already_given_is_asked_again(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)", "yes",
             "91234567", "yes", "x", "1", "yes", "1")
    assert flow.last.ended
    # the same conversation, a second time: age, identity card and phone are not asked again
    reply = flow.say("test procedure", "1", "yes")
    assert reply.step == "colour"
    flow.say("red", "today")
    assert flow.last.step == "ask_note"


# -- distress, waiting, staff -----------------------------------------------------------------

@pytest.mark.parametrize("text", ["救命", "我跌親呀", "i fell down", "help me, i fell"])
def test_distress_reaches_a_person_with_the_emergency_number(mini_catalogue, text):
    flow = at_colour(mini_catalogue)
    reply = flow.say(text)
    assert reply.emergency and reply.handed_off and "999" in reply.text
    assert flow.state["escalation"]["reason"] == "distress"
    assert flow.state["escalation"]["priority"] == 0


def test_help_alone_is_not_distress(mini_catalogue):
    flow = at_colour(mini_catalogue)
    assert not flow.say("help").emergency


@pytest.mark.parametrize("text", ["help me", "Please help me!!"])
def test_help_me_reaches_a_person_without_the_emergency_number(mini_catalogue, text):
    flow = at_colour(mini_catalogue)
    reply = flow.say(text)
    assert reply.handed_off and not reply.emergency and "999" not in reply.text
    assert flow.state["escalation"]["reason"] == "asked"


def test_waiting_acknowledges_and_staff_hand_back_resumes(mini_catalogue):
    flow = at_colour(mini_catalogue)
    flow.say("person")
    reply = flow.say("are you there?")
    assert "will reply soon" in reply.text and flow.state["status"] == "waiting"
    flow.state["status"] = "with_staff"            # what the staff console does
    silent = flow.say("thank you")
    assert silent.silent and silent.parts == ()
    back = flow.send(HandBack())
    assert flow.state["status"] == "bot" and back.step == "colour"
    assert back.parts == ("You are back with the assistant.", "Which colour?")


def test_leaving_the_queue(mini_catalogue):
    flow = at_colour(mini_catalogue)
    flow.say("person")
    reply = flow.say("assistant")
    assert flow.state["status"] == "bot" and flow.state["escalation"] is None
    assert reply.prompt == "Which colour?"


def test_session_start_resumes_where_it_was(mini_catalogue):
    flow = at_colour(mini_catalogue)
    reply = flow.send(Start())
    assert reply.parts == ("Welcome back. We were doing: Test procedure.",
                           "Would you like to carry on from where you stopped, or start again?")
    assert [o.value for o in reply.options] == ["carry_on", "start_again"]
    assert flow.say("continue").prompt == "Which colour?"
    flow.send(Start())
    assert flow.say("2").procedure is None and flow.state["slots"] == {}


def test_resume_keeps_a_pending_read_back(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)")
    flow.send(Start())
    assert flow.say("1").tags == ("confirm",)
    assert flow.say("yes").step == "ask_phone"


def test_kiosk_choice_input(mini_catalogue):
    flow = at_colour(mini_catalogue)
    assert flow.send(Choose("blue")).step == "when"
    assert flow.state["slots"]["colour"] == "blue"


def test_keypad_entry_ends_with_hash(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes")
    assert flow.send(Digits("70#")).step == "colour"


# -- robustness -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "x" * 5000, "\x00\x07\x1b[31m",
                                  "\ud800 broken", "ＡＢＣ１２３", "\u202e reversed"])
def test_bad_input_gets_a_clear_reply(mini_catalogue, text):
    flow = at_colour(mini_catalogue)
    reply = flow.say(text)
    assert reply.parts and reply.prompt == "Which colour?"
    assert flow.state["status"] == "bot"


def test_advance_does_not_modify_the_state_it_is_given(mini_catalogue):
    state = new_state()
    frozen = copy.deepcopy(state)
    advance(mini_catalogue, state, Text("test procedure"), TODAY)
    assert state == frozen


def test_same_state_and_input_give_the_same_reply(mini_catalogue):
    state, _ = advance(mini_catalogue, None, Text("test procedure"), TODAY)
    a = advance(mini_catalogue, state, Text("1"), TODAY)
    b = advance(mini_catalogue, state, Text("1"), TODAY)
    assert a == b


def test_menu_text_that_matches_nothing_gets_the_menu_and_a_person(mini_catalogue):
    flow = Flow(mini_catalogue)
    reply = flow.say("what is the weather tomorrow")
    assert reply.procedure is None and "Sorry, I cannot help with that here." in reply.text
    assert any(o.value == "person" for o in reply.options)


def test_mask_hkid():
    assert mask_hkid("A123456(3)") == "A123***(*)"
    assert mask_hkid("AB987654(3)") == "AB987***(*)"
    assert mask_hkid("nonsense") == "***"


def test_free_text_answers_are_kept_as_written(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)", "yes",
             "91234567", "yes")
    flow.say("Street Light OUTSIDE Block\x07 B,\n  Lei Cheng Uk")
    assert flow.state["slots"]["note"] == "Street Light OUTSIDE Block B, Lei Cheng Uk"


def test_free_words_read_back_or_summarised_are_private_not_spelled(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)", "yes",
             "91234567", "yes")
    reply = flow.send(Text("outside block 3", confidence=0.2))   # heard badly: read back
    assert reply.tags == ("confirm",) and "outside block 3" in reply.prompt
    assert reply.private == ("outside block 3",) and reply.spell == ()
