"""The SMS length budget of a catalogue, for ``kaifong validate``. Pure; no I/O.

Every reply must fit in two segments; ``channels.sms.pages`` cuts the ones that do not, but only
a text that fits is read as it was written. So, in every language, with sample values in the
placeholders:
  - each text alone fits in two segments;
  - each sentence fits on one page, with the page marker ("(1/2) Reply M for more"), so that a
    page never ends in the middle of a sentence;
  - each question, rendered with its numbered options as the citizen sees it, fits on one page
    with its marker, so that a question is never parted from its options.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from assistant.catalogue import PLACEHOLDER_RE, iter_texts
from assistant.conversation import HONG_KONG
from assistant.i18n import format_when

from .pages import MAX_SEGMENTS, fits, footer_for, longest_footer, sentences
from .render import question_text
from .segments import count_segments

__all__ = ["budget_problems"]

#: a typical slot value in a placeholder: a name, a date, a reference
SAMPLE_SLOT = "x" * 12
SAMPLE_TIMES = 4    # appointment times offered at once (find_slots' limit in the procedures)


def budget_problems(catalogue) -> list[tuple[str, str, str]]:
    problems = []
    for locale in catalogue.locales:
        reserve = longest_footer(footer_for(catalogue.gettext, locale))
        for file, step, text in iter_texts(catalogue):
            filled = _fill(catalogue, locale, catalogue.gettext(locale, text))
            count = count_segments(filled)
            if count.segments > MAX_SEGMENTS:
                problems.append((file, step, (f"{locale} text needs {count.segments} SMS segments "
                                              f"({count.units} {count.encoding} units; at most "
                                              f"{MAX_SEGMENTS}): {text[:40]!r}")))
                continue
            for sentence in sentences(filled):
                if not fits(sentence + reserve):
                    problems.append((file, step, (f"{locale} sentence too long for one SMS page: "
                                                  f"{sentence[:40]!r}")))
        for file, step, prompt, options in _questions(catalogue, locale):
            rendered = question_text(_fill(catalogue, locale, prompt), options, locale,
                                     catalogue.gettext)
            if not fits(rendered + reserve):
                count = count_segments(rendered + reserve)
                problems.append((file, step, (f"{locale} question with its options needs "
                                              f"{count.segments} SMS segments with the page "
                                              f"marker ({count.units} {count.encoding} units): "
                                              f"{prompt[:40]!r}")))
    return problems


def _questions(cat, locale: str):
    """(file, step, prompt, [(key, label)]) for every question the citizen can be asked, as the
    engine asks it."""
    def t(msgid: str) -> str:
        return cat.gettext(locale, msgid)

    yes_no = [("1", t(cat.prompt("yes"))), ("2", t(cat.prompt("no")))]
    person = ("0", t(cat.prompt("person")))
    yield ("shared.yaml", "menu", t(cat.prompt("menu")),
           [(str(i), t(g.label)) for i, g in enumerate(cat.menu, 1)] + [person])
    for group in cat.menu:
        yield ("shared.yaml", "menu_group", t(cat.prompt("menu_group")),
               [(str(i), t(cat.procedures[pid].title))
                for i, pid in enumerate(group.procedures, 1)] + [person])
    yield ("shared.yaml", "resume_choice", t(cat.prompt("resume_choice")),
           [("1", t(cat.prompt("carry_on"))), ("2", t(cat.prompt("start_again")))])
    yield "shared.yaml", "confirm", t(cat.prompt("confirm")), yes_no
    start = datetime(2026, 11, 30, 14, 30, tzinfo=HONG_KONG)   # a long date, in the afternoon
    times = [(str(i), format_when(start + timedelta(days=i - 1), locale))
             for i in range(1, SAMPLE_TIMES + 1)]
    for proc in cat.procedures.values():
        if proc.personal_data:
            said = {"what": t(proc.personal_data["what"]), "why": t(proc.personal_data["why"])}
            yield proc.file, "personal_data", _fill_from(said, t(cat.prompt("consent"))), yes_no
        for step in proc.steps.values():
            if step.kind == "info" and step.wait:
                yield proc.file, step.id, t(step.say), [("1", t(cat.prompt("next")))]
            elif step.kind == "question":
                options = []
                if step.type == "choice":
                    options = [(str(i), t(o.label)) for i, o in enumerate(step.options, 1)]
                elif step.type == "yes_no":
                    options = yes_no
                elif step.type == "appointment":
                    options = times
                yield proc.file, step.id, t(step.ask), options


def _fill_from(values: dict[str, str], text: str) -> str:
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _fill(cat, locale: str, text: str) -> str:
    def value(m) -> str:
        fact = cat.facts.get(m.group(1))
        if fact is None:
            return SAMPLE_SLOT
        return cat.gettext(locale, fact) if isinstance(fact, str) else str(fact)
    return PLACEHOLDER_RE.sub(value, text)
