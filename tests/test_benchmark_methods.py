"""benchmarks/methods.py (every method side by side) runs end to end at smoke scale.

The script runs in a fresh process, as ``make benchmark-methods`` runs it,
with ``--smoke`` (tiny data, one epoch, one seed, one data set): its table,
CSV and figure must hold every method, with a finite accuracy.
"""

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "methods.py"
METHODS = {  # --methods key: label in the table
    "p2p": "P2P",
    "bb-lime": "LIME (Blackbox)",
    "bb-saliency": "Saliency (Blackbox)",
    "bb-ig": "IG (Blackbox)",
    "bb-gradcam": "Grad-CAM (Blackbox)",
    "bb-agop-w": "AGOP-W (Blackbox)",
    "bb-agop-g": "AGOP-G (Blackbox)",
    "ersm": "ERSM",
    "sib-saliency": "Saliency (S-IB)",
    "sib-ig": "IG (S-IB)",
    "sib-gradcam": "Grad-CAM (S-IB)",
    "adv-saliency": "Saliency (smoothed adv.)",
}


def test_smoke_run_reports_every_method(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--threads", "1",
         "--output-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    table = (tmp_path / "methods.txt").read_text()
    assert table == result.stdout[:len(table)]
    for label in METHODS.values():
        assert f"| {label} |" in table
    assert "FAILED" not in table

    with open(tmp_path / "methods.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["method"] for row in rows} == set(METHODS)
    for row in rows:
        assert row["error"] == ""
        assert math.isfinite(float(row["accuracy"])), row
        assert 0.0 <= float(row["accuracy"]) <= 1.0
        assert 0.0 <= float(row["localization"]) <= 1.0
        assert float(row["ms_per_image"]) > 0

    png = tmp_path / "methods_examples.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
