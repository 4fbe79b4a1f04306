"""The catalogue kept on disk (``assistant.catalogue_cache``): used while every input is as it
was, never when one changed (a procedure, the shared prompts, a gettext catalog, the loader's
code), and never an error when it is damaged, not ours alone, or cannot be written."""

from __future__ import annotations

import os
import re
import shutil
from io import BytesIO

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from assistant import catalogue as catalogue_module
from assistant import catalogue_cache
from assistant.catalogue import LOCALES_DIR, PROMPTS_DIR, load_catalogue
from assistant.errors import CatalogueError

ZH_PO = "zh_Hant_HK/LC_MESSAGES/messages.po"


@pytest.fixture
def prompts(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, root)
    return root


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def loads(monkeypatch):
    """How many times the files were parsed (a cache miss each)."""
    calls = []
    parse = catalogue_module._load_files

    def counting(*args):
        calls.append(args)
        return parse(*args)

    monkeypatch.setattr(catalogue_module, "_load_files", counting)
    return calls


def cached_files(cache):
    return sorted(cache.glob("*.pickle")) if cache.is_dir() else []


def test_a_second_load_reads_the_cache_and_gives_the_same_catalogue(prompts, cache, loads):
    cold = load_catalogue(prompts, cache_dir=cache)
    warm = load_catalogue(prompts, cache_dir=cache)
    assert len(loads) == 1 and len(cached_files(cache)) == 1
    assert warm is not cold
    assert warm.procedures == cold.procedures
    assert (warm.prompts, warm.commands, warm.keys, warm.menu, warm.facts, warm.out_of_scope) == (
        cold.prompts, cold.commands, cold.keys, cold.menu, cold.facts, cold.out_of_scope)
    greeting = warm.prompts["greeting"]
    assert type(greeting) is type(cold.prompts["greeting"])
    assert greeting.variants == cold.prompts["greeting"].variants
    # steps keep the fields they leave out of the file, and the translations are there
    for proc in cold.procedures.values():
        for sid, step in proc.steps.items():
            assert vars(step).keys() <= {f for f in step.__dataclass_fields__}
            assert [getattr(warm.procedures[proc.id].steps[sid], f)
                    for f in step.__dataclass_fields__] == [getattr(step, f)
                                                           for f in step.__dataclass_fields__]
    assert warm.text("greeting", "zh-HK") == cold.text("greeting", "zh-HK") != warm.text(
        "greeting", "en")


@pytest.mark.parametrize("name", ["procedures/report_problem.yaml", "shared.yaml", "facts.yaml"])
def test_a_changed_yaml_file_is_loaded_afresh(prompts, cache, loads, name):
    load_catalogue(prompts, cache_dir=cache)
    path = prompts / name
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    load_catalogue(prompts, cache_dir=cache)
    assert len(loads) == 2 and len(cached_files(cache)) == 2


def test_what_changed_is_what_is_served(prompts, cache):
    load_catalogue(prompts, cache_dir=cache)
    path = prompts / "procedures" / "report_problem.yaml"
    path.write_text(re.sub(r"(?m)^title: .*$", "title: A title just edited",
                           path.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    assert load_catalogue(prompts, cache_dir=cache).procedures[
        "report_problem"].title == "A title just edited"


def test_a_new_or_removed_procedure_file_is_another_catalogue(prompts, cache, loads):
    load_catalogue(prompts, cache_dir=cache)
    (prompts / "procedures" / "report_problem.yaml").rename(
        prompts / "procedures" / "report_problem.yaml.off")
    with pytest.raises(CatalogueError):   # the menu names it: a problem, not a stale catalogue
        load_catalogue(prompts, cache_dir=cache)
    assert len(loads) == 2


def test_another_loader_version_does_not_read_the_old_cache(prompts, cache, loads, monkeypatch):
    load_catalogue(prompts, cache_dir=cache)
    monkeypatch.setattr(catalogue_cache, "loader_version", lambda: "a later loader")
    load_catalogue(prompts, cache_dir=cache)
    assert len(loads) == 2 and len(cached_files(cache)) == 2


def test_the_loader_version_is_the_loaders_code():
    version = catalogue_cache.loader_version()
    assert len(version) == 64
    assert {"catalogue.py", "i18n.py", "catalogue_cache.py"} <= set(
        catalogue_cache._LOADER_MODULES)


def _translate(locales, msgid: str, msgstr: str) -> None:
    """Change one zh-HK translation in the .po (and drop the .mo, so that the .po is read)."""
    po = locales / ZH_PO
    with po.open("rb") as fh:
        catalog = read_po(fh)
    catalog[msgid].string = msgstr
    from babel.messages.pofile import write_po
    with po.open("wb") as fh:
        write_po(fh, catalog)
    po.with_suffix(".mo").unlink(missing_ok=True)


def test_a_changed_translation_is_seen_with_a_warm_cache(prompts, cache, tmp_path, loads):
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    cat = load_catalogue(prompts, locales, cache_dir=cache)
    msgid = str(cat.prompts["goodbye"])
    _translate(locales, msgid, "再見（改過）")
    assert load_catalogue(prompts, locales, cache_dir=cache).text("goodbye", "zh-HK") == \
        "再見（改過）"
    # and a compiled catalog, newer than the .po, with another translation
    po = locales / ZH_PO
    with po.open("rb") as fh:
        catalog = read_po(fh)
    catalog[msgid].string = "再見（編譯）"
    buf = BytesIO()
    write_mo(buf, catalog)
    po.with_suffix(".mo").write_bytes(buf.getvalue())
    os.utime(po.with_suffix(".mo"), (po.stat().st_mtime + 5, po.stat().st_mtime + 5))
    assert load_catalogue(prompts, locales, cache_dir=cache).text("goodbye", "zh-HK") == \
        "再見（編譯）"
    assert len(loads) == 1   # the procedures came from the cache all along


def test_check_translations_is_checked_on_a_cached_catalogue(prompts, cache, tmp_path, loads):
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    cat = load_catalogue(prompts, locales, cache_dir=cache)
    _translate(locales, str(cat.prompts["goodbye"]), "")
    with pytest.raises(CatalogueError, match="no zh-HK translation"):
        load_catalogue(prompts, locales, check_translations=True, cache_dir=cache)
    assert len(loads) == 1


def test_a_catalogue_with_problems_is_never_cached(prompts, cache, loads):
    path = prompts / "procedures" / "report_problem.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("kind: end", "kind: finish", 1),
                    encoding="utf-8")
    for _ in range(2):
        with pytest.raises(CatalogueError, match="kind must be one of"):
            load_catalogue(prompts, cache_dir=cache)
    assert len(loads) == 2 and cached_files(cache) == []


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05K\x01."])
def test_a_damaged_cache_is_a_normal_load_and_is_written_again(prompts, cache, loads, damage):
    cold = load_catalogue(prompts, cache_dir=cache)
    [path] = cached_files(cache)
    path.write_bytes(damage)
    again = load_catalogue(prompts, cache_dir=cache)
    assert again.procedures == cold.procedures and len(loads) == 2
    load_catalogue(prompts, cache_dir=cache)
    assert len(loads) == 2 and path.stat().st_size > 1000


def test_a_cache_others_may_write_is_not_read(prompts, cache, loads):
    load_catalogue(prompts, cache_dir=cache)
    [path] = cached_files(cache)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o666)
    load_catalogue(prompts, cache_dir=cache)
    assert len(loads) == 2


def test_a_cache_that_cannot_be_written_is_only_slower(prompts, tmp_path, loads):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    for _ in range(2):
        assert "report_problem" in load_catalogue(prompts,
                                                  cache_dir=blocked / "catalogue").procedures
    assert len(loads) == 2


def test_the_cache_lives_in_the_data_dir_and_can_be_turned_off(prompts, tmp_path, monkeypatch,
                                                              loads):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path / "data"))
    load_catalogue(prompts)
    assert len(cached_files(tmp_path / "data" / "catalogue")) == 1
    monkeypatch.setenv("KAIFONG_CATALOGUE_CACHE", "off")
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path / "other"))
    load_catalogue(prompts)
    load_catalogue(prompts)
    assert len(loads) == 3 and not (tmp_path / "other").exists()
    monkeypatch.setenv("KAIFONG_CATALOGUE_CACHE", "sometimes")
    with pytest.raises(ValueError, match="KAIFONG_CATALOGUE_CACHE must be on or off"):
        load_catalogue(prompts)


def test_old_entries_are_pruned(prompts, cache, monkeypatch):
    monkeypatch.setattr(catalogue_cache, "KEEP", 2)
    path = prompts / "shared.yaml"
    for n in range(4):
        path.write_text(path.read_text(encoding="utf-8") + f"\n# {n}\n", encoding="utf-8")
        load_catalogue(prompts, cache_dir=cache)
    assert len(cached_files(cache)) == 2


def test_a_slots_question_is_found_without_walking_every_procedure():
    """The engine finds the question of a slot the current procedure does not ask (a shared
    slot, shown in a summary) through one index per catalogue, with the answer the walk gave:
    the first procedure in catalogue order that asks for it."""
    from assistant.engine import questions_ahead, questions_by_slot

    cat = load_catalogue()
    index = questions_by_slot(cat)
    for proc in cat.procedures.values():
        for step in proc.steps.values():
            if step.kind == "question":
                first = next(s for p in cat.procedures.values() for s in p.steps.values()
                             if s.kind == "question" and s.slot == step.slot)
                assert index[step.slot] is first
    ahead = questions_ahead(cat)
    some = next(iter(cat.procedures.values()))
    assert set(ahead[some.id]) <= set(some.steps) and len(ahead) == 1
