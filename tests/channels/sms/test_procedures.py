"""Whole procedures by SMS through the signed webhook, in each language, from the first message
to "No, that's all": what the phone shows, message by message (as ``kaifong chat`` shows it).

Every procedure is walked in English and in Chinese: each message fits in two segments, the
review lists every answer with the number that changes it, the end gives the reference (only
where something was booked or reported) and what to do next first, and "2" at "anything else?"
closes the conversation politely. The hard case, the identity card in both languages, is
compared word for word, with a change of answer at the review.
"""

from __future__ import annotations

import re

import pytest

from channels.sms.segments import count_segments

from .conftest import Phone
from .test_webhook import GREETING, INTRO, WHAT_HAPPENED, WHAT_HAPPENED_ZH, state

WHEN = r"\w+day \d+ \w+, \d+:\d\d [ap]m"
WHEN_ZH = r"\d+月\d+日（星期.）[上下]午\d+時(?:\d+分)?"
GREETING_ZH = "你好，我係「街坊」，幫你處理政府服務嘅自動小幫手。想同職員傾，隨時回覆 0。"
GOODBYE = "Thank you. Goodbye. You can write to us again at any time."
GOODBYE_ZH = "多謝你，再見。你隨時可以再搵我哋。"
ANYTHING_ELSE = ("Is there anything else I can help you with?\n\nReply 1 for Yes, something else\n"
                 "Reply 2 for No, that's all\nReply 0 for Talk to a person")
ANYTHING_ELSE_ZH = ("仲有冇其他嘢要我幫手？\n\n回覆 1：有，仲有其他嘢\n回覆 2：冇喇，唔該\n"
                    "回覆 0：同職員傾")


def review(phone_number: str, when: str = WHEN) -> re.Pattern:
    return re.compile(
        "Please check your answers:\n2. What happened to the card: I lost it\n"
        r"3. Identity card number: A123\*\*\*\(\*\)\n"
        f"4. Phone number: {phone_number}\n5. Office: Sham Shui Po District Office\n"
        f"6. Appointment: {when}\nIs everything right\\?\n"
        "Reply 1 if so, or the number of an answer to change it.")


def review_zh(phone_number: str) -> re.Pattern:
    return re.compile(
        "請檢查你嘅答案：\n2. 身份證發生咩事：唔見咗\n"
        r"3. 身份證號碼：A123\*\*\*\(\*\)\n"
        f"4. 電話號碼：{phone_number}\n5. 辦事處：深水埗民政事務處\n"
        f"6. 預約時間：{WHEN_ZH}\n全部啱唔啱？\n啱就回覆 1；要改就回覆嗰項嘅號碼。")


HKID_EN = [
    ("lost my id card", f"{GREETING}\n\n{INTRO}"),
    ("1", WHAT_HAPPENED),
    ("1", "Please bring another document with your photo if you have one, such as a passport. "
          "The fee is $370. Please apply within 30 days of losing the card.\n\nReply 1 for Next"),
    ("1", "Before we go on: I will ask for your identity card number and your phone number. We "
          "need it to book your appointment, and send you a reminder. We keep it for 90 days, "
          "then delete it. Only staff helping you can see it. Is that OK?\n\n"
          "Reply 1 for Yes\nReply 2 for No"),
    ("yes", "What is your identity card number? If you do not know it, reply PERSON."),
    ("a123456 3", "You gave: A123456(3). Is that right?\n\nReply 1 for Yes\nReply 2 for No"),
    ("1", "What phone number can we use for a reminder?"),
    ("9123 4567", "You gave: 9123 4567. Is that right?\n\nReply 1 for Yes\nReply 2 for No"),
    ("yes", "Which office is easiest for you to go to?\n\n"
            "Reply 1 for Sham Shui Po District Office\nReply 2 for Kwun Tong District Office\n"
            "Reply 3 for Wan Chai District Office\nReply 4 for Sha Tin District Office"),
    ("sham shui po", re.compile(rf"Which time suits you\?\n\n(Reply \d for {WHEN}\n?){{4}}")),
    ("2", re.compile(rf"You gave: {WHEN}\. Is that right\?\n\nReply 1 for Yes\nReply 2 for No")),
    ("1", review("9123 4567")),
    # a change at the review: the question again, its confirmation, and back to the review
    ("4", "What phone number can we use for a reminder?"),
    ("9111 2222", "You gave: 9111 2222. Is that right?\n\nReply 1 for Yes\nReply 2 for No"),
    ("yes", review("9111 2222")),
    # the end: the reference and what to do next first
    ("1", re.compile(
        r"Your reference number is KF\d{7}\. Please keep it\.\nWhat to do next:\n"
        r"Bring: another document with your photo, such as a passport, if you have one\n"
        rf"Bring: your reference number\nWhen: {WHEN}\n\n\(1/3\) Reply M for more")),
    ("M", "Where: Sham Shui Po District Office, 2/F, Cheung Sha Wan Government Offices, 303 "
          "Cheung Sha Wan Road\nOpen: Monday to Friday 9 am to 6 pm; Saturday 9 am to 12 noon\n"
          "Fee: $370\n\nYour appointment is booked. We will send you a text message the day "
          "before.\n\n(2/3) Reply M for more"),
    ("more", f"{ANYTHING_ELSE}\n\n(3/3)"),
    ("2", GOODBYE),
]

HKID_ZH = [
    ("我唔見咗身份證", f"{GREETING_ZH}\n\n我可以幫你補領身份證，同預約時間親身去申請。"
                   "大約有5條簡單問題。\n\n回覆 1：下一步"),
    ("1", WHAT_HAPPENED_ZH),
    ("唔見咗", "如果有，請帶另一份有相嘅證件，例如護照。費用係$370。請喺唔見咗之後30日內申請。"
            "\n\n回覆 1：下一步"),
    ("１", "繼續之前：我會問你你嘅身份證號碼同電話號碼。我哋需要呢啲資料嚟幫你預約，同埋提你記得去。"
          "資料會保存90日，之後刪除。只有幫你嘅職員睇到。可唔可以？\n\n回覆 1：可以\n回覆 2：唔可以"),
    ("可以", "你嘅身份證號碼係咩？如果唔記得，請回覆「真人」。"),
    ("A123456(3)", "你俾嘅係：A123456(3)。啱唔啱？\n\n回覆 1：啱\n回覆 2：唔啱"),
    ("啱", "我哋可以用邊個電話號碼發提示俾你？"),
    ("91234567", "你俾嘅係：9123 4567。啱唔啱？\n\n回覆 1：啱\n回覆 2：唔啱"),
    ("1", "你去邊個辦事處最方便？\n\n回覆 1：深水埗民政事務處\n回覆 2：觀塘民政事務處\n"
          "回覆 3：灣仔民政事務處\n回覆 4：沙田民政事務處"),
    ("深水埗", re.compile(rf"邊個時間啱你？\n\n(回覆 \d：{WHEN_ZH}\n?){{4}}")),
    ("1", re.compile(rf"你俾嘅係：{WHEN_ZH}。啱唔啱？\n\n回覆 1：啱\n回覆 2：唔啱")),
    ("1", review_zh("9123 4567")),
    ("4", "我哋可以用邊個電話號碼發提示俾你？"),
    ("9111 2222", "你俾嘅係：9111 2222。啱唔啱？\n\n回覆 1：啱\n回覆 2：唔啱"),
    ("啱", review_zh("9111 2222")),
    ("1", re.compile(
        r"你嘅參考編號係KF\d{7}。請保存好。\n下一步：\n帶：另一份有相嘅證件（如有），例如護照\n"
        rf"帶：參考編號\n時間：{WHEN_ZH}\n地點：深水埗民政事務處, 長沙灣道303號長沙灣政府合署2樓"
        r"\n\n（1/2）回覆 M 睇下一段")),
    ("下一段", "開放時間：星期一至五上午9時至下午6時；星期六上午9時至中午12時\n費用：$370\n\n"
            f"你嘅預約已經訂好。我哋會喺前一日發短訊提你。\n\n{ANYTHING_ELSE_ZH}\n\n（2/2）"),
    ("冇喇", GOODBYE_ZH),
]


def walk(phone, turns):
    replies = []
    for said, expected in turns:
        reply = phone.say(said)
        replies.append(reply)
        if isinstance(expected, str):
            assert reply == expected, said
        else:
            assert expected.fullmatch(reply), (said, reply)
        assert count_segments(reply).segments <= 2, reply
    return replies


def test_hkid_replacement_in_english_with_a_change_at_the_review(app, phone):
    replies = walk(phone, HKID_EN)
    reference = re.search(r"KF\d{7}", replies[-4]).group(0)
    assert state(app)["status"] == "closed"
    assert state(app)["reference"] == reference
    assert state(app)["slots"].get("phone") in (None, "91112222")


def test_hkid_replacement_in_chinese_with_a_change_at_the_review(app, phone):
    replies = walk(phone, HKID_ZH)
    reference = re.search(r"KF\d{7}", replies[-3]).group(0)
    assert state(app)["reference"] == reference
    assert state(app)["locale"] == "zh-HK" and state(app)["status"] == "closed"


def test_a_second_citizen_is_a_second_conversation(app, client):
    one, two = Phone(client, "+85291111111"), Phone(client, "+85292222222")
    assert one.say("lost my id card") == f"{GREETING}\n\n{INTRO}"
    assert two.say("我唔見咗身份證").startswith("你好")
    assert one.say("1") == WHAT_HAPPENED
    assert two.say("1") == WHAT_HAPPENED_ZH


# -- every procedure, both languages ----------------------------------------------------------

#: what a citizen answers, from the first message to the end of the procedure (pages are read
#: with "M" as they come; "2" at "anything else?" follows)
SCRIPTS = {
    "book_appointment": ["{title}", "1", "1", "1", "1", "{phone}", "1", "1", "1", "1"],
    "elderly_health_voucher": ["{title}", "1", "1", "1", "1", "1", "1", "1", "1"],
    "elderly_vaccination": ["{title}", "70", "1", "1", "1", "1", "1", "1", "1", "2"],
    "hkid_replacement": ["{title}", "1", "1", "1", "1", "A123456(3)", "1", "{phone}", "1", "1",
                         "1", "1", "1"],
    "old_age_allowance": ["{title}", "1", "70", "1", "1", "1", "2"],
    "old_age_living_allowance": ["{title}", "1", "70", "1", "1", "1", "1", "5000", "5000", "1",
                                 "1", "1", "1", "2"],
    "public_housing_status": ["{title}", "1", "1", "1", "1", "2"],
    "report_problem": ["{title}", "2", "1", "{text}", "{text}", "1", "1", "{phone}", "1", "1"],
    "senior_citizen_card": ["{title}", "1", "70", "1", "1", "1", "1", "1"],
    "transport_fare_concession": ["{title}", "1", "70", "1", "1", "2"],
}
#: where something is booked or reported: these alone end with a reference
REFERENCED = {"book_appointment", "hkid_replacement", "report_problem"}
SAMPLES = {
    "en": {"phone": "9123 4567",
           "text": "The street light outside 12 Nathan Road, Mong Kok, is broken."},
    "zh-HK": {"phone": "91234567", "text": "旺角彌敦道12號外面盞街燈壞咗。"},
}
REFERENCE_LINE = {"en": r"Your reference number is KF\d{7}\. Please keep it\.",
                  "zh-HK": r"你嘅參考編號係KF\d{7}。請保存好。"}
NEXT_STEPS = {"en": "What to do next:", "zh-HK": "下一步："}
MORE = {"en": re.compile(r"\(\d+/\d+\) Reply M for more$"),
        "zh-HK": re.compile(r"（\d+/\d+）回覆 M 睇下一段$")}


def exchange(phone, body: str, locale: str) -> list[str]:
    """The messages a citizen reads after sending ``body``: the reply and its further pages."""
    messages = phone.texts(body)
    while MORE[locale].search(messages[-1]):
        messages.append(phone.say("M"))
    return messages


@pytest.mark.parametrize("locale", ["en", "zh-HK"])
@pytest.mark.parametrize("procedure", sorted(SCRIPTS))
def test_every_procedure_by_sms(app, phone, procedure, locale):
    cat = app.extensions["kaifong"].catalogue
    values = {"title": cat.gettext(locale, cat.procedures[procedure].title), **SAMPLES[locale]}
    sent: list[str] = []
    for body in SCRIPTS[procedure]:
        assert state(app).get("status", "bot") == "bot", (body, sent[-1:])
        end = exchange(phone, body.format(**values), locale)
        sent += end
        if body == "{title}":
            assert state(app)["procedure"] == procedure
            # the greeting, with the answer when both fit in one message, else on its own first
            assert end[0].startswith(GREETING if locale == "en" else GREETING_ZH)
            assert len(end) == 1 or not MORE[locale].search(end[0])
    # the procedure has ended: its last answer got the end, then "anything else?"
    assert state(app)["procedure"] is None and state(app)["pending"] == {"kind": "ended"}
    assert all(count_segments(m).segments <= 2 for m in sent)
    first = end[0]
    reference = REFERENCE_LINE[locale]
    if procedure in REFERENCED:
        assert re.match(reference + "\n" + NEXT_STEPS[locale] + "\n", first), first
        assert re.search(r"KF\d{7}", first).group(0) == state(app)["reference"]
    else:
        # information only: no reference, anywhere; what to do next first, where there is any
        assert state(app)["reference"] is None
        assert not any(re.search(r"KF\d{7}", m) for m in sent)
        assert NEXT_STEPS[locale] not in "".join(end) or first.startswith(NEXT_STEPS[locale])
    question = ANYTHING_ELSE if locale == "en" else ANYTHING_ELSE_ZH
    assert question in end[-1]
    assert phone.say("2") == (GOODBYE if locale == "en" else GOODBYE_ZH)
    assert state(app)["status"] == "closed"


def test_an_information_only_procedure_ends_with_what_to_do_next_and_no_reference(app, phone):
    phone.texts("Old Age Living Allowance")
    for body in ["1", "70", "1", "1", "1", "1", "5000", "5000", "1",
                 "1", "1", "1"]:
        phone.say(body)
    end = phone.say("2")
    assert end == (
        "What to do next:\nBring: your identity card, and your spouse's if married\n"
        "Bring: proof of your bank account\n"
        "Bring: papers about your income and savings, such as bank books\n"
        "Where: your nearest Social Security Field Unit\nQuestions: call 2343 2255\n\n"
        "(1/2) Reply M for more")
    assert phone.say("M") == ("Thank you. Apply when you are ready, with the papers I listed."
                              f"\n\n{ANYTHING_ELSE}\n\n(2/2)")
    assert state(app)["reference"] is None
    assert phone.say("No, that's all") == GOODBYE
    assert state(app)["status"] == "closed"


def test_anything_else_yes_goes_back_to_the_menu(app, phone):
    phone.texts("Old Age Allowance (fruit money)")
    for body in ["1", "70", "1", "1", "1"]:
        phone.say(body)
    assert phone.say("2").endswith(ANYTHING_ELSE)
    assert phone.say("1").startswith("What do you need help with?")
    assert state(app)["status"] == "bot"


# -- echo answers -----------------------------------------------------------------------------

def test_echo_answers_typed_at_the_questions_that_offer_them(app, client):
    """有 / 冇, 想 / 唔想, 可以 / 唔可以, 有 / 未: the options show them, and typed they answer."""
    def texting(number: str, *bodies: str) -> tuple[Phone, str]:
        phone = Phone(client, number)
        reply = ""
        for body in bodies:
            reply = phone.texts(body)[-1]
        return phone, reply

    def step(phone) -> str | None:
        return state(app, phone.number)["step"]

    # 住咗7年或以上未？ -> 有 / 未
    phone, asked = texting("+85290000001", "高齡津貼（生果金）", "1", "70")
    assert asked.endswith("未？\n\n回覆 1：有\n回覆 2：未")
    phone.say("未")
    assert step(phone) == "not_resident"
    phone, _ = texting("+85290000002", "高齡津貼（生果金）", "1", "70")
    phone.say("有")
    assert step(phone) == "ask_benefit"

    # 你想唔想職員幫你睇吓你嘅情況？ -> 想 / 唔想
    phone, asked = texting("+85290000003", "高齡津貼（生果金）", "1", "70", "未", "1")
    assert asked.endswith("你想唔想職員幫你睇吓你嘅情況？\n\n回覆 1：想\n回覆 2：唔想")
    phone.say("唔想")
    assert state(app, phone.number)["pending"] == {"kind": "ended"}
    phone, _ = texting("+85290000004", "高齡津貼（生果金）", "1", "70", "未", "1")
    phone.say("想呀")
    assert state(app, phone.number)["status"] == "waiting"

    # 可唔可以？ (consent) -> 可以 / 唔可以
    phone, asked = texting("+85290000005", "補領身份證", "1", "1", "1")
    assert asked.endswith("可唔可以？\n\n回覆 1：可以\n回覆 2：唔可以")
    phone.say("唔可以")
    assert state(app, phone.number)["procedure"] is None
    phone, _ = texting("+85290000006", "補領身份證", "1", "1", "1")
    phone.say("可以")
    assert step(phone) == "ask_hkid"

    # 有冇問題想問職員？ -> 有 / 冇
    phone, asked = texting("+85290000007", "流感針同肺炎針", "70", "1", "1", "1", "1", "1", "1", "1")
    assert asked.endswith("你有冇問題想問職員？\n\n回覆 1：有\n回覆 2：冇")
    phone.say("冇")
    assert state(app, phone.number)["pending"] == {"kind": "ended"}
    phone, _ = texting("+85290000008", "流感針同肺炎針", "70", "1", "1", "1", "1", "1", "1", "1")
    phone.say("有")
    assert state(app, phone.number)["status"] == "waiting"

    # 仲有冇其他嘢要我幫手？ -> 有 / 冇
    phone, _ = texting("+85290000009", "高齡津貼（生果金）", "1", "70", "未", "1", "唔想")
    assert phone.say("冇") == GOODBYE_ZH


def test_a_first_message_whose_answer_is_long_gets_the_greeting_on_its_own(app, phone):
    messages = phone.texts("fruit money")
    assert messages[0] == GREETING
    assert messages[1].startswith("Fruit money, or the Old Age Allowance, is a monthly payment")
    assert messages[1].endswith("\n\nReply 1 for Next")
    assert all(count_segments(m).segments <= 2 for m in messages)
    assert phone.say("1").startswith("How old are you?")
