"""``POST /sms`` and ``POST /sms/status``: signatures, replays, concurrency, keywords, pictures,
empty and very long messages, idle conversations, pages."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from assistant import outbox
from assistant.store import conversations
from channels import create_app
from channels.sms.devtools import messages_in, twilio_form
from channels.sms.segments import count_segments
from tests.assistant import conftest as store_fixtures

from .conftest import NUMBER, TOKEN, URL, Phone, make_app, new_sid, sign

db_url, postgres_admin = store_fixtures.db_url, store_fixtures.postgres_admin

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
GREETING = ("Hello, I am Kaifong, an automated helper for government services. To talk to a "
            "person at any time, reply 0.")
INTRO = ("I can help you replace your identity card and book a time to apply in person. There "
         "are about 5 short questions.\n\nReply 1 for Next")
WHAT_HAPPENED = ("What happened to your identity card?\n\nReply 1 for I lost it\n"
                 "Reply 2 for It was stolen\nReply 3 for It is damaged")
WHAT_HAPPENED_ZH = "你張身份證發生咗咩事？\n\n回覆 1：唔見咗\n回覆 2：被人偷咗\n回覆 3：損壞咗"
HELP_EN = ("Kaifong helps you with government services by text, one step at a time. To talk to a "
           "person, reply 0 or call 2835 1473. To stop all messages, reply STOP.")
HELP_ZH = ("街坊用短訊一步一步幫你辦政府服務。想同職員傾，回覆 0 或者打 2835 1473。"
           "唔想再收任何訊息，回覆 STOP 或者「停止」。")
OPTED_OUT_EN = "You will get no more messages from Kaifong. To get them again, reply START."
OPTED_OUT_ZH = "你唔會再收到街坊嘅訊息。想再收，回覆 START 或者「開始」。"
OPTED_IN_EN = "Welcome back. You will get messages from Kaifong again."
OPTED_IN_ZH = "歡迎返嚟。你會再收到街坊嘅訊息。"
MEDIA_EN = "Sorry, I can only read text, not pictures or other files. Please type your message."
MEDIA_ZH = "對唔住，我只睇得明文字，睇唔到相片或者其他檔案。請打字話我知。"


def state(app, number=NUMBER) -> dict:
    return app.extensions["kaifong"].store.state("sms", number) or {}


def transcript(app, number=NUMBER):
    store = app.extensions["kaifong"].store
    return store.transcript(store.conversation_id("sms", number))


def events(app, number=NUMBER) -> list:
    store = app.extensions["kaifong"].store
    return [(e.kind, e.data) for e in store.events(store.conversation_id("sms", number))]


def opted_out(app, number=NUMBER) -> bool:
    with app.extensions["kaifong"].store.transaction() as session:
        return outbox.is_opted_out(session, "sms", number)


def snapshot(app) -> dict:
    """Every row of every table."""
    engine = app.extensions["kaifong"].store.engine
    with engine.connect() as conn:
        return {name: conn.execute(sa.text(f'SELECT * FROM "{name}"')).all()
                for name in sa.inspect(engine).get_table_names()}


def to_what_happened(phone) -> None:
    phone.say("lost my id card")
    assert phone.say("1") == WHAT_HAPPENED


# -- signatures --------------------------------------------------------------------------------

def test_a_signed_message_gets_twiml(phone):
    response = phone.send("lost my id card")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        f"{GREETING}\n\n{INTRO}</Message></Response>")


def forged(case: str, client):
    form = twilio_form(NUMBER, "+85230000000", "SECRET-TEXT <b>", new_sid())
    headers = {"X-Twilio-Signature": sign(URL, form)}
    if case == "missing":
        headers = {}
    elif case == "empty":
        headers = {"X-Twilio-Signature": ""}
    elif case == "wrong token":
        headers = {"X-Twilio-Signature": sign(URL, form, "another-token")}
    elif case == "other url":
        headers = {"X-Twilio-Signature": sign("https://kaifong.example.org/sms", form)}
    elif case == "tampered body":
        form = {**form, "Body": "STOP"}
    elif case == "added field":
        form = {**form, "NumMedia": "1"}
    elif case == "other sender":
        form = {**form, "From": "+85298765432"}
    elif case == "garbage":
        headers = {"X-Twilio-Signature": "not base64 at all \u00e9"}
    return client.post("/sms", data=form, headers=headers)


@pytest.mark.parametrize("case", ["missing", "empty", "wrong token", "other url", "tampered body",
                                  "added field", "other sender", "garbage"])
def test_invalid_signatures_are_refused_and_change_nothing(app, client, phone, case):
    to_what_happened(phone)
    before = snapshot(app)
    response = forged(case, client)
    assert response.status_code == 403
    assert response.get_data() == b"forbidden\n"      # nothing of the request comes back
    assert snapshot(app) == before


def test_refused_before_a_conversation_exists(app, client):
    before = snapshot(app)
    assert forged("wrong token", client).status_code == 403
    assert snapshot(app) == before
    assert app.extensions["kaifong"].store.conversation_id("sms", NUMBER) is None


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, PUBLIC_URL="https://kaifong.example.org")
    try:
        client = app.test_client()
        public = Phone(client, url="https://kaifong.example.org/sms")
        assert public.send("hello").status_code == 200
        assert Phone(client, url=URL).send("hello").status_code == 403      # what the server saw
        with_query = Phone(client, url="https://kaifong.example.org/sms?campaign=a%20b")
        assert with_query.send("hello").status_code == 200
        form = twilio_form(NUMBER, "+85230000000", "hello", new_sid())
        signature = sign("https://kaifong.example.org/sms?campaign=other", form)  # not this query
        assert client.post("/sms?campaign=a", data=form,
                           headers={"X-Twilio-Signature": signature}).status_code == 403
    finally:
        app.extensions["kaifong"].store.close()


def test_public_url_comes_from_the_environment(tmp_path, monkeypatch):
    make_app(tmp_path, monkeypatch).extensions["kaifong"].store.close()   # clears the env
    monkeypatch.setenv("KAIFONG_PUBLIC_URL", "https://sms.example.org")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("KAIFONG_SMS_IDLE_MINUTES", "15")
    app = create_app({"DATA_DIR": str(tmp_path), "SEED_SLOTS_DAYS": 0,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}"})
    try:
        config = app.extensions["kaifong_sms"]
        assert config.public_url == "https://sms.example.org"
        assert config.idle == timedelta(minutes=15)
        assert Phone(app.test_client(), url="https://sms.example.org/sms").send(
            "hi").status_code == 200
    finally:
        app.extensions["kaifong"].store.close()


@pytest.mark.parametrize("token", ["", "   ", None])
def test_without_a_token_there_is_no_sms_endpoint(tmp_path, monkeypatch, capsys, token):
    app = make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN=token)
    try:
        client = app.test_client()
        form = twilio_form(NUMBER, "+85230000000", "hello", new_sid())
        assert client.post("/sms", data=form).status_code == 404
        assert client.post("/sms/status", data=form).status_code == 404
        assert "kaifong_sms" not in app.extensions
        err = capsys.readouterr().err
        assert "TWILIO_AUTH_TOKEN" in err and "KAIFONG_PUBLIC_URL" in err
        assert client.get("/healthz").status_code == 200       # the rest of the service runs
    finally:
        app.extensions["kaifong"].store.close()


@pytest.mark.parametrize("setting, value", [
    ("PUBLIC_URL", "kaifong.example.org"), ("PUBLIC_URL", "ftp://kaifong.example.org"),
    ("PUBLIC_URL", "https://kaifong.example.org/?a=1"),
    ("SMS_IDLE_MINUTES", "soon"), ("SMS_IDLE_MINUTES", "-5"), ("SMS_IDLE_MINUTES", "nan"),
    ("SMS_IDLE_MINUTES", "inf"),
])
def test_settings_that_make_no_sense_stop_the_start(tmp_path, monkeypatch, setting, value):
    with pytest.raises(ValueError, match=f"KAIFONG_{setting}"):
        make_app(tmp_path, monkeypatch, **{setting: value})


def test_a_signed_request_without_a_sender_is_refused(app, client):
    form = {"Body": "hello", "MessageSid": new_sid()}
    before = snapshot(app)
    response = client.post("/sms", data=form, headers={"X-Twilio-Signature": sign(URL, form)})
    assert response.status_code == 400 and b"hello" not in response.get_data()
    assert snapshot(app) == before


def test_only_post(client):
    assert client.get("/sms").status_code == 405


# -- delivery reports --------------------------------------------------------------------------

@pytest.fixture
def reports(monkeypatch):
    """``channels.sms.outbound.handle_status`` replaced by one that records its calls."""
    calls = []

    def handle_status(store, form):
        calls.append((store, form))
        return form.get("MessageSid") == "SMknown"
    monkeypatch.setattr("channels.sms.outbound.handle_status", handle_status)
    return calls


def status_form(sid="SMknown"):
    return {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32,
            "From": "+85230000000", "To": NUMBER, "ApiVersion": "2010-04-01"}


def test_status_callback_signed(app, client, reports):
    url = "http://localhost/sms/status"
    for sid in ("SMknown", "SMunknown"):
        form = status_form(sid)
        response = client.post("/sms/status", data=form,
                               headers={"X-Twilio-Signature": sign(url, form)})
        assert response.status_code == 204 and response.get_data() == b""
    assert [form["MessageSid"] for _, form in reports] == ["SMknown", "SMunknown"]
    assert reports[0][0] is app.extensions["kaifong"].store
    assert reports[0][1] == status_form("SMknown")


@pytest.mark.parametrize("how", ["missing", "wrong token", "wrong url", "tampered"])
def test_status_callback_unsigned_is_refused(app, client, reports, how):
    form = status_form()
    url = "http://localhost/sms/status"
    headers = {"X-Twilio-Signature": sign(url, form)}
    if how == "missing":
        headers = {}
    elif how == "wrong token":
        headers = {"X-Twilio-Signature": sign(url, form, "another-token")}
    elif how == "wrong url":
        headers = {"X-Twilio-Signature": sign(URL, form)}
    else:
        form = {**form, "MessageStatus": "failed"}
    before = snapshot(app)
    response = client.post("/sms/status", data=form, headers=headers)
    assert response.status_code == 403 and response.get_data() == b"forbidden\n"
    assert reports == [] and snapshot(app) == before


def test_status_callback_reaches_the_outbox(app, client):
    """With the real ``handle_status``: a report for a message the outbox sent is recorded."""
    store = app.extensions["kaifong"].store
    sid = "SM" + "a" * 32
    with store.transaction() as session:
        now = outbox.now_utc()
        message_id = outbox.enqueue(session, "sms", NUMBER, "Your reference is KF0000990.",
                                    "staff_reply", now)
        outbox.mark_sent(session, message_id, sid, now)
    form = {**status_form(sid), "MessageStatus": "delivered"}
    url = "http://localhost/sms/status"
    response = client.post("/sms/status", data=form, headers={"X-Twilio-Signature": sign(url, form)})
    assert response.status_code == 204
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(outbox.outbox.c.status)).scalar_one() == "delivered"


# -- retries and concurrency -------------------------------------------------------------------

def test_a_retried_message_gets_the_same_reply_and_moves_the_conversation_once(app, phone):
    phone.say("lost my id card")
    first = phone.send("1", sid="SMretried")
    turns = state(app)["turns"]
    again = phone.send("1", sid="SMretried")
    assert again.get_data() == first.get_data()
    assert messages_in(first.get_data(as_text=True)) == [WHAT_HAPPENED]
    assert state(app)["turns"] == turns and state(app)["step"] == "what_happened"
    assert [line.text for line in transcript(app) if line.role == "user"] == ["lost my id card", "1"]


def test_a_retried_page_request_gets_the_same_page(app, phone):
    phone.say("hi")                       # greeting, and the menu after a miss: two pages
    page = phone.send("M", sid="SMpage")
    assert phone.send("M", sid="SMpage").get_data() == page.get_data()
    assert messages_in(page.get_data(as_text=True))[0].endswith("(2/2)")


def post_together(app, forms: list[dict]) -> list:
    """Every form at once, each from its own thread and test client."""
    barrier = threading.Barrier(len(forms))
    results: list = [None] * len(forms)

    def send(i, form):
        client = app.test_client()
        barrier.wait()
        results[i] = client.post("/sms", data=form, headers={"X-Twilio-Signature": sign(URL, form)})
    threads = [threading.Thread(target=send, args=(i, f)) for i, f in enumerate(forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_messages_arriving_at_once_are_handled_one_after_the_other(app, phone):
    to_what_happened(phone)
    turns = state(app)["turns"]
    bodies = [f"blah {i}" for i in range(4)]
    forms = [twilio_form(NUMBER, "+85230000000", body, new_sid()) for body in bodies]
    responses = post_together(app, forms)
    assert [r.status_code for r in responses] == [200] * 4
    assert state(app)["turns"] == turns + 4            # no turn lost, none applied twice
    assert state(app)["misses"] == 4
    users = [line.text for line in transcript(app) if line.role == "user"]
    assert sorted(users[-4:]) == bodies
    replies = [messages_in(r.get_data(as_text=True))[0] for r in responses]
    assert sum("To talk to a person, reply 0." in r for r in replies) == 2   # misses 3, 4


def test_messages_at_once_on_each_database(tmp_path, monkeypatch, db_url):
    """The same on PostgreSQL, where row locks serialise the turns of one conversation."""
    app = make_app(tmp_path, monkeypatch, DATABASE_URL=db_url)
    try:
        phone = Phone(app.test_client())
        to_what_happened(phone)
        turns = state(app)["turns"]
        form = twilio_form(NUMBER, "+85230000000", "1", new_sid())
        forms = [form, dict(form)] + [twilio_form(NUMBER, "+85230000000", f"blah {i}", new_sid())
                                      for i in range(3)]
        responses = post_together(app, forms)
        assert [r.status_code for r in responses] == [200] * 5
        assert responses[0].get_data() == responses[1].get_data()
        assert state(app)["turns"] == turns + 4            # "1" once, and the three others
        users = [line.text for line in transcript(app) if line.role == "user"]
        assert sorted(users[2:]) == ["1", "blah 0", "blah 1", "blah 2"]
    finally:
        app.extensions["kaifong"].store.close()


def test_one_message_retried_at_once_moves_the_conversation_once(app, phone):
    to_what_happened(phone)
    form = twilio_form(NUMBER, "+85230000000", "1", new_sid())
    responses = post_together(app, [form, dict(form), dict(form)])
    assert len({r.get_data() for r in responses}) == 1
    assert state(app)["step"] == "bring_lost"
    assert [line.text for line in transcript(app) if line.role == "user"][-2:] == ["1", "1"]


# -- keywords ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stop, start, locale", [
    ("STOP", "START", "en"), ("stop.", "Yes", "en"), ("Unsubscribe", "unstop", "en"),
    ("ＳＴＯＰ", "start", "en"), ("STOP ALL", "開始", "en"),
    ("停止", "開始", "zh-HK"), ("取消訂閱", "START", "zh-HK"), ("停止！", "yes", "zh-HK"),
])
def test_stop_opts_out_until_start(app, phone, stop, start, locale):
    if locale == "en":
        to_what_happened(phone)
        question, stopped, back = WHAT_HAPPENED, OPTED_OUT_EN, OPTED_IN_EN
    else:
        phone.say("我唔見咗身份證")
        assert phone.say("1") == WHAT_HAPPENED_ZH
        question, stopped, back = WHAT_HAPPENED_ZH, OPTED_OUT_ZH, OPTED_IN_ZH
    before = state(app)
    assert phone.say(stop) == stopped
    assert opted_out(app)
    assert phone.say(stop) == ""                    # confirmed once
    assert phone.say("1") == ""                     # nothing at all while opted out
    assert phone.say("help") == ""
    assert state(app) == before                     # the procedure did not move
    # not even a member of staff's reply goes out
    store = app.extensions["kaifong"].store
    with store.transaction() as session:
        outbox.enqueue(session, "sms", NUMBER, "A reply from staff", "staff_reply",
                       outbox.now_utc())
    with store.transaction() as session:
        assert outbox.claim(session, "sms", outbox.now_utc()) == []
    assert phone.say(start) == f"{back}\n\n{question}"
    assert not opted_out(app)
    assert phone.say("1").startswith(("Please bring", "如果有，請帶"))     # and on from where it was
    kinds = [data.get("keyword") for kind, data in events(app) if kind == "sms_keyword"]
    assert kinds == ["opt_out", "opt_out", "while_opted_out", "while_opted_out", "opt_in"]
    said = [line.text for line in transcript(app) if line.role == "user"]
    assert said[-6:] == [stop, stop, "1", "help", start, "1"]


def test_yes_is_an_answer_unless_the_number_opted_out(app, phone):
    to_what_happened(phone)
    phone.say("1")
    phone.say("1")                              # consent asked
    assert phone.say("yes").startswith("What is your identity card number?")
    assert not opted_out(app)


def test_sms_stop_wins_over_the_dialogue_stop_command(app, phone):
    to_what_happened(phone)
    assert phone.say("stop") == OPTED_OUT_EN
    assert state(app)["status"] == "bot" and state(app)["step"] == "what_happened"


@pytest.mark.parametrize("word", ["END", "quit"])
def test_end_and_quit_are_left_to_the_dialogue(app, phone, word):
    to_what_happened(phone)
    assert phone.say(word).startswith("Thank you. Goodbye.")
    assert state(app)["status"] == "closed" and not opted_out(app)


def test_cancel_is_an_answer_in_book_appointment(app, phone):
    phone.say("appointment")
    assert phone.say("CANCEL") == "What is the reference number of your appointment?"
    assert state(app)["slots"]["what_do"] == "cancel" and not opted_out(app)


def test_cancel_opts_out_when_twilio_says_it_did(app, phone):
    phone.say("appointment")
    assert phone.say("cancel", OptOutType="STOP") == OPTED_OUT_EN
    assert opted_out(app)


@pytest.mark.parametrize("word, expected, question", [
    ("HELP", HELP_EN, WHAT_HAPPENED), ("info", HELP_EN, WHAT_HAPPENED),
    ("Help?", HELP_EN, WHAT_HAPPENED), ("幫助", HELP_EN, WHAT_HAPPENED),
])
def test_help_explains_and_asks_the_question_again(app, phone, word, expected, question):
    to_what_happened(phone)
    before = state(app)
    assert phone.say(word) == f"{expected}\n\n{question}"
    assert state(app) == before
    assert ("sms_keyword", {"keyword": "help"}) in events(app)
    assert phone.say("1").startswith("Please bring")


def test_help_in_chinese(app, phone):
    phone.say("我唔見咗身份證")
    phone.say("1")
    assert phone.say("說明") == f"{HELP_ZH}\n\n{WHAT_HAPPENED_ZH}"
    assert phone.say("HELP") == f"{HELP_ZH}\n\n{WHAT_HAPPENED_ZH}"


def test_help_as_the_first_message(app, phone):
    assert phone.say("HELP") == HELP_EN
    assert phone.say("lost my id card") == f"{GREETING}\n\n{INTRO}"


def test_keywords_work_while_waiting_for_and_talking_to_staff(app, phone):
    to_what_happened(phone)
    assert phone.say("person").startswith("I am passing you to a member of staff.")
    assert phone.say("HELP") == HELP_EN                 # no question: a person will answer
    desk = app.extensions["kaifong_desk"]
    desk.claim(desk.queue()[0].id, "agent1")
    assert phone.say("it is still lost") == ""          # for the member of staff, not for us
    assert phone.say("HELP") == HELP_EN
    assert phone.say("STOP") == OPTED_OUT_EN
    assert state(app)["status"] == "with_staff"
    assert phone.say("START") == OPTED_IN_EN


# -- pictures, empty and very long messages ------------------------------------------------------

def test_a_picture_gets_a_polite_text_and_the_question_again(app, phone):
    to_what_happened(phone)
    before = state(app)
    assert phone.say("", media=1) == f"{MEDIA_EN}\n\n{WHAT_HAPPENED}"
    assert phone.say("this is my card", media=2) == f"{MEDIA_EN}\n\n{WHAT_HAPPENED}"
    assert state(app) == before
    assert ("sms_media", {"count": 2}) in events(app)
    assert "this is my card" in [line.text for line in transcript(app)]


def test_a_picture_as_the_first_message_is_greeted(app, phone):
    reply = phone.say("", media=1)
    assert reply.startswith(GREETING) and MEDIA_EN in reply


def test_a_picture_in_chinese(app, phone):
    phone.say("我唔見咗身份證")
    phone.say("1")
    assert phone.say("", media=1) == f"{MEDIA_ZH}\n\n{WHAT_HAPPENED_ZH}"


def test_an_empty_message_is_no_input(app, phone):
    to_what_happened(phone)
    assert phone.say("") == f"Are you still there?\n\n{WHAT_HAPPENED}"
    assert phone.say("   ") == ("Are you still there?\n\nPlease reply with one of the numbers.\n\n"
                               f"{WHAT_HAPPENED}")
    assert state(app)["step"] == "what_happened"


def test_an_empty_first_message_gets_the_greeting_and_the_menu(app, phone):
    reply = phone.say("")
    assert reply.startswith(GREETING)
    assert "What do you need help with?" in reply or reply.endswith("Reply M for more")


def test_a_message_of_1600_characters_is_read(app, phone):
    phone.conversation("report a problem", "M", "2")
    assert phone.say("street light").startswith("Where is the problem?")
    body = ("The street light outside my building has been broken for two weeks. " * 30)[:1600]
    assert len(body) == 1600
    reply = phone.say(body)              # a free text answer, as long as Twilio allows
    assert reply == "What is wrong? Tell me in a few words."
    assert body in [line.text for line in transcript(app)]
    assert state(app)["slots"]["location"].lower().startswith("the street light outside my")


# -- idle conversations ------------------------------------------------------------------------

def go_quiet(app, minutes: int, number=NUMBER) -> None:
    """As if the conversation's last turn were ``minutes`` ago."""
    store = app.extensions["kaifong"].store
    with store.engine.begin() as conn:
        last = conn.execute(sa.select(conversations.c.updated_at).where(
            conversations.c.address == number)).scalar_one()
        conn.execute(sa.update(conversations).where(conversations.c.address == number).values(
            updated_at=last - timedelta(minutes=minutes)))


def test_after_a_long_silence_the_citizen_hears_where_they_left_off(app, phone):
    to_what_happened(phone)
    go_quiet(app, 61)
    assert phone.say("1") == ("Welcome back. We were doing: Replace an identity card.\n\n"
                              "Would you like to carry on from where you stopped, or start again?"
                              "\n\nReply 1 for Carry on\nReply 2 for Start again")
    assert ("sms_resume", {"idle_minutes": 60}) in events(app)
    lines = transcript(app)
    assert [(line.role, line.text) for line in lines[-3:-1]] == [
        ("user", "1"), ("system", "(session start)")]
    assert state(app)["step"] == "what_happened" and "lost" not in str(state(app)["slots"])
    assert phone.say("1") == WHAT_HAPPENED             # carry on
    assert phone.say("1").startswith("Please bring")


def test_a_short_silence_changes_nothing(app, phone):
    to_what_happened(phone)
    go_quiet(app, 59)
    assert phone.say("1").startswith("Please bring")


def test_idle_at_the_menu_is_not_resumed(app, phone):
    phone.say("hello")
    go_quiet(app, 600)
    assert phone.say("lost my id card") == INTRO


def test_idle_time_is_configurable(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SMS_IDLE_MINUTES="0.5")
    try:
        phone = Phone(app.test_client())
        to_what_happened(phone)
        go_quiet(app, 1)
        assert phone.say("1").startswith("Welcome back.")
    finally:
        app.extensions["kaifong"].store.close()


# -- pages ---------------------------------------------------------------------------------------

def test_a_long_reply_comes_in_pages_and_m_gets_the_next(app, phone):
    first = phone.say("hi")
    assert first == (f"{GREETING}\n\nSorry, I cannot help with that here.\n\n(1/2) Reply M for "
                     "more")
    second = phone.say("m")
    assert second.startswith("What do you need help with?") and second.endswith("\n\n(2/2)")
    assert "Reply 0 for Talk to a person" in second
    assert phone.say("1").startswith("Which one?")     # M is only "more" while there is more
    state_before = state(app)
    assert phone.say("M").startswith("Sorry")           # now it is an answer, and a miss
    assert state(app)["misses"] == state_before["misses"] + 1


def test_an_answer_instead_of_m_drops_the_rest(app, phone):
    phone.say("hi")
    assert phone.say("1").startswith("Which one?")
    assert not phone.say("M").endswith("(2/2)")


def every_reply_fits(replies: list[str]) -> None:
    for reply in replies:
        assert count_segments(reply).segments <= 2, reply
        assert "<" not in reply and "http" not in reply


def test_a_chinese_first_message_too_long_with_its_greeting_comes_as_two_messages(app, phone):
    greeting, answer = phone.texts("你好")
    assert greeting == "你好，我係「街坊」，幫你處理政府服務嘅自動小幫手。想同職員傾，隨時回覆 0。"
    assert answer.startswith("對唔住") and "你想我幫你做咩？" in answer
    assert not answer.endswith("睇下一段")                 # no page left for 下一段
    every_reply_fits([greeting, answer])
    assert phone.say("1").startswith("邊一樣？")


def test_no_markup_and_nothing_but_text(app, phone):
    replies = phone.conversation("lost my id card", "1", "2", "1", "1")
    every_reply_fits(replies)
    assert not any(re.search(r"[*_#`]|\[.*\]\(", r) for r in replies)


def test_a_failing_turn_changes_nothing_and_logs_no_text(app, phone, monkeypatch, caplog):
    to_what_happened(phone)
    before = snapshot(app)

    def broken(self, t, inp, locale=None, modality=None):
        raise ValueError(f"cannot handle {inp!r}")          # an error that quotes the message
    monkeypatch.setattr("assistant.conversation.Assistant.advance_in", broken)
    response = phone.send("my id is A123456(3) SECRET")
    # TwiML that apologises (Twilio sends nothing for an error status): never "500 text/plain"
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert messages_in(response.get_data(as_text=True)) == [
        "Sorry, Kaifong cannot answer just now. Please send your message again in a few "
        "minutes."]
    assert snapshot(app) == before
    assert "ValueError" in caplog.text
    assert "SECRET" not in caplog.text and "A123456" not in caplog.text
    assert NUMBER not in caplog.text
