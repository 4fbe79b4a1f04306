"""Start-up benchmark: how long a ``kaifong`` process takes before it is of any use.

Each figure is a new process, timed from its start, run ``--repeats`` times after one untimed
warm-up (as hyperfine does); median and min of the wall time, and the median CPU time of the
process (user + system, from the kernel's accounting of the waited child: on a shared, busy
machine the wall time includes waiting for a CPU, the CPU time does not).

  * help:     ``kaifong --help``, to its exit;
  * chat:     ``kaifong chat`` (SMS, the default channel) on a database already migrated, to the
              first line of the reply to "hello" (a new ``--address`` each time: a first
              greeting, as a person would see it); then its stdin is closed and it exits;
  * validate: ``kaifong validate``, to its exit;
  * serve:    ``kaifong serve`` on a free port, to the first ``GET /healthz`` answered 200
              (polled every 5 ms), with the audio cache already full (``--audio-dir``, else
              one is made first with ``kaifong speech prerender``: minutes, once) so that no
              synthesis runs in the background; then SIGTERM.

``floors``: the same for ``python -c pass`` and ``python -c "import sqlalchemy.orm"`` (which the
store needs, so ``chat`` and ``serve`` cannot start faster than it), timed alongside.

``--baseline DIR`` runs the same commands with another checkout of the project (a ``git
archive`` of main, say, with its compiled ``locales``) first on the path, alternating the two
run by run, so that a drift of the machine weighs on both alike; ``ratio`` is this checkout
over the baseline. ``importtime`` sums ``python -X importtime`` by top-level package for the
``--help`` path (``from channels.cli import main``) and for the chat path, median of 3.

    .venv/bin/python bench/bench_startup_cli.py [--repeats 10] [--baseline DIR]
        [--audio-dir DIR] [--only help,chat,validate,serve] [--out FILE]

Prints one JSON document (progress on stderr).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: what the ``kaifong`` console script runs
KAIFONG = ["-c", "import sys; from channels.cli import main; sys.exit(main())"]
COMMANDS = ("help", "chat", "validate", "serve")


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tree:
    """One checkout of the project, with its own data directory (database already migrated)."""

    def __init__(self, name: str, root: Path, scratch: Path, audio_dir: Path):
        self.name, self.root = name, root
        self.data_dir = scratch / name
        self.data_dir.mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("KAIFONG_", "TWILIO_"))}
        self.env.update(PYTHONPATH=str(root), KAIFONG_DATA_DIR=str(self.data_dir),
                        KAIFONG_AUDIO_DIR=str(audio_dir), PYTHONDONTWRITEBYTECODE="")
        self.runs = 0

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, *KAIFONG, *args]

    def where(self) -> str:
        """The file ``channels`` is imported from: the checkout it claims to be."""
        return subprocess.run([sys.executable, "-c", "import channels; print(channels.__file__)"],
                              cwd=self.root, env=self.env, capture_output=True, text=True,
                              check=True).stdout.strip()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_to_exit(tree: Tree, *args: str) -> tuple[float, float]:
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    done = subprocess.run(tree.argv(*args), cwd=tree.root, env=tree.env, capture_output=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{tree.name}: kaifong {' '.join(args)} exited "
                           f"{done.returncode}: {done.stderr.decode()[-2000:]}")
    return wall, _children_cpu() - cpu0


def run_chat(tree: Tree) -> tuple[float, float]:
    tree.runs += 1
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(tree.argv("chat", "--address", f"bench-{tree.runs}"), cwd=tree.root,
                            env=tree.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(b"hello\n")
    proc.stdin.flush()
    first = proc.stdout.readline()
    wall = time.perf_counter() - t0
    proc.stdin.close()
    proc.stdout.read()
    err = proc.stderr.read()
    if proc.wait() != 0 or not first.strip():
        raise RuntimeError(f"{tree.name}: kaifong chat failed: {err.decode()[-2000:]}")
    return wall, _children_cpu() - cpu0


def run_serve(tree: Tree) -> tuple[float, float]:
    port = free_port()
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(tree.argv("serve", "--port", str(port)), cwd=tree.root,
                            env=tree.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = None
    try:
        while time.perf_counter() - t0 < 120:
            if proc.poll() is not None:
                raise RuntimeError(f"{tree.name}: kaifong serve exited: "
                                   f"{proc.stderr.read().decode()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
            except OSError:
                time.sleep(0.005)
                continue
            if status == 200:
                wall = time.perf_counter() - t0
                break
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if wall is None:
        raise RuntimeError(f"{tree.name}: /healthz never answered 200")
    return wall, _children_cpu() - cpu0


FLOORS = {"python": "pass", "sqlalchemy": "import sqlalchemy.orm"}


def run_floor(tree: Tree, code: str) -> tuple[float, float]:
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=tree.root, env=tree.env, check=True)
    return time.perf_counter() - t0, _children_cpu() - cpu0


RUNNERS = {
    "help": lambda tree: run_to_exit(tree, "--help"),
    "chat": run_chat,
    "validate": lambda tree: run_to_exit(tree, "validate"),
    "serve": run_serve,
}


def summary(samples: list[tuple[float, float]]) -> dict:
    walls = sorted(w for w, _ in samples)
    return {"n": len(samples), "median_s": round(statistics.median(walls), 3),
            "min_s": round(walls[0], 3), "max_s": round(walls[-1], 3),
            "cpu_median_s": round(statistics.median(c for _, c in samples), 3)}


CHAT_PATH = ("import io, sys\n"
             "sys.stdin = io.TextIOWrapper(io.BytesIO(b'hello\\n'))\n"
             "from channels.cli import main\n"
             "main(['chat', '--address', 'importtime'])\n")


def importtime(tree: Tree, code: str, top: int = 12) -> dict:
    """``python -X importtime``, self times summed by top-level package (median of 3 runs)."""
    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=tree.root,
                              env=tree.env, capture_output=True, text=True)
        by_package: dict[str, int] = defaultdict(int)
        modules = 0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            _, self_us, _, name = (part.strip() for part in line.replace("|", ":").split(":"))
            by_package[name.split(".")[0]] += int(self_us)
            modules += 1
        runs.append((sum(by_package.values()), modules, by_package))
    runs.sort(key=lambda r: r[0])
    total, modules, by_package = runs[1]
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    return {"total_ms": round(total / 1000, 1), "modules": modules,
            "top_packages_ms": {name: round(us / 1000, 1) for name, us in ranked}}


def prerender(tree: Tree, audio_dir: Path) -> None:
    log(f"filling the audio cache {audio_dir} (kaifong speech prerender; once)")
    subprocess.run(tree.argv("speech", "prerender"), cwd=tree.root, env=tree.env, check=True,
                   stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--audio-dir", type=Path,
                        help="a full audio cache for serve (default: made first)")
    parser.add_argument("--only", default=",".join(COMMANDS),
                        help="comma-separated, of " + ", ".join(COMMANDS))
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    only = [c for c in args.only.split(",") if c]
    unknown = set(only) - set(COMMANDS)
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="kaifong-startup-") as scratch:
        scratch = Path(scratch)
        audio_dir = args.audio_dir or scratch / "audio"
        trees = [Tree("this", ROOT, scratch, audio_dir)]
        if args.baseline:
            trees.append(Tree("baseline", args.baseline.resolve(), scratch, audio_dir))
        where = {tree.name: tree.where() for tree in trees}
        for tree in trees:      # the database, migrated once, untimed
            run_chat(tree)
        if "serve" in only and args.audio_dir is None:
            prerender(trees[0], audio_dir)
        results: dict[str, dict] = {tree.name: {} for tree in trees}
        for command in only:
            samples: dict[str, list] = {tree.name: [] for tree in trees}
            for tree in trees:
                RUNNERS[command](tree)                           # warm-up (disk cache)
            for i in range(args.repeats):
                for tree in trees if i % 2 == 0 else trees[::-1]:   # ABBA: drift weighs alike
                    samples[tree.name].append(RUNNERS[command](tree))
            for tree in trees:
                results[tree.name][command] = summary(samples[tree.name])
                log(f"{tree.name:9} {command:9} {results[tree.name][command]}")
        floors = {}
        for name, code in FLOORS.items():
            run_floor(trees[0], code)
            floors[name] = summary([run_floor(trees[0], code) for _ in range(args.repeats)])
            log(f"floor     {name:9} {floors[name]}")
        imports = {}
        for tree in trees:
            imports[tree.name] = {"help": importtime(tree, "from channels.cli import main"),
                                  "chat": importtime(tree, CHAT_PATH)}
            log(f"{tree.name:9} importtime help {imports[tree.name]['help']['total_ms']} ms, "
                f"chat {imports[tree.name]['chat']['total_ms']} ms")
    doc = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "setup": {"repeats": args.repeats, "trees": where},
        "results": results,
        "floors": floors,
        "importtime": imports,
    }
    if args.baseline:
        doc["ratio"] = {command: {
            "median": round(results["this"][command]["median_s"]
                            / results["baseline"][command]["median_s"], 3),
            "cpu_median": round(results["this"][command]["cpu_median_s"]
                                / results["baseline"][command]["cpu_median_s"], 3)}
            for command in only}
    doc["targets"] = {f"{command}_median_under_0.4_s": results["this"][command]["median_s"] < 0.4
                      for command in ("help", "chat") if command in only}
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
