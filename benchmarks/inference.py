"""Inference cost of dynamic thresholding, three ways, in one run.

Trains one P2P model, then times on the same test images:

* ``incremental``: P2P's search (selector backbone once per image; per tau
  only the selector head and the classifier, on the images still uncertain);
* ``full_batch``: the reference implementation's search (selector and
  classifier re-run on the whole batch at every tau until the slowest image
  is certain);
* ``fixed tau``: one forward pass at a fixed threshold, the floor.

Superpixels are computed beforehand and excluded. Reports images per second,
the ratios the performance targets are stated in, and the mean number of
classifier passes per image. Results are checked to be identical.

Run:  .venv/bin/python benchmarks/inference.py [--n-train 800 --n-test 500]
"""

import argparse
import time

import torch

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=800)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--deltas", type=float, nargs="+", default=[0.9, 0.99])
    parser.add_argument("--device", default="auto")
    return parser.parse_args()


def timed(run, repeats):
    """Best wall time of ``repeats`` calls, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = run()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, result


def explain_all(net, batches, **kwargs):
    with torch.no_grad():
        outs = [net.explain(batch, **kwargs) for batch in batches]
    return {key: torch.cat([out[key] for out in outs]) for key in ("tau", "masks", "proba",
                                                                   "n_classifier_passes")}


def main():
    args = parse_args()
    data = make_cluttered_objects(n_samples=args.n_train + args.n_test,
                                  image_size=args.image_size, random_state=0)
    clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=50),
                        max_epochs=args.epochs, device=args.device, random_state=0, verbose=0)
    clf.fit(data.images[:args.n_train], data.target[:args.n_train])
    Xp = clf._prepare_images(data.images[args.n_train:], reset=False)
    device = clf.device
    batches = [torch.as_tensor(Xp[i:i + args.batch_size], device=device)
               for i in range(0, len(Xp), args.batch_size)]
    net = clf.module_.eval()
    n = len(Xp)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{n} test images of {args.image_size}x{args.image_size}, batch {args.batch_size}, "
          f"tau step 0.05 (20 steps)\n")
    print("| delta | search | images/s | vs full_batch | vs fixed tau | "
          "classifier passes / image | identical to full_batch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    fixed_seconds, _ = timed(lambda: explain_all(net, batches, tau=1.0), args.repeats)
    for delta in args.deltas:
        full_s, full = timed(lambda: explain_all(net, batches, delta=delta, search="full_batch"),
                             args.repeats)
        fast_s, fast = timed(lambda: explain_all(net, batches, delta=delta), args.repeats)
        identical = (torch.equal(fast["tau"], full["tau"]) and torch.equal(fast["masks"], full["masks"])
                     and torch.equal(fast["proba"].argmax(1), full["proba"].argmax(1)))
        for name, seconds, out in [("incremental", fast_s, fast), ("full_batch", full_s, full)]:
            print(f"| {delta} | {name} | {n / seconds:.0f} | {full_s / seconds:.2f}x faster | "
                  f"{seconds / fixed_seconds:.2f}x the cost | "
                  f"{out['n_classifier_passes'].float().mean():.2f} | "
                  f"{'yes' if identical else 'NO'} |")
    print(f"| - | fixed tau | {n / fixed_seconds:.0f} | | 1.00x | 1.00 | |")


if __name__ == "__main__":
    main()
