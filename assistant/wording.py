"""The wording lint: every text as each modality says it, in every language, checked for what
that modality cannot do, for placeholders nothing fills, and for the phone's spoken budget.

A caller cannot type, a kiosk visitor is not asked to speak, and a text message has no buttons;
a sentence right on one channel and wrong on another is a defect, so each text is checked as it
reaches each modality (its own variant, or the neutral text). Pure: reads a loaded catalogue,
returns ``(file, step, problem)`` lines for ``kaifong validate``.
"""

from __future__ import annotations

import re

from .catalogue import (
    BUILTIN_NAMES,
    MODALITIES,
    PLACEHOLDER_RE,
    Catalogue,
    Wording,
    iter_wordings,
)

#: what each modality must not ask of the citizen, in any language
FORBIDDEN = {
    # the phone: nothing to write with ("we will send you a text message" is fine)
    "voice": (re.compile(r"\btyp(e|ing)\b|\breply\b|打字|打幾個字|回覆|輸入", re.I),
              "asks a caller to write"),
    # the kiosk: a screen one touches, not one to talk to or answer by message
    "screen": (re.compile(r"\bsay\b|\bsaying\b|\breply\b|講「|講『|請講|回覆", re.I),
               "asks a kiosk visitor to speak or reply"),
    # a text message: no keys to press and no buttons to touch
    "text": (re.compile(r"\bpress\b|\bbuttons?\b|按(?!金|揭)|按鈕|掣", re.I),
             "asks a texter to press a key or a button"),
}

#: placeholders each shared prompt is given by the engine or the channels (besides facts and
#: the built-in names); anything else in a shared prompt would reach the citizen as "{name}"
SHARED_PLACEHOLDERS = {
    "consent": {"what", "why", "retention_days"},
    "confirm": {"value"},
    "confirm_rough": {"value"},
    "place_not_offered": {"place"},
    "resume": {"title"},
    "summary_line": {"label", "value"},
    "reference": {"reference"},
    "number_range": {"min", "max"},
    "review_change": {"label"},
    "bring_line": {"item"},
    "where_line": {"place"},
    "hours_line": {"hours"},
    "when_line": {"when"},
    "fee_line": {"fee"},
    "call_line": {"call"},
    "distress": {"emergency_number"},
}

#: speaking rates of the phone's voices, measured on espeak-ng at the phone's rate (see
#: bench/bench_phone_budget.py): English words a second, Chinese characters a second. Measured
#: over every 8 kHz clip of a benchmark run (gmw/en and sit/yue+Annie at 160 words a minute,
#: each clip with the pause espeak-ng leaves after it): 2.72 and 3.54; the guess was 2.55 and 4.1
#: (Cantonese was heard 16% longer than estimated)
SPOKEN_RATE = {"en": 2.7, "zh-HK": 3.5}
#: the longest a single phone prompt may last: a question with its keys must fit a re-prompt
#: (DESIGN: a re-prompt is the question and its keys, under 8 s), and an information step is
#: cut by the phone into sentences, each a prompt of its own, so this is per question
VOICE_BUDGET_SECONDS = 8.0
#: texts that are questions the phone asks again on a re-prompt
_ASKED = ("ask",)


def spoken_seconds(text: str, locale: str) -> float:
    """An estimate of how long espeak-ng takes to say ``text`` on the phone."""
    text = PLACEHOLDER_RE.sub("xxxx", text)
    cjk = len(re.findall(r"[\u3400-\u9fff]", text))
    words = len(re.findall(r"[A-Za-z0-9]+", text))
    if locale == "en":
        return words / SPOKEN_RATE["en"]
    return cjk / SPOKEN_RATE["zh-HK"] + words / SPOKEN_RATE["en"]


def wording_problems(cat: Catalogue) -> list[tuple[str, str, str]]:
    problems: list[tuple[str, str, str]] = []
    known = set(cat.facts) | set(BUILTIN_NAMES)
    slots_of = {proc.file: ({s.slot for s in proc.steps.values() if s.slot}
                            | {s.save for s in proc.steps.values() if s.save})
                for proc in cat.procedures.values()}
    for file, step, text in iter_wordings(cat):
        for modality in MODALITIES:
            english = text.for_modality(modality)
            for locale in cat.locales:
                said = cat.gettext(locale, Wording(english))
                pattern, what = FORBIDDEN[modality]
                m = pattern.search(said)
                if m:
                    problems.append((file, step, f"{what} ({modality}, {locale}: "
                                                 f"{m.group(0)!r} in {said[:50]!r})"))
            if file == "shared.yaml" and step in cat.prompts:
                allowed = known | SHARED_PLACEHOLDERS.get(step, set())
                for name, _ in PLACEHOLDER_RE.findall(english):
                    if name not in allowed:
                        problems.append((file, step, f"{{{name}}} is never filled in this "
                                                     f"prompt ({modality})"))
            elif file in slots_of:
                for name, _ in PLACEHOLDER_RE.findall(english):
                    if name not in known | slots_of[file]:
                        problems.append((file, step, f"{{{name}}} is neither a slot nor a fact"))
    problems += _voice_budget(cat)
    problems += _echo_questions(cat)
    return list(dict.fromkeys(problems))


def _echo_questions(cat: Catalogue) -> list[tuple[str, str, str]]:
    """A Cantonese yes/no question is answered by echoing its verb (有冇 -> 有 / 冇); one with no
    such pattern would fall back to 係 / 唔係, which answers only 係唔係 questions."""
    from .engine import echo_answers  # the engine's rule, not a copy of it

    out = []
    for proc in cat.procedures.values():
        for step in proc.steps.values():
            if step.kind != "question" or step.type != "yes_no":
                continue
            for modality in MODALITIES:
                for locale in cat.locales:
                    if locale == "en":
                        continue
                    said = cat.gettext(locale, step.ask, modality)
                    if echo_answers(said) is None:
                        out.append((proc.file, step.id, f"a {locale} yes/no question with no "
                                    f"echo answer (有冇, 想唔想, 可唔可以, 係唔係, ...未): {said[:40]!r}"))
    return out


def _voice_budget(cat: Catalogue) -> list[tuple[str, str, str]]:
    """Each question as the phone asks it, and each shared prompt, within the spoken budget."""
    out = []
    texts = [("shared.yaml", key, w) for key, w in cat.prompts.items()]
    for proc in cat.procedures.values():
        for step in proc.steps.values():
            if step.kind == "question" and step.ask:
                texts.append((proc.file, step.id, step.ask))
    for file, step, text in texts:
        english = text.for_modality("voice") if isinstance(text, Wording) else text
        for locale in cat.locales:
            seconds = spoken_seconds(cat.gettext(locale, Wording(english)), locale)
            if seconds > VOICE_BUDGET_SECONDS:
                out.append((file, step, f"too long to say on the phone ({locale}: about "
                                        f"{seconds:.1f} s, at most {VOICE_BUDGET_SECONDS:.0f} s)"))
    return out


__all__ = ["wording_problems", "spoken_seconds", "FORBIDDEN", "VOICE_BUDGET_SECONDS"]
