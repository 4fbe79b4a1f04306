"""``kaifong chat --channel sms`` shows what a phone shows; ``kaifong sms-send`` talks to a real
server as Twilio would; ``kaifong validate`` checks questions with their options and sentences."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import threading

import pytest
from werkzeug.serving import make_server

from assistant.catalogue import PROMPTS_DIR
from channels.cli import main
from channels.sms.devtools import send_as_twilio

from .conftest import NUMBER, TOKEN, Phone
from .test_webhook import GREETING, INTRO, OPTED_OUT_EN, WHAT_HAPPENED, state

SEGMENTS = re.compile(r"^   \[(\d) segment\(s\), (GSM-7|UCS-2), (\d+) units\]$", re.MULTILINE)


def run(capsys, monkeypatch, argv, stdin: bytes = b""):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path / "chat"))
    for name in ("KAIFONG_DATABASE_URL", "KAIFONG_SMS_IDLE_MINUTES", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def chat_messages(out: str) -> list[str]:
    """The messages ``kaifong chat --channel sms`` printed, each followed by its segment line."""
    messages, position = [], 0
    for m in SEGMENTS.finditer(out):
        messages.append(out[position:m.start()].replace("(no reply)\n", "").strip("\n"))
        position = m.end()
    return messages


def test_chat_shows_the_pages_the_webhook_sends(data_dir, capsys, monkeypatch, phone):
    turns = ["hi", "M", "lost my id card", "1", "HELP", "", "STOP", "1", "START"]
    code, out, _ = run(capsys, monkeypatch, ["chat", "--channel", "sms", "--address", NUMBER],
                       "".join(f"{t}\n" for t in turns).encode())
    assert code == 0
    by_webhook = [phone.say(t) for t in turns]
    shown = chat_messages(out)
    assert shown == [m for m in by_webhook if m]
    assert "(no reply)" in out                     # "1" while opted out
    for m, message in zip(SEGMENTS.finditer(out), shown, strict=False):
        assert int(m.group(1)) <= 2
        assert m.group(2) == ("UCS-2" if re.search(r"[^\x00-\x7f]", message) else "GSM-7")


def test_chat_in_chinese_decides_by_the_first_message(data_dir, capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["chat", "--channel", "sms", "--address", "z"],
                       "我唔見咗身份證\n".encode())
    assert code == 0 and out.startswith("你好") and "UCS-2" in out
    code, out, _ = run(capsys, monkeypatch, ["chat", "--locale", "zh-HK", "--address", "z2"],
                       b"hello\n")
    assert out.startswith("你好")


def test_chat_json_is_unchanged_by_sms_paging(data_dir, capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["chat", "--json", "--address", "j"], b"stop\n")
    assert code == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert objects[0]["user"] is None and objects[0]["reply"].startswith(GREETING)
    assert objects[1]["status"] == "closed"          # the dialogue's stop: a program drives it


@pytest.fixture
def server(app):
    """The app behind a real HTTP server on a free port. (Werkzeug's, because it shuts down
    cleanly from another thread; closing waitress's loop from outside can race it.)"""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_sms_send_talks_to_a_real_server_as_twilio(server, app, capsys, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    url = f"{server}/sms"
    code, out, err = run(capsys, monkeypatch, ["sms-send", "--url", url, "--from", NUMBER,
                                                "lost my id card"])
    assert code == 0, err
    assert out.startswith(f"{GREETING}\n\n{INTRO}\n   [2 segment(s), GSM-7,")
    code, out, _ = run(capsys, monkeypatch, ["sms-send", "--url", url, "--from", NUMBER,
                                             "--sid", "SMfixed", "1"])
    assert out.startswith(WHAT_HAPPENED)
    code, again, _ = run(capsys, monkeypatch, ["sms-send", "--url", url, "--from", NUMBER,
                                               "--sid", "SMfixed", "1"])
    assert again == out and state(app)["step"] == "what_happened"      # a retry
    code, out, _ = run(capsys, monkeypatch, ["sms-send", "--url", url, "--from", NUMBER,
                                             "--media", "1", ""])
    assert out.startswith("Sorry, I can only read text")
    code, out, _ = run(capsys, monkeypatch, ["sms-send", "--url", url, "--from", NUMBER, "STOP"])
    assert out.startswith(OPTED_OUT_EN)
    code, out, _ = run(capsys, monkeypatch, ["sms-send", "--url", url, "--from", NUMBER, "hi"])
    assert code == 0 and out == "(no reply)\n"


def test_sms_send_with_the_wrong_token_is_refused(server, capsys, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-servers-token")
    code, out, err = run(capsys, monkeypatch, ["sms-send", "--url", f"{server}/sms", "hello"])
    assert code == 1 and out == "" and "403" in err


def test_sms_send_needs_a_token_and_a_server(capsys, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    code, _, err = run(capsys, monkeypatch, ["sms-send", "hello"])
    assert code == 1 and "TWILIO_AUTH_TOKEN" in err
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    code, _, err = run(capsys, monkeypatch, ["sms-send", "--url", "http://127.0.0.1:9/sms", "hi"])
    assert code == 1 and "cannot reach" in err


def test_messages_at_once_through_a_real_server(server, app):
    url = f"{server}/sms"
    Phone(app.test_client()).say("lost my id card")
    turns = state(app)["turns"]
    barrier, results = threading.Barrier(3), []

    def send(i):
        barrier.wait()
        results.append(send_as_twilio(url, TOKEN, sender=NUMBER, to="+85230000000",
                                      body=f"blah {i}"))
    threads = [threading.Thread(target=send, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 3 and state(app)["turns"] == turns + 3


def copy_prompts(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    return root


def test_validate_reports_a_question_whose_options_do_not_fit(capsys, monkeypatch, tmp_path):
    root = copy_prompts(tmp_path)
    path = root / "procedures" / "hkid_replacement.yaml"
    text = path.read_text(encoding="utf-8")
    label = "It is damaged" + ", or broken" * 20                  # 233 characters
    longer = text.replace('label: "It is damaged"', f'label: "{label}"', 1)
    path.write_text(longer, encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, ["validate", str(root)])
    assert code == 1
    assert re.search(r"^hkid_replacement\.yaml: what_happened: en question with its options needs "
                     r"3 SMS segments", out, re.MULTILINE)


def test_validate_reports_a_sentence_too_long_for_a_page(capsys, monkeypatch, tmp_path):
    root = copy_prompts(tmp_path)
    path = root / "procedures" / "hkid_replacement.yaml"
    text = path.read_text(encoding="utf-8")
    sentence = "I can help you " + "and help you " * 21 + "today"       # 293 characters
    assert len(sentence) == 293
    path.write_text(text.replace(
        'say: "I can help you replace your identity card and book a time to apply in person. '
        'There are about 5 short questions."', f'say: "{sentence}."', 1), encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, ["validate", str(root)])
    assert code == 1
    assert re.search(r"^hkid_replacement\.yaml: intro: en sentence too long for one SMS page",
                     out, re.MULTILINE)
    assert "intro: en text needs" not in out        # the text alone fits in two segments


def test_validate_reports_sms_words_without_a_translation(capsys, monkeypatch):
    from channels import sms
    monkeypatch.setattr(sms, "TEXTS", sms.TEXTS + ("Reply Q to quibble",))
    code, out, _ = run(capsys, monkeypatch, ["validate"])
    assert code == 1
    assert out.splitlines() == ["channels/sms: -: no zh-HK translation for 'Reply Q to quibble'"]
