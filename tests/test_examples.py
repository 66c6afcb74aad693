"""The demo (README's main job) runs end to end at a toy scale."""

import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


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
