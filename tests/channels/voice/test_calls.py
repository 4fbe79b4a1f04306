"""Whole calls through the webhooks, as Twilio makes them: every procedure in both languages by
keypad only, and by speech only, from the first ring to the reference number read twice and the
offer of a text message; the TwiML's action URLs are followed as Twilio follows them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from assistant.outbox import outbox

from .conftest import NUMBER, Call, heard_text, kept, state

#: what a caller answers, by the kind of question, when the script says nothing else
KEYS = {"number": "70#", "phone": "91234567#", "hkid": "211234563#", "date": "15031950#"}
SAID = {"en": {"number": "70", "phone": "9123 4567", "hkid": "A123456 3", "yes": "yes",
               "no": "no", "text": "near the wet market", "language": "English"},
        "zh-HK": {"number": "70", "phone": "9123 4567", "hkid": "A123456 3", "yes": "係",
                  "no": "唔係", "text": "街市門口", "language": "廣東話"}}
#: the steps where the scripted caller answers the second choice (no thank you, no danger ...)
SECOND = {"want_help", "has_cssa", "offer_staff", "ask_questions", "danger_check",
          "want_callback", "offer_callback", "has_number"}
PROCEDURES = [(gi, pi, pid) for gi, group in enumerate(
    __import__("assistant").load_catalogue().menu, 1)
    for pi, pid in enumerate(group.procedures, 1)]


def menu_keys(app, pid: str) -> list[str]:
    menu = app.extensions["kaifong"].catalogue.menu
    for gi, group in enumerate(menu, 1):
        if pid in group.procedures:
            if len(group.procedures) == 1:
                return [str(gi)]
            return [str(gi), str(group.procedures.index(pid) + 1)]
    raise AssertionError(pid)


def position(app, number):
    s = state(app, number)
    reply = kept(app, number).get("reply") or {}
    return s, reply


#: the procedures that book or report something: a review of the answers before they do
REVIEWED = {"hkid_replacement", "book_appointment", "report_problem"}
#: how many reviews each walk met (the tests check the reviewed procedures had theirs)
walked: list[int] = []


def walk(app, call: Call, heard, number: str, *, speech: bool, locale: str, limit: int = 60):
    """Answer every question as the script says, until the end ("anything else?", or the offer
    of a text message before it). At a review, the first answer is changed once (its key, or
    its label said), answered again, and the review must come back; then all correct."""
    trail = []
    reviews = changed = 0
    for _ in range(limit):
        s, reply = position(app, number)
        trail.append((s.get("step"), (s.get("pending") or {}).get("kind"), reply["expect"]["kind"]))
        data = kept(app, number)
        if data.get("mode") == "offer" or "anything_else" in reply["tags"]:
            assert reviews in (0, 2) and changed == reviews // 2, (reviews, changed, trail)
            walked.append(reviews)
            return heard
        assert heard.gather is not None, heard.xml
        kind = reply["expect"]["kind"]
        pending = (s.get("pending") or {}).get("kind")
        second = s.get("step") in SECOND and pending not in ("consent", "confirm")
        if "review" in reply["tags"]:
            reviews += 1
            said = heard_text(app, heard)
            options = {o["key"]: o for o in reply["options"]}
            assert "ok" == options["1"]["value"] and said.count("2") >= 1, said
            if not changed:
                changed = 1                      # change the first answer, then back here
                heard = call.say(options["2"]["label"]) if speech else call.press("2")
            else:
                heard = call.say(SAID[locale]["yes"]) if speech else call.press("1")
            continue
        if speech:
            words = SAID[locale]
            if kind in words:
                heard = call.say(words[kind])
            elif kind == "yes_no":
                heard = call.say(words["no" if second else "yes"])
            else:
                labels = [o["label"] for o in reply["options"] if o["key"] != "0"]
                heard = call.say(labels[1 if second and len(labels) > 1 else 0])
        else:
            if kind == "text":
                # free words cannot be pressed: a voice message instead ("1#", the tone, "#")
                call.press("1#")
                assert call.last.record is not None, call.last.xml
                heard = call.record(23)
            else:
                heard = call.press(KEYS.get(kind, "2" if second else "1"))
    raise AssertionError(f"no end after {limit} answers: {trail}")


def the_end(app, call, heard, number, locale):
    """The reference (only where something was booked or reported) first, read twice, one
    character at a time; then what to do next; the text message accepted; then "that's all"
    ends the call politely."""
    from channels.speech.normalise import spoken

    s = state(app, number)
    reply = kept(app, number)["reply"]
    reference = s["reference"]
    said = heard_text(app, heard)
    if reference:
        assert re.fullmatch(r"KF\d{7}", reference)
        spelled = " ".join(reference)
        assert said.count(spelled) == 2, said
        assert said.index(spelled) < 40, said            # first
    else:
        assert "KF" not in said.replace(" ", "")
    for _field, line in (reply.get("next_steps") or {}) and \
            _lines(reply["next_steps"]):
        assert spoken(line, locale)[:12] in said, (line, said)
    if kept(app, number).get("mode") == "offer":
        heard = call.press("1")
        with app.extensions["kaifong"].store.engine.connect() as conn:
            sent = conn.execute(sa.select(outbox.c.address, outbox.c.body, outbox.c.channel)
                                .where(outbox.c.address == number).order_by(outbox.c.id)).all()
        assert sent and all(row.channel == "sms" for row in sent)
        if reference:
            assert sent[0].body.index(reference) < 40, sent[0].body
    assert "anything_else" in kept(app, number)["reply"]["tags"]
    after = call.press("2")                               # no, that's all
    assert after.hangup and after.gather is None and after.dial is None
    assert state(app, number)["status"] == "closed"
    return after


def _lines(steps: dict) -> list[tuple[str, str]]:
    from assistant.model import NextSteps
    return NextSteps(**{**steps, "bring": tuple(steps["bring"])}).lines()


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["zh-HK", "en"])
def test_every_procedure_by_keypad(app, client, locale):
    for gi, pi, pid in PROCEDURES:
        number = f"+8529{gi}{pi}{'1' if locale == 'en' else '2'}0000"
        call = Call(client, number)
        call.start()
        heard = call.press("1" if locale == "zh-HK" else "2")
        for key in menu_keys(app, pid):
            heard = call.press(key)
        assert state(app, number)["procedure"] == pid
        heard = walk(app, call, heard, number, speech=False, locale=locale)
        assert state(app, number)["locale"] == locale
        assert walked[-1] == (2 if pid in REVIEWED else 0), pid
        the_end(app, call, heard, number, locale)


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["zh-HK", "en"])
def test_every_procedure_by_speech(app, client, locale):
    titles = {pid: app.extensions["kaifong"].catalogue.gettext(
        locale, app.extensions["kaifong"].catalogue.procedures[pid].title)
        for _g, _p, pid in PROCEDURES}
    for gi, pi, pid in PROCEDURES:
        number = f"+8526{gi}{pi}{'1' if locale == 'en' else '2'}0000"
        call = Call(client, number)
        call.start()
        heard = call.say(SAID[locale]["language"])
        heard = call.say(titles[pid])          # a procedure by its name, from the menu
        assert state(app, number)["procedure"] == pid, (pid, state(app, number))
        heard = walk(app, call, heard, number, speech=True, locale=locale)
        assert walked[-1] == (2 if pid in REVIEWED else 0), pid
        s = state(app, number)
        if s["reference"]:
            assert heard_text(app, heard).count(" ".join(s["reference"])) == 2
        assert s["locale"] == locale


def test_a_known_caller_is_greeted_in_their_language(app, client):
    first = Call(client)
    first.start()
    first.press("2")                              # English
    again = Call(client)                          # the same number, a new call
    heard = again.start()
    assert heard.gather["language"] == "en-GB"
    assert kept(app)["mode"] == "core"
    assert heard_text(app, heard).startswith("This is Kaifong")


def test_the_language_can_change_at_any_time(app, client, call):
    call.start()
    call.press("2")
    heard = call.press("*")                       # star, then 4 within a few seconds
    assert heard.gather["numDigits"] == "1" and heard.gather["timeout"] == "3"
    assert heard.sounds == []
    heard = call.press("4")
    assert state(app)["locale"] == "zh-HK"
    assert heard.gather["language"] == "yue-Hant-HK"


def test_star_alone_goes_back(app, client, call):
    call.start()
    call.press("2")
    call.press("1")                               # Cards and identity card
    assert kept(app)["reply"]["prompt"] == "Which one?"
    call.press("*")
    heard = call.silence()                        # no second key: back
    assert kept(app)["reply"]["prompt"].startswith("What do you need help with?")
    assert heard.gather is not None


def test_a_replayed_webhook_does_not_move_twice(app, client, call):
    call.start()
    call.press("2")
    first = call.press("1")
    before = state(app)
    again = call.again()                          # Twilio sends the same request again
    assert again.xml == first.xml
    assert state(app) == before


def test_a_request_for_an_old_step_moves_nothing(app, client, call):
    call.start()
    call.press("2")
    old = call.last
    current = call.press("1")
    call.last = old                               # a late request for the step before
    heard = call.press("3")
    assert heard.xml == current.xml
    assert state(app)["procedure"] is None        # "3" was not taken at the group menu


def test_a_low_confidence_answer_is_confirmed(app, client, call):
    call.start()
    call.press("2")
    call.press("1")
    call.press("1")                               # Senior Citizen Card
    call.press("1")                               # next
    heard = call.say("70", confidence=0.3)
    assert "Is that right?" in heard_text(app, heard)
    assert "age" not in state(app)["slots"]
    call.press("1")
    assert state(app)["slots"]["age"] == 70


def test_hidden_number_gets_no_text_offer(app, client):
    call = Call(client, "anonymous")
    call.start()
    heard = call.press("2")
    assert heard.gather is not None
    assert state(app, "anonymous")["locale"] == "en"


def test_star_and_a_key_are_the_cores_commands(app, client, call):
    call.start()
    call.press("2")
    call.press("1")
    call.press("*")
    heard = call.press("2")                        # *2: repeat
    assert heard_text(app, heard).startswith("Which one?")
    call.press("*")
    heard = call.press("1")                        # *1: help
    assert heard_text(app, heard).startswith("Press star to go back. Star 2 to hear it again.")
    call.press("*")
    heard = call.press("5")                        # *5: stop
    assert heard.hangup and heard.gather is None
    assert heard_text(app, heard).startswith("Thank you for calling. Goodbye.")
    assert state(app)["status"] == "closed"


def test_choosing_the_language_by_voice_and_a_second_chance(app, client, call):
    call.start()
    heard = call.press("7")                        # no such language
    assert heard_text(app, heard).startswith("對唔住，我唔明你嘅意思。 Sorry, I did not understand.")
    heard = call.say("Cantonese please")
    assert state(app)["locale"] == "zh-HK" and heard.gather["language"] == "yue-Hant-HK"


def test_after_three_tries_the_call_goes_on_in_cantonese(app, client, call):
    call.start()
    call.silence()
    call.silence()
    heard = call.silence()
    assert state(app)["locale"] == "zh-HK"
    assert heard_text(app, heard).startswith("呢度係「街坊」")


def test_the_offer_of_a_text_message_can_be_declined(app, client):
    call = Call(client)
    call.start()
    for key in ("2", "1", "1", "1", "70#", "1", "1", "1", "1", "1"):
        call.press(key)
    heard = call.press("2")
    assert heard_text(app, heard).startswith("Is there anything else I can help you with?")
    with app.extensions["kaifong"].store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0


def test_a_number_that_texted_us_is_greeted_in_its_language(app, client):
    from channels.sms.inbound import receive
    from channels.sms.mapping import InboundSms
    receive(app.extensions["kaifong"], InboundSms(NUMBER, "我唔見咗身份證"))
    heard = Call(client).start()
    assert kept(app)["mode"] == "core"
    assert heard.gather["language"] == "yue-Hant-HK"
    assert heard_text(app, heard).startswith("呢度係「街坊」")


def test_a_caller_s_own_words_read_back_are_never_cached_by_their_words(app, client, call):
    from tests.channels.voice.test_recording import to_the_location

    to_the_location(app, call)
    heard = call.say("outside block 3 near the wet market", confidence=0.2)
    said = heard_text(app, heard)
    assert "You gave: <their own words>" in said and "Is that right?" in said
    assert "/audio/once/" in heard.xml                      # made for this call only
    audio = app.extensions["kaifong_speech"].directory
    assert not any("wet market" in p.read_text(encoding="utf-8") for p in audio.glob("*.json"))


@pytest.mark.parametrize("answer,expected", [("有", "yes"), ("冇", "no"), ("2", "no")])
def test_cantonese_yes_no_echoes_the_question(app, client, answer, expected):
    """有冇 is answered 有 / 冇: the choices are read as the echo, and the echo said is taken."""
    call = Call(client)
    call.start()
    for key in ("1", "4", "1", "1"):                # Cantonese, housing, the intro
        heard = call.press(key)
    said = heard_text(app, heard)
    assert said.endswith("你有冇公屋申請編號？ 有，請按1。 冇，請按2。"), said
    assert "有" in heard.gather["hints"] and "冇" in heard.gather["hints"]
    before = state(app)["step"]
    call.press(answer) if answer.isdigit() else call.say(answer)
    s = state(app)
    assert s["step"] != before or s["pending"], s
    has = s["slots"].get("has_number")
    assert has == (expected == "yes"), s["slots"]
