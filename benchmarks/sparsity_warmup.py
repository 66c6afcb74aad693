"""Why P2P trained from scratch needs a classifier warm-up before sparsity.

Trains P2PClassifier with the tiny built-in CNN (no pretrained weights) on
the cluttered-objects data under two lambda1 schedules and prints a table:

* paper:   lambda1 / 100 until 10% of the epochs, linear up to lambda1 at 50%
           (the reference schedule, made for pretrained backbones);
* scratch: 0 until 30% of the epochs, linear up to lambda1 at 70%
           (P2PClassifier's default when pretrained=False).

Run:  .venv/bin/python benchmarks/sparsity_warmup.py [--n-train 600 --epochs 30 --seeds 0 1 2]
"""

import argparse
import time

import numpy as np

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.callbacks import SparsityWarmup
from sklearn_p2p.datasets import make_cluttered_objects

SCHEDULES = {
    "paper": SparsityWarmup(start_factor=0.01, begin=0.1, end=0.5),
    "scratch": SparsityWarmup(start_factor=0.0, begin=0.3, end=0.7),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-train", type=int, default=600)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    print(f"{args.n_train} training images, {args.epochs} epochs, seeds {args.seeds}\n")
    print("| schedule | seed | test accuracy | mean kept fraction | fit seconds |")
    print("|---|---|---|---|---|")
    summary = {name: [] for name in SCHEDULES}
    for seed in args.seeds:
        data = make_cluttered_objects(n_samples=args.n_train + args.n_test, image_size=32,
                                      n_classes=4, random_state=seed)
        train, test = slice(0, args.n_train), slice(args.n_train, None)
        for name, schedule in SCHEDULES.items():
            model = P2PClassifier(
                superpixels=SuperpixelTransformer(n_segments=40), max_epochs=args.epochs,
                lr=3e-3, batch_size=32, random_state=seed, verbose=0,
                callbacks__sparsity_warmup=schedule,
            )
            start = time.perf_counter()
            model.fit(data.images[train], data.target[train])
            seconds = time.perf_counter() - start
            details = model.explain(data.images[test], return_details=True)
            accuracy = np.mean(details.y_pred == data.target[test])
            summary[name].append(accuracy)
            print(f"| {name} | {seed} | {accuracy:.3f} | {details.kept_fraction.mean():.3f} "
                  f"| {seconds:.0f} |", flush=True)
    print("\n| schedule | test accuracy, mean ± std over seeds |\n|---|---|")
    for name, accuracies in summary.items():
        print(f"| {name} | {np.mean(accuracies):.3f} ± {np.std(accuracies):.3f} |")


if __name__ == "__main__":
    main()
