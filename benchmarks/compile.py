"""torch.compile with P2PClassifier: compile time and time per epoch.

Trains the same small model (256 images of 32x32, 25 segments, batch 64,
3 epochs) without and with skorch's ``compile=True``, and prints each
epoch's duration, the time of the first prediction (which compiles the
evaluation graph) and the largest difference between the two models'
probabilities. The first epoch of the compiled model includes compiling
the training graph.

Run:  .venv/bin/python benchmarks/compile.py [--backend inductor --device auto]
"""

import argparse
import time

import numpy as np
import torch

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects


def run(data, device, compile_options):
    clf = P2PClassifier(
        superpixels=SuperpixelTransformer(n_segments=25), max_epochs=3, batch_size=64,
        verbose=0, random_state=0, device=device, **compile_options,
    )
    start = time.perf_counter()
    clf.fit(data.images, data.target)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    proba = clf.predict_proba(data.images)
    predict_time = time.perf_counter() - start
    return clf.history[:, "dur"], fit_time, predict_time, proba


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="inductor")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    data = make_cluttered_objects(n_samples=256, image_size=32, random_state=0)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    rows = {
        "not compiled": run(data, device, {}),
        f"compile=True ({args.backend})": run(
            data, device, {"compile": True, "compile__backend": args.backend}),
    }
    print(f"device: {device}, torch {torch.__version__}; seconds")
    print(f"{'':<28} {'epoch 1':>8} {'epoch 2':>8} {'epoch 3':>8} {'1st predict':>12}")
    for name, (durations, _, predict_time, _) in rows.items():
        epochs = " ".join(f"{d:>8.2f}" for d in durations)
        print(f"{name:<28} {epochs} {predict_time:>12.2f}")
    (_, _, _, plain), (_, _, _, compiled) = rows.values()
    print(f"largest difference in predict_proba: {np.abs(plain - compiled).max():.3g}")


if __name__ == "__main__":
    main()
