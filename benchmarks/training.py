"""Training cost of P2P against a Blackbox with the same classifier, in one run.

For every image size and classifier backbone, trains on the same data
(:func:`sklearn_p2p.datasets.make_pasted_objects`, as in
``benchmarks/paper_tables.py``), with the same batch size and the same
superpixels:

* ``Blackbox``: :class:`sklearn_p2p.baselines.BlackboxClassifier`, the
  classifier backbone on full images;
* ``P2P``: :class:`sklearn_p2p.P2PClassifier` with that classifier backbone
  (and ``--selector``, by default the package's default ``tiny_cnn``).

Superpixels are computed once per data set, before any timing, and both models
get them as ``superpixels="precomputed"`` input. Seconds per epoch are skorch's
``history[:, "dur"]`` (data loading, forward, loss, backward, optimiser step
and the per-batch callbacks); ``train_split=None``, so no validation is timed.
The two models' epochs alternate (``partial_fit`` one epoch at a time), so
that a change in machine load hits both; the first epoch of each is a warm-up
and is dropped, and the ratio is the median over the other epochs of P2P's
epoch over the Blackbox epoch just before it. The performance target is stated as a ratio: a P2P epoch at most 2x
a Blackbox epoch. Absolute seconds are only comparable between machines on a
GPU; on a CPU read the ratio column.

A second table splits one training step (one batch) into its stages, timed
by hand as ``P2PNetwork.forward`` runs them (median over ``--repeats`` steps,
CUDA synchronised around each stage), next to the same stages of the
Blackbox, so that the ratio can be traced to where P2P's extra time goes. The
backward pass is split in two: the classifier's (down to its masked input,
held as a detached leaf), then the rest (mask, sampling, region pooling,
selector head and backbone, and the penalties), fed the leaf's gradient. The
last rows compare the sum of the stages with skorch's own ``train_step`` on
the same batch, which runs the same computation unsplit.

Run:  .venv/bin/python benchmarks/training.py [--n-images 4096 --image-sizes 32
      --backbones tiny_cnn resnet18 --epochs 6]
"""

import argparse
import contextlib
import statistics
import time

import numpy as np
import torch

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.datasets import make_pasted_objects
from sklearn_p2p.nn import (
    count_regions,
    covariance_l1,
    p2p_penalty,
    region_mean,
    region_sizes,
    regions_to_pixels,
    relaxed_region_mask,
    sample_region_logits,
    split_input,
)

TARGET_RATIO = 2.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=4096,
                        help="training images per data set")
    parser.add_argument("--image-sizes", "--image-size", type=int, nargs="+", default=[32])
    parser.add_argument("--backbones", "--backbone", nargs="+", default=["tiny_cnn"],
                        help="classifier backbones: 'tiny_cnn' or timm model names")
    parser.add_argument("--selector", default="tiny_cnn",
                        help="P2P's selector backbone; 'same' uses the classifier's")
    parser.add_argument("--n-classes", type=int, default=5)
    parser.add_argument("--n-segments", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs per model; the first is a warm-up")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10,
                        help="training steps timed for the per-stage breakdown")
    parser.add_argument("--device", default="auto")
    return parser.parse_args()


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


class StageTimer:
    """Wall time of named stages, accumulated over repeated steps."""

    def __init__(self, device):
        self.device = device
        self.times = {}

    @contextlib.contextmanager
    def __call__(self, name):
        synchronize(self.device)
        start = time.perf_counter()
        yield
        synchronize(self.device)
        self.times.setdefault(name, []).append(time.perf_counter() - start)

    def medians(self, skip=1):
        """Median seconds per stage, the first ``skip`` steps dropped."""
        return {name: statistics.median(t[skip:] if len(t) > skip else t)
                for name, t in self.times.items()}


def epoch_seconds(clf):
    """Median epoch duration without the first (warm-up) epoch, and all of them."""
    durations = list(clf.history[:, "dur"])
    timed = durations[1:] if len(durations) > 1 else durations
    return statistics.median(timed), durations


def selector_head(selector, maps, tau, output_size):
    """The selector after its backbone: ``Selector.features`` minus the backbone, then forward."""
    return selector(selector.head.prepare(maps[0], maps[-1]), tau, output_size)


def apply_mask(net, image, pixel_mask):
    """``MaskedClassifier.classify_pixels`` without the classifier: m * x + (1 - m) * black."""
    pixel_mask = pixel_mask.unsqueeze(1).to(image.dtype)
    black = (0.0 - net.mean) / net.std
    return pixel_mask * image + (1 - pixel_mask) * black


def p2p_step(clf, X, y, timer):
    """One P2P training step, stage by stage, as ``P2PNetwork.forward`` runs it."""
    net, optimizer = clf.module_, clf.optimizer_
    net.train()
    optimizer.zero_grad()
    with timer("input: split, normalise (P2P: + region sizes, tau draw)"):
        image, segments = split_input(X)
        image = net.normalize(image)
        n_regions_per_image = count_regions(segments)
        n_regions = int(n_regions_per_image.max())
        sizes = region_sizes(segments, n_regions)
        tau = torch.empty(len(X), device=X.device).uniform_(net.tau_min, 1.0)
    with timer("selector backbone forward"):
        maps = net.selector.backbone(image)
    with timer("selector head forward (tau-conditioned, upsampled)"):
        pixel_out = selector_head(net.selector, maps, tau, image.shape[-2:])
    with timer("region pooling (scatter-mean of mu, E)"):
        pooled = region_mean(pixel_out, segments, n_regions, sizes)
        mu, embeddings = pooled[..., 0], pooled[..., 1:]
    with timer("sampling N(mu, E E^T) + relaxed Bernoulli mask"):
        region_mask = relaxed_region_mask(
            sample_region_logits(mu, embeddings, net.jitter), getattr(clf, "temperature_", 1.0))
    with timer("regions -> pixels (gather) + masking"):
        pixel_mask = regions_to_pixels(region_mask, segments)
        masked = apply_mask(net, image, pixel_mask)
        # The classifier's backward is timed apart from the selector's: it
        # stops at this leaf, whose gradient is then sent on to the selector.
        masked_leaf = masked.detach().requires_grad_()
    with timer("classifier forward"):
        logits = net.classifier(masked_leaf)
    with timer("loss + penalties (CE, sparsity, covariance L1)"):
        kept = (torch.sigmoid(mu) * sizes).sum(dim=1) / sizes.sum(dim=1)
        covariance = covariance_l1(embeddings, n_regions_per_image)
        cross_entropy = clf.criterion_(logits, y)
        sparsity, covariance = p2p_penalty(
            kept, tau, covariance, getattr(clf, "lambda1_", clf.lambda1), clf.lambda2)
        penalties = sparsity + covariance
    with timer("backward: classifier (incl. grad of its masked input)"):
        cross_entropy.backward()
    with timer("backward: mask, sampling, pooling, selector head + backbone"):
        torch.autograd.backward([masked, penalties], [masked_leaf.grad, torch.ones_like(penalties)])
    with timer("optimizer step (Adam)"):
        optimizer.step()


def blackbox_step(clf, X, y, timer):
    """One Blackbox training step, stage by stage, as ``BlackboxNetwork.forward`` runs it."""
    net, optimizer = clf.module_, clf.optimizer_
    net.train()
    optimizer.zero_grad()
    with timer("input: split, normalise (P2P: + region sizes, tau draw)"):
        image, _ = split_input(X)
        image = net.normalize(image)
        pixel_mask = torch.ones(len(X), *image.shape[-2:], dtype=torch.bool, device=X.device)
    with timer("regions -> pixels (gather) + masking"):
        masked = apply_mask(net, image, pixel_mask)
    with timer("classifier forward"):
        logits = net.classifier(masked)
    with timer("loss + penalties (CE, sparsity, covariance L1)"):
        ones = torch.ones(len(logits), device=logits.device)
        y_pred = (logits, pixel_mask.flatten(1).float().mean(dim=1), ones, torch.zeros_like(ones))
        loss = clf.get_loss(y_pred, y, training=False)
    with timer("backward: classifier (incl. grad of its masked input)"):
        loss.backward()
    with timer("optimizer step (Adam)"):
        optimizer.step()


def breakdown(models, X, y, repeats, device):
    """Median seconds per stage of one step, per model, plus skorch's train_step."""
    X = torch.as_tensor(X, device=device)
    y = torch.as_tensor(y, device=device)
    results = {}
    for name, (clf, step) in models.items():
        timer = StageTimer(device)
        for _ in range(repeats + 1):
            step(clf, X, y, timer)
        full = StageTimer(device)
        for _ in range(repeats + 1):
            with full("train_step"):
                clf.train_step((X, y))
        results[name] = (timer.medians(), full.medians()["train_step"])
    return results


def print_breakdown(results, label):
    p2p, p2p_full = results["P2P"]
    blackbox, blackbox_full = results["Blackbox"]
    total = sum(p2p.values())
    print(f"\nOne training step, {label}: median ms over the timed steps\n")
    blackbox_total = sum(blackbox.values())
    print("| stage | share of P2P step | in Blackbox step units | P2P ms | Blackbox ms |")
    print("| --- | --- | --- | --- | --- |")
    for stage, seconds in p2p.items():
        other = f"{1000 * blackbox[stage]:.1f}" if stage in blackbox else "-"
        print(f"| {stage} | {seconds / total:.0%} | {seconds / blackbox_total:.2f} | "
              f"{1000 * seconds:.1f} | {other} |")
    print(f"| **sum of stages** | 100% | {total / blackbox_total:.2f} | {1000 * total:.1f} | "
          f"{1000 * blackbox_total:.1f} |")
    print(f"| skorch train_step (same batch) | | {p2p_full / blackbox_full:.2f} | "
          f"{1000 * p2p_full:.1f} | {1000 * blackbox_full:.1f} |")
    print(f"\nStep ratio P2P / Blackbox: {total / blackbox_total:.2f} (sum of stages), "
          f"{p2p_full / blackbox_full:.2f} (train_step).")


def main():
    args = parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    device = P2PClassifier(device=args.device).device
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.n_images} training images, {args.n_classes} classes, batch "
          f"{args.batch_size}, {args.epochs} epochs per model (first dropped), "
          f"~{args.n_segments} superpixels per image (precomputed, not timed)\n", flush=True)
    rows, breakdowns = [], []
    for size in args.image_sizes:
        data = make_pasted_objects(n_samples=args.n_images, image_size=size,
                                   n_classes=args.n_classes, random_state=0)
        start = time.perf_counter()
        Xp = SuperpixelTransformer(n_segments=args.n_segments).fit_transform(data.images)
        print(f"{size}x{size}: superpixels of {len(Xp)} images in "
              f"{time.perf_counter() - start:.1f} s (once, excluded)", flush=True)
        for backbone in args.backbones:
            selector = backbone if args.selector == "same" else args.selector
            common = dict(superpixels="precomputed", classifier=backbone,
                          max_epochs=args.epochs, batch_size=args.batch_size,
                          train_split=None, device=args.device, random_state=0, verbose=0)
            blackbox = BlackboxClassifier(**common)
            p2p = P2PClassifier(selector=selector, **common)
            # Epochs alternate between the two models, so that both see the
            # same machine load; the ratio is taken per pair of epochs.
            for _ in range(args.epochs):
                blackbox.partial_fit(Xp, data.target, epochs=1)
                p2p.partial_fit(Xp, data.target, epochs=1)
            blackbox_s, blackbox_all = epoch_seconds(blackbox)
            p2p_s, p2p_all = epoch_seconds(p2p)
            ratio = statistics.median(p / b for p, b in zip(p2p_all[1:], blackbox_all[1:]))
            rows.append((size, backbone, selector, blackbox_s, p2p_s, ratio))
            print(f"  {backbone} (selector {selector}): Blackbox epochs "
                  f"{[round(d, 2) for d in blackbox_all]} s, P2P epochs "
                  f"{[round(d, 2) for d in p2p_all]} s", flush=True)
            batch = slice(0, args.batch_size)
            y = np.searchsorted(p2p.classes_, data.target[batch])
            models = {"P2P": (p2p, p2p_step), "Blackbox": (blackbox, blackbox_step)}
            label = f"{size}x{size}, classifier {backbone}, selector {selector}, batch {args.batch_size}"
            breakdowns.append((label, breakdown(models, Xp[batch], y, args.repeats, device)))

    print("\nSeconds per training epoch, same data, backbone, batch size and superpixels; "
          "epochs of the two models alternate, the ratio is the median over epochs 2..n "
          "of P2P epoch / Blackbox epoch\n")
    print(f"| image size | classifier | selector | P2P / Blackbox | target <= {TARGET_RATIO:g}x | "
          "Blackbox s/epoch | P2P s/epoch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, backbone, selector, blackbox_s, p2p_s, ratio in rows:
        print(f"| {size} | {backbone} | {selector} | {ratio:.2f}x | "
              f"{'met' if ratio <= TARGET_RATIO else 'NOT met'} | {blackbox_s:.2f} | {p2p_s:.2f} |")
    if torch.device(device).type != "cuda":
        print("\n(CPU: the ratio is the result; absolute seconds depend on the machine "
              "and are quoted only from a GPU.)")
    for label, results in breakdowns:
        print_breakdown(results, label)


if __name__ == "__main__":
    main()
