"""Paging long replies: every page fits in two segments, no word is ever cut, the question stays
with its options, and the reader is told how to get the rest."""

from __future__ import annotations

import random
import re

import pytest

from channels.sms.pages import footer_for, paginate, sentences
from channels.sms.segments import count_segments


def gettext(locale, msgid):
    zh = {"({page}/{pages}) Reply M for more": "（{page}/{pages}）回覆 M 睇下一段",
          "({page}/{pages})": "（{page}/{pages}）"}
    return zh.get(msgid, msgid) if locale == "zh-HK" else msgid


EN = footer_for(gettext, "en")
ZH = footer_for(gettext, "zh-HK")
FOOTER = re.compile(r"\n\n(?:\((\d+)/(\d+)\)(?: Reply M for more)?|（(\d+)/(\d+)）(?:回覆 M 睇下一段)?)$")


def bodies(pages):
    """The pages without their markers, checking the markers on the way."""
    out = []
    for i, page in enumerate(pages, 1):
        m = FOOTER.search(page)
        assert m, page
        number, total = (int(x) for x in (m.group(1, 2) if m.group(1) else m.group(3, 4)))
        assert (number, total) == (i, len(pages))
        more = "Reply M for more" in page or "回覆 M 睇下一段" in page
        assert more == (i < len(pages))
        out.append(page[:m.start()])
    return out


def words(text):
    return re.findall(r"\S+", text)


def test_a_reply_that_fits_is_one_message_without_a_marker():
    text = ["Hello.", "What happened to your identity card?\n\nReply 1 for I lost it"]
    assert paginate(text, EN) == ["Hello.\n\nWhat happened to your identity card?\n\n"
                                  "Reply 1 for I lost it"]
    assert paginate([], EN) == [] and paginate(["", ""], EN) == []


def test_exactly_two_segments_is_still_one_message():
    assert paginate(["a" * 306], EN) == ["a" * 306]
    assert paginate(["字" * 134], ZH) == ["字" * 134]
    assert len(paginate(["a " * 153 + "b"], EN)) == 2


def test_long_english_text_is_cut_between_sentences():
    sentence = "Please bring another document with your photo, such as a passport."
    text = " ".join([sentence] * 12)
    pages = paginate([text], EN)
    assert len(pages) > 2
    assert pages[0].endswith(f"\n\n(1/{len(pages)}) Reply M for more")
    assert pages[-1].endswith(f"\n\n({len(pages)}/{len(pages)})")
    for body in bodies(pages):
        assert body.startswith("Please") and body.endswith("passport.")
    assert all(count_segments(p).segments <= 2 for p in pages)
    assert words(" ".join(bodies(pages))) == words(text)


def test_the_question_stays_with_its_options():
    said = "You can get the card at any district office. " * 5
    question = "Which office is easiest for you to go to?\n\n" + "\n".join(
        f"Reply {i} for {name} District Office" for i, name in
        enumerate(["Sham Shui Po", "Kwun Tong", "Wan Chai", "Sha Tin"], 1))
    pages = paginate([said.strip(), question], EN)
    assert len(pages) == 2
    assert bodies(pages)[1] == question


def test_options_too_many_for_one_page_are_cut_between_lines():
    question = "Which one?\n\n" + "\n".join(f"Reply {i} for a rather long option label number {i}"
                                            for i in range(1, 10))
    pages = paginate([question], EN)
    assert len(pages) == 2
    for body in bodies(pages):
        assert all(line == "Which one?" or line == "" or re.fullmatch(
            r"Reply \d for a rather long option label number \d", line)
            for line in body.split("\n"))


def test_chinese_is_cut_after_full_stops_and_keeps_numbers_whole():
    sentence = "你嘅參考編號係KF0000990，身份證號碼係A123456(3)，請記低。"
    pages = paginate([sentence * 8], ZH)
    assert len(pages) == 3
    for page in pages:
        assert count_segments(page).segments <= 2
    for body in bodies(pages):
        assert body.replace(sentence, "") == ""
    assert pages[0].endswith(f"（1/{len(pages)}）回覆 M 睇下一段")


def test_a_sentence_longer_than_a_page_is_cut_between_words():
    sentence = " ".join(f"word{i}" for i in range(80)) + "."
    pages = paginate([sentence], EN)
    assert len(pages) == 2
    assert words(" ".join(bodies(pages))) == words(sentence)


def test_a_chinese_sentence_longer_than_a_page_keeps_latin_runs_whole():
    sentence = "請帶KF0000990同A123456(3)" * 12 + "。"
    pages = paginate([sentence], ZH)
    joined = "".join(bodies(pages))
    assert joined == sentence
    for body in bodies(pages):
        assert not re.match(r"^[0-9A-Z(]", body[:1]) or body.startswith(("KF", "A1"))
        assert not re.search(r"[0-9A-Z(]$", body) or body.endswith(("0", ")"))


def test_a_word_longer_than_a_page_is_the_only_thing_cut():
    address = "www." + "x" * 400 + ".gov.hk"
    pages = paginate(["Go to", address], EN)
    assert "".join(bodies(pages)[1:]) == address
    assert all(count_segments(p).segments <= 2 for p in pages)


def test_sentences_across_lines_and_paragraphs():
    assert sentences("One. Two!\nThree?\n\n四。五！Six") == ["One.", "Two!", "Three?", "四。", "五！",
                                                          "Six"]
    assert sentences("Visit www.housingauthority.gov.hk. Then call 2712 2712.") == [
        "Visit www.housingauthority.gov.hk.", "Then call 2712 2712."]
    assert sentences("The fee is $1.50 (one fifty).") == ["The fee is $1.50 (one fifty)."]


LATIN = ["a", "card", "office", "appointment", "€5", "[x]", "A123456(3)", "KF0000990", "please",
         "Sham", "Shui", "Po", "😀"]
CHINESE = ["身份證", "預約", "請", "帶", "A123456(3)", "KF0000990", "，", "😀"]


def random_reply(rng, vocabulary, end, joiner):
    def sentence():
        return joiner.join(rng.choice(vocabulary) for _ in range(rng.randint(1, 25))) + end
    return ["\n".join(" ".join(sentence() for _ in range(rng.randint(1, 4)))
                      for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 5))]


@pytest.mark.parametrize("seed", range(30))
def test_random_english_every_page_fits_and_no_word_is_cut(seed):
    groups = random_reply(random.Random(seed), LATIN, ".", " ")
    pages = paginate(groups, EN)
    assert all(count_segments(p).segments <= 2 for p in pages)
    if len(pages) > 1:
        assert words(" ".join(bodies(pages))) == words("\n\n".join(groups))
    else:
        assert pages == ["\n\n".join(groups)]


@pytest.mark.parametrize("seed", range(30))
def test_random_chinese_every_page_fits_and_no_number_is_cut(seed):
    groups = random_reply(random.Random(seed), CHINESE, "。", "")
    pages = paginate(groups, ZH)
    assert all(count_segments(p).segments <= 2 for p in pages)
    if len(pages) == 1:
        assert pages == ["\n\n".join(groups)]
        return
    assert re.sub(r"\s", "", "".join(bodies(pages))) == re.sub(r"\s", "", "".join(groups))
    for body in bodies(pages):
        for run in re.findall(r"[A-Z0-9()]+", body):
            assert re.fullmatch(r"(?:A123456\(3\)|KF0000990)+", run)
