"""Reply -> kiosk screen, and touch -> the core's input. Pure: replies from the real engine
(``Flow``), screens compared field by field."""

from __future__ import annotations

from assistant.model import Choose, Digits, Text
from channels.kiosk.screens import reply_from_data, reply_to_data, screen_for, welcome_screen
from channels.kiosk.session import address_for, new_token, parse_config, valid_token
from channels.kiosk.touches import core_input

from ...conftest import Flow


def test_the_main_menu_is_every_procedure_with_its_summary(catalogue):
    flow = Flow(catalogue)
    screen = screen_for(flow.last, catalogue)
    assert screen.kind == "menu"
    assert [b.do for b in screen.buttons][:3] == [
        "choose:senior_citizen_card", "choose:transport_fare_concession",
        "choose:hkid_replacement"]
    assert len(screen.buttons) == len(catalogue.procedures)
    assert screen.notes[0].startswith("Hello, I am Kaifong")
    assert welcome_screen(catalogue, "zh-HK").buttons[2].label == "補領身份證"


def test_a_question_an_information_step_and_the_check_of_an_answer(catalogue):
    flow = Flow(catalogue)
    info = screen_for(flow.send(Choose("hkid_replacement")), catalogue)
    assert (info.kind, info.heading, info.back) == ("info", "Replace an identity card", True)
    assert info.body.startswith("I can help you replace your identity card")
    assert [b.do for b in info.buttons] == ["choose:next"]
    question = screen_for(flow.send(Choose("next")), catalogue)
    assert question.kind == "choice"
    assert question.heading == "What happened to your identity card?"
    assert [b.label for b in question.buttons] == ["I lost it", "It was stolen", "It is damaged"]
    assert question.progress == (1, 5)
    flow.send(Choose("lost"))
    flow.send(Choose("next"))
    consent = screen_for(flow.last, catalogue)
    assert [(b.do, b.icon) for b in consent.buttons] == [("choose:yes", "yes"), ("choose:no", "no")]
    hkid = screen_for(flow.send(Choose("yes")), catalogue)
    assert hkid.kind == "hkid" and hkid.heading.startswith("What is your identity card number?")
    check = screen_for(flow.send(Text("A123456(3)")), catalogue)
    assert check.kind == "check" and check.heading == "Check your answer"
    assert check.body == "You gave: A123456(3). Is that right?"
    assert "A123456(3)" in check.spell


def test_a_miss_is_a_problem_with_its_reason(catalogue):
    flow = Flow(catalogue)
    flow.send(Choose("hkid_replacement"))
    flow.send(Choose("next"))
    screen = screen_for(flow.send(Text("banana")), catalogue)
    assert screen.problem and screen.notes == ("Sorry, I did not understand.",)


def _walk(flow, pick_change: str | None = None):
    """Answer every question with its first choice (70 for a number, the review's "all
    correct") to the end of the procedure."""
    answers = {"number": "70", "hkid": "A123456(3)", "phone": "91234567", "text": "bus stop"}
    for _ in range(30):
        reply = flow.last
        if reply.ended:
            return reply
        kind = reply.expect.kind
        if kind in answers and not reply.options:
            flow.send(Choose(answers[kind]))
        else:
            flow.send(Choose(reply.options[0].value))
    raise AssertionError("no end")


def test_an_information_only_end_has_no_reference_but_what_to_do_next(catalogue):
    flow = Flow(catalogue)
    flow.send(Choose("senior_citizen_card"))
    reply = _walk(flow)
    screen = screen_for(reply, catalogue)
    assert screen.kind == "end" and screen.reference is None and screen.reference_line == ""
    assert screen.heading == "Here is what you need to know"
    assert screen.next_heading == "What to do next"
    assert screen.next_steps[0] == "Bring: your identity card"
    assert any(line.startswith("Where: Senior Citizen Card Office") for line in screen.next_steps)
    assert [(r.label, r.value, r.change) for r in screen.rows][0] == ("Age", "70", None)
    assert screen.ask == "Is there anything else I can help you with?"
    assert [(b.do, b.label) for b in screen.buttons] == [
        ("choose:yes", "Yes, something else"), ("choose:no", "No, that's all")]


def test_the_end_of_a_booking_gives_its_reference_first(catalogue):
    flow = Flow(catalogue)
    flow.send(Choose("hkid_replacement"))
    reply = _walk(flow)
    screen = screen_for(reply, catalogue)
    assert screen.kind == "end" and screen.reference == reply.reference
    assert screen.heading == "You have finished"
    assert reply.reference in screen.reference_line
    assert not any(reply.reference in note for note in screen.notes)
    assert "Fee: $370" in screen.next_steps
    assert any(line.startswith("When: ") for line in screen.next_steps)
    assert ("Identity card number", "A123***(*)") in [(r.label, r.value) for r in screen.rows]
    assert "Talk to a person" not in [b.label for b in screen.buttons]


def test_the_review_has_a_change_button_for_every_answer(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    flow.send(Choose("report_problem"))
    answers = {"text": "巴士站附近", "phone": "91234567"}
    for _ in range(20):
        reply = flow.last
        if "review" in reply.tags:
            break
        if reply.expect.kind in answers and not reply.options:
            flow.send(Choose(answers[reply.expect.kind]))
        else:
            values = [o.value for o in reply.options]
            flow.send(Choose("no" if values[:2] == ["yes", "no"] and "confirm" not in reply.tags
                             and "危險" in reply.question else values[0]))
    screen = screen_for(flow.last, catalogue)
    assert screen.kind == "review" and screen.ask == flow.last.question
    assert screen.heading == "請檢查你嘅答案"
    assert len(screen.rows) == len(flow.last.summary.items) >= 4
    assert all(row.change is not None and row.change.do.startswith("choose:change:")
               for row in screen.rows)
    assert screen.rows[1].change.label.startswith("改：")
    assert [b.do for b in screen.buttons] == ["choose:ok"]


def test_yes_no_buttons_echo_the_question_in_cantonese(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    flow.send(Choose("report_problem"))
    screen = screen_for(flow.last, catalogue)
    assert screen.heading == "而家有冇危險？"
    assert [(b.do, b.label, b.icon) for b in screen.buttons] == [
        ("choose:yes", "有", "yes"), ("choose:no", "冇", "no")]


def test_a_hand_off_is_the_staff_screen(catalogue):
    flow = Flow(catalogue)
    screen = screen_for(flow.send(Text("person")), catalogue)
    assert screen.kind == "staff"
    assert screen.heading == "A member of staff is coming to help you"


def test_a_reply_kept_between_requests_comes_back_the_same(catalogue):
    flow = Flow(catalogue)
    flow.send(Choose("hkid_replacement"))
    reply = flow.send(Choose("next"))
    again = reply_from_data(reply_to_data(reply))
    assert screen_for(again, catalogue) == screen_for(reply, catalogue)


def test_touches_map_to_the_core_inputs(catalogue):
    assert core_input("choose:yes", catalogue, "en") == Choose("yes")
    assert core_input("back", catalogue, "en") == Digits("*")
    assert core_input("something_else", catalogue, "en") is None   # "anything else?" is yes/no
    assert core_input("restart", catalogue, "en") == Digits("*3")
    assert core_input("person", catalogue, "zh-HK") == Text("真人")
    assert core_input("language", catalogue, "en") == Text("中文")
    assert core_input("language", catalogue, "zh-HK") == Text("english")
    assert core_input("key:1", catalogue, "en") is None
    assert core_input("choose:", catalogue, "en") is None


def test_tokens_and_addresses():
    token = new_token()
    assert valid_token(token) and not valid_token(token[:-1]) and not valid_token(None)
    address = address_for("demo", token)
    assert address.startswith("demo:") and token not in address
    assert address == address_for("demo", token) != address_for("demo", new_token())


def test_settings_default_and_parse():
    config = parse_config({})
    assert config.ids == {"demo"} and config.idle_seconds == 90
    assert config.warning_seconds == 30 and config.locale == "zh-HK" and config.secure_cookie
    plain = parse_config({"KIOSK_IDS": " ssp-1, ssp-2 ", "PUBLIC_URL": "http://lan",
                          "KIOSK_WARNING_SECONDS": "20"})
    assert plain.ids == {"ssp-1", "ssp-2"} and not plain.secure_cookie
    assert plain.expiry_seconds == 90 + 20 + 5


def test_the_kiosk_own_words_pass_the_screen_wording_lint(catalogue):
    """``kaifong validate`` checks the catalogue's texts as they reach a screen; the kiosk's own
    words (channels/kiosk/texts.py) must pass the same rule, in both languages: nothing on a
    screen asks the visitor to speak or to reply, and none says "choose 0" (a person is the
    staff button)."""
    import re

    from assistant.wording import FORBIDDEN
    from channels.kiosk.texts import TEXTS

    pattern, _ = FORBIDDEN["screen"]
    zero = re.compile(r"\b(press|choose|reply|key in) 0\b|[揀按]\s*0", re.I)
    for locale in catalogue.locales:
        for msgid in TEXTS:
            said = catalogue.gettext(locale, msgid)
            assert not pattern.search(said), (locale, said)
            assert not zero.search(said), (locale, said)
