"""The demo (README's main job) and every gallery example run end to end.

They run as scripts in fresh processes, at toy scale: the demo through its
command-line options, the gallery examples (``examples/plot_*.py``) with
``SKLEARN_P2P_FAST_EXAMPLES=1``, which each of them reads to shrink its data
and epochs. A broken example fails here even when the docs are not built.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GALLERY = sorted((ROOT / "examples").glob("plot_*.py"))


def test_demo_trains_prints_metrics_and_writes_png(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--n-train", "40",
         "--n-test", "16", "--epochs", "2", "--n-segments", "16",
         "--output-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={"MPLBACKEND": "Agg", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    for line in ("test accuracy:", "mean kept fraction:", "chosen tau (delta=0.99):"):
        assert line in result.stdout
    png = tmp_path / "p2p_explanations.png"
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_gallery_has_examples():
    assert len(GALLERY) >= 7


@pytest.mark.parametrize("script", GALLERY, ids=[path.stem for path in GALLERY])
def test_gallery_example_runs(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "SKLEARN_P2P_FAST_EXAMPLES": "1"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
        timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    source = script.read_text()
    assert source.startswith('"""') and "SKLEARN_P2P_FAST_EXAMPLES" in source
