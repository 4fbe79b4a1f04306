"""The ``kaifong`` command: the JSON shapes are a contract that programs outside read."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from channels.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHAT_KEYS = {"user", "reply", "options", "expect", "procedure", "step", "slots", "status",
             "locale", "reference"}
EXPECT_KINDS = {"choice", "yes_no", "number", "date", "hkid", "phone", "text", "none"}


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAIFONG_DATABASE_URL", raising=False)
    return tmp_path


def run(capsys, monkeypatch, argv, stdin: bytes = b""):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def chat(capsys, monkeypatch, lines, *extra):
    stdin = "".join(f"{line}\n" for line in lines).encode("utf-8")
    code, out, err = run(capsys, monkeypatch, ["chat", "--json", *extra], stdin)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_chat_json_walks_a_procedure_to_its_reference(capsys, monkeypatch):
    turns = ["lost my id card", "1", "1", "1", "yes", "A123456(3)", "yes", "9123 4567", "yes", "1",
             "1", "yes", "1"]      # ... the appointment confirmed, then all correct at the review
    objects = chat(capsys, monkeypatch, turns, "--address", "+85291234567")
    assert len(objects) == len(turns) + 1
    for obj in objects:
        assert set(obj) == CHAT_KEYS
        assert obj["expect"]["kind"] in EXPECT_KINDS
        assert obj["status"] in {"bot", "waiting", "with_staff", "closed"}
        assert all(set(o) == {"key", "label"} for o in obj["options"])
    greeting = objects[0]
    assert greeting["user"] is None and greeting["procedure"] is None
    assert greeting["reference"] is None
    assert objects[1]["user"] == "lost my id card"
    assert objects[1]["procedure"] == "hkid_replacement"
    assert objects[5]["expect"]["kind"] == "hkid"
    assert objects[-2]["expect"]["kind"] == "choice" and objects[-2]["options"][0] == {
        "key": "1", "label": "All correct, go on"}                     # the review
    last = objects[-1]
    assert last["reference"] and last["reference"].startswith("KF")
    assert last["reply"].startswith(f"Your reference number is {last['reference']}.")
    assert last["expect"]["kind"] == "yes_no"                           # anything else?
    assert last["slots"]["hkid"] == "A123456(3)"


def test_chat_in_chinese(capsys, monkeypatch):
    objects = chat(capsys, monkeypatch, ["我想打流感針"], "--locale", "zh-HK")
    assert objects[0]["locale"] == "zh-HK" and "街坊" in objects[0]["reply"]
    assert objects[1]["procedure"] == "elderly_vaccination"


def test_chat_resumes_by_address(capsys, monkeypatch):
    chat(capsys, monkeypatch, ["lost my id card"], "--address", "kiosk-7")
    objects = chat(capsys, monkeypatch, [], "--address", "kiosk-7")
    assert objects[0]["step"] == "intro" and objects[0]["reply"].startswith("Welcome back.")


def test_chat_kiosk_buttons_and_voice_keys(capsys, monkeypatch):
    kiosk = chat(capsys, monkeypatch, ["5"], "--channel", "kiosk", "--address", "k1")
    assert kiosk[1]["procedure"] == "book_appointment"
    assert "[ 1 ]" in kiosk[1]["reply"]
    voice = chat(capsys, monkeypatch, ["5", "0"], "--channel", "voice", "--address", "v1")
    assert "press 1" in voice[1]["reply"]
    assert voice[2]["status"] == "waiting"


def test_chat_words_fit_each_channel(capsys, monkeypatch):
    """Each channel's modality: SMS texts say "reply", the kiosk "press the staff button", the
    phone "press 0"; each with that channel's rendering."""
    turns = ["lost my id card", "1", "1", "1", "yes"]
    sms = chat(capsys, monkeypatch, turns, "--address", "s1")
    assert sms[-1]["reply"] == ("What is your identity card number? If you do not know it, "
                                "reply PERSON.")
    kiosk = chat(capsys, monkeypatch, turns, "--channel", "kiosk", "--address", "k2")
    assert "press the staff button" in kiosk[-1]["reply"] and "reply" not in kiosk[-1]["reply"]
    voice = chat(capsys, monkeypatch, turns, "--channel", "voice", "--address", "v2")
    assert "press 0" in voice[-1]["reply"] and "reply" not in voice[-1]["reply"]
    assert {o["step"] for o in (sms[-1], kiosk[-1], voice[-1])} == {"ask_hkid"}


def test_chat_json_closes_politely_at_thats_all(capsys, monkeypatch):
    turns = ["fruit money", "1", "70", "1", "1", "1", "2", "2"]
    objects = chat(capsys, monkeypatch, turns, "--address", "c1")
    assert objects[-2]["expect"]["kind"] == "yes_no" and objects[-2]["status"] == "bot"
    assert [o["key"] for o in objects[-2]["options"]] == ["1", "2", "0"]
    assert objects[-1]["status"] == "closed" and objects[-1]["options"] == []
    assert objects[-1]["reply"] == "Thank you. Goodbye. You can write to us again at any time."


def test_chat_survives_bad_bytes_and_long_lines(capsys, monkeypatch):
    stdin = b"\xff\xfe\xfa broken\n" + b"x" * 5000 + b"\n\x00\x01\n\n"
    code, out, err = run(capsys, monkeypatch, ["chat", "--json", "--address", "b"], stdin)
    assert code == 0, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 5
    assert all(obj["reply"] for obj in objects)
    assert objects[1]["user"].startswith("\ufffd")


def test_chat_text_shows_the_segment_count(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["chat", "--address", "t"], b"hello\n")
    assert code == 0 and "segment(s), GSM-7" in out


def test_route_json(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["route", "我想申請長者咭", "--json",
                                             "--locale", "zh-HK"])
    result = json.loads(out)
    assert code == 0 and result["predicted"] == "senior_citizen_card"
    assert result["top"][0] == {"id": "senior_citizen_card", "score": result["top"][0]["score"]}


def test_route_out_of_scope(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["route", "what a lovely day", "--json"])
    assert json.loads(out)["predicted"] is None


def test_eval_routing_json_contract(capsys, monkeypatch, tmp_path):
    path = tmp_path / "set.jsonl"
    rows = [{"text": "senior citizen card", "locale": "en", "expect": "senior_citizen_card"},
            {"text": "生果金", "locale": "zh-HK", "expect": "old_age_allowance"},
            {"text": "tell me a joke", "locale": "en", "expect": None}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    code, out, _ = run(capsys, monkeypatch, ["eval-routing", str(path), "--json"])
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"summary", "items"}
    assert [i["text"] for i in doc["items"]] == [r["text"] for r in rows]
    assert all(set(i) == {"text", "locale", "expect", "predicted", "top"} for i in doc["items"])
    summary = doc["summary"]
    assert summary["top1_accuracy"] == 1.0 and summary["oos_rejection"] == 1.0
    assert set(summary["by_locale"]) == {"en", "zh-HK"}


def test_eval_routing_rejects_a_bad_line(capsys, monkeypatch, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x", "expect": null}\nnot json\n')
    code, _, err = run(capsys, monkeypatch, ["eval-routing", str(path)])
    assert code == 1 and "bad.jsonl:2" in err


def test_validate_the_shipped_catalogue(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["validate"])
    assert code == 0 and out.startswith("ok: 10 procedures")


def test_validate_names_file_step_and_problem(capsys, monkeypatch, tmp_path):
    import shutil

    from assistant.catalogue import PROMPTS_DIR
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    path = root / "procedures" / "report_problem.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("kind: end", "kind: finish", 1), encoding="utf-8")
    code, out, err = run(capsys, monkeypatch, ["validate", str(root)])
    assert code == 1
    assert any(line.startswith("report_problem.yaml: ") and "kind must be one of" in line
               for line in out.splitlines())


def test_validate_reports_texts_too_long_for_two_sms(capsys, monkeypatch, tmp_path):
    import shutil

    from assistant.catalogue import PROMPTS_DIR
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    path = root / "procedures" / "hkid_replacement.yaml"
    text = path.read_text(encoding="utf-8")
    long = "This sentence is long. " * 20
    path.write_text(text.replace('say: "I can help you replace', f'say: "{long}I can help you '
                                 'replace', 1), encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, ["validate", str(root)])
    assert code == 1
    assert any(re.search(r"hkid_replacement.yaml: intro: en text needs \d SMS segments", line)
               for line in out.splitlines())


def test_the_console_script_runs_as_a_new_process(tmp_path):
    env = {"KAIFONG_DATA_DIR": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([str(Path(sys.executable).parent / "kaifong"), "route",
                             "fruit money"], capture_output=True, text=True, env=env, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "old_age_allowance" in result.stdout


@pytest.mark.parametrize("value,threads", [(None, 32), ("", 32), ("4", 4), (" 64 ", 64)])
def test_serve_threads_from_the_environment(value, threads):
    from channels.cli import _threads
    assert _threads({} if value is None else {"KAIFONG_THREADS": value}) == threads


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_serve_refuses_a_bad_thread_count(value):
    from channels.cli import _threads
    with pytest.raises(SystemExit, match="KAIFONG_THREADS"):
        _threads({"KAIFONG_THREADS": value})


def test_validate_reports_the_same_problems_from_a_warm_catalogue_cache(capsys, monkeypatch,
                                                                        tmp_path, data_dir):
    """The catalogue cache keeps only catalogues that load; what ``validate`` checks on a loaded
    catalogue (here the transparency record, and a text too long for two SMS) it checks on a
    cached one as well, and a file broken after the cache was written is read afresh."""
    import shutil

    from assistant.catalogue import PROMPTS_DIR
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    path = root / "procedures" / "report_problem.yaml"
    text = path.read_text(encoding="utf-8")
    long = "This sentence is long. " * 20
    path.write_text("".join(line for line in text.splitlines(keepends=True)
                            if not line.startswith("owner:")).replace(
        "say: ", f"say: {long}", 1), encoding="utf-8")
    outputs = [run(capsys, monkeypatch, ["validate", str(root)]) for _ in range(2)]
    assert len(list((data_dir / "catalogue").glob("*.pickle"))) == 1
    assert outputs[0] == outputs[1] and outputs[0][0] == 1
    assert "report_problem.yaml: owner: missing 'owner'" in outputs[1][1]
    assert "SMS segments" in outputs[1][1]
    path.write_text(text.replace("kind: end", "kind: finish", 1), encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, ["validate", str(root)])
    assert code == 1 and "kind must be one of" in out


def test_validate_wants_each_procedures_owner_purpose_and_retention(capsys, monkeypatch,
                                                                     tmp_path):
    import shutil

    from assistant.catalogue import PROMPTS_DIR
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    path = root / "procedures" / "report_problem.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(("owner:", "purpose:"))
                            ).replace("retention_days: default", "retention_days: soon"),
                    encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, ["validate", str(root)])
    assert code == 1
    assert "report_problem.yaml: retention_days: retention_days must be a number of days" in out
    path.write_text("".join(line for line in lines if not line.startswith(
        ("owner:", "purpose:", "retention_days:"))), encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, ["validate", str(root)])
    assert code == 1
    assert [line.split(":")[1].strip() for line in out.splitlines()
            if line.startswith("report_problem.yaml")] == ["owner", "purpose", "retention_days"]


def test_purge_counts_in_a_dry_run_then_purges_and_audits(capsys, monkeypatch, data_dir):
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from assistant.desk import staff_audit
    from assistant.store import Store, conversations, database_url, transcript_lines
    chat(capsys, monkeypatch, ["person please, A123456(3)"], "--address", "+85291234567")
    store = Store(database_url({"KAIFONG_DATA_DIR": str(data_dir)}))
    try:
        with store.engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(days=40)
            conn.execute(sa.update(conversations).values(created_at=past, updated_at=past,
                                                         status="closed"))
            conn.execute(sa.update(transcript_lines).values(at=past))
        code, out, _ = run(capsys, monkeypatch, ["purge", "--older-than", "30", "--dry-run"])
        assert code == 0 and out.startswith("would purge what is older than 30 days:")
        assert "  conversations: 1\n" in out and "  transcript lines: 0\n" not in out
        assert store.conversation_id("sms", "+85291234567") is not None
        code, out, _ = run(capsys, monkeypatch, ["purge", "--older-than", "45"])
        assert code == 0 and "  conversations: 0\n" in out
        # one-listener clips (a number read back): the old one goes, one being played stays
        once = data_dir / "audio" / "once"
        once.mkdir(parents=True)
        (once / "old.wav").write_bytes(b"RIFF")
        (once / "new.wav").write_bytes(b"RIFF")
        os.utime(once / "old.wav", (0, 0))
        code, out, _ = run(capsys, monkeypatch, ["purge", "--older-than", "30"])
        assert code == 0 and out.startswith("purged") and "  conversations: 1\n" in out
        assert "  files: 1\n" in out and sorted(p.name for p in once.iterdir()) == ["new.wav"]
        assert store.conversation_id("sms", "+85291234567") is None
        with store.engine.connect() as conn:
            audit = conn.execute(sa.select(staff_audit.c.action, staff_audit.c.detail)
                                 .order_by(staff_audit.c.id)).all()
        assert [(a, d["dry_run"], d["older_than_days"], d["conversations"]) for a, d in audit] \
            == [("purged", True, 30, 1), ("purged", False, 45, 0), ("purged", False, 30, 1)]
    finally:
        store.close()
    with pytest.raises(SystemExit):      # a period of no days is refused, not "purge it all"
        main(["purge", "--older-than", "0"])
