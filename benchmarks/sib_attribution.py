"""Does S-IB training make gradient explanations land on the object?

The claim of the S-IB paper (Shu, Meng and Luo, 2025): training with the
spatial information bottleneck on the input gradients makes every
gradient-based explainer concentrate on the object and suppress the
background, with accuracy kept or improved, at about 3x the cost of a plain
training step.

The same backbone (the tiny built-in CNN, random initialisation) is trained
on the cluttered-objects data (one shape per image on class-independent
clutter, exact object masks) with the cross-entropy alone
(:class:`BackboneClassifier`) and with S-IB (:class:`SIBClassifier`, the
authors' weights), same seed, same epochs. Both are explained on held-out
images by the same five gradient methods of :class:`GradientExplainer`
(the predicted class), and scored against the object masks:

* relevance mass: the share of the (non-negative) attribution inside the
  object; a uniform map scores the object's share of the image (printed as
  "chance");
* top-k precision: the share of the k highest pixels in the object, k the
  object's size; chance is again the object's share.

Run:  .venv/bin/python benchmarks/sib_attribution.py [--quick] [--device auto]
      [--threads 1] [--n-train 1000 --n-test 300 --image-size 32 --epochs 20
       --seeds 0 --background-weights 1000 1e5]
"""

import argparse
import time

import numpy as np
import torch

from _common import cpu_name
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.explainers import GradientExplainer
from sklearn_p2p.metrics import sparseness_score, relevance_mass_score, top_k_precision_score
from sklearn_p2p.models import BackboneClassifier, SIBClassifier

METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "grad_cam")
AUTHORS_BACKGROUND_WEIGHT = 1000.0


def training_names(args):
    """``{name: background_weight}``; None is the cross-entropy alone."""
    names = {"CE": None}
    for weight in args.background_weights:
        name = "S-IB" if weight == AUTHORS_BACKGROUND_WEIGHT else f"S-IB bg={weight:g}"
        names[name] = weight
    return names


def train(background_weight, data, args, seed):
    params = dict(max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  random_state=seed, verbose=0, device=args.device)
    if background_weight is None:
        model = BackboneClassifier(**params)
    else:
        model = SIBClassifier(foreground_weight=args.foreground_weight,
                              background_weight=background_weight, **params)
    start = time.perf_counter()
    model.fit(data.images[:args.n_train], data.target[:args.n_train])
    return model, time.perf_counter() - start


def evaluate(model, images, target, masks):
    accuracy = float(np.mean(model.predict(images) == target))
    scores = {}
    for method in METHODS:
        attributions = GradientExplainer(model, method=method).attribute(images)
        scores[method] = (relevance_mass_score(attributions, masks),
                          top_k_precision_score(attributions, masks), sparseness_score(attributions))
    return accuracy, scores


def penalty_trace(model):
    """The S-IB terms (epoch means) at the first and the last epoch, or None for CE."""
    if "sib_background" not in model.history[-1]:
        return None
    first, last = model.history[0], model.history[-1]
    return tuple(epoch[name] for name in ("sib_background", "sib_foreground", "cross_entropy")
                 for epoch in (first, last))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 avoids thrashing on a busy machine)")
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--foreground-weight", type=float, default=0.01)
    parser.add_argument("--background-weights", type=float, nargs="+",
                        default=[AUTHORS_BACKGROUND_WEIGHT],
                        help="one S-IB training per weight (the authors': 1000)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.n_train, args.n_test, args.image_size, args.epochs, args.seeds = 32, 8, 16, 1, [0]
        args.batch_size = 16

    print(f"cluttered objects {args.image_size}x{args.image_size}, 4 classes, "
          f"{args.n_train} training / {args.n_test} test images, tiny_cnn, {args.epochs} "
          f"epochs, batch {args.batch_size}, lr {args.lr}, seeds {args.seeds}; S-IB weights "
          f"fg {args.foreground_weight}, bg {args.background_weights}; device {args.device}, "
          f"{cpu_name()}\n")
    trainings = training_names(args)
    # The first fit of a process pays one-off costs (oneDNN kernels for each
    # shape, double backward included): pay them before anything is timed.
    warm_up = make_cluttered_objects(2 * args.batch_size, image_size=args.image_size,
                                     n_classes=4, random_state=0)
    for weight in (None, AUTHORS_BACKGROUND_WEIGHT):
        train(weight, warm_up, argparse.Namespace(**{**vars(args), "epochs": 1,
                                                    "n_train": 2 * args.batch_size}), 0)
    # (accuracy, scores, seconds, penalty trace) per seed
    results = {training: [] for training in trainings}
    chance = []
    for seed in args.seeds:
        data = make_cluttered_objects(args.n_train + args.n_test, image_size=args.image_size,
                                      n_classes=4, random_state=seed)
        test = slice(args.n_train, None)
        masks = data.masks[test]
        chance.append(masks.mean())
        for training, weight in trainings.items():
            model, seconds = train(weight, data, args, seed)
            accuracy, scores = evaluate(model, data.images[test], data.target[test], masks)
            results[training].append((accuracy, scores, seconds, penalty_trace(model)))
            print(f"seed {seed} {training}: accuracy {accuracy:.3f}, fit {seconds:.1f} s",
                  flush=True)

    print(f"\nchance (object share of the image): {np.mean(chance):.3f}; "
          f"mean over {len(args.seeds)} seed(s)\n")
    print("| method | training | accuracy | relevance mass | top-k precision | Gini |")
    print("|---|---|---|---|---|---|")
    for method in METHODS:
        for training in trainings:
            runs = results[training]
            accuracy = np.mean([run[0] for run in runs])
            mass, precision, gini = np.mean([run[1][method] for run in runs], axis=0)
            print(f"| {method} | {training} | {accuracy:.3f} | {mass:.3f} | {precision:.3f} "
                  f"| {gini:.3f} |")
    print("\nS-IB terms, epoch means (first -> last epoch), mean over seeds:\n")
    print("| training | background variance | foreground HSIC | cross-entropy |")
    print("|---|---|---|---|")
    for training in list(trainings)[1:]:
        trace = np.mean([run[3] for run in results[training]], axis=0)
        print(f"| {training} | {trace[0]:.2e} -> {trace[1]:.2e} | {trace[2]:.4f} -> "
              f"{trace[3]:.4f} | {trace[4]:.3f} -> {trace[5]:.3f} |")
    seconds = {training: np.mean([run[2] for run in results[training]]) for training in trainings}
    print("\ntraining time (mean fit seconds): " + ", ".join(
        f"{training} {value:.1f} s" + ("" if training == "CE" else
                                       f" ({value / seconds['CE']:.1f}x CE)")
        for training, value in seconds.items()))


if __name__ == "__main__":
    main()
