"""The catalogue: procedures and shared prompts, loaded from YAML in ``prompts/`` and validated.

A procedure is a graph of steps (info, question, branch, action, handoff, end). Loading checks
everything it can before a citizen meets it: the schema, every step reference, every slot a
condition or a text reads, every fact, and (when asked) every translation. All problems are
gathered and raised together as one ``CatalogueError`` naming the file, the step and the problem.

This module reads files; the engine that walks the graph does not.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import yaml

from .errors import CatalogueError
from .i18n import LOCALES, is_translated, load_translations

STEP_KINDS = ("info", "question", "branch", "action", "handoff", "end", "review")
#: how a channel presents words: heard (the phone), read on a screen one can touch (the kiosk),
#: read in a message one answers by writing (SMS, a terminal)
MODALITIES = ("voice", "screen", "text")
#: services that submit or book something: a review of every answer comes before them
SUBMITTING_SERVICES = ("book_slot", "file_report")
SLOT_TYPES = ("yes_no", "choice", "number", "date", "hkid", "phone", "text", "appointment")
PERSONAL_TYPES = ("hkid", "phone", "date")
#: days, when facts.yaml does not say (it does: ``retention_days``)
DEFAULT_RETENTION_DAYS = 90
#: names a text may use besides slots and facts
BUILTIN_NAMES = ("reference", "title", "emergency_number", "retention_days", "staff_number")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?\}")

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


# ---------------------------------------------------------------------------------------------
# Branch conditions: ``age >= senior_age and lives_alone == yes``. A tiny language on purpose:
# caseworkers read it, and it cannot run code.

_CLAUSE_RE = re.compile(
    r"^\s*([a-z_][a-z0-9_]*)\s*(==|!=|>=|<=|>|<|is not set|is set)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Clause:
    slot: str
    op: str
    value: Any = None        # a number, a string, a bool, or ("fact", name)


@dataclass(frozen=True)
class Condition:
    text: str
    any_of: tuple[tuple[Clause, ...], ...]   # OR of ANDs

    def slots(self) -> set[str]:
        return {c.slot for group in self.any_of for c in group}

    def facts(self) -> set[str]:
        return {c.value[1] for group in self.any_of for c in group
                if isinstance(c.value, tuple)}

    def holds(self, slots: dict, facts: dict) -> bool:
        return any(all(_clause_holds(c, slots, facts) for c in group) for group in self.any_of)


def parse_condition(text: str, known_facts: dict) -> Condition:
    """Parse ``when:`` text; raises ValueError with a readable reason."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a condition must be non-empty text")
    groups = []
    for alternative in re.split(r"\s+or\s+", text.strip()):
        clauses = []
        for part in re.split(r"\s+and\s+", alternative):
            m = _CLAUSE_RE.match(part)
            if not m:
                raise ValueError(f"cannot read condition {part!r} (expected: slot op value)")
            slot, op, raw = m.groups()
            if op in ("is set", "is not set"):
                if raw:
                    raise ValueError(f"{op!r} takes no value in {part!r}")
                clauses.append(Clause(slot, op))
                continue
            if not raw:
                raise ValueError(f"missing value in {part!r}")
            clauses.append(Clause(slot, op, _literal(raw, known_facts)))
        groups.append(tuple(clauses))
    return Condition(text, tuple(groups))


def _literal(raw: str, known_facts: dict) -> Any:
    if raw in ("yes", "true"):
        return True
    if raw in ("no", "false"):
        return False
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw)
    if raw[0] in "'\"" and raw[-1] == raw[0] and len(raw) >= 2:
        return raw[1:-1]
    if ID_RE.match(raw):
        # a bare name is a fact when one exists by that name, else a choice value
        return ("fact", raw) if raw in known_facts else raw
    raise ValueError(f"cannot read value {raw!r}")


def _clause_holds(c: Clause, slots: dict, facts: dict) -> bool:
    present = slots.get(c.slot) is not None
    if c.op == "is set":
        return present
    if c.op == "is not set":
        return not present
    if not present:
        return False
    left = slots[c.slot]
    right = facts[c.value[1]] if isinstance(c.value, tuple) else c.value
    if c.op in ("==", "!="):
        same = (float(left) == float(right)) if _numeric(left) and _numeric(right) else left == right
        return same if c.op == "==" else not same
    if not (_numeric(left) and _numeric(right)):
        return False
    left, right = float(left), float(right)
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[c.op]


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------
# Wording: one text, with variants for how it reaches the citizen.


class Wording(str):
    """An English source text that may have variants per modality (``voice``, ``screen``,
    ``text``). As a ``str`` it is the neutral text, so everything that only reads words (Babel,
    checks of placeholders) sees it as before; ``for_modality`` gives what a channel of that
    modality says."""

    variants: dict[str, str]

    def __new__(cls, text: str, variants: dict[str, str] | None = None) -> Wording:
        obj = super().__new__(cls, text)
        obj.variants = dict(variants or {})
        return obj

    def for_modality(self, modality: str | None) -> str:
        return self.variants.get(modality, str(self)) if modality else str(self)

    def all_texts(self) -> list[str]:
        """The neutral text and every variant, each once."""
        return list(dict.fromkeys([str(self), *self.variants.values()]))

    def __reduce__(self):
        return (Wording, (str(self), self.variants))


def wording(raw: Any) -> Wording:
    """A text from YAML: a string, or a mapping of ``default`` and modalities. Without a
    ``default``, the ``text`` variant is the neutral one. Raises ValueError when it is neither."""
    if isinstance(raw, Wording):
        return raw
    if isinstance(raw, dict):
        unknown = set(raw) - {"default", *MODALITIES}
        if unknown:
            raise ValueError(f"unknown wording variant(s) {', '.join(sorted(map(str, unknown)))}"
                             f" (use default, {', '.join(MODALITIES)})")
        if not all(isinstance(v, str) and v.strip() for v in raw.values()):
            raise ValueError("every wording variant must be non-empty text")
        default = raw.get("default") or raw.get("text")
        if default is None:
            if set(MODALITIES) - set(raw):
                raise ValueError("a wording without 'default' must give voice, screen and text")
            default = raw["text"]
        return Wording(default, {k: v for k, v in raw.items() if k in MODALITIES})
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        return Wording(str(raw))
    raise ValueError("expected text, or a mapping of wording variants")


# ---------------------------------------------------------------------------------------------
# The catalogue's parts.


@dataclass(frozen=True)
class OptionDef:
    value: str
    label: str
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    next: str | None = None


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    say: str | None = None
    next: str | None = None
    # question
    slot: str | None = None
    type: str | None = None
    label: str | None = None
    ask: str | None = None
    help: str | None = None
    hint: str | None = None
    options: tuple[OptionDef, ...] = ()
    min: float | None = None
    max: float | None = None
    confirm: bool = False
    personal: bool = False
    source: str | None = None          # appointment: the slot holding find_slots' result
    # branch
    cases: tuple[tuple[Condition, str], ...] = ()
    otherwise: str | None = None
    # action
    service: str | None = None
    args: dict = field(default_factory=dict)
    save: str | None = None
    on_failure: str | None = None
    # handoff
    reason: str | None = None
    #: what the reason means, in words for staff (the console shows it instead of the code)
    reason_label: str | None = None
    priority: int = 2
    # end
    summary: tuple[str, ...] = ()
    where: str | None = None           # an office's slot ("{office}") or a text
    hours: str | None = None           # opening hours, where ``where`` is a text
    when: str | None = None
    fee: str | None = None
    call: str | None = None
    # info and end: what to bring (and the fee), noted along the way and said again at the end
    bring: tuple[str, ...] = ()
    # info
    wait: bool = True

    def __getstate__(self) -> dict:
        """Only the fields that differ from the class's default (most of a step's thirty are
        unset): a cached catalogue is a quarter the size and unpickles that much faster. A field
        left out reads its default from the class, as dataclasses define it."""
        return {k: v for k, v in self.__dict__.items() if not _is_default(k, v)}

    def targets(self) -> list[str]:
        """Every step this one may lead to."""
        out = [t for t in (self.next, self.otherwise, self.on_failure) if t]
        out += [o.next for o in self.options if o.next]
        out += [target for _, target in self.cases]
        return out


#: the step fields whose default the class itself holds (not a ``default_factory``)
_CLASS_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Step)
                   if f.default is not dataclasses.MISSING}


def _is_default(name: str, value: Any) -> bool:
    default = _CLASS_DEFAULTS.get(name, dataclasses.MISSING)
    return value is default or (type(value) is type(default) and value == default)


@dataclass(frozen=True)
class Procedure:
    id: str
    title: str
    summary: str
    department: str
    synonyms: dict[str, tuple[str, ...]]
    start: str
    steps: dict[str, Step]
    file: str
    personal_data: dict[str, str] | None = None   # {"what", "why"}: the collection statement
    #: who is accountable for it (a department, in words people know), and why it exists: the
    #: public transparency record reads both
    owner: str | None = None
    purpose: str | None = None
    #: how long what it collects is kept, in days; None: the service's own period
    #: (``retention_days`` in facts.yaml, or KAIFONG_RETENTION_DAYS)
    retention_days: int | None = None
    #: whether the file says how long it keeps data (``retention_days: default`` counts)
    states_retention: bool = False
    # the need in everyday words, per locale: what the learned router learns from, never shown
    descriptions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def slot_labels(self) -> dict[str, str]:
        return {s.slot: s.label for s in self.steps.values() if s.kind == "question" and s.label}

    @functools.cached_property
    def reason_labels(self) -> dict[str, str]:
        """Each hand-off reason of this procedure and its words for staff."""
        return {s.reason: s.reason_label for s in self.steps.values()
                if s.kind == "handoff" and s.reason and s.reason_label}

    @functools.cached_property
    def questions(self) -> dict[str, Step]:
        """The question asking for each slot (the first, where two ask for the same)."""
        out: dict[str, Step] = {}
        for s in self.steps.values():
            if s.kind == "question" and s.slot:
                out.setdefault(s.slot, s)
        return out


@dataclass(frozen=True)
class MenuGroup:
    label: str
    procedures: tuple[str, ...]


@dataclass(eq=False)   # identity: routers are cached per catalogue
class Catalogue:
    procedures: dict[str, Procedure]
    prompts: dict[str, Wording]                   # shared prompts, English source text
    commands: dict[str, dict[str, tuple[str, ...]]]  # command -> locale -> phrases
    keys: dict[str, str]                          # command -> keypad key
    distress: dict[str, tuple[str, ...]]
    menu: tuple[MenuGroup, ...]
    facts: dict[str, Any]
    facts_info: dict[str, Any]                    # reviewed_on, department per fact, offices
    shared_slots: tuple[str, ...]
    translations: dict = field(default_factory=dict)
    locales: tuple[str, ...] = LOCALES
    # requests that no procedure serves, per locale: the router's "none of ours" class
    out_of_scope: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def gettext(self, locale: str, msgid: str, modality: str | None = None) -> str:
        """The text in ``locale``; a ``Wording`` gives its variant for ``modality`` first."""
        if not msgid:
            return ""
        if isinstance(msgid, Wording):
            msgid = msgid.for_modality(modality)
        t = self.translations.get(locale)
        return t.gettext(msgid) if t else str(msgid)

    @property
    def retention_days(self) -> int:
        """The service's retention period in days (facts.yaml's ``retention_days``, which the
        application replaces with KAIFONG_RETENTION_DAYS when that is set)."""
        return int(self.facts.get("retention_days") or DEFAULT_RETENTION_DAYS)

    def retention_for(self, procedure_id: str | None) -> int:
        """How long what ``procedure_id`` collects is kept: its own period, else the service's.
        What the collection statement promises, and what ``assistant.retention`` enforces."""
        proc = self.procedures.get(procedure_id) if procedure_id else None
        if proc is not None and proc.retention_days is not None:
            return proc.retention_days
        return self.retention_days

    def prompt(self, key: str) -> Wording:
        return self.prompts[key]

    def text(self, key: str, locale: str, modality: str | None = None) -> str:
        """A shared prompt as a channel of ``modality`` says it, in ``locale``."""
        return self.gettext(locale, self.prompts[key], modality)


_T = TypeVar("_T")


def per_catalogue(build: Callable[[Catalogue], _T]) -> Callable[[Catalogue], _T]:
    """``build(catalogue)`` once per catalogue, kept as long as the catalogue lives: a loaded
    catalogue never changes, so what is derived from it (a router, normalised phrases) is too."""
    cache: WeakKeyDictionary = WeakKeyDictionary()

    @functools.wraps(build)
    def get(catalogue: Catalogue) -> _T:
        value = cache.get(catalogue)
        if value is None:
            value = cache[catalogue] = build(catalogue)
        return value

    return get


# ---------------------------------------------------------------------------------------------
# Loading.


def load_catalogue(prompts_dir: Path | str | None = None, locales_dir: Path | str | None = None,
                   *, check_translations: bool = False,
                   cache_dir: Path | str | None = None) -> Catalogue:
    """Load and validate everything in ``prompts_dir``; raise CatalogueError listing all problems.

    A catalogue that loaded without a problem is kept on disk (``assistant.catalogue_cache``:
    in ``cache_dir``, default ``<KAIFONG_DATA_DIR>/catalogue``) under a hash of every file it
    was read from and of the loader's code, and read from there while nothing has changed."""
    from . import catalogue_cache

    prompts_dir = Path(prompts_dir) if prompts_dir else PROMPTS_DIR
    locales_dir = Path(locales_dir) if locales_dir else LOCALES_DIR
    proc_dir = prompts_dir / "procedures"
    files = sorted(proc_dir.glob("*.yaml")) if proc_dir.is_dir() else []
    cache_key = directory = None
    if files and catalogue_cache.enabled():
        directory = Path(cache_dir) if cache_dir else catalogue_cache.cache_dir()
        cache_key = catalogue_cache.key(prompts_dir, files)
    problems: list[tuple[str, str, str]] = []
    cat = catalogue_cache.read(directory, cache_key) if cache_key else None
    if cat is None:
        cat, problems = _load_files(prompts_dir, files)
        if cache_key and not problems:
            catalogue_cache.write(directory, cache_key, cat)
    # never cached: always what the compiled catalogs say now
    cat.translations = load_translations(locales_dir)
    if check_translations:
        problems += missing_translations(cat)
    if problems:
        raise CatalogueError(problems)
    return cat


def _load_files(prompts_dir: Path, files: list[Path]) -> tuple[Catalogue, list]:
    """The catalogue in these files (without translations) and every problem found in them."""
    problems: list[tuple[str, str, str]] = []
    proc_dir = prompts_dir / "procedures"

    facts_doc = _read_yaml(prompts_dir / "facts.yaml", problems) or {}
    facts, facts_info = _facts(facts_doc, "facts.yaml", problems)
    shared = _read_yaml(prompts_dir / "shared.yaml", problems) or {}

    procedures: dict[str, Procedure] = {}
    if not files:
        problems.append((str(proc_dir), "", "no procedure files found"))
    for path in files:
        doc = _read_yaml(path, problems)
        if doc is None:
            continue
        proc = _procedure(doc, path.name, facts, problems)
        if proc is None:
            continue
        if proc.id in procedures:
            problems.append((path.name, "", f"procedure id {proc.id!r} is also used by "
                                            f"{procedures[proc.id].file}"))
            continue
        procedures[proc.id] = proc

    cat = Catalogue(
        procedures=procedures,
        prompts=_prompts(shared.get("prompts"), problems),
        commands=_phrase_table(shared.get("commands"), "shared.yaml", "commands", problems),
        keys={k: str(v) for k, v in (shared.get("keys") or {}).items()},
        distress=_phrases_by_locale(shared.get("distress"), "shared.yaml", "distress", problems),
        menu=_menu(shared.get("menu"), procedures, problems),
        facts=facts,
        facts_info=facts_info,
        shared_slots=tuple(shared.get("shared_slots") or ()),
        out_of_scope=_every_locale(shared.get("out_of_scope"), "shared.yaml", "out_of_scope",
                                   problems),
    )
    _check_shared(cat, problems)
    return cat, problems


def _prompts(raw: Any, problems: list) -> dict[str, Wording]:
    out = {}
    for key, value in (raw or {}).items():
        try:
            out[str(key)] = wording(value)
        except ValueError as exc:
            problems.append(("shared.yaml", f"prompts.{key}", str(exc)))
    return out


REQUIRED_PROMPTS = (
    "greeting", "menu", "menu_group", "not_understood_menu", "candidates", "none_of_these",
    "miss", "miss_offer_person", "noinput", "help_commands", "at_start", "goodbye",
    "handoff_waiting", "handoff_still_waiting", "handed_back", "distress", "consent",
    "consent_declined", "confirm", "confirm_again", "language_changed", "resume", "next",
    "yes", "no", "person", "summary_heading", "reference", "ended_next", "back_to_assistant",
    "action_failed", "hint_yes_no", "hint_choice", "hint_number", "hint_date", "hint_hkid",
    "hint_hkid_check", "hint_phone", "hint_text", "hint_appointment", "number_range",
    "resume_choice", "carry_on", "start_again", "summary_line", "review", "review_ok",
    "review_change", "next_steps_heading", "bring_line", "where_line", "hours_line", "when_line",
    "fee_line", "call_line", "something_else", "thats_all", "review_question", "confirm_rough",
    "place_not_offered", "one_answer",
)
COMMANDS = ("help", "repeat", "back", "restart", "person", "stop", "language")


def _check_shared(cat: Catalogue, problems: list) -> None:
    for key in REQUIRED_PROMPTS:
        if key not in cat.prompts:
            problems.append(("shared.yaml", "prompts", f"missing shared prompt {key!r}"))
    for name in COMMANDS:
        if name not in cat.commands:
            problems.append(("shared.yaml", "commands", f"missing command {name!r}"))
        if name not in cat.keys:
            problems.append(("shared.yaml", "keys", f"no keypad key for command {name!r}"))
    if len(set(cat.keys.values())) != len(cat.keys):
        problems.append(("shared.yaml", "keys", "two commands share a keypad key"))
    if not cat.menu:
        problems.append(("shared.yaml", "menu", "the menu is empty"))


def missing_translations(cat: Catalogue) -> list[tuple[str, str, str]]:
    """Every English text that a non-English locale does not translate."""
    out = []
    for locale in cat.locales:
        if locale == "en":
            continue
        t = cat.translations.get(locale)
        for file, step, text in (*iter_texts(cat), *iter_staff_texts(cat)):
            if not t or not is_translated(t, text):
                out.append((file, step, f"no {locale} translation for {text[:60]!r}"))
    return out


def record_problems(cat: Catalogue) -> list[tuple[str, str, str]]:
    """Procedures that cannot have a public transparency record: each needs the ``owner``
    accountable for it, its ``purpose`` and how long it keeps data (``retention_days``). Checked
    by ``kaifong validate``, not at load, so that a test's or a benchmark's procedures load."""
    out = []
    for proc in cat.procedures.values():
        for key, given in (("owner", proc.owner), ("purpose", proc.purpose),
                           ("retention_days", proc.states_retention)):
            if not given:
                out.append((proc.file, key, f"missing {key!r} (the transparency record needs "
                                            "it)"))
    return out


def iter_texts(cat: Catalogue):
    """(file, step, English text) for every text a citizen may see."""
    for file, step, text in _iter_wordings(cat):
        for variant in text.all_texts() if isinstance(text, Wording) else [text]:
            # a text that is only placeholders ("{office}") is filled with translated words
            if re.search(r"[A-Za-z]", PLACEHOLDER_RE.sub("", variant)):
                yield file, step, variant


def iter_staff_texts(cat: Catalogue):
    """(file, step, English text) for the words the catalogue gives staff (what each hand-off
    reason means): translated like the rest, but never said to a citizen on any channel."""
    for proc in cat.procedures.values():
        for step in proc.steps.values():
            if step.reason_label:
                yield proc.file, step.id, step.reason_label


def iter_wordings(cat: Catalogue):
    """(file, step, Wording) for every text a citizen may see, with its variants."""
    for file, step, text in _iter_wordings(cat):
        yield file, step, text if isinstance(text, Wording) else Wording(text)


def _iter_wordings(cat: Catalogue):
    for key, text in cat.prompts.items():
        yield "shared.yaml", key, text
    for group in cat.menu:
        yield "shared.yaml", "menu", group.label
    for office in cat.facts_info.get("offices", {}).values():
        for key in ("name", "address", "hours"):
            if office.get(key):
                yield "facts.yaml", "offices", office[key]
    for proc in cat.procedures.values():
        yield proc.file, "", proc.title
        yield proc.file, "", proc.summary
        for text in (proc.owner, proc.purpose):
            if text:
                yield proc.file, "", text
        if proc.personal_data:
            yield proc.file, "personal_data", proc.personal_data["what"]
            yield proc.file, "personal_data", proc.personal_data["why"]
        for step in proc.steps.values():
            for text in (step.say, step.ask, step.help, step.hint, step.label, step.when,
                         step.fee, step.call, step.hours, *step.bring):
                if text:
                    yield proc.file, step.id, text
            if step.where and not PLACEHOLDER_RE.fullmatch(step.where):
                yield proc.file, step.id, step.where
            for option in step.options:
                yield proc.file, step.id, option.label


def _read_yaml(path: Path, problems: list) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            # libyaml's parser when it is there: the same result, several times faster
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        problems.append((path.name, "", "file not found"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problems.append((path.name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
    except UnicodeDecodeError:
        problems.append((path.name, "", "not UTF-8 text"))
    return None


def _facts(doc: dict, file: str, problems: list) -> tuple[dict, dict]:
    facts: dict[str, Any] = {}
    info: dict[str, Any] = {"reviewed_on": doc.get("reviewed_on"), "departments": {},
                            "note": doc.get("note", ""), "offices": {}}
    if not isinstance(doc.get("reviewed_on"), date):
        problems.append((file, "", "reviewed_on must be a date (YYYY-MM-DD)"))
    for name, entry in (doc.get("facts") or {}).items():
        if not isinstance(entry, dict) or "value" not in entry or "department" not in entry:
            problems.append((file, name, "a fact needs a value and a department"))
            continue
        facts[name] = entry["value"]
        info["departments"][name] = entry["department"]
    for office in doc.get("offices") or []:
        oid = office.get("id") if isinstance(office, dict) else None
        if not oid or not all(office.get(k) for k in ("name", "address", "hours")):
            problems.append((file, str(oid or "offices"), "an office needs id, name, address, hours"))
            continue
        info["offices"][oid] = office
    info["appointment_times"] = [str(t) for t in doc.get("appointment_times") or []]
    info["appointment_capacity"] = int(doc.get("appointment_capacity") or 1)
    return facts, info


def _phrases_by_locale(raw: Any, file: str, where: str, problems: list) -> dict[str, tuple]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append((file, where, "expected a mapping of locale to phrases"))
        return {}
    out = {}
    for locale, phrases in raw.items():
        if locale not in LOCALES:
            problems.append((file, where, f"unknown locale {locale!r}"))
            continue
        if not isinstance(phrases, list) or not all(
                isinstance(p, (str, int)) and not isinstance(p, bool) for p in phrases):
            # a bool is a bare no / yes / on / off, which YAML does not read as the word
            problems.append((file, where, f"phrases for {locale} must be a list of text "
                                          "(quote yes, no, on and off)"))
            continue
        out[locale] = tuple(str(p) for p in phrases)
    return out


def _every_locale(raw: Any, file: str, where: str, problems: list) -> dict[str, tuple]:
    """Phrases written in the YAML in each language (not through gettext): optional, but when
    given, given in every language."""
    out = _phrases_by_locale(raw, file, where, problems)
    if out:
        for locale in LOCALES:
            if not out.get(locale):
                problems.append((file, where, f"no phrases in {locale}: give them in every language"))
    return out


def _phrase_table(raw: Any, file: str, where: str, problems: list) -> dict:
    return {name: _phrases_by_locale(value, file, f"{where}.{name}", problems)
            for name, value in (raw or {}).items()}


def _menu(raw: Any, procedures: dict, problems: list) -> tuple[MenuGroup, ...]:
    groups = []
    for i, item in enumerate(raw or []):
        label, ids = (item or {}).get("label"), (item or {}).get("procedures") or []
        if not label or not ids:
            problems.append(("shared.yaml", f"menu[{i}]", "a menu group needs a label and procedures"))
            continue
        for pid in ids:
            if procedures and pid not in procedures:
                problems.append(("shared.yaml", f"menu[{i}]", f"unknown procedure {pid!r}"))
        groups.append(MenuGroup(str(label), tuple(ids)))
    return tuple(groups)


_PROC_KEYS = {"id", "title", "summary", "department", "synonyms", "description", "start", "steps",
              "personal_data", "owner", "purpose", "retention_days"}
_STEP_KEYS = {
    "info": {"say", "next", "wait"},
    "question": {"slot", "type", "label", "ask", "help", "hint", "options", "min", "max",
                 "confirm", "personal", "next", "source", "say"},
    "branch": {"cases", "otherwise"},
    "action": {"service", "with", "save", "next", "on_failure", "say"},
    "handoff": {"say", "reason", "reason_label", "priority"},
    "end": {"say", "summary", "where", "hours", "when", "fee", "call", "bring"},
    "review": {"say", "next"},
}
_STEP_KEYS["info"] = _STEP_KEYS["info"] | {"bring", "fee"}
#: keys whose value is words a citizen meets (a string, or a mapping of wording variants)
_TEXT_KEYS = ("say", "ask", "help", "hint", "label", "when", "fee", "call", "where", "hours")


def _procedure(doc: Any, file: str, facts: dict, problems: list) -> Procedure | None:
    if not isinstance(doc, dict):
        problems.append((file, "", "a procedure file must be a mapping"))
        return None
    bad = False

    def problem(step: str, text: str) -> None:
        nonlocal bad
        bad = True
        problems.append((file, step, text))

    for key in set(doc) - _PROC_KEYS:
        problem("", f"unknown key {key!r}")
    for key in ("id", "title", "summary", "department", "start", "steps"):
        if not doc.get(key):
            problem("", f"missing {key!r}")
    if bad:
        return None
    pid = str(doc["id"])
    if not ID_RE.match(pid):
        problem("", f"id {pid!r} must be lower_snake_case")
    if Path(file).stem != pid:
        problem("", f"file name must be {pid}.yaml")
    synonyms = _phrases_by_locale(doc.get("synonyms"), file, "synonyms", problems)
    descriptions = _every_locale(doc.get("description"), file, "description", problems)
    personal = doc.get("personal_data")
    if personal is not None and not (isinstance(personal, dict) and personal.get("what")
                                     and personal.get("why")):
        problem("personal_data", "personal_data needs 'what' and 'why'")
    retention = doc.get("retention_days")
    if retention is not None and retention != "default" and not (
            isinstance(retention, int) and not isinstance(retention, bool) and retention > 0):
        problem("retention_days", "retention_days must be a number of days (1 or more) or "
                                  "'default' (the service's period)")
    for key in ("owner", "purpose"):
        if key in doc and not (isinstance(doc[key], str) and doc[key].strip()):
            problem(key, f"{key} must be a text")
    raw_steps = doc["steps"]
    if not isinstance(raw_steps, dict):
        problem("steps", "steps must be a mapping of step id to step")
        return None
    steps: dict[str, Step] = {}
    for sid, raw in raw_steps.items():
        step = _step(str(sid), raw, facts, problem)
        if step:
            steps[step.id] = step
    proc = Procedure(id=pid, title=str(doc["title"]), summary=str(doc["summary"]),
                     department=str(doc["department"]), synonyms=synonyms, start=str(doc["start"]),
                     steps=steps, file=file, personal_data=personal,
                     owner=doc.get("owner"), purpose=doc.get("purpose"),
                     retention_days=retention if isinstance(retention, int) else None,
                     states_retention="retention_days" in doc, descriptions=descriptions)
    _check_graph(proc, facts, problem)
    return None if bad else proc


def _step(sid: str, raw: Any, facts: dict, problem) -> Step | None:
    if not ID_RE.match(sid):
        problem(sid, "step ids must be lower_snake_case")
    if not isinstance(raw, dict) or raw.get("kind") not in STEP_KINDS:
        problem(sid, f"kind must be one of {', '.join(STEP_KINDS)}")
        return None
    kind = raw["kind"]
    for key in set(raw) - _STEP_KEYS[kind] - {"kind"}:
        problem(sid, f"unknown key {key!r} for a {kind} step")
    fields: dict[str, Any] = {"id": sid, "kind": kind}
    for key in _TEXT_KEYS:
        if raw.get(key) is not None:
            try:
                fields[key] = wording(raw[key])
            except ValueError as exc:
                problem(sid, f"{key}: {exc}")
    for key in ("slot", "type", "next", "otherwise", "service", "save", "on_failure", "reason",
                "reason_label", "source"):
        if raw.get(key) is not None:
            fields[key] = str(raw[key]) if not isinstance(raw[key], dict) else raw[key]
    if raw.get("bring") is not None:
        items = raw["bring"] if isinstance(raw["bring"], list) else None
        if not items:
            problem(sid, "'bring' must be a list of things to bring")
        else:
            try:
                fields["bring"] = tuple(wording(item) for item in items)
            except ValueError as exc:
                problem(sid, f"bring: {exc}")
    next_map = None
    if isinstance(fields.get("next"), dict):
        next_map = {str(k): str(v) for k, v in fields.pop("next").items()}
    if kind == "info":
        if not raw.get("say") or not raw.get("next"):
            problem(sid, "an info step needs 'say' and 'next'")
        fields["wait"] = bool(raw.get("wait", True))
    elif kind == "question":
        _question(sid, raw, fields, next_map, problem)
    elif kind == "branch":
        cases = []
        for i, case in enumerate(raw.get("cases") or []):
            if not isinstance(case, dict) or not case.get("when") or not case.get("next"):
                problem(sid, f"case {i + 1} needs 'when' and 'next'")
                continue
            try:
                cases.append((parse_condition(str(case["when"]), facts), str(case["next"])))
            except ValueError as exc:
                problem(sid, f"case {i + 1}: {exc}")
        if not cases or not raw.get("otherwise"):
            problem(sid, "a branch step needs 'cases' and 'otherwise'")
        fields["cases"] = tuple(cases)
    elif kind == "action":
        if not raw.get("service") or not raw.get("next"):
            problem(sid, "an action step needs 'service' and 'next'")
        args = raw.get("with") or {}
        if not isinstance(args, dict):
            problem(sid, "'with' must be a mapping")
            args = {}
        fields["args"] = {str(k): v for k, v in args.items()}
    elif kind == "handoff":
        if not raw.get("say") or not raw.get("reason"):
            problem(sid, "a handoff step needs 'say' and 'reason'")
        fields["priority"] = int(raw.get("priority", 2))
    elif kind == "end":
        if not raw.get("say"):
            problem(sid, "an end step needs 'say'")
        fields["summary"] = tuple(str(s) for s in raw.get("summary") or ())
    elif kind == "review":
        if not raw.get("next"):
            problem(sid, "a review step needs 'next'")
    if next_map is not None and kind != "question":
        problem(sid, "'next' may be a mapping only on a choice or yes/no question")
    return Step(**fields)


def _question(sid: str, raw: dict, fields: dict, next_map: dict | None, problem) -> None:
    qtype = raw.get("type")
    if qtype not in SLOT_TYPES:
        problem(sid, f"type must be one of {', '.join(SLOT_TYPES)}")
        return
    for key in ("slot", "ask", "label", "next"):
        if not raw.get(key):
            problem(sid, f"a question needs {key!r}")
    if raw.get("slot") and not ID_RE.match(str(raw["slot"])):
        problem(sid, "slot names must be lower_snake_case")
    options = []
    if qtype == "choice":
        raw_options = raw.get("options") or []
        if not 2 <= len(raw_options) <= 5:
            # more than five cannot be heard and remembered on the phone
            problem(sid, "a choice question needs 2 to 5 options")
        for i, opt in enumerate(raw_options):
            if not isinstance(opt, dict) or not opt.get("value") or not opt.get("label"):
                problem(sid, f"option {i + 1} needs 'value' and 'label'")
                continue
            phrases = {}
            for locale, items in (opt.get("phrases") or {}).items():
                if any(isinstance(p, bool) for p in items or ()):
                    # YAML reads a bare no / yes / on / off as true or false, not as the word
                    problem(sid, f"option {opt['value']}: a phrase for {locale} is read as "
                                 "true or false: quote it (\"no\")")
                phrases[locale] = tuple(str(p) for p in items)
            options.append(OptionDef(str(opt["value"]), str(opt["label"]), phrases))
        values = [o.value for o in options]
        if len(set(values)) != len(values):
            problem(sid, "two options share a value")
    elif raw.get("options"):
        problem(sid, "only a choice question has options")
    if qtype == "appointment" and not raw.get("source"):
        problem(sid, "an appointment question needs 'source' (the slot find_slots saved)")
    if next_map is not None:
        allowed = {o.value for o in options} if qtype == "choice" else {"yes", "no"}
        if qtype not in ("choice", "yes_no"):
            problem(sid, "'next' may be a mapping only on a choice or yes/no question")
        elif set(next_map) != allowed:
            problem(sid, f"'next' must map exactly these answers: {', '.join(sorted(allowed))}")
        if qtype == "choice":
            options = [OptionDef(o.value, o.label, o.phrases, next_map.get(o.value)) for o in options]
        else:
            fields["cases"] = tuple((parse_condition(f"{raw['slot']} == {v}", {}), t)
                                    for v, t in next_map.items())
        fields["next"] = None
    fields["options"] = tuple(options)
    for key in ("min", "max"):
        if raw.get(key) is not None:
            fields[key] = float(raw[key])
    fields["confirm"] = bool(raw.get("confirm", qtype in ("hkid", "phone", "appointment")))
    fields["personal"] = bool(raw.get("personal", qtype in PERSONAL_TYPES))


def _check_graph(proc: Procedure, facts: dict, problem) -> None:
    steps = proc.steps
    if proc.start not in steps:
        problem("", f"start step {proc.start!r} does not exist")
        return
    for step in steps.values():
        for target in step.targets():
            if target not in steps:
                problem(step.id, f"leads to a step that does not exist: {target!r}")
        if step.kind == "question" and step.type == "choice" and not step.next:
            if any(not o.next for o in step.options):
                problem(step.id, "every option needs a next step")
    # reachability
    seen, todo = set(), [proc.start]
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in steps:
            continue
        seen.add(sid)
        todo += steps[sid].targets()
    for sid in steps:
        if sid not in seen:
            problem(sid, "unreachable: no step leads here")
    if not any(s.kind in ("end", "handoff") for s in steps.values()):
        problem("", "no end or handoff step")
    # every name a text or condition reads must be set somewhere or be a fact
    known = set(facts) | set(BUILTIN_NAMES)
    known |= {s.slot for s in steps.values() if s.slot} | {s.save for s in steps.values() if s.save}
    for step in steps.values():
        for cond, _ in step.cases:
            for slot in cond.slots() - known:
                problem(step.id, f"condition reads {slot!r}, which no step sets")
        texts = [step.say, step.ask, step.help, step.hint, step.when, step.fee, step.call,
                 step.where, step.hours, *step.bring] + [v for v in step.args.values() if isinstance(v, str)]
        texts = [v for t in texts if t for v in (t.all_texts() if isinstance(t, Wording) else [t])]
        for text in filter(None, texts):
            for name, _attr in PLACEHOLDER_RE.findall(text):
                if name not in known:
                    problem(step.id, f"text uses {{{name}}}, which is neither a slot nor a fact")
        for name in step.summary:
            if name not in known:
                problem(step.id, f"summary names {name!r}, which no step sets")
        if step.kind == "question" and step.type == "appointment" and step.source not in known:
            problem(step.id, f"source {step.source!r} is not saved by any action")
    # nothing is submitted or booked before the citizen has checked every answer
    reviews = {sid for sid, s in steps.items() if s.kind == "review"}
    seen, todo = set(), [proc.start]
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in steps or sid in reviews:
            continue
        seen.add(sid)
        step = steps[sid]
        if step.kind == "action" and step.service in SUBMITTING_SERVICES:
            problem(sid, f"{step.service} can be reached without a review step before it "
                         "(the citizen must check every answer first)")
        todo += step.targets()
