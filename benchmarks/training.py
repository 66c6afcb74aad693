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
epoch over the Blackbox epoch just before it. Next to skorch's wall-clock
``dur``, every epoch's CPU time of the process (``time.process_time``: user
and system time of all its threads) is recorded; on a machine shared with
other jobs, the CPU-time ratio moves far less than the wall-clock one,
because time spent waiting for a core is not counted. The performance
targets are stated as ratios: a P2P epoch at most 2.2x a Blackbox epoch when
the selector and the classifier are the same network, at most 1.5x with a
light selector for a heavier classifier (the paper's pairing, e.g. selector
``mobilenetv3_small_050`` for a ``resnet18`` or ``efficientnet_lite0``
classifier). Absolute seconds are only comparable between machines on a
GPU; on a CPU read the ratio columns.

A second table splits one training step (one batch) into its stages, timed
by hand as ``P2PNetwork.forward`` runs them (median over ``--repeats`` steps,
CUDA synchronised around each stage), next to the same stages of the
Blackbox, so that the ratio can be traced to where P2P's extra time goes.
The steps of the two models alternate, as the epochs do, and every stage
is timed in wall-clock and in CPU time; the system part of the CPU time is
mostly page faults (the CPU allocator returns large freed blocks to the
operating system, so each step's activations are mapped in afresh). The
backward pass is split in two: the classifier's (down to its masked input,
held as a detached leaf), then the rest (mask, sampling, region pooling,
selector head and backbone, and the penalties), fed the leaf's gradient. The
last rows compare the sum of the stages with skorch's own ``train_step`` on
the same batch, which runs the same computation unsplit.

Run:  .venv/bin/python benchmarks/training.py [--n-images 4096 --image-sizes 32
      --backbones tiny_cnn resnet18 --epochs 6]
      .venv/bin/python benchmarks/training.py --image-sizes 96 --n-segments 100 \
          --backbones resnet18 efficientnet_lite0 --selector mobilenetv3_small_050
"""

import argparse
import contextlib
import statistics
import time

import numpy as np
import torch
from skorch.callbacks import Callback

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

# P2P epoch / Blackbox epoch: with the same network as selector and
# classifier, and with a selector lighter than the classifier.
TARGET_RATIO_SAME = 2.2
TARGET_RATIO_LIGHT_SELECTOR = 1.5


def target_ratio(selector, classifier):
    return TARGET_RATIO_SAME if selector == classifier else TARGET_RATIO_LIGHT_SELECTOR


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
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own choice)")
    return parser.parse_args()


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def cpu_seconds():
    """CPU time of this process so far: user and system, all threads."""
    return time.process_time()


class StageTimer:
    """Wall and CPU time of named stages, accumulated over repeated steps."""

    def __init__(self, device):
        self.device = device
        self.times = {}
        self.cpu_times = {}

    @contextlib.contextmanager
    def __call__(self, name):
        synchronize(self.device)
        start, cpu_start = time.perf_counter(), cpu_seconds()
        yield
        synchronize(self.device)
        self.times.setdefault(name, []).append(time.perf_counter() - start)
        self.cpu_times.setdefault(name, []).append(cpu_seconds() - cpu_start)

    @staticmethod
    def _medians(times, skip):
        return {name: statistics.median(t[skip:] if len(t) > skip else t)
                for name, t in times.items()}

    def medians(self, skip=1):
        """Median wall seconds per stage, the first ``skip`` steps dropped."""
        return self._medians(self.times, skip)

    def cpu_medians(self, skip=1):
        """Median CPU seconds per stage, the first ``skip`` steps dropped."""
        return self._medians(self.cpu_times, skip)


class EpochCPUTime(Callback):
    """Record each epoch's CPU time of the process as ``cpu_dur`` in the history."""

    def on_epoch_begin(self, net, **kwargs):
        self.start_ = cpu_seconds()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("cpu_dur", cpu_seconds() - self.start_)


def epoch_seconds(clf, key="dur"):
    """Median epoch duration without the first (warm-up) epoch, and all of them."""
    durations = list(clf.history[:, key])
    timed = durations[1:] if len(durations) > 1 else durations
    return statistics.median(timed), durations


def paired_ratio(p2p_all, blackbox_all):
    """Median over epochs 2..n of each P2P epoch over the Blackbox epoch before it."""
    return statistics.median(p / b for p, b in zip(p2p_all[1:], blackbox_all[1:]))


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
    """Median wall and CPU seconds per stage of one step, per model, and of train_step.

    The models' steps alternate (one step of each in turn), so that a change
    in machine load hits both.
    """
    X = torch.as_tensor(X, device=device)
    y = torch.as_tensor(y, device=device)
    timers = {name: StageTimer(device) for name in models}
    full = {name: StageTimer(device) for name in models}
    for _ in range(repeats + 1):
        for name, (clf, step) in models.items():
            step(clf, X, y, timers[name])
    for _ in range(repeats + 1):
        for name, (clf, _) in models.items():
            with full[name]("train_step"):
                clf.train_step((X, y))
    return {
        name: ((timers[name].medians(), full[name].medians()["train_step"]),
               (timers[name].cpu_medians(), full[name].cpu_medians()["train_step"]))
        for name in models
    }


def print_breakdown(results, label):
    (p2p, p2p_full), (p2p_cpu, p2p_cpu_full) = results["P2P"]
    (blackbox, blackbox_full), (blackbox_cpu, blackbox_cpu_full) = results["Blackbox"]
    total, cpu_total = sum(p2p.values()), sum(p2p_cpu.values())
    blackbox_total, blackbox_cpu_total = sum(blackbox.values()), sum(blackbox_cpu.values())
    print(f"\nOne training step, {label}: median ms over the timed steps (steps of the "
          "two models alternate)\n")
    print("| stage | share of P2P step (CPU) | in Blackbox step units (CPU) | P2P ms | "
          "Blackbox ms | P2P CPU ms | Blackbox CPU ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")

    def other(values, stage):
        return f"{1000 * values[stage]:.1f}" if stage in values else "-"

    for stage, seconds in p2p.items():
        cpu = p2p_cpu[stage]
        print(f"| {stage} | {cpu / cpu_total:.0%} | {cpu / blackbox_cpu_total:.2f} | "
              f"{1000 * seconds:.1f} | {other(blackbox, stage)} | {1000 * cpu:.1f} | "
              f"{other(blackbox_cpu, stage)} |")
    print(f"| **sum of stages** | 100% | {cpu_total / blackbox_cpu_total:.2f} | "
          f"{1000 * total:.1f} | {1000 * blackbox_total:.1f} | {1000 * cpu_total:.1f} | "
          f"{1000 * blackbox_cpu_total:.1f} |")
    print(f"| skorch train_step (same batch) | | {p2p_cpu_full / blackbox_cpu_full:.2f} | "
          f"{1000 * p2p_full:.1f} | {1000 * blackbox_full:.1f} | {1000 * p2p_cpu_full:.1f} | "
          f"{1000 * blackbox_cpu_full:.1f} |")
    print(f"\nStep ratio P2P / Blackbox, wall-clock: {total / blackbox_total:.2f} (sum of "
          f"stages), {p2p_full / blackbox_full:.2f} (train_step); CPU time: "
          f"{cpu_total / blackbox_cpu_total:.2f} (sum of stages), "
          f"{p2p_cpu_full / blackbox_cpu_full:.2f} (train_step).")


def main():
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
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
                          train_split=None, device=args.device, random_state=0, verbose=0,
                          callbacks=[("cpu_time", EpochCPUTime())])
            blackbox = BlackboxClassifier(**common)
            p2p = P2PClassifier(selector=selector, **common)
            # Epochs alternate between the two models, so that both see the
            # same machine load; the ratio is taken per pair of epochs.
            for _ in range(args.epochs):
                blackbox.partial_fit(Xp, data.target, epochs=1)
                p2p.partial_fit(Xp, data.target, epochs=1)
            blackbox_s, blackbox_all = epoch_seconds(blackbox)
            p2p_s, p2p_all = epoch_seconds(p2p)
            _, blackbox_cpu = epoch_seconds(blackbox, "cpu_dur")
            _, p2p_cpu = epoch_seconds(p2p, "cpu_dur")
            rows.append((size, backbone, selector, blackbox_s, p2p_s,
                         paired_ratio(p2p_all, blackbox_all), paired_ratio(p2p_cpu, blackbox_cpu)))
            print(f"  {backbone} (selector {selector}): Blackbox epochs "
                  f"{[round(d, 2) for d in blackbox_all]} s (CPU "
                  f"{[round(d, 2) for d in blackbox_cpu]} s), P2P epochs "
                  f"{[round(d, 2) for d in p2p_all]} s (CPU "
                  f"{[round(d, 2) for d in p2p_cpu]} s)", flush=True)
            batch = slice(0, args.batch_size)
            y = np.searchsorted(p2p.classes_, data.target[batch])
            models = {"P2P": (p2p, p2p_step), "Blackbox": (blackbox, blackbox_step)}
            label = f"{size}x{size}, classifier {backbone}, selector {selector}, batch {args.batch_size}"
            breakdowns.append((label, breakdown(models, Xp[batch], y, args.repeats, device)))

    print("\nSeconds per training epoch, same data, backbone, batch size and superpixels; "
          "epochs of the two models alternate, the ratios are the medians over epochs 2..n "
          "of P2P epoch / Blackbox epoch, in wall-clock and in CPU time; target "
          f"<= {TARGET_RATIO_SAME:g}x with the same selector and classifier, "
          f"<= {TARGET_RATIO_LIGHT_SELECTOR:g}x with another selector\n")
    print("| image size | classifier | selector | P2P / Blackbox | P2P / Blackbox (CPU time) "
          "| target | Blackbox s/epoch | P2P s/epoch |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, backbone, selector, blackbox_s, p2p_s, ratio, cpu_ratio in rows:
        target = target_ratio(selector, backbone)
        status = {(True, True): "met", (False, False): "NOT met"}.get(
            (ratio <= target, cpu_ratio <= target),
            f"met in {'wall-clock' if ratio <= target else 'CPU'} time only")
        print(f"| {size} | {backbone} | {selector} | {ratio:.2f}x | {cpu_ratio:.2f}x | "
              f"<= {target:g}x: {status} | {blackbox_s:.2f} | {p2p_s:.2f} |")
    if torch.device(device).type != "cuda":
        print("\n(CPU: the ratio is the result; absolute seconds depend on the machine "
              "and are quoted only from a GPU.)")
    for label, results in breakdowns:
        print_breakdown(results, label)


if __name__ == "__main__":
    main()
