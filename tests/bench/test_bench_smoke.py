"""The benchmarks still run (their figures are read by people, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_core_benchmark_runs_and_prints_its_json(tmp_path):
    out = tmp_path / "core.json"
    result = subprocess.run([sys.executable, "bench/bench_core.py", "--quick", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    assert doc == json.loads(out.read_text())
    for part in ("engine", "engine_sqlite", "routing"):
        for catalogue in ("real", "generated"):
            figures = doc[part][catalogue]
            assert figures["p50_ms"] > 0 and figures["p99_ms"] >= figures["p50_ms"]
    assert doc["catalogues"]["generated"]["procedures"] == 200
