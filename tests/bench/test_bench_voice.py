"""The phone benchmark still runs (its figures are read by people, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_voice_benchmark_runs_and_prints_its_json(tmp_path):
    out = tmp_path / "voice.json"
    result = subprocess.run([sys.executable, "bench/bench_voice.py", "--seconds", "1",
                             "--callers", "2", "--sample", "3", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    assert doc == json.loads(out.read_text())
    assert doc["webhook"]["errors"] == 0
    for phase in ("cold", "warm"):
        figures = doc["webhook"][phase]
        assert figures["n"] > 0 and figures["p99_ms"] >= figures["p50_ms"] > 0
    synthesis = doc["synthesis"]
    assert synthesis["clips_synthesised"] == 3 and synthesis["failed"] == 0
    assert synthesis["per_prompt"]["p50_ms"] > 0 and synthesis["disk"]["bytes_per_clip"] > 0
    assert doc["cache_after_calls"]["clips"] > 0
