"""Inference cost of dynamic thresholding, three ways, in one run.

Trains P2P models, then times on the same test images:

* ``incremental``: P2P's search. The selector's backbone and the
  tau-independent part of its head run once per image; per tau only the rest
  of the head runs, on the images still uncertain, and the classifier only on
  those whose region mask changed since their previous tau. Once fewer images
  than the batch size are uncertain, each pass looks several taus ahead for
  them, so that passes stay about a batch large;
* ``incremental, 1 tau/pass``: the same without looking ahead;
* ``full_batch``: the reference implementation's search (selector and
  classifier re-run on the whole batch at every tau until the slowest image
  is certain);
* ``fixed tau``: one forward pass at a fixed threshold, the floor.

The cost of a search is dominated by its classifier passes, and how many an
image needs depends on how early the model becomes certain. Two models are
measured:

* ``table1``: the P2P model of ``benchmarks/paper_tables.py`` (pasted digits,
  1500 training images, 30 epochs, seed 0), accurate and certain early;
* ``weak``: a model trained less (cluttered objects, 800 images, 20 epochs),
  uncertain for longer, so a harder case for the search.

Superpixels are computed beforehand and excluded. Reports images per second,
the ratios the performance targets are stated in, the mean number of
classifier passes per image (looked-ahead taus included), and whether each
search agrees exactly with ``full_batch``.

Run:  .venv/bin/python benchmarks/inference.py [--models table1 weak --repeats 10]
"""

import argparse
import time

import numpy as np
import torch

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects, make_pasted_objects
from sklearn_p2p.nn._reference_search import full_batch_explain

#: name -> (data set factory, training images, test images, epochs)
MODELS = {
    "table1": (lambda n: make_pasted_objects(n_samples=n, image_size=32, n_classes=5,
                                             random_state=0), 1500, 300, 30),
    "weak": (lambda n: make_cluttered_objects(n_samples=n, image_size=32, random_state=0),
             800, 500, 20),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["table1", "weak"])
    parser.add_argument("--epochs", type=int, default=None, help="override the models' epochs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
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


def explain_all(net, batches, search=None, **kwargs):
    """Explain every batch, with P2P's search or (``search="full_batch"``) the reference's."""
    with torch.no_grad():
        if search == "full_batch":
            outs = [full_batch_explain(net, batch, **kwargs) for batch in batches]
        else:
            outs = [net.explain(batch, **kwargs) for batch in batches]
    return {key: torch.cat([out[key] for out in outs])
            for key in ("tau", "masks", "proba", "n_classifier_passes")}


def train(name, args):
    make_data, n_train, n_test, epochs = MODELS[name]
    data = make_data(n_train + n_test)
    clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=50),
                        max_epochs=args.epochs or epochs, device=args.device,
                        random_state=0, verbose=0)
    start = time.perf_counter()
    clf.fit(data.images[:n_train], data.target[:n_train])
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(clf.predict(data.images[n_train:]) == data.target[n_train:]))
    print(f"model {name}: {n_train} training images, {clf.max_epochs} epochs, "
          f"trained in {seconds:.0f} s, test accuracy {accuracy:.3f} (delta 0.99)")
    return clf, clf._inference_input(data.images[n_train:])


def main():
    args = parse_args()
    rows = []
    for name in args.models:
        clf, Xp = train(name, args)
        batches = [torch.as_tensor(Xp[i:i + args.batch_size], device=clf.device)
                   for i in range(0, len(Xp), args.batch_size)]
        net = clf.module_.eval()
        fixed_s, _ = timed(lambda: explain_all(net, batches, tau=1.0), args.repeats)
        n = len(Xp)
        for delta in args.deltas:
            full_s, full = timed(
                lambda: explain_all(net, batches, delta=delta, search="full_batch"), args.repeats)
            runs = [
                ("incremental", *timed(lambda: explain_all(net, batches, delta=delta),
                                       args.repeats)),
                ("incremental, 1 tau/pass", *timed(
                    lambda: explain_all(net, batches, delta=delta, search_batch_size=1),
                    args.repeats)),
                ("full_batch", full_s, full),
            ]
            for search, seconds, out in runs:
                identical = (torch.equal(out["tau"], full["tau"])
                             and torch.equal(out["masks"], full["masks"])
                             and torch.equal(out["proba"].argmax(1), full["proba"].argmax(1)))
                rows.append(
                    f"| {name} | {delta} | {search} | {n / seconds:.0f} "
                    f"| {full_s / seconds:.2f}x | {seconds / fixed_s:.2f}x "
                    f"| {out['n_classifier_passes'].float().mean():.2f} "
                    f"| {out['tau'].mean():.2f} | {'yes' if identical else 'NO'} |")
        rows.append(f"| {name} | - | fixed tau | {n / fixed_s:.0f} | | 1.00x | 1.00 | | |")
    device = clf.device
    print(f"\ndevice {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"32x32 test images, batch {args.batch_size}, tau step 0.05 (20 steps), "
          f"best of {args.repeats}\n")
    print("| model | delta | search | images/s | speed-up vs full_batch | cost vs fixed tau "
          "| classifier passes / image | mean tau | identical to full_batch |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
