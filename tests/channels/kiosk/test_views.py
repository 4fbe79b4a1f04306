"""The kiosk's pages through Flask's test client: sessions and their cookie, the headers every
response carries, a procedure from the welcome screen to its reference, the summary sent to a
phone through the SMS outbox, the wipe, the idle expiry, and "Ask a member of staff"."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa

from assistant.outbox import outbox
from channels.kiosk.session import address_for

from .conftest import Kiosk, make_app, read


def test_welcome_without_a_session_sets_no_cookie_and_is_never_stored(client):
    response = client.get("/kiosk/demo/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    page = read(response.get_data(as_text=True))
    assert page.heading == "Hello. What do you need help with today?"
    # every procedure is a button of its own, with its plain description
    procedures = [do for do, _ in page.buttons if do.startswith("choose:")]
    assert len(procedures) == 10 and "choose:hkid_replacement" in procedures
    assert "Replace a lost, stolen or damaged identity card" in page.text
    assert ("describe", ("Not sure? Tell us what you need Write a few words, and we will find "
                         "the right service for you.")) in page.buttons
    assert any(do == "person" for do, _ in page.buttons)


def test_welcome_in_chinese_by_link(client):
    page = read(client.get("/kiosk/demo/?lang=zh-HK").get_data(as_text=True))
    assert '<html lang="zh-Hant-HK">' in page.html
    assert "補領身份證" in page.text


def test_unknown_kiosk_is_404_and_bad_settings_stop_the_start(client, tmp_path, monkeypatch):
    assert client.get("/kiosk/nowhere/").status_code == 404
    assert client.post("/kiosk/nowhere/start", data={"do": "person"}).status_code == 404
    for bad in ({"KIOSK_IDS": ""}, {"KIOSK_IDS": "Demo"}, {"KIOSK_IDS": "static"},
                {"KIOSK_WARNING_SECONDS": "19"}, {"KIOSK_IDLE_SECONDS": "soon"},
                {"KIOSK_LOCALE": "fr"}):
        with pytest.raises(ValueError, match="KAIFONG_KIOSK_"):
            make_app(tmp_path, monkeypatch, **bad)


def test_first_touch_makes_a_strict_http_only_cookie_for_this_kiosk_only(client):
    response = client.post("/kiosk/demo/start", data={"do": "choose:old_age_allowance",
                                                      "lang": "en"})
    assert response.status_code == 303 and response.headers["Location"] == "/kiosk/demo/"
    cookie = response.headers["Set-Cookie"]
    assert re.match(r"kaifong_kiosk=[A-Za-z0-9_-]{43};", cookie)
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/kiosk/demo/", "Secure"):
        assert attribute in cookie
    # the same browser at another kiosk has no session there
    other = read(client.get("/kiosk/ssp-2/").get_data(as_text=True))
    assert other.heading == "Hello. What do you need help with today?"


def test_a_forged_or_unknown_token_shows_welcome_and_clears_the_cookie(client):
    client.set_cookie("kaifong_kiosk", "x" * 43, path="/kiosk/demo/")
    response = client.get("/kiosk/demo/")
    assert "Hello. What do you need help with today?" in response.get_data(as_text=True)
    assert "kaifong_kiosk=;" in response.headers["Set-Cookie"]
    touched = client.post("/kiosk/demo/touch", data={"do": "choose:yes"})
    assert touched.status_code == 303 and touched.headers["Location"] == "/kiosk/demo/"


def test_a_post_from_another_site_is_refused(client):
    response = client.post("/kiosk/demo/start", data={"do": "person"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert client.post("/kiosk/demo/start", data={"do": "person"},
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


def _to_reference(kiosk: Kiosk) -> object:
    page = kiosk.start("choose:hkid_replacement")
    assert page.heading == "Replace an identity card"          # the information step
    page = kiosk.tap("Continue")
    assert "Step 1 of 5" in page.text
    assert page.heading == "What happened to your identity card?"
    page = kiosk.tap("I lost it")
    page = kiosk.tap("Continue")
    assert "Is that OK?" in page.text                            # consent
    page = kiosk.tap("Yes")
    assert page.heading.startswith("What is your identity card number?")
    # letters first: no digit key until a letter is in
    assert [do for do, _ in page.buttons if do.startswith("key:")][:3] == ["key:A", "key:B",
                                                                           "key:C"]
    assert "key:1" not in [do for do, _ in page.buttons]
    page = kiosk.keys("A1234563")
    assert "A123456(3)" in page.text
    page = kiosk.touch("done")
    assert page.heading == "Check your answer"
    assert "You gave: A123456(3). Is that right?" in page.text
    page = kiosk.tap("Yes")
    assert page.heading == "What phone number can we use for a reminder?"
    kiosk.keys("91234567")
    page = kiosk.touch("done")
    assert page.heading == "Check your answer" and "9123 4567" in page.text
    page = kiosk.tap("Yes")
    page = kiosk.tap("Sham Shui Po District Office")
    assert page.heading == "Which time suits you?"
    page = kiosk.touch(page.choices[0][0])
    assert page.heading == "Check your answer"
    page = kiosk.tap("Yes")
    assert page.heading == "Please check your answers"           # the review of every answer
    assert "Is everything right?" in page.text
    return kiosk.tap("All correct")


def test_a_procedure_by_touch_from_welcome_to_its_reference(kiosk, app):
    page = _to_reference(kiosk)
    assert page.heading == "You have finished"
    assert re.search(r"KF\d{7}", page.text)
    assert "Your appointment is booked" in page.text
    # what to do next: bring, when, where (address and hours), the fee
    for line in ("Bring: your reference number", "When: ", "Where: Sham Shui Po District "
                 "Office, 2/F, Cheung Sha Wan Government Offices", "Open: Monday to Friday",
                 "Fee: $370"):
        assert line in page.text, line
    assert page.text.index("Your reference number") < page.text.index("Bring: ") < \
        page.text.index("Your answers")
    assert "Identity card number A123***(*)" in page.text         # masked, as the core gives it
    assert "Is there anything else I can help you with?" in page.text
    assert [label for do, label in page.choices] == ["Yes, something else", "No, that's all"]
    assert '<svg role="img" aria-label="QR code of your reference number"' in page.html
    # the QR code is of the reference: the same modules as segno draws for it
    import segno
    reference = re.search(r"KF\d{7}", page.text).group()
    drawn = segno.make(reference, error="m").svg_inline(border=4, omitsize=True)
    assert re.search(r' d="([^"]+)"', drawn).group(1) in page.html
    assert "send_phone" in [do for do, _ in page.buttons]


def test_back_goes_to_the_question_before(kiosk):
    kiosk.start("choose:hkid_replacement")
    kiosk.tap("Continue")
    page = kiosk.tap("I lost it")
    page = kiosk.touch("back")
    assert page.heading == "What happened to your identity card?"


def test_the_keypad_deletes_clears_and_ignores_keys_that_cannot_come_next(kiosk):
    kiosk.start("choose:hkid_replacement")
    for words in ("Continue", "I lost it", "Continue", "Yes"):
        kiosk.tap(words)
    page = kiosk.touch("key:7")                  # a digit before any letter: ignored
    assert "Nothing yet" in page.text
    page = kiosk.keys("AB12")
    assert "AB12" in page.text
    page = kiosk.touch("delete")
    assert "AB1" in page.text and "AB12" not in page.text
    page = kiosk.touch("clear")
    assert "Nothing yet" in page.text


def test_a_wrong_identity_card_number_is_asked_again_with_the_reason(kiosk):
    kiosk.start("choose:hkid_replacement")
    for words in ("Continue", "I lost it", "Continue", "Yes"):
        kiosk.tap(words)
    kiosk.keys("A1234560")
    page = kiosk.touch("done")
    assert "Please try again" in page.text
    assert "check the number in brackets" in page.text
    assert page.heading.startswith("What is your identity card number?")


def _outbox(app):
    with app.extensions["kaifong"].store.engine.connect() as conn:
        return conn.execute(sa.select(outbox)).all()


def test_send_this_to_my_phone_queues_the_summary_in_the_sms_outbox(kiosk, app):
    page = _to_reference(kiosk)
    reference = re.search(r"KF\d{7}", page.text).group()
    page = kiosk.touch("send_phone")
    assert page.heading == "Which mobile phone number should we send it to?"
    kiosk.keys("21234567")                   # a fixed line cannot take a text message
    page = kiosk.touch("done")
    assert "That is not a Hong Kong mobile number" in page.text
    assert _outbox(app) == []
    kiosk.touch("clear")
    kiosk.keys("61234567")
    page = kiosk.touch("done")
    assert page.heading == "You have finished"
    assert "Sent by text message to 6123 4567" in page.text
    rows = _outbox(app)
    assert rows and {r.channel for r in rows} == {"sms"}
    assert {r.address for r in rows} == {"+85261234567"}
    assert {r.kind for r in rows} == {"kiosk_summary"}
    body = "\n".join(r.body for r in rows)
    assert reference in body and "A123***(*)" in body and "A123456" not in body
    # the reference first, then what to do next, with the office's address and hours
    assert body.index(reference) < body.index("Bring: ") < body.index("Where: Sham Shui Po") \
        < body.index("Open: ") < body.index("Fee: $370") < body.index("Your answers")
    assert all(r.conversation_id is not None for r in rows)
    # once more is fine; after that a kiosk is not a way to text strangers
    kiosk.touch("send_phone")
    kiosk.keys("51234567")
    assert "Sent by text message to 5123 4567" in kiosk.touch("done").text
    page = kiosk.touch("send_phone")
    assert page.heading == "You have finished"
    assert "This summary has been sent already" in page.text
    assert {r.address for r in _outbox(app)} == {"+85261234567", "+85251234567"}


def test_finish_wipes_the_session_everywhere(kiosk, client, app):
    kiosk.start("choose:hkid_replacement")
    token = kiosk.cookie().value
    response = client.post("/kiosk/demo/end")
    assert response.status_code == 303 and response.headers["Location"] == "/kiosk/demo/"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert "kaifong_kiosk=;" in response.headers["Set-Cookie"]
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    assert kiosk.cookie() is None
    # the old cookie, put back, opens nothing
    client.set_cookie("kaifong_kiosk", token, path="/kiosk/demo/")
    page = kiosk.screen()
    assert page.heading == "Hello. What do you need help with today?"
    store = app.extensions["kaifong"].store
    address = address_for("demo", token)
    assert store.state("kiosk", address)["status"] == "closed"
    cid = store.conversation_id("kiosk", address)
    assert store.transcript(cid)[-1].text.startswith("(the kiosk session ended")
    with store.turn("kiosk", address) as t:
        assert t.channel_data() == {"wiped": True}


def test_idle_past_the_warning_ends_the_session_on_the_server_too(kiosk, clock, app):
    kiosk.start("choose:hkid_replacement")
    token = kiosk.cookie().value
    clock.advance(seconds=90 + 30)                   # the page's own timers have run out
    assert kiosk.screen().heading == "Replace an identity card"   # within the grace
    clock.advance(seconds=6)
    assert kiosk.screen().heading == "Hello. What do you need help with today?"
    assert app.extensions["kaifong"].store.state(
        "kiosk", address_for("demo", token))["status"] == "closed"
    assert kiosk.cookie() is None                     # and the stale cookie is cleared


def test_every_touch_restarts_the_idle_time(kiosk, clock):
    kiosk.start("choose:hkid_replacement")
    for _ in range(3):
        clock.advance(seconds=100)
        kiosk.touch("more_time")
    assert kiosk.screen().heading == "Replace an identity card"


def test_the_screens_refresh_to_more_time_and_more_time_to_the_wipe_without_javascript(
        kiosk, client):
    page = kiosk.start("choose:hkid_replacement")
    assert ('<noscript><meta http-equiv="refresh" content="90;url=/kiosk/demo/more-time">'
            '</noscript>') in page.html
    more = read(client.get("/kiosk/demo/more-time").get_data(as_text=True))
    assert more.heading == "Do you need more time?"
    assert "in 30 seconds" in more.text
    assert ('<noscript><meta http-equiv="refresh" content="30;url=/kiosk/demo/end">'
            '</noscript>') in more.html
    assert more.button("Yes, I need more time") == "more_time"
    client.get("/kiosk/demo/end")                    # where the refresh goes: the wipe
    assert kiosk.screen().heading == "Hello. What do you need help with today?"


def test_personal_values_never_travel_in_urls(kiosk, client):
    kiosk.start("choose:hkid_replacement")
    for words in ("Continue", "I lost it", "Continue", "Yes"):
        kiosk.tap(words)
    for key in "A1234563":
        response = client.post("/kiosk/demo/touch", data={"do": f"key:{key}"})
        assert response.headers["Location"] == "/kiosk/demo/"
    page = kiosk.screen()
    assert "A123456" not in "".join(re.findall(r'(?:href|action|src)="([^"]*)"', page.html))


def test_language_switch_on_a_question_screen(kiosk):
    kiosk.start("choose:hkid_replacement")
    page = kiosk.tap("Continue")
    page = kiosk.touch("language")
    assert '<html lang="zh-Hant-HK">' in page.html
    assert "身份證" in page.heading
    assert "第 1 步" in page.text
    page = kiosk.touch("language")
    assert page.heading == "What happened to your identity card?"


def test_not_sure_routes_free_text(kiosk):
    page = kiosk.start("describe")
    assert page.heading == "What do you need? Write a few words."
    page = kiosk.touch("text", text="I lost my identity card")
    assert page.heading == "Replace an identity card"


def test_ask_a_member_of_staff_escalates_with_the_kiosk_id_and_shows_staff_replies(kiosk, app):
    kiosk.start("choose:hkid_replacement")
    page = kiosk.touch("person")
    assert page.heading == "A member of staff is coming to help you"
    assert "No messages from staff yet." in page.text
    assert "person" not in [label for _, label in page.buttons]
    desk = app.extensions["kaifong_desk"]
    [waiting] = desk.queue()
    assert waiting.channel == "kiosk" and waiting.address.startswith("demo:")
    assert kiosk.cookie().value not in waiting.address          # the address opens nothing
    desk.claim(waiting.id, "mei")
    desk.reply(waiting.id, "mei", "I am coming to the kiosk now.")
    with desk.store.turn("kiosk", waiting.address) as t:          # a staff note: never shown
        t.add_line("staff", "note to self: bring a form", {"staff": "mei", "note": True})
    page = kiosk.screen()
    assert "I am coming to the kiosk now." in page.text
    assert "A member of staff is with you now." in page.text
    assert "note to self" not in page.text
    assert ">person<" not in page.html                              # the touch itself is not shown
    page = kiosk.touch("text", text="Thank you, I am at the kiosk")
    assert "Thank you, I am at the kiosk" in page.text
    desk.hand_back(waiting.id, "mei")
    page = kiosk.screen()
    assert page.heading == "Replace an identity card"
    assert "You are back with the assistant." in page.text


def test_live_lines_answer_at_once_when_there_are_new_ones(kiosk, client, app):
    kiosk.start("person")
    desk = app.extensions["kaifong_desk"]
    [waiting] = desk.queue()
    desk.claim(waiting.id, "mei")
    desk.reply(waiting.id, "mei", "Hello from the counter")
    body = client.get("/kiosk/demo/lines?after=0").get_json()
    assert body["staff"] is True and body["status"] == "with_staff"
    assert [x["text"] for x in body["lines"] if x["role"] == "staff"] == [
        "Hello from the counter"]
    last = body["lines"][-1]["seq"]
    app.config["KIOSK_POLL_SECONDS"] = 0
    assert client.get(f"/kiosk/demo/lines?after={last}").get_json()["lines"] == []
    client.post("/kiosk/demo/end")
    assert client.get("/kiosk/demo/lines?after=0").get_json() == {"gone": True}


def test_the_staff_console_closing_leaves_a_way_to_start_again(kiosk, app):
    kiosk.start("person")
    desk = app.extensions["kaifong_desk"]
    [waiting] = desk.queue()
    desk.claim(waiting.id, "mei")
    desk.close(waiting.id, "mei", "resolved")
    page = kiosk.screen()
    assert "A member of staff has finished helping you" in page.text
    page = kiosk.tap("Start again")
    assert page.heading == "Hello. What do you need help with today?"
    assert kiosk.cookie() is not None                              # still this visitor's session


@pytest.fixture
def mini_prompts(tmp_path_factory):
    """The real shared prompts and facts with the test procedure that has every kind of step
    (the shipped procedures ask no date)."""
    import shutil

    import yaml

    from assistant.catalogue import PROMPTS_DIR
    from tests.conftest import DATA

    root = tmp_path_factory.mktemp("kiosk_mini")
    (root / "procedures").mkdir()
    shutil.copy(PROMPTS_DIR / "facts.yaml", root / "facts.yaml")
    shutil.copy(DATA / "mini" / "mini_all_kinds.yaml", root / "procedures" / "mini_all_kinds.yaml")
    shared = yaml.safe_load((PROMPTS_DIR / "shared.yaml").read_text(encoding="utf-8"))
    shared["menu"] = [{"label": "Tests", "procedures": ["mini_all_kinds"]}]
    (root / "shared.yaml").write_text(yaml.safe_dump(shared, allow_unicode=True),
                                      encoding="utf-8")
    # nothing is booked without a review of every answer (issue 11)
    mini = root / "procedures" / "mini_all_kinds.yaml"
    procedure = yaml.safe_load(mini.read_text(encoding="utf-8"))
    if not any(step.get("kind") == "review" for step in procedure["steps"].values()):
        procedure["steps"]["pick_time"]["next"] = "check"
        procedure["steps"]["check"] = {"kind": "review", "next": "book"}
        mini.write_text(yaml.safe_dump(procedure, allow_unicode=True), encoding="utf-8")
    return root


def test_a_date_is_picked_with_large_pickers_never_typed(tmp_path, monkeypatch, clock,
                                                         mini_prompts):
    app = make_app(tmp_path, monkeypatch, KIOSK_CLOCK=clock, PROMPTS_DIR=str(mini_prompts))
    try:
        kiosk = Kiosk(app.test_client())
        kiosk.start("choose:mini_all_kinds")
        kiosk.tap("Continue")
        kiosk.tap("Yes")                       # has a card
        kiosk.keys("70")
        kiosk.touch("done")
        page = kiosk.tap("Red")
        assert page.heading == "Which day?"
        assert "Thursday 26 November" in page.text          # today, in Hong Kong
        assert 'name="text"' not in page.html and "<input" not in page.html
        kiosk.touch("date:day+1")
        kiosk.touch("date:day+1")
        page = kiosk.touch("date:month+1")
        assert "Monday 28 December" in page.text
        page = kiosk.touch("done")
        assert page.heading.endswith("Is that OK?")          # consent before the card number
        state = app.extensions["kaifong"].store.state(
            "kiosk", address_for("demo", kiosk.cookie().value))
        assert state["slots"]["when"] == "2026-12-28"
    finally:
        app.extensions["kaifong"].store.close()


def test_distress_words_show_the_emergency_number_on_the_staff_screen(kiosk, app):
    page = kiosk.start("describe")
    page = kiosk.touch("text", text="help me I fell")
    assert page.heading == "A member of staff is coming to help you"
    assert 'class="box emergency"' in page.html and "Emergency" in page.text
    assert "call 999 now" in page.text
    [waiting] = app.extensions["kaifong_desk"].queue()
    assert waiting.reason == "distress"


def test_a_link_from_another_site_cannot_end_a_session(kiosk, client):
    kiosk.start("choose:hkid_replacement")
    response = client.get("/kiosk/demo/end", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 303 and "Clear-Site-Data" not in response.headers
    assert kiosk.screen().heading == "Replace an identity card"


def test_a_welcome_left_in_the_other_language_returns_to_the_kiosk_language(client):
    own = client.get("/kiosk/demo/").get_data(as_text=True)      # the kiosk's language (en)
    assert 'http-equiv="refresh"' not in own
    other = client.get("/kiosk/demo/?lang=zh-HK").get_data(as_text=True)
    assert ('<noscript><meta http-equiv="refresh" content="90;url=/kiosk/demo/"></noscript>'
            in other)
    assert 'data-more-time="/kiosk/demo/"' in other


@pytest.mark.postgres
def test_the_same_on_postgresql(tmp_path, monkeypatch, clock, request):
    """A procedure to its reference, the summary to a phone, staff, and the wipe, on
    PostgreSQL (a throw-away database; skipped with the reason when no server answers)."""
    import uuid

    admin = request.getfixturevalue("postgres_admin")
    name = f"kaifong_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    app = make_app(tmp_path, monkeypatch, KIOSK_CLOCK=clock, DATABASE_URL=url)
    try:
        kiosk = Kiosk(app.test_client())
        page = _to_reference(kiosk)
        assert page.heading == "You have finished"
        kiosk.touch("send_phone")
        kiosk.keys("61234567")
        assert "Sent by text message" in kiosk.touch("done").text
        assert {r.address for r in _outbox(app)} == {"+85261234567"}
        kiosk.touch("person")
        desk = app.extensions["kaifong_desk"]
        [waiting] = desk.queue()
        desk.claim(waiting.id, "mei")
        desk.reply(waiting.id, "mei", "On my way")
        assert "On my way" in kiosk.screen().text
        kiosk.client.post("/kiosk/demo/end")
        assert kiosk.screen().heading == "Hello. What do you need help with today?"
    finally:
        app.extensions["kaifong"].store.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- issue 11: the kiosk by keys alone, the review, the end --------------------------------------

def _to_age(kiosk: Kiosk, lang: str = "en"):
    kiosk.start("choose:old_age_allowance", lang)
    return kiosk.touch("choose:next")


def test_the_zero_key_at_a_number_question_is_the_number_never_a_person(kiosk, app):
    page = _to_age(kiosk)
    assert page.heading.startswith("How old are you?")
    for _ in range(3):                              # three answers out of range: misses
        kiosk.keys("999")
        page = kiosk.touch("done")
    assert "Please try again" in page.text and "Please give a number from 0 to 120" in page.text
    assert "staff button" in page.text              # the screen's words for a person
    assert not re.search(r"\b(press|choose|reply) 0\b|揀0|按0", page.text)
    kiosk.touch("clear")
    kiosk.keys("0")
    page = kiosk.touch("done")
    assert page.heading != "A member of staff is coming to help you"
    assert app.extensions["kaifong_desk"].queue() == []
    state = app.extensions["kaifong"].store.state("kiosk", address_for("demo", kiosk.cookie().value))
    assert state["slots"]["age"] == 0 and state["status"] == "bot"


def test_an_incomplete_entry_is_kept_and_says_what_is_missing(kiosk):
    kiosk.start("choose:hkid_replacement")
    for words in ("Continue", "I lost it", "Continue", "Yes"):
        kiosk.tap(words)
    page = kiosk.keys("A12345")
    assert "Still to key in: 1 more of the 6 numbers after the letter." in page.text
    assert re.search(r'<button class="big primary" name="do" value="done" disabled>', page.html)
    page = kiosk.keys("6")
    assert "Still to key in: the number in brackets, at the end." in page.text
    page = kiosk.touch("done")                       # Continue waits: nothing is sent
    assert "A123456" in page.text and page.heading.startswith("What is your identity card")
    page = kiosk.keys("3")
    assert "Still to key in" not in page.text
    assert 'value="done" disabled' not in page.html
    assert kiosk.touch("done").heading == "Check your answer"
    page = kiosk.tap("Yes")                          # the phone number: 8 digits
    page = kiosk.keys("912345")
    assert "Still to key in: 2 more digits. A phone number has 8 digits." in page.text
    assert 'value="done" disabled' in page.html


def test_switching_language_keeps_a_half_typed_entry(kiosk):
    kiosk.start("choose:hkid_replacement")
    for words in ("Continue", "I lost it", "Continue", "Yes"):
        kiosk.tap(words)
    kiosk.keys("A123")
    page = kiosk.touch("language")
    assert '<html lang="zh-Hant-HK">' in page.html and "A123" in page.text
    assert "身份證" in page.heading
    page = kiosk.touch("language")
    assert "A123" in page.text and page.heading.startswith("What is your identity card number?")


def test_a_reference_number_is_keyed_after_kf(kiosk, app):
    booked = _to_reference(kiosk)
    reference = re.search(r"KF(\d{7})", booked.text)
    kiosk.touch("choose:yes")                        # something else: the menu
    page = kiosk.touch("choose:book_appointment")
    page = kiosk.tap("Change the time")
    assert page.heading == "What is the reference number of your appointment?"
    assert "KF" in page.text and "The letters KF are already there" in page.text
    assert "key:A" not in [do for do, _ in page.buttons]       # digits only
    page = kiosk.keys(reference.group(1)[:5])
    assert "KF" + reference.group(1)[:5] in page.text
    assert "Still to key in: 2 more of the 7 numbers after KF." in page.text
    kiosk.keys(reference.group(1)[5:])
    page = kiosk.touch("done")
    # the phone number given at the booking is not asked again: the appointment is found
    assert page.heading == "Which office would you like for the new time?"
    state = app.extensions["kaifong"].store.state("kiosk", address_for("demo", kiosk.cookie().value))
    assert state["slots"]["old_reference"] == reference.group(0)


def test_the_review_changes_one_answer_and_comes_back(kiosk):
    page = kiosk.start("choose:report_problem")
    page = kiosk.touch("choose:no")                  # no danger now
    page = kiosk.tap("Street light")
    page = kiosk.touch("text", text="Near the bus stop")
    page = kiosk.touch("text", text="The light is off")
    page = kiosk.touch("choose:no")                  # no call back
    assert page.heading == "Please check your answers"
    rows = [label for do, label in page.buttons if do.startswith("choose:change:")]
    assert rows == ["✎ Change: Dangerous now", "✎ Change: Problem", "✎ Change: Where",
                    "✎ Change: What is wrong", "✎ Change: Call back"]
    page = kiosk.touch("choose:change:location")
    assert page.heading.startswith("Where is the problem?")
    page = kiosk.touch("text", text="Outside the market")
    assert page.heading == "Please check your answers"
    assert "Outside the market" in page.text and "Near the bus stop" not in page.text
    page = kiosk.tap("All correct")
    assert page.heading == "You have finished" and re.search(r"KF\d{7}", page.text)


def test_an_information_procedure_ends_without_a_reference(kiosk):
    page = kiosk.start("choose:elderly_health_voucher")
    for _ in range(10):
        if page.heading in ("You have finished", "Here is what you need to know"):
            break
        page = kiosk.touch(page.choices[0][0])
    assert page.heading == "Here is what you need to know"
    assert not re.search(r"KF\d{7}", page.text) and "reference-number" not in page.html
    assert "Bring: your identity card" in page.text
    assert "send_phone" in [do for do, _ in page.buttons]


def test_no_thats_all_ends_the_session_politely(kiosk, client, app):
    page = kiosk.start("choose:elderly_health_voucher")
    for _ in range(10):
        if "No, that's all" in [label for _, label in page.buttons]:
            break
        page = kiosk.touch(page.choices[0][0])
    token = kiosk.cookie().value
    response = client.post("/kiosk/demo/touch", data={"do": "choose:no"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/kiosk/demo/?lang=en&bye=1"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert kiosk.cookie() is None
    page = read(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Thank you. Goodbye. Please remember to take your things." in page.text
    assert page.heading == "Hello. What do you need help with today?"
    store = app.extensions["kaifong"].store
    assert store.state("kiosk", address_for("demo", token))["status"] == "closed"


def test_finish_asks_first(kiosk, client):
    kiosk.start("choose:hkid_replacement")
    page = kiosk.touch("finish")
    assert page.heading == "Finish and clear the screen?"
    assert "Everything you entered on this screen will be deleted." in page.text
    page = kiosk.tap("No, go back")
    assert page.heading == "Replace an identity card"
    kiosk.touch("finish")
    assert 'action="/kiosk/demo/end"' in kiosk.screen().html
    client.post("/kiosk/demo/end")
    assert kiosk.screen().heading == "Hello. What do you need help with today?"


def test_a_visitor_waiting_for_staff_is_not_timed_out_and_staff_see_when_they_leave(
        kiosk, clock, client, app):
    kiosk.start("choose:hkid_replacement")
    page = kiosk.touch("person")
    assert "Please stay here" in page.text
    assert 'http-equiv="refresh"' not in page.html and 'data-timer=""' in page.html
    clock.advance(seconds=600)                       # ten minutes without a touch
    page = kiosk.screen()
    assert page.heading == "A member of staff is coming to help you"
    desk = app.extensions["kaifong_desk"]
    [waiting] = desk.queue()
    page = kiosk.touch("finish")
    assert page.heading == "Finish and clear the screen?"
    assert kiosk.tap("No, go back").heading == "A member of staff is coming to help you"
    kiosk.touch("finish")
    client.post("/kiosk/demo/end")                   # the visitor gives up and goes
    lines = desk.store.transcript(waiting.id)
    assert lines[-1].text == ("(the visitor left the kiosk: the screen was cleared while "
                              "waiting for staff)")


def test_staff_finishing_gives_the_screen_its_whole_idle_time(kiosk, clock, app):
    kiosk.start("person")
    clock.advance(seconds=600)
    kiosk.screen()                                   # the page (or its poll) is still there
    desk = app.extensions["kaifong_desk"]
    [waiting] = desk.queue()
    desk.claim(waiting.id, "mei")
    desk.close(waiting.id, "mei", "resolved")
    page = kiosk.screen()
    assert "A member of staff has finished helping you" in page.text
    assert 'data-timer="idle"' in page.html


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_welcome_puts_not_sure_and_staff_before_the_procedures(client, lang):
    page = read(client.get(f"/kiosk/demo/?lang={lang}").get_data(as_text=True))
    order = [do for do, _ in page.buttons]
    assert order[:2] == ["describe", "person"]
    assert all(do.startswith("choose:") for do in order[2:])


def test_appointment_times_offer_other_days_and_times(kiosk):
    kiosk.start("choose:hkid_replacement")
    for words in ("Continue", "I lost it", "Continue", "Yes"):
        kiosk.tap(words)
    kiosk.keys("A1234563")
    kiosk.touch("done")
    kiosk.tap("Yes")
    kiosk.keys("91234567")
    kiosk.touch("done")
    kiosk.tap("Yes")
    page = kiosk.tap("Sham Shui Po District Office")
    assert page.heading == "Which time suits you?"
    first = [label for do, label in page.choices if do != "choose:more_times"]
    assert len(first) == 4
    page = kiosk.tap("Other days and times")
    assert page.heading == "Which time suits you?"
    later = [label for do, label in page.choices if do != "choose:more_times"]
    assert len(later) == 4 and not set(later) & set(first)
    page = kiosk.touch(page.choices[0][0])
    assert page.heading == "Check your answer" and later[0] in page.text


def _claimed_visitor(app) -> tuple[Kiosk, int, int]:
    """A visitor who asked for a person, claimed by Mei; the conversation, the last seq."""
    visitor = Kiosk(app.test_client())
    visitor.start("person")
    desk = app.extensions["kaifong_desk"]
    waiting = [w for w in desk.queue() if w.claimed_by is None][-1]
    desk.claim(waiting.id, "mei")
    body = visitor.client.get("/kiosk/demo/lines?after=0").get_json()
    return visitor, waiting.id, body["lines"][-1]["seq"]


def test_a_long_poll_beyond_the_budget_answers_at_once_and_says_when_to_come_back(
        tmp_path, monkeypatch, clock):
    app = make_app(tmp_path, monkeypatch, KIOSK_CLOCK=clock, LONG_POLLS=1,
                   KIOSK_POLL_SECONDS=60)
    polls = app.extensions["kaifong_long_polls"]
    desk = app.extensions["kaifong_desk"]
    try:
        first, first_id, first_seq = _claimed_visitor(app)
        second, second_id, second_seq = _claimed_visitor(app)
        answers = {}
        waiting = threading.Thread(target=lambda: answers.update(first=first.client.get(
            f"/kiosk/demo/lines?after={first_seq}").get_json()))
        waiting.start()
        for _ in range(500):              # until the first visitor's poll holds its place
            if polls.held:
                break
            threading.Event().wait(0.01)
        assert polls.held == 1
        # nothing new for the second visitor: it would wait, but the budget is taken, so it
        # answers at once (the poll waits 60 s otherwise) and says when to poll again
        busy = second.client.get(f"/kiosk/demo/lines?after={second_seq}").get_json()
        assert busy["lines"] == [] and 1.5 <= busy["retry"] <= 4.5
        assert busy["status"] == "with_staff" and busy["staff"] is True
        desk.reply(second_id, "mei", "For the second visitor")
        got = second.client.get(f"/kiosk/demo/lines?after={second_seq}").get_json()
        assert [x["text"] for x in got["lines"]] == ["For the second visitor"]
        desk.reply(first_id, "mei", "For the first visitor")
        waiting.join(timeout=30)
        assert not waiting.is_alive()
        assert [x["text"] for x in answers["first"]["lines"]] == ["For the first visitor"]
        assert "retry" not in answers["first"]
        assert polls.held == 0            # the place is given back
        app.config["KIOSK_POLL_SECONDS"] = 0
        last = got["lines"][-1]["seq"]
        again = second.client.get(f"/kiosk/demo/lines?after={last}").get_json()
        assert "retry" not in again
    finally:
        app.extensions["kaifong"].store.close()
