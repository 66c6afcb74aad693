"""ERSM's deletion claim: the learned energy ranks feature positions better than magnitude.

The seed paper (Energy-Regularized Spatial Masking, arXiv 2604.06893) claims
that deleting feature positions in order of the learned energy hurts
accuracy faster than deleting them in order of feature magnitude. This script
trains :class:`~sklearn_p2p.models.ERSMClassifier` (tiny CNN, last feature
map 8x8 at 32 px) on :func:`~sklearn_p2p.datasets.make_cluttered_objects`,
once per weight of the regulariser (``unary_weight`` and ``pairwise_weight``
both set to it: the authors' 1e-3 and stronger sparsity costs), and on
held-out images prints:

* accuracy, next to the same backbone without the layer
  (:class:`~sklearn_p2p.models.BackboneClassifier`, the tiny CNN);
* mask sparsity: mean keep probability, share of positions with q > 0.5,
  and the Gini index of q over each image's positions (scale-free: the next
  layer can absorb a uniform scale of q, so a low mean alone does not say
  the mask selects);
* localization of the upsampled keep probability against the exact object
  masks (:mod:`sklearn_p2p.metrics`): relevance mass (share of the map's
  mass on the object), top-k precision (share of the top |object| pixels on
  the object), pointing game (is the map's maximum on the object) and
  chance (the object's share of the image, what relevance mass and top-k
  precision give for a map that ignores the image);
* accuracy against the share of feature positions deleted (their keep
  probability set to 0, :meth:`~sklearn_p2p.nn.ERSMNetwork.logits_without`),
  in four orders: ``energy`` (lowest local energy first: the positions the
  mask most wants to keep), ``magnitude`` (largest L2 norm of the unmasked
  feature vector first), ``masked magnitude`` (largest norm of the masked
  vector ``q_i f_i``, what the pooling sees) and ``random``; and the area
  under each curve over the deleted share from 0 to 1 (lower: the order
  finds the positions the prediction rests on sooner).

Run (``device`` is CUDA when available, else CPU; the defaults took about a
minute on one H200, and each of their 12 fits takes minutes on 2 CPU cores):

    .venv/bin/python benchmarks/ersm_deletion.py            # docs/related/ersm.rst
    .venv/bin/python benchmarks/ersm_deletion.py --quick    # smoke test
"""

import argparse
import time

import numpy as np
import torch

from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.metrics import (
    sparseness_score,
    object_fraction,
    pointing_game_score,
    relevance_mass_score,
    top_k_precision_score,
)
from sklearn_p2p.models import BackboneClassifier, ERSMClassifier

from _common import cpu_name

DELETED = (0.0, 1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 5 / 8, 3 / 4, 7 / 8, 1.0)
ORDERS = ("energy", "magnitude", "masked magnitude", "random")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=600)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--n-classes", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--unary-weights", type=float, nargs="+", default=[1e-3, 0.1, 1.0])
    parser.add_argument("--coherence", type=float, default=0.2)
    parser.add_argument("--pooling", choices=["max", "avg"], default=None,
                        help="global pooling of the masked map (default: the backbone's own)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 64 images, 2 epochs, one seed and weight")
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.n_test, args.epochs = 48, 16, 2
        args.unary_weights, args.seeds = args.unary_weights[:1], args.seeds[:1]
    return args


def training_params(seed, epochs):
    return dict(max_epochs=epochs, lr=3e-3, batch_size=32, random_state=seed, verbose=0)


def deletion_orders(details, rng):
    """Per order, the feature positions of each image, first deleted first: (n, h * w)."""
    energy = details["local_energy"].flatten(1).cpu().numpy()
    norm = details["feature_norm"].flatten(1).cpu().numpy()
    masked = norm * details["keep_probability"].flatten(1).cpu().numpy()
    return {
        "energy": np.argsort(energy, axis=1, kind="stable"),
        "magnitude": np.argsort(-norm, axis=1, kind="stable"),
        "masked magnitude": np.argsort(-masked, axis=1, kind="stable"),
        "random": np.argsort(rng.rand(*energy.shape), axis=1),
    }


def deletion_curve(network, images, y, order, feature_shape):
    """Accuracy after deleting the first ``share`` of ``order``'s positions, per share."""
    n, n_positions = order.shape
    accuracies = []
    for share in DELETED:
        drop = np.zeros((n, n_positions), dtype=bool)
        np.put_along_axis(drop, order[:, :round(share * n_positions)], True, axis=1)
        drop = torch.as_tensor(drop.reshape(n, *feature_shape), device=images.device)
        logits = network.logits_without(images, drop)
        accuracies.append(float((logits.argmax(1).cpu().numpy() == y).mean()))
    return np.array(accuracies)


def evaluate_ersm(model, data, test, rng):
    images = torch.as_tensor(data.images[test] / 255.0, dtype=torch.float32,
                             device=model.device)
    y = data.target[test]
    network = model.module_.eval()
    details = network.explain(images)
    keep = details["keep_probability"]
    curves = {
        name: deletion_curve(network, images, y, order, keep.shape[1:])
        for name, order in deletion_orders(details, rng).items()
    }
    explanation = model.explain(data.images[test], return_details=True)
    object_masks = data.masks[test]
    return {
        "accuracy": float((explanation.y_pred == y).mean()),
        "mean q": float(keep.mean()),
        "q > 0.5": float((keep > 0.5).float().mean()),
        "gini": sparseness_score(keep.cpu().numpy()),
        "relevance mass": relevance_mass_score(explanation.attributions, object_masks),
        "top-k precision": top_k_precision_score(explanation.attributions, object_masks),
        "pointing game": pointing_game_score(explanation.attributions, object_masks),
        "chance": object_fraction(object_masks),
        "curves": curves,
    }


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main():
    args = parse_args()
    weights = args.unary_weights
    results = {weight: [] for weight in weights}
    baseline_accuracy = []
    for seed in args.seeds:
        data = make_cluttered_objects(n_samples=args.n_train + args.n_test,
                                      image_size=args.image_size, n_classes=args.n_classes,
                                      random_state=seed)
        train, test = slice(0, args.n_train), slice(args.n_train, None)
        start = time.perf_counter()
        baseline = BackboneClassifier(**training_params(seed, args.epochs))
        baseline.fit(data.images[train], data.target[train])
        baseline_accuracy.append(baseline.score(data.images[test], data.target[test]))
        print(f"seed {seed}: backbone alone trained in {time.perf_counter() - start:.0f} s, "
              f"accuracy {baseline_accuracy[-1]:.3f}", flush=True)
        for weight in weights:
            start = time.perf_counter()
            model = ERSMClassifier(unary_weight=weight, pairwise_weight=weight,
                                   coherence=args.coherence, module__pooling=args.pooling,
                                   **training_params(seed, args.epochs))
            model.fit(data.images[train], data.target[train])
            fit_seconds = time.perf_counter() - start
            results[weight].append(evaluate_ersm(model, data, test, np.random.RandomState(seed)))
            print(f"seed {seed}: ERSM unary/pairwise weight {weight:g} trained in "
                  f"{fit_seconds:.0f} s, accuracy {results[weight][-1]['accuracy']:.3f}",
                  flush=True)

    device = "cuda" if torch.cuda.is_available() else cpu_name()
    print(f"\n{args.n_train} training and {args.n_test} test images of {args.image_size} px, "
          f"{args.n_classes} classes, {args.epochs} epochs, coherence {args.coherence}, "
          f"pooling {args.pooling or 'max (the backbone default)'}, "
          f"seeds {args.seeds}, device: {device}; mean ± std over seeds\n")
    print("| model | accuracy | mean q | share q > 0.5 | Gini of q | relevance mass "
          "| top-k precision | pointing game | chance |")
    print("|---" * 9 + "|")
    print(f"| backbone alone | {mean_std(baseline_accuracy)} | | | | | | | |")
    for weight in weights:
        runs = results[weight]
        cells = " | ".join(mean_std([r[key] for r in runs]) for key in (
            "accuracy", "mean q", "q > 0.5", "gini", "relevance mass", "top-k precision",
            "pointing game", "chance"))
        print(f"| ERSM, weights {weight:g} | {cells} |")

    for weight in weights:
        runs = results[weight]
        print(f"\nDeletion, ERSM with unary and pairwise weights {weight:g}: accuracy after "
              "deleting a share of the feature positions (mean over seeds)\n")
        print("| order | " + " | ".join(f"{share:.3g}" for share in DELETED) + " | AUC |")
        print("|---" * (len(DELETED) + 2) + "|")
        for name in ORDERS:
            curves = np.array([r["curves"][name] for r in runs])
            auc = [np.trapezoid(curve, DELETED) for curve in curves]
            cells = " | ".join(f"{a:.3f}" for a in curves.mean(axis=0))
            print(f"| {name} | {cells} | {mean_std(auc)} |")


if __name__ == "__main__":
    main()
