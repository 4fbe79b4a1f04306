"""The loaded catalogue kept on disk, so that a process (each worker, each ``kaifong`` command)
does not parse and check every procedure file again when none has changed.

A cache file is ``<KAIFONG_DATA_DIR or ./var>/catalogue/<key>.pickle``. The key is a SHA-256 of
everything the load reads and of the code that reads it: the name and content of every procedure
file, ``facts.yaml`` and ``shared.yaml``; the content of the loader's own modules (this one,
``catalogue.py``, ``i18n.py``); and the Python and PyYAML versions. A changed file, a new loader
or another interpreter is another key, so a stale entry is never read: it is simply not found.
The gettext catalogs are not in the file: they are read afresh at each load (``load_translations``
reads the compiled ``.mo``, a few milliseconds), so a recompiled translation is always seen.

Only a catalogue that loaded without a problem is written. A catalogue with problems is never
cached, so ``kaifong validate`` (and every load) meets each problem as it does without a cache;
the checks that ``validate`` runs on a loaded catalogue (translations, wording, budgets) run on
the cached one in the same way.

Why pickle is acceptable here: the file is written by Kaifong itself, into its own data
directory, next to the database and the console's secret key. Whoever can write there can already
rewrite the database and sign staff sessions, so reading a pickle from it gives them nothing
more. Even so a file is read only when it belongs to this process's user and no one else may
write it (it is written with mode 0600); anything else is ignored. A cache that cannot be read,
cannot be unpickled, or cannot be written is only slower, never an error.
Set ``KAIFONG_CATALOGUE_CACHE=off`` to load from the files every time.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from .catalogue import Catalogue

log = logging.getLogger(__name__)

#: how many catalogues (keys) are kept: one per version of the prompts a machine runs, plus
#: the test suite's and the benchmarks' own
KEEP = 32
SUFFIX = ".pickle"
_LOADER_MODULES = ("catalogue.py", "catalogue_cache.py", "i18n.py")


def enabled(environ=os.environ) -> bool:
    value = str(environ.get("KAIFONG_CATALOGUE_CACHE", "on")).strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"KAIFONG_CATALOGUE_CACHE must be on or off, not {value!r}")
    return value == "on"


def cache_dir(environ=os.environ) -> Path:
    return Path(environ.get("KAIFONG_DATA_DIR") or "var") / "catalogue"


@functools.cache
def loader_version() -> str:
    """A hash of the code that turns files into a catalogue: a new loader is a new key."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _LOADER_MODULES:
        h.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    h.update(f"{sys.version}\0{yaml.__version__}".encode())
    return h.hexdigest()


def key(prompts_dir: Path, procedure_files: list[Path]) -> str | None:
    """The key of what ``prompts_dir`` holds now; None when a file cannot be read (the load
    then reports it)."""
    h = hashlib.sha256(loader_version().encode())
    try:
        for path in (prompts_dir / "facts.yaml", prompts_dir / "shared.yaml", *procedure_files):
            data = path.read_bytes()
            h.update(f"\0{path.name}\0{len(data)}\0".encode())
            h.update(data)
    except OSError:
        return None
    return h.hexdigest()


def read(directory: Path, cache_key: str) -> Catalogue | None:
    """The catalogue cached under ``cache_key``, without its translations; None when there is
    none, or it is not ours alone, or it cannot be read."""
    path = directory / f"{cache_key}{SUFFIX}"
    try:
        with path.open("rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                log.warning("catalogue cache %s ignored: not this user's alone", path.name)
                return None
            data = fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("catalogue cache not read (%s)", exc)
        return None
    # many small objects at once: the collector would walk them again and again for nothing
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        cat = pickle.loads(data)
    except Exception as exc:   # noqa: BLE001 - a damaged file of any kind is only a miss
        log.warning("catalogue cache %s ignored: %s", path.name, type(exc).__name__)
        return None
    finally:
        if was_enabled:
            gc.enable()
    from .catalogue import Catalogue
    return cat if isinstance(cat, Catalogue) else None


def write(directory: Path, cache_key: str, catalogue: Catalogue) -> None:
    """Keep ``catalogue`` (without its translations) under ``cache_key``: written to a
    temporary file and renamed, so a reader never sees half a file."""
    try:
        data = pickle.dumps(dataclasses.replace(catalogue, translations={}),
                            protocol=pickle.HIGHEST_PROTOCOL)
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=SUFFIX)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, directory / f"{cache_key}{SUFFIX}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(directory)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("catalogue cache not written (%s)", exc)


def _prune(directory: Path) -> None:
    """Keep the ``KEEP`` newest cache files."""
    files = []
    for path in directory.glob(f"*{SUFFIX}"):
        if path.name.startswith("."):   # another process's file, being written
            continue
        try:
            files.append((path.stat().st_mtime, path))
        except OSError:
            continue
    for _, path in sorted(files, reverse=True)[KEEP:]:
        path.unlink(missing_ok=True)
