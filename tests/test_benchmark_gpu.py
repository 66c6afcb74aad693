"""benchmarks/gpu.py (P2P at the paper's scale on a GPU) runs end to end on a CPU.

The script runs in a fresh process with ``--smoke --device cpu`` (batches of
two 224-pixel images, a grid of 4 taus, one timed repetition, 0 and 1
DataLoader workers): its table, printed and written to ``gpu.txt``, must hold
every measurement in both precisions with finite, positive images/s. The
numbers themselves mean nothing on a CPU; this only checks that the GPU run
would not fail on something a CPU can catch.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu.py"
COLUMNS = ["measurement", "precision", "workers", "batch", "images/s", "ms/batch",
           "passes/image", "peak MiB", "target", "status"]
MODEL_ROWS = ["train step", "dynamic inference, every tau", "dynamic inference, first tau",
              "explain() end to end, every tau"]

pytest.importorskip("timm")


def _table_rows(text):
    """The last table of ``text``: its header and its rows, split at the column starts."""
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("=====")]
    assert len(rules) >= 3, text[-2000:]
    top, below_header, bottom = rules[-3:]
    rule = lines[top]
    starts = [0] + [i + 1 for i, ch in enumerate(rule) if ch == " " and rule[i + 1:i + 2] == "="]
    bounds = list(zip(starts, starts[1:] + [None]))

    def split(line):
        return [line[a:b].strip() for a, b in bounds]

    return split(lines[top + 1]), [split(line) for line in lines[below_header + 1:bottom]]


def test_smoke_run_prints_the_table(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--device", "cpu",
         "--output-dir", str(tmp_path)],
        cwd=ROOT / "benchmarks", capture_output=True, text=True, timeout=180, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = (tmp_path / "gpu.txt").read_text()
    assert written.strip() in result.stdout
    assert "vit_tiny_patch16_224" in written and "mobilenetv3_large_100" in written

    header, rows = _table_rows(written)
    assert header == COLUMNS
    expected = [(name, precision) for precision in ("fp32", "bf16") for name in MODEL_ROWS]
    expected += [("superpixels (SuperpixelDataset)", "-")] * 2
    assert [(r[0], r[1]) for r in rows] == expected
    assert [r[2] for r in rows[-2:]] == ["0", "1"]
    for r in rows:
        rate = float(r[COLUMNS.index("images/s")])
        assert math.isfinite(rate) and rate > 0, r
        assert math.isfinite(float(r[COLUMNS.index("ms/batch")])), r
    # the search runs the classifier at (nearly) every tau of the smoke
    # run's grid (4 taus) when delta=1 and once when every image is certain
    # at the first tau
    passes = {(r[0], r[1]): r[COLUMNS.index("passes/image")] for r in rows}
    for precision in ("fp32", "bf16"):
        assert float(passes["dynamic inference, every tau", precision]) >= 2.5
        assert float(passes["dynamic inference, first tau", precision]) == 1.0
    # targets: stated for bf16, judged only on a GPU
    train_bf16 = rows[MODEL_ROWS.index("train step") + len(MODEL_ROWS)]
    assert train_bf16[COLUMNS.index("target")] == ">= 1,500"
    assert "not a GPU" in train_bf16[COLUMNS.index("status")]
    assert rows[-1][COLUMNS.index("target")] == "not the bound"
    assert rows[-1][COLUMNS.index("status")].startswith("bound: ")


def test_max_seconds_skips_what_does_not_fit(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--device", "cpu", "--max-seconds", "1",
         "--precisions", "fp32", "--output-dir", str(tmp_path)],
        cwd=ROOT / "benchmarks", capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _, rows = _table_rows((tmp_path / "gpu.txt").read_text())
    assert len(rows) == len(MODEL_ROWS) + 2
    assert all(r[COLUMNS.index("status")] == "skipped (--max-seconds)" for r in rows)
