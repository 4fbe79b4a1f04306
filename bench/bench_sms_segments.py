"""What a completed procedure costs by SMS: segments per procedure, in each language.

Every procedure of the catalogue is walked by text message, in English and in Chinese, from the
citizen's first message (the procedure's title, as someone might write it) to "No, that's all",
through ``channels.sms.receive``: the code behind ``POST /sms``, with its pages ("M" is sent
for the next page, as a citizen would, and counted), its keywords and its rendering. Answers
are chosen by the question's kind (a sample identity card number, phone number, age, words);
at choices and yes/no questions the walk searches for a path that reaches an end of the
procedure (not a hand-off to a person), trying the first option first; confirmations and the
review are answered "1".

Per procedure and language: ``segments`` (every segment we sent, first message to goodbye),
``messages``, ``max_segments`` (the longest one message; DESIGN: at most 2), the review
(``review_segments`` of its first message, ``review_in_one_message``: every answer
and the question in one message, or pages), and the end: ``end_first_segments``,
whether the reference (where there is one) and every line of what to do next are in the end's
first message (``next_steps_in_first``), and ``reference``. No timing: segments are counted the
way carriers count them (``channels.sms.segments``).

    .venv/bin/python bench/bench_sms_segments.py [--out FILE]

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import Assistant, load_catalogue, seed_appointment_slots  # noqa: E402
from assistant.store import Store  # noqa: E402
from channels.sms.inbound import receive  # noqa: E402
from channels.sms.mapping import InboundSms  # noqa: E402
from channels.sms.pages import MORE_PAGES  # noqa: E402
from channels.sms.segments import count_segments  # noqa: E402

LOCALES = ("en", "zh-HK")
MAX_WALKS = 60          # paths tried per procedure and language
MAX_TURNS = 60
SAMPLE = {
    "hkid": {"en": "A123456(3)", "zh-HK": "A123456(3)"},
    "phone": {"en": "9123 4567", "zh-HK": "91234567"},
    "date": {"en": "1 March 1950", "zh-HK": "1950年3月1日"},
    "text": {"en": "The street light outside 12 Nathan Road, Mong Kok, is broken.",
             "zh-HK": "旺角彌敦道12號外面盞街燈壞咗。"},
}


class Recording(Assistant):
    """The assistant, remembering the last reply the channel got (to choose the next answer)."""

    last = None

    def advance_in(self, *args, **kwargs):
        self.last = super().advance_in(*args, **kwargs)
        return self.last


def answer_for(cat, reply, locale: str, choice: int) -> str | None:
    """What to send, or None at a branch point (the caller picks ``choice``)."""
    kind = reply.expect.kind
    if "review" in reply.tags or "confirm" in reply.tags:
        return "1"
    if kind in SAMPLE:
        return SAMPLE[kind][locale]
    if kind == "number":
        step = cat.procedures[reply.procedure].steps[reply.step]
        return "70" if (step.max or 0) <= 120 else "5000"
    return None


def walk(cat, store, pid: str, locale: str, path: list[int], address: str) -> dict:
    assistant = Recording(cat, store)
    title = cat.gettext(locale, cat.procedures[pid].title)
    more = re.compile(re.escape(cat.gettext(locale, MORE_PAGES))
                      .replace(r"\{page\}", r"\d+").replace(r"\{pages\}", r"\d+") + "$")
    sent: list[dict] = []
    points: list[int] = []       # options available at each branch point met
    result = {"completed": False, "procedure_reached": False}
    text, turns = title, 0
    review = end_first = None
    while turns < MAX_TURNS:
        turns += 1
        this_turn = len(sent)
        messages = receive(assistant, InboundSms(address, text), locale=locale)
        reply = assistant.last
        for m in messages:
            sent.append({"said": text, "text": m, "segments": count_segments(m).segments})
        if reply is not None and reply.procedure is not None:
            result["procedure_reached"] = reply.procedure == pid
            if reply.procedure != pid:
                break                   # the first message started another procedure
        if reply is not None and "review" in reply.tags and review is None and messages:
            review = sent[this_turn]
            review["pages"] = 1 + (1 if more.search(messages[-1]) else 0)
        if reply is not None and reply.ended and "ended" not in result and messages:
            result["ended"] = True
            result["reference"] = reply.reference
            end_first = sent[this_turn]
            wanted = ([reply.reference] if reply.reference else []) + (
                [t for _, t in reply.next_steps.lines()] if reply.next_steps else [])
            result["next_steps_lines"] = len(wanted) - (1 if reply.reference else 0)
            result["next_steps_in_first"] = all(w in end_first["text"] for w in wanted)
        if messages and more.search(messages[-1]):
            text = "M"
            continue
        if reply is None:
            break
        if reply.closed:
            result["completed"] = result.get("ended", False)
            break
        if reply.handed_off or reply.emergency:
            result["handed_off"] = True
            break
        if reply.ended:
            text = "2"                  # anything else? no, that's all
            continue
        if reply.procedure is None:
            break                       # not started, or left (consent refused)
        answer = answer_for(cat, reply, locale, 0)
        if answer is None:
            options = [o for o in reply.options if o.value != "person"]
            if not options:
                break
            k = len(points)
            points.append(len(options))
            index = path[k] if k < len(path) else 0
            answer = options[min(index, len(options) - 1)].key
        text = answer
    result.update(points=points, messages=len(sent),
                  segments=sum(m["segments"] for m in sent),
                  max_segments=max((m["segments"] for m in sent), default=0),
                  review_segments=review["segments"] if review else None,
                  review_in_one_message=review["pages"] == 1 if review else None,
                  end_first_segments=end_first["segments"] if end_first else None,
                  transcript=sent)
    return result


def next_path(path: list[int], points: list[int]) -> list[int] | None:
    """Depth first: the last branch point with an option left, moved on by one."""
    full = [path[k] if k < len(path) else 0 for k in range(len(points))]
    for k in range(len(full) - 1, -1, -1):
        if full[k] + 1 < points[k]:
            return full[:k] + [full[k] + 1]
    return None


def measure(cat, store, pid: str, locale: str, counter) -> dict:
    path: list[int] | None = []
    tried = 0
    best = None
    while path is not None and tried < MAX_WALKS:
        tried += 1
        result = walk(cat, store, pid, locale, path, f"+8529{next(counter):07d}")
        result["path"] = path
        if result["completed"]:
            best = result
            break
        best = best or result
        path = next_path(path, result["points"])
    best["walks"] = tried
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--transcripts", action="store_true",
                        help="include every message sent (text and segments)")
    args = parser.parse_args()
    cat = load_catalogue()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        try:
            seed_appointment_slots(store, cat, days=14)
            counter = iter(range(10_000_000))
            rows = {}
            for locale in LOCALES:
                for pid in sorted(cat.procedures):
                    print(f"{locale} {pid}", file=sys.stderr, flush=True)
                    r = measure(cat, store, pid, locale, counter)
                    if not args.transcripts:
                        r.pop("transcript")
                    r.pop("points")
                    rows.setdefault(locale, {})[pid] = r
        finally:
            store.close()
    summary = {}
    for locale, by_pid in rows.items():
        done = [r for r in by_pid.values() if r["completed"]]
        summary[locale] = {
            "procedures": len(by_pid), "completed": len(done),
            "segments_per_completed_mean": round(sum(r["segments"] for r in done)
                                                 / max(len(done), 1), 1),
            "segments_per_completed_max": max((r["segments"] for r in done), default=None),
            "max_segments_one_message": max((r["max_segments"] for r in by_pid.values()),
                                            default=None),
            "reviews_in_one_message": sum(1 for r in by_pid.values() if r["review_in_one_message"]),
            "reviews": sum(1 for r in by_pid.values() if r["review_in_one_message"] is not None),
            "next_steps_first_in_2_segments": sum(
                1 for r in done if r.get("next_steps_in_first")
                and (r.get("end_first_segments") or 0) <= 2),
        }
    document = {"summary": summary, "procedures": rows}
    text = json.dumps(document, ensure_ascii=False, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
