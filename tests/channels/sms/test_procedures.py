"""Whole procedures by SMS through the webhook, in each language, from the first message to the
reference number: what the phone shows, message by message (as ``kaifong chat`` shows it)."""

from __future__ import annotations

import re

from channels.sms.segments import count_segments

from .test_webhook import GREETING, INTRO, WHAT_HAPPENED, WHAT_HAPPENED_ZH, state

WHEN = r"\w+day \d+ \w+, \d+:\d\d [ap]m"
WHEN_ZH = r"\d+月\d+日（星期.）[上下]午\d+時(?:\d+分)?"

HKID_EN = [
    ("lost my id card", f"{GREETING}\n\n{INTRO}"),
    ("1", WHAT_HAPPENED),
    ("1", "Please bring: another document with your photo if you have one, such as a passport. "
          "The fee is $370. Please apply within 30 days of losing the card.\n\nReply 1 for Next"),
    ("1", "Before we go on: I will ask for your identity card number and your phone number. We "
          "need it to book your appointment, and send you a reminder. We keep it for 90 days, "
          "then delete it. Only staff helping you can see it. Is that OK?\n\n"
          "Reply 1 for Yes\nReply 2 for No"),
    ("yes", "What is your identity card number? If you do not know it, say PERSON."),
    ("a123456 3", "You gave: A123456(3). Is that right?\n\nReply 1 for Yes\nReply 2 for No"),
    ("1", "What phone number can we use for a reminder?"),
    ("9123 4567", "You gave: 9123 4567. Is that right?\n\nReply 1 for Yes\nReply 2 for No"),
    ("yes", "Which office is easiest for you to go to?\n\n"
                  "Reply 1 for Sham Shui Po District Office\nReply 2 for Kwun Tong District Office\n"
                  "Reply 3 for Wan Chai District Office\nReply 4 for Sha Tin District Office"),
    ("sham shui po", re.compile(rf"Which time suits you\?\n\n(Reply \d for {WHEN}\n?){{4}}")),
    ("2", re.compile(rf"You gave: {WHEN}\. Is that right\?\n\nReply 1 for Yes\nReply 2 for No")),
    ("1", re.compile(r"Your reference number is KF\d{7}\. Please keep it\.\n\n"
                     rf"Your appointment is booked: {WHEN}, at Sham Shui Po District Office, 2/F, "
                     r"Cheung Sha Wan Government Offices, 303 Cheung Sha Wan Road\. Bring what I "
                     r"told you, and your reference number\.\n\n\(1/3\) Reply M for more")),
    ("M", re.compile(r"Your summary:\nWhat happened to the card: I lost it\n"
                     r"Identity card number: A123\*\*\*\(\*\)\nPhone number: 9123 4567\n"
                     rf"Office: Sham Shui Po District Office\nAppointment: {WHEN}\n\n"
                     r"\(2/3\) Reply M for more")),
    ("more", "Is there anything else? Choose a number, or type a few words.\n\n"
             "Reply 1 for Cards and identity card\nReply 2 for Allowances\n"
             "Reply 3 for Health: vouchers and vaccines\n"
             "Reply 4 for Housing, or a problem in your area\nReply 5 for Appointments\n"
             "Reply 0 for Talk to a person\n\n(3/3)"),
]

HKID_ZH = [
    ("我唔見咗身份證", "你好，我係「街坊」，幫你處理政府服務嘅小幫手。我可以一步一步教你。"
                   "你隨時都可以要求同職員傾。\n\n我可以幫你補領身份證，同預約時間親身去申請。"
                   "大約有5條簡單問題。\n\n回覆 1：下一步"),
    ("1", WHAT_HAPPENED_ZH),
    ("唔見咗", "請帶：另一份有你相片嘅證件（如有），例如護照。費用係$370。請喺唔見咗張證之後30日內"
            "申請。\n\n回覆 1：下一步"),
    ("１", "繼續之前：我會問你你嘅身份證號碼同電話號碼。我哋需要呢啲資料嚟幫你預約，同埋提你記得去。"
          "資料會保存90日，之後刪除。只有幫你嘅職員睇到。可唔可以？\n\n回覆 1：係\n回覆 2：唔係"),
    ("係", "你嘅身份證號碼係幾多？如果唔記得，請講「真人」。"),
    ("A123456(3)", "你俾嘅係：A123456(3)。啱唔啱？\n\n回覆 1：係\n回覆 2：唔係"),
    ("1", "我哋可以用邊個電話號碼發提示俾你？"),
    ("91234567", "你俾嘅係：9123 4567。啱唔啱？\n\n回覆 1：係\n回覆 2：唔係"),
    ("係", "你去邊個辦事處最方便？\n\n回覆 1：深水埗民政事務處\n回覆 2：觀塘民政事務處\n"
                 "回覆 3：灣仔民政事務處\n回覆 4：沙田民政事務處"),
    ("深水埗", re.compile(rf"邊個時間啱你？\n\n(回覆 \d：{WHEN_ZH}\n?){{4}}")),
    ("1", re.compile(rf"你俾嘅係：{WHEN_ZH}。啱唔啱？\n\n回覆 1：係\n回覆 2：唔係")),
    ("1", re.compile(r"你嘅參考編號係KF\d{7}。請保存好。\n\n"
                     rf"已經幫你預約：{WHEN_ZH}，地點：深水埗民政事務處，長沙灣道303號長沙灣政府合署"
                     r"2樓。請帶齊我講過嘅嘢同參考編號。\n\n（1/3）回覆 M 睇下一段")),
    ("下一段", re.compile(r"你嘅資料摘要：\n身份證發生咩事：唔見咗\n身份證號碼：A123\*\*\*\(\*\)\n"
                     rf"電話號碼：9123 4567\n辦事處：深水埗民政事務處\n預約時間：{WHEN_ZH}\n\n"
                     r"（2/3）回覆 M 睇下一段")),
    ("m", "仲有冇其他嘢要幫手？揀一個號碼，或者打幾個字。\n\n回覆 1：咭同身份證\n回覆 2：津貼\n"
          "回覆 3：健康：醫療券同疫苗\n回覆 4：房屋，或者報告區內問題\n回覆 5：預約\n"
          "回覆 0：同職員傾\n\n（3/3）"),
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


def test_hkid_replacement_in_english(app, phone):
    replies = walk(phone, HKID_EN)
    reference = re.search(r"KF\d{7}", replies[-3]).group(0)
    assert state(app)["reference"] == reference
    assert state(app)["procedure"] is None and state(app)["locale"] == "en"


def test_hkid_replacement_in_chinese(app, phone):
    replies = walk(phone, HKID_ZH)
    reference = re.search(r"KF\d{7}", replies[-3]).group(0)
    assert state(app)["reference"] == reference
    assert state(app)["locale"] == "zh-HK"


def test_a_second_citizen_is_a_second_conversation(app, client):
    from .conftest import Phone
    one, two = Phone(client, "+85291111111"), Phone(client, "+85292222222")
    assert one.say("lost my id card") == f"{GREETING}\n\n{INTRO}"
    assert two.say("我唔見咗身份證").startswith("你好")
    assert one.say("1") == WHAT_HAPPENED
    assert two.say("1") == WHAT_HAPPENED_ZH
