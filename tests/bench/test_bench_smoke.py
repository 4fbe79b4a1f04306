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


@pytest.mark.slow
def test_sms_benchmark_runs_all_three_servers(tmp_path):
    out = tmp_path / "sms.json"
    result = subprocess.run([sys.executable, "bench/bench_sms.py", "--seconds", "1",
                             "--warmup", "0.5", "--senders", "4", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    assert doc == json.loads(out.read_text())
    for server in ("bare", "persisting", "kaifong"):
        figures = doc[server]
        assert figures["errors"] == 0 and figures["requests"] > 0
        assert figures["p99_ms"] >= figures["p50_ms"] > 0
    assert set(doc["ratio"]) == {"throughput_kaifong_over_bare", "p99_kaifong_over_bare",
                                 "throughput_kaifong_over_persisting",
                                 "p99_kaifong_over_persisting"}


@pytest.mark.slow
def test_console_benchmark_runs(tmp_path):
    out = tmp_path / "console.json"
    result = subprocess.run([sys.executable, "bench/bench_console.py", "--quick", "--out",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    assert doc == json.loads(out.read_text())
    for scenario in (doc["message_to_console"], doc["two_processes"]):
        assert scenario["lost"] == 0
        for part in ("message_to_console", "webhook_response"):
            figures = scenario[part]
            assert figures["n"] == scenario["messages"]
            assert figures["p99_ms"] >= figures["p50_ms"] > 0
    waiting = doc["setup"]["waiting"]
    for part in (f"queue_page_{waiting}", f"queue_fragment_{waiting}"):
        figures = doc[part]
        assert figures["rows"] == figures["caption_count"] == waiting
        assert figures["p99_ms"] >= figures["p50_ms"] > 0 and figures["bytes"] > 0
