"""Issue 11 in the core: words per modality, the review of every answer, the end that says what to
do next, "anything else?" that can be answered no, echo answers, and the wording lint."""

from __future__ import annotations

import shutil

import pytest
import yaml

from assistant import load_catalogue
from assistant.babel_yaml import extract
from assistant.catalogue import PROMPTS_DIR, Wording, wording
from assistant.engine import echo_answers
from assistant.errors import CatalogueError
from assistant.model import Choose, Digits, NoInput, Text
from assistant.wording import wording_problems
from tests.conftest import Flow

TO_REVIEW = ("test procedure", "1", "yes", "70", "red", "today", "yes", "A123456(3)", "yes",
             "91234567", "yes", "a note", "1", "yes")


# -- words per modality ---------------------------------------------------------------------------

@pytest.mark.parametrize("modality, words", [
    ("text", "Type a few words, or reply with a number."),
    ("voice", "Say it, or press a number."),
    ("screen", "Choose one."),
])
def test_each_modality_gets_its_own_words(mini_catalogue, modality, words):
    flow = Flow(mini_catalogue, modality=modality)
    assert flow.last.question == f"What do you need help with? {words}"
    assert flow.state["modality"] == modality


def test_a_modality_without_a_variant_gets_the_neutral_text(mini_catalogue):
    flow = Flow(mini_catalogue, modality="voice")
    assert flow.last.before[0].startswith("This is Kaifong")           # the voice variant
    assert Flow(mini_catalogue, modality="screen").last.before[0].startswith("Hello, I am Kaifong")


def test_the_modality_is_kept_for_turns_no_channel_starts(mini_catalogue):
    """A staff hand-back (no channel in the turn) speaks as the conversation's channel does."""
    from assistant.model import HandBack
    flow = Flow(mini_catalogue, modality="voice")
    flow.modality = None
    flow.send(HandBack())
    assert flow.last.question.endswith("Say it, or press a number.")


def test_words_in_chinese_follow_the_modality(mini_catalogue):
    flow = Flow(mini_catalogue, locale="zh-HK", modality="voice")
    assert flow.last.question == "你想我幫你做咩？講出嚟，或者撳號碼。"


def test_a_wording_mapping_needs_known_variants():
    assert wording({"default": "a", "voice": "b"}).for_modality("voice") == "b"
    assert wording({"default": "a", "voice": "b"}).for_modality("screen") == "a"
    assert wording({"voice": "v", "screen": "s", "text": "t"}) == "t"
    with pytest.raises(ValueError, match="unknown wording variant"):
        wording({"default": "a", "sms": "b"})
    with pytest.raises(ValueError, match="voice, screen and text"):
        wording({"voice": "v"})


def test_the_extractor_gives_translators_every_variant(tmp_path):
    doc = b'prompts:\n  menu:\n    text: "Type"\n    voice: "Say"\n    screen: "Choose"\n'
    import io
    messages = [m[2] for m in extract(io.BytesIO(doc), (), (), {})]
    assert messages == ["Type", "Say", "Choose"]


# -- the review of every answer -------------------------------------------------------------------

def test_the_review_lists_every_answer_with_a_way_to_change_each(mini_catalogue):
    flow = Flow(mini_catalogue)
    reply = flow.say(*TO_REVIEW)
    assert "review" in reply.tags and reply.expect.kind == "choice"
    items = reply.summary.items
    assert [(i.label, i.change) for i in items][:3] == [
        ("Has a card", "change:has_card"), ("Age", "change:age"), ("Colour", "change:colour")]
    hkid = next(i for i in items if i.slot == "hkid")
    assert hkid.value == "A123***(*)" and hkid.personal and hkid.spell
    assert next(i for i in items if i.slot == "note").personal        # free words are private
    assert [(o.key, o.label) for o in reply.options][:3] == [
        ("1", "All correct, go on"), ("2", "Change: Has a card"), ("3", "Change: Age")]
    assert reply.question == "Is everything right?"


def test_a_changed_answer_returns_to_the_review(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say(*TO_REVIEW)
    reply = flow.say("4")                                      # change the colour
    assert reply.step == "colour" and reply.question == "Which colour?"
    reply = flow.say("blue")
    assert reply.step == "check"                               # nothing else asked again
    assert next(i for i in reply.summary.items if i.slot == "colour").value == "Blue"
    assert flow.say("1").ended


def test_a_change_that_leads_elsewhere_follows_the_new_path(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say(*TO_REVIEW)
    flow.say("3")                                              # change the age
    reply = flow.say("40")                                     # under 65: the other branch
    assert reply.ended and "You are under 65." in reply.text


def test_a_review_is_chosen_by_button_and_by_key(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say(*TO_REVIEW)
    assert flow.send(Choose("change:phone")).step == "ask_phone"
    flow.say("98765432")
    assert flow.say("yes").step == "check"
    assert flow.send(Digits("1")).ended


def test_back_from_a_change_keeps_the_answer_and_returns_to_the_review(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say(*TO_REVIEW)
    flow.say("4")
    reply = flow.say("back")
    assert reply.step == "check" and "changing" not in flow.state
    assert next(i for i in reply.summary.items if i.slot == "colour").value == "Red"


def test_a_procedure_that_books_without_a_review_is_refused(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    path = root / "procedures" / "hkid_replacement.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["steps"]["choose_time"]["next"] = "book"
    del doc["steps"]["check"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match="without a review step"):
        load_catalogue(root)


# -- the end ------------------------------------------------------------------------------------

def test_the_end_gives_the_reference_then_what_to_do_next(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say(*TO_REVIEW)
    reply = flow.say("1")
    assert reply.reference and reply.before[0].startswith("Your reference number is")
    steps = reply.next_steps
    assert steps.bring == ("Bring: your card", "Bring: a pen")   # noted on the way, then the end's
    assert steps.where.startswith("Where: Sham Shui Po District Office, 2/F")
    assert steps.hours.startswith("Open: Monday to Friday")
    assert steps.when.startswith("When: ") and steps.fee == "Fee: $370"
    assert reply.summary.items[0].change is None


def test_information_ends_with_no_reference(catalogue):
    flow = Flow(catalogue)
    reply = flow.say("senior citizen card", "1", "70", "1", "1", "1", "1", "1")
    assert reply.ended and reply.reference is None
    assert "reference" not in reply.text.lower()
    assert "Bring: your identity card" in reply.next_steps.bring
    assert reply.next_steps.where.startswith("Where: Senior Citizen Card Office")
    assert reply.next_steps.hours == "Open: Monday to Friday 9 am to 5 pm"


@pytest.mark.parametrize("answer", [Text("2"), Text("no, that's all"), Text("no"), NoInput(),
                                    Digits("2"), Choose("no")])
def test_nothing_else_closes_politely(mini_catalogue, answer):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes", "40")
    assert flow.last.question == "Is there anything else I can help you with?"
    assert [(o.key, o.label) for o in flow.last.options] == [
        ("1", "Yes, something else"), ("2", "No, that's all"), ("0", "Talk to a person")]
    reply = flow.send(answer)
    assert reply.closed and not reply.handed_off and flow.state["status"] == "closed"
    assert reply.before[-1].startswith("Thank you. Goodbye.")


def test_something_else_goes_on(mini_catalogue):
    flow = Flow(mini_catalogue)
    flow.say("test procedure", "1", "yes", "40")
    assert flow.say("1").question.startswith("What do you need help with?")
    flow.say("test procedure", "1", "yes", "40")
    assert flow.say("test procedure").step == "intro"        # a new request, said at once


# -- yes and no as people answer ------------------------------------------------------------------

@pytest.mark.parametrize("question, answers", [
    ("你有冇公屋申請編號？", ("有", "冇")),
    ("你想唔想知喺邊度可以用？", ("想", "唔想")),
    ("你想唔想職員幫你查吓可唔可以免費打？", ("想", "唔想")),   # the main verb, not the clause
    ("繼續之前：資料保存90日。可唔可以？", ("可以", "唔可以")),
    ("你喺香港住咗7年或以上未？", ("有", "未")),
    ("係咪取消你嘅預約？", ("係", "唔係")),
    ("你俾嘅係：A123。啱唔啱？", ("啱", "唔啱")),
    ("你今年幾多歲？", None),
])
def test_echo_answers(question, answers):
    assert echo_answers(question) == answers


def test_yes_no_options_echo_the_question_and_take_the_echo(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    reply = flow.say("醫療券", "1")
    reply = flow.say("1")   # who can use it
    while reply.step != "ask_want_where":
        reply = flow.say("1")
    assert [o.label for o in reply.options] == ["想", "唔想"]
    assert flow.say("唔想").step != "ask_want_where"


def test_anything_else_in_chinese_takes_mou(mini_catalogue):
    flow = Flow(mini_catalogue, locale="zh-HK")
    flow.say("測試程序", "1", "係", "40")
    assert [o.label for o in flow.last.options][:2] == ["有，仲有其他嘢", "冇喇，唔該"]
    assert flow.say("冇").closed


# -- the wording lint ---------------------------------------------------------------------------

def _catalogue_with(tmp_path, **prompts):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    shared = yaml.safe_load((root / "shared.yaml").read_text(encoding="utf-8"))
    shared["prompts"].update(prompts)
    (root / "shared.yaml").write_text(yaml.safe_dump(shared, allow_unicode=True), encoding="utf-8")
    return load_catalogue(root)


def test_the_shipped_catalogue_passes_the_lint(catalogue):
    assert wording_problems(catalogue) == []


@pytest.mark.parametrize("prompt, problem", [
    ("Type a few words.", "asks a caller to write (voice"),
    ({"default": "Choose.", "voice": "Reply with a number."}, "asks a caller to write (voice"),
    ({"default": "Choose.", "screen": "Please say PERSON."}, "asks a kiosk visitor to speak"),
    ({"default": "Choose.", "text": "Press the button."}, "asks a texter to press"),
    ("Please answer with a number, for example {example}.", "{example} is never filled"),
    ({"default": "Choose.", "voice": " ".join(["word"] * 40)}, "too long to say on the phone"),
])
def test_the_lint_fails_on_a_seeded_bad_prompt(tmp_path, prompt, problem):
    cat = _catalogue_with(tmp_path, hint_number=prompt)
    found = [p for p in wording_problems(cat) if p[1] == "hint_number"]
    assert any(problem in p[2] for p in found), found


def test_validate_fails_on_a_seeded_bad_prompt(tmp_path, capsys):
    from channels.cli import main
    _catalogue_with(tmp_path, miss={"default": "Sorry.", "voice": "Sorry, please type it."})
    assert main(["validate", str(tmp_path / "prompts")]) == 1
    assert "shared.yaml: miss: asks a caller to write (voice" in capsys.readouterr().out


def test_wording_is_a_str_everywhere_it_is_read(catalogue):
    menu = catalogue.prompt("menu")
    assert isinstance(menu, Wording) and isinstance(menu, str)
    assert catalogue.text("menu", "en", "voice").startswith("What do you need help with? Say")
