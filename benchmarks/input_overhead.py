"""What reading the input costs in ``predict``: time and peak memory.

Fits a small P2PClassifier (built-in tiny CNNs, 25 SLIC segments, one epoch
on 256 images of 32x32) and then measures ``predict`` on 2,000 other 32x32
images: the best wall time of five calls, and the peak of the memory
that Python and numpy allocate during one call (``tracemalloc``; torch's
own tensors are not traced, so the figure is the input handling's: the
validated, scaled and packed copies of the images and the label maps). The
input handling alone (validation, scaling, superpixels, packing) is timed
too, and within it the reading (validation and scaling, without the
superpixels), each the best of five calls.

With ``--compare-with REV`` the same measurement also runs on the package as
it was at git revision REV (checked out into a temporary worktree, imported
in a subprocess), so that before and after come from one run on one machine.

Run:  .venv/bin/python benchmarks/input_overhead.py --compare-with c63a3c3
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Times are the best of this many calls: the shared VM's noise only adds time.
REPEATS = 5


def measure():
    """Fit, then time and trace ``predict``; return a dict of figures."""
    import torch

    import sklearn_p2p
    from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    from sklearn_p2p.datasets import make_cluttered_objects

    torch.set_num_threads(1)
    data = make_cluttered_objects(n_samples=2256, image_size=32, random_state=0)
    train, test = slice(0, 256), slice(256, None)
    clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=25), max_epochs=1,
                        verbose=0, random_state=0, device="cpu")
    clf.fit(data.images[train], data.target[train])
    X = data.images[test]
    clf.predict(X[:64])  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        y_pred = clf.predict(X)
        times.append(time.perf_counter() - start)
    # The input handling alone: validation, scaling, superpixels, packing
    # (``_prepare_images`` before the shared base existed).
    prepare = getattr(clf, "_inference_input", None) or (
        lambda X: clf._prepare_images(X, reset=False))
    # Reading alone, without superpixels (``_check_X`` before the base).
    read = getattr(clf, "_read_input", None) or getattr(clf, "_check_X")
    input_times, read_times = [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        prepare(X)
        input_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        read(X, reset=False)
        read_times.append(time.perf_counter() - start)
    tracemalloc.start()
    clf.predict(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "package": str(Path(sklearn_p2p.__file__).parent),
        "n_images": len(X),
        "input_mib": X.nbytes / 2**20,
        "seconds": min(times),
        "input_seconds": min(input_times),
        "read_seconds": min(read_times),
        "peak_mib": peak / 2**20,
        "predictions": y_pred.tolist(),
    }


def run_in_subprocess(package_root):
    """``measure()`` in a fresh interpreter importing the package from ``package_root``."""
    env = dict(os.environ, PYTHONPATH=str(package_root), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--measure"], env=env, check=True,
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-with", metavar="REV",
                        help="also measure the package at this git revision")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return

    rows = {"this checkout": run_in_subprocess(REPO)}
    if args.compare_with:
        with tempfile.TemporaryDirectory() as tmp:
            worktree = Path(tmp) / "before"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q",
                            str(worktree), args.compare_with], check=True)
            try:
                rows[args.compare_with] = run_in_subprocess(worktree)
            finally:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                                str(worktree)], check=True)
    first = next(iter(rows.values()))
    print(f"predict on {first['n_images']} images of 32x32x3 "
          f"(uint8 input: {first['input_mib']:.1f} MiB), one thread")
    print(f"{'package':<16} {'predict s':>10} {'input handling s':>17} {'of it reading s':>16} "
          f"{'peak MiB (numpy)':>17}")
    for name, row in rows.items():
        print(f"{name:<16} {row['seconds']:>10.2f} {row['input_seconds']:>17.3f} "
              f"{row['read_seconds']:>16.3f} {row['peak_mib']:>17.1f}")
    if len(rows) == 2:
        same = [row["predictions"] for row in rows.values()]
        print(f"identical predictions: {same[0] == same[1]}")


if __name__ == "__main__":
    main()
