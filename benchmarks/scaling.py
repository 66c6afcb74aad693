"""How P2P's cost per image grows with image size, segment count and batch size.

Three parts, all in seconds (printed as milliseconds) per image. Every case
is called once to warm up, then timed ``--repeats`` times (``--part-repeats``
for the cheap operations of part 1) and the best timing is kept; a timing of
a cheap operation runs it several times and divides, as ``timeit`` does. The
timings are taken in interleaved rounds (every case of a table once, then
every case again, ...), so that a burst of load from another process on the
machine spoils one timing of many cases rather than every timing of one. On
CUDA the device is synchronised before every clock reading.
``torch.set_num_threads`` is left at its default.

1. **Parts, with their measured growth.** For each part the exponent ``p`` of
   a least-squares fit ``t ~ x**p`` (log-log) over the measured range is
   printed, together with a straight-line fit ``t = a + b x`` where ``x`` is a
   count (pixels, regions), so that the stated complexity can be checked
   against the clock:

   * superpixels: :func:`sklearn_p2p._superpixels.segment_images` (fast-slic,
     100 segments) against the number of pixels, as the package calls it
     (fast-slic uses its own threads from 128x128 pixels on) and on one
     thread (what a data-loading worker gets);
   * region pooling: what ``P2PNetwork`` does between the selector and the
     classifier on the pixel grid (``count_regions``, ``region_sizes``,
     ``region_mean`` of the selector's 1 + K output channels and
     ``regions_to_pixels`` of the region mask), forward and backward, against
     the number of pixels (100 segments) and against the number of segments
     (fixed image size);
   * covariance sampling: the low-rank draw ``sample_region_logits`` (a
     ``LowRankMultivariateNormal`` with factor ``E`` of shape (B, D, K)),
     forward and backward, for region counts D and embedding dimensions K;
     next to it the L1 penalty on ``Sigma = E E^T`` (``covariance_l1``), the
     other covariance term of a training step.

2. **End to end**, with :class:`sklearn_p2p.P2PClassifier` and its default
   ``tiny_cnn`` selector and classifier, initialised by ``fit`` with
   ``max_epochs=0`` on crops of scikit-image's sample photos whose
   superpixels are computed beforehand (``superpixels="precomputed"``; their
   cost is part 1): one training step (``train_step``: forward in training
   mode, the P2P loss, backward, Adam step), one fixed-tau inference pass
   (``module_.explain(X, tau=0.5)``), the dynamic-threshold search
   (``module_.explain(X)`` at ``delta``) and one classifier pass alone, per
   image, as the image size, the segment count and the batch size grow. The
   models are untrained, so their search says little about a trained model's:
   the table gives the classifier passes per image it made, and a search that
   needs ``n`` of them costs about one fixed-tau pass plus ``n - 1``
   classifier passes.

3. **Projection of the paper's ImageNet run** (1,281,167 images, 20 epochs,
   224 px, batch 64, 100 segments, LR-ASPP MobileNetV3 selector, ViT-Tiny
   classifier, ``delta=0.8``): the same measurements with
   ``selector="mobilenetv3_large_100"``, ``classifier="vit_tiny_patch16_224"``
   and ``pretrained=False`` (nothing is downloaded; weights do not change the
   cost) and a 1000-class head, then the wall time of the run on the measured
   device and on eight of them, assuming linear data-parallel scaling.

Run:  .venv/bin/python benchmarks/scaling.py [--device cuda] [--output-dir benchmarks/results]
      (or ``make benchmark-scaling``; about 4 minutes on 2 idle CPU cores;
      ``--quick`` for a smoke run of under a minute)
"""

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from _common import cpu_name, photo_crops
from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p._superpixels import _segment_chunk, segment_images
from sklearn_p2p.nn import (
    count_regions,
    covariance_l1,
    region_mean,
    region_sizes,
    regions_to_pixels,
    sample_region_logits,
    split_input,
)

HERE = Path(__file__).resolve().parent

#: The paper's ImageNet run (Section 5 and Appendix of the paper).
IMAGENET_TRAIN_IMAGES = 1_281_167
IMAGENET_VAL_IMAGES = 50_000
PAPER = dict(epochs=20, image_size=224, batch_size=64, n_segments=100, compactness=20.0,
             selector="mobilenetv3_large_100", classifier="vit_tiny_patch16_224",
             n_classes=1000, delta=0.8, lr=1e-4)

LINES = []


def emit(text=""):
    """Print a line and keep it for ``scaling.txt``."""
    print(text, flush=True)
    LINES.append(text)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few, small cases, one repetition (< 1 minute)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings per case of parts 2 and 3; the best is kept")
    parser.add_argument("--part-repeats", type=int, default=9,
                        help="timings per case of part 1 (cheap operations)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 160, 224])
    parser.add_argument("--segments", type=int, nargs="+", default=[25, 50, 100, 200, 400])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--n-regions", type=int, nargs="+", default=[25, 50, 100, 200, 400],
                        help="D of the covariance part")
    parser.add_argument("--n-embedding-dims", type=int, nargs="+", default=[1, 3, 8, 16],
                        help="K of the covariance part")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="batch of the size and segment sweeps and of the parts")
    parser.add_argument("--sweep-size", type=int, default=128,
                        help="image size of the segment-count and batch-size sweeps")
    parser.add_argument("--pooling-size", type=int, default=224,
                        help="image size of region pooling against the segment count")
    parser.add_argument("--slic-images", type=int, default=64,
                        help="images segmented per size in part 1")
    parser.add_argument("--delta", type=float, default=0.99,
                        help="certainty of the search in part 2 (part 3 uses the paper's 0.8)")
    parser.add_argument("--paper-batch-size", type=int, default=PAPER["batch_size"])
    parser.add_argument("--n-devices", type=int, default=8)
    parser.add_argument("--skip-paper", action="store_true", help="leave out part 3")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 1
        args.part_repeats = 2
        args.sizes = [32, 64]
        args.segments = [25, 100]
        args.batch_sizes = [4, 8]
        args.n_regions = [25, 100]
        args.n_embedding_dims = [1, 3]
        args.batch_size = 8
        args.sweep_size = 64
        args.pooling_size = 64
        args.slic_images = 8
        args.paper_batch_size = 2
    return args


# -- measuring ---------------------------------------------------------------
def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


class Interleaved:
    """Best seconds per call of several functions, timed in interleaved rounds.

    ``add(key, run)`` registers a case; ``measure(repeats)`` calls every case
    once to warm up, then times every case in turn, ``repeats`` rounds, and
    returns the best seconds per call of each. A timing runs ``run``
    ``number`` times and divides by it, ``number`` doubled (during the first
    round) until one timing takes ``min_round`` seconds.
    """

    def __init__(self, device, min_round=0.05, max_number=512):
        self.device, self.min_round, self.max_number = device, min_round, max_number
        self.runs, self.numbers, self.best = {}, {}, {}

    def add(self, key, run):
        self.runs[key] = run

    def _timed(self, run, number):
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(number):
            run()
        synchronize(self.device)
        return (time.perf_counter() - start) / number

    def measure(self, repeats):
        for run in self.runs.values():
            run()  # warm-up
        for key, run in self.runs.items():
            number = 1
            seconds = self._timed(run, number)
            while seconds * number < self.min_round and number < self.max_number:
                number *= 2
                seconds = self._timed(run, number)
            self.numbers[key], self.best[key] = number, seconds
        for _ in range(repeats - 1):
            for key, run in self.runs.items():
                self.best[key] = min(self.best[key], self._timed(run, self.numbers[key]))
        return self.best


def power_fit(x, t):
    """Exponent p of t ~ x**p (least squares in log-log)."""
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(np.log(x), np.log(t), 1)[0])


def line_fit(x, t):
    """(intercept a, slope b, R^2) of t = a + b x."""
    if len(x) < 2:
        return float("nan"), float("nan"), float("nan")
    b, a = np.polyfit(x, t, 1)
    residual = np.asarray(t) - (a + b * np.asarray(x))
    total = np.asarray(t) - np.mean(t)
    r2 = 1 - (residual ** 2).sum() / max((total ** 2).sum(), 1e-300)
    return float(a), float(b), float(r2)


def fit_line(name, x, seconds, unit, scale):
    """One line describing both fits; ``scale`` converts the slope to ``unit``."""
    p = power_fit(x, seconds)
    a, b, r2 = line_fit(x, seconds)
    return (f"{name}: exponent {p:.2f} (t ~ x^p over x = {min(x)}..{max(x)}); "
            f"straight line t = {1000 * a:.4f} ms {'-' if b < 0 else '+'} "
            f"{abs(b) * scale:.4f} {unit}, R^2 {r2:.3f}")


# -- data --------------------------------------------------------------------
def superpixel_batch(n_images, size, n_segments):
    """Photo crops with their superpixels, as the network takes them, and labels."""
    images = photo_crops(n_images, size, np.random.RandomState(0))
    Xp = SuperpixelTransformer(n_segments=n_segments).fit_transform(images)
    y = np.arange(n_images) % 4
    return Xp, y


def mean_regions(Xp):
    _, segments = split_input(torch.as_tensor(Xp))
    return float(count_regions(segments).float().mean())


# -- 1. parts ----------------------------------------------------------------
def superpixel_part(args):
    emit("### 1a. Superpixels (segment_images, fast-slic, 100 segments), ms per image\n")
    emit(f"Best of {args.part_repeats}; {args.slic_images} photo crops per size. 'package call': "
         "segment_images(n_jobs=None), whose fast-slic uses its own threads from 128x128 "
         "pixels on; 'one thread': the same segmentation on one thread, as in a data-loading "
         "worker.\n")
    timer = Interleaved("cpu")
    regions = {}
    for size in args.sizes:
        images = photo_crops(args.slic_images, size, np.random.RandomState(0))
        floats = images.astype(np.float32) / 255
        timer.add(("package", size), lambda images=images: segment_images(
            images, n_segments=100, backend="fast-slic"))
        timer.add(("single", size), lambda floats=floats: _segment_chunk(
            floats, 100, 20.0, "fast-slic", 1))
        labels = torch.as_tensor(segment_images(images, n_segments=100))
        regions[size] = float(count_regions(labels).float().mean())
    best = timer.measure(args.part_repeats)
    emit("| image size | pixels | package call ms | one thread ms | mean regions |")
    emit("| --- | --- | --- | --- | --- |")
    pixels = [size * size for size in args.sizes]
    package = [best["package", size] / args.slic_images for size in args.sizes]
    single = [best["single", size] / args.slic_images for size in args.sizes]
    for size, t_pkg, t_one in zip(args.sizes, package, single):
        emit(f"| {size}x{size} | {size * size} | {1000 * t_pkg:.3f} | {1000 * t_one:.3f} | "
             f"{regions[size]:.0f} |")
    emit("")
    emit(fit_line("superpixels, package call, against pixels", pixels, package,
                  "ms per 10k pixels", 1e7))
    emit(fit_line("superpixels, one thread, against pixels", pixels, single,
                  "ms per 10k pixels", 1e7))
    emit("")


def pooling_inputs(batch, size, n_segments, k, device):
    images = photo_crops(batch, size, np.random.RandomState(0))
    segments = torch.as_tensor(segment_images(images, n_segments=n_segments), device=device)
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(batch, 1 + k, size, size, generator=generator).to(device)
    return segments, values.requires_grad_()


def pooling_step(segments, values):
    """The network's pixel <-> region traffic, forward and backward."""
    n_regions_per_image = count_regions(segments)
    n_regions = int(n_regions_per_image.max())
    sizes = region_sizes(segments, n_regions)
    pooled = region_mean(values, segments, n_regions, sizes)
    region_mask = torch.sigmoid(pooled[..., 0])
    pixel_mask = regions_to_pixels(region_mask, segments)
    (pooled[..., 1:].sum() + pixel_mask.sum()).backward()
    values.grad = None


def pooling_part(args, device, k=3):
    batch = args.batch_size
    emit(f"### 1b. Region pooling (count_regions, region_sizes, region_mean of 1 + K = {1 + k} "
         "channels, regions_to_pixels), forward + backward, ms per image\n")
    emit(f"Batch {batch}, best of {args.part_repeats}.\n")
    size = args.pooling_size
    cases = [(s, 100) for s in args.sizes] + [(size, n) for n in args.segments]
    cases = list(dict.fromkeys(cases))
    timer = Interleaved(device)
    n_regions = {}
    for case in cases:
        segments, values = pooling_inputs(batch, *case, k, device)
        n_regions[case] = int(segments.max()) + 1
        timer.add(case, lambda segments=segments, values=values: pooling_step(segments, values))
    best = {case: seconds / batch for case, seconds in timer.measure(args.part_repeats).items()}
    emit("| image size | pixels | segments asked | regions (max in batch) | ms per image |")
    emit("| --- | --- | --- | --- | --- |")
    for s_, n in cases:
        emit(f"| {s_}x{s_} | {s_ * s_} | {n} | {n_regions[s_, n]} | {1000 * best[s_, n]:.4f} |")
    emit("")
    emit(fit_line("region pooling against pixels (100 segments)",
                  [s_ * s_ for s_ in args.sizes], [best[s_, 100] for s_ in args.sizes],
                  "ms per 10k pixels", 1e7))
    emit(fit_line(f"region pooling against regions ({size}x{size})",
                  [n_regions[size, n] for n in args.segments],
                  [best[size, n] for n in args.segments], "ms per 100 regions", 1e5))
    emit("")


def covariance_inputs(batch, n_regions, k, device):
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(batch, n_regions, generator=generator)
    embeddings = torch.randn(batch, n_regions, k, generator=generator) / k ** 0.5
    weights = torch.randn(batch, n_regions, generator=generator)
    return (mu.to(device).requires_grad_(), embeddings.to(device).requires_grad_(),
            weights.to(device))


def sampling_step(mu, embeddings, weights):
    (sample_region_logits(mu, embeddings) * weights).sum().backward()
    mu.grad = embeddings.grad = None


def penalty_step(embeddings, n_regions):
    covariance_l1(embeddings, n_regions).sum().backward()
    embeddings.grad = None


def covariance_part(args, device):
    batch = args.batch_size
    ds, ks = args.n_regions, args.n_embedding_dims
    emit("### 1c. Covariance sampling: one low-rank draw N(mu, E E^T + jitter I) "
         "(sample_region_logits), forward + backward, ms per image\n")
    emit(f"Batch {batch}, best of {args.part_repeats}. Next to it, covariance_l1 (the L1 "
         "penalty on Sigma = E E^T, which forms the D x D matrix), forward + backward.\n")
    timer = Interleaved(device)
    for k in ks:
        for d in ds:
            mu, embeddings, weights = covariance_inputs(batch, d, k, device)
            counts = torch.full((batch,), d, device=device)
            timer.add(("sampling", d, k), lambda mu=mu, e=embeddings, w=weights:
                      sampling_step(mu, e, w))
            timer.add(("penalty", d, k), lambda e=embeddings, c=counts: penalty_step(e, c))
    best = {key: seconds / batch for key, seconds in timer.measure(args.part_repeats).items()}
    emit("| D | K | D K^2 | sampling ms per image | covariance_l1 ms per image |")
    emit("| --- | --- | --- | --- | --- |")
    for k in ks:
        for d in ds:
            emit(f"| {d} | {k} | {d * k * k} | {1000 * best['sampling', d, k]:.4f} | "
                 f"{1000 * best['penalty', d, k]:.4f} |")
    emit("")
    for k in ks:
        emit(fit_line(f"sampling against D (K={k})", ds, [best["sampling", d, k] for d in ds],
                      "ms per 100 regions", 1e5))
    for d in ds:
        exponent = power_fit(ks, [best["sampling", d, k] for k in ks])
        emit(f"sampling against K (D={d}): exponent {exponent:.2f} over K = {min(ks)}..{max(ks)}")
    x, t = zip(*[(d * k * k, best["sampling", d, k]) for d in ds for k in ks])
    emit(f"sampling against D K^2, all cases: exponent {power_fit(x, t):.2f}")
    for k in ks:
        emit(fit_line(f"covariance_l1 against D (K={k})", ds,
                      [best["penalty", d, k] for d in ds], "ms per 100 regions", 1e5))
    emit("")


# -- 2. end to end -----------------------------------------------------------
def make_classifier(Xp, y, device, batch_size, **params):
    """A P2PClassifier whose network is built (fit with max_epochs=0), ready for train_step."""
    clf = P2PClassifier(superpixels="precomputed", max_epochs=0, batch_size=batch_size,
                        device=device, random_state=0, verbose=0, **params)
    clf.fit(Xp, y)
    # train_step records the batch's kept fraction in the history.
    clf.history.new_epoch()
    clf.history.new_batch()
    return clf


def add_end_to_end(timer, key, clf, Xp, y, device, delta):
    """Register training step, fixed-tau pass, search and classifier pass of one model.

    Returns the search's mean classifier passes and mean tau per image.
    """
    X = torch.as_tensor(Xp, device=device)
    y = torch.as_tensor(np.searchsorted(clf.classes_, y), device=device)
    net = clf.module_

    def evaluating(run):
        def wrapped():
            net.eval()
            try:
                with torch.no_grad():
                    run()
            finally:
                net.train()
        return wrapped

    image = net.normalize(split_input(X)[0])
    full = torch.ones(len(X), *image.shape[-2:], device=device)
    timer.add((key, "train"), lambda: clf.train_step((X, y)))
    timer.add((key, "fixed"), evaluating(lambda: net.explain(X, tau=0.5)))
    timer.add((key, "search"), evaluating(
        lambda: net.explain(X, delta=delta, tau_step=clf.tau_step)))
    timer.add((key, "classifier"), evaluating(lambda: net.classify_pixels(image, full)))
    net.eval()
    found = net.explain(X, delta=delta, tau_step=clf.tau_step)
    net.train()
    return {"passes": float(found["n_classifier_passes"].float().mean()),
            "tau": float(found["tau"].float().mean()), "regions": mean_regions(Xp),
            "batch": len(X)}


def per_image(best, key, stats):
    return {**stats, **{part: best[key, part] / stats["batch"]
                        for part in ("train", "fixed", "search", "classifier")}}


E2E_HEADER = ("| {key} | regions (mean) | train step ms | fixed-tau pass ms | search ms | "
              "classifier pass ms | classifier passes in search | mean tau | "
              "images/s training |")


def e2e_row(key, m):
    return (f"| {key} | {m['regions']:.0f} | {1000 * m['train']:.2f} | {1000 * m['fixed']:.2f} | "
            f"{1000 * m['search']:.2f} | {1000 * m['classifier']:.2f} | {m['passes']:.2f} | "
            f"{m['tau']:.2f} | {1 / m['train']:.1f} |")


def end_to_end_part(args, device):
    emit(f"## 2. End to end, P2PClassifier (tiny_cnn selector and classifier, untrained), "
         f"ms per image, best of {args.repeats}\n")
    emit("train step: P2PClassifier.train_step (forward in training mode, P2P loss, backward, "
         "Adam step); fixed-tau pass: module_.explain(X, tau=0.5); search: module_.explain(X) "
         f"at delta={args.delta}, tau step 0.05; classifier pass: the classifier alone on the "
         "full image. Superpixels precomputed (part 1a).\n")
    size, batch = args.sweep_size, args.batch_size
    sweeps = [
        (f"a. Image size (100 segments, batch {batch})", "image size",
         [(f"{s}x{s}", s * s, (s, 100, batch)) for s in args.sizes]),
        (f"b. Segment count ({size}x{size}, batch {batch})", "segments asked",
         [(str(n), n, (size, n, batch)) for n in args.segments]),
        (f"c. Batch size ({size}x{size}, 100 segments)", "batch",
         [(str(b), b, (size, 100, b)) for b in args.batch_sizes]),
    ]
    # Every distinct (size, segments, batch) is one model, timed once for all sweeps.
    timer, stats = Interleaved(device), {}
    for _, _, cases in sweeps:
        for _, _, case in cases:
            if case not in stats:
                Xp, y = superpixel_batch(case[2], case[0], case[1])
                torch.manual_seed(0)
                clf = make_classifier(Xp, y, device, case[2], delta=args.delta)
                stats[case] = add_end_to_end(timer, case, clf, Xp, y, device, args.delta)
    best = timer.measure(args.repeats)
    fits = {}
    for title, key, cases in sweeps:
        emit(f"### 2{title}\n")
        emit(E2E_HEADER.format(key=key))
        emit("| --- " * 9 + "|")
        results = [per_image(best, case, stats[case]) for _, _, case in cases]
        for (label, _, _), m in zip(cases, results):
            emit(e2e_row(label, m))
        emit("")
        fits[key] = ([x for _, x, _ in cases], results)
    emit("Measured growth of the per-image cost (exponent p of t ~ x^p):\n")
    emit("| against | train step | fixed-tau pass | classifier pass |")
    emit("| --- | --- | --- | --- |")
    for name, (xs, res) in fits.items():
        cells = [f"{power_fit(xs, [m[part] for m in res]):.2f}"
                 for part in ("train", "fixed", "classifier")]
        emit(f"| {name} | {' | '.join(cells)} |")
    emit("")
    xs, res = fits["image size"]
    emit(fit_line("train step per image against pixels", xs, [m["train"] for m in res],
                  "ms per 10k pixels", 1e7))
    emit("")


# -- 3. the paper's ImageNet run ----------------------------------------------
def hours(seconds):
    return seconds / 3600


def paper_part(args, device):
    batch, size = args.paper_batch_size, PAPER["image_size"]
    emit(f"## 3. Projection of the paper's ImageNet run on this device ({device})\n")
    emit(f"Network as in the paper, weights random (pretrained=False, nothing downloaded): "
         f"selector={PAPER['selector']!r} (timm MobileNetV3-Large features, the package's "
         f"LR-ASPP-style head), classifier={PAPER['classifier']!r}, "
         f"{PAPER['n_classes']} classes, {size}x{size}, {PAPER['n_segments']} segments, "
         f"batch {batch}" + ("" if batch == PAPER["batch_size"] else
                             f" (the paper's is {PAPER['batch_size']})") +
         f", Adam lr {PAPER['lr']:g}, delta {PAPER['delta']}; best of {args.repeats}.\n")
    Xp, y = superpixel_batch(batch, size, PAPER["n_segments"])
    torch.manual_seed(0)
    start = time.perf_counter()
    clf = make_classifier(Xp, y, device, batch, selector=PAPER["selector"],
                          classifier=PAPER["classifier"], pretrained=False, lr=PAPER["lr"],
                          delta=PAPER["delta"], module__n_classes=PAPER["n_classes"])
    n_params = sum(p.numel() for p in clf.module_.parameters())
    emit(f"built in {time.perf_counter() - start:.1f} s, {n_params / 1e6:.2f} M parameters")
    timer = Interleaved(device)
    stats = add_end_to_end(timer, "paper", clf, Xp, y, device, PAPER["delta"])
    images = photo_crops(args.slic_images, size, np.random.RandomState(0))
    floats = images.astype(np.float32) / 255
    timer.add("slic package", lambda: segment_images(
        images, n_segments=PAPER["n_segments"], backend="fast-slic"))
    timer.add("slic single", lambda: _segment_chunk(
        floats, PAPER["n_segments"], PAPER["compactness"], "fast-slic", 1))
    best = timer.measure(args.repeats)
    m = per_image(best, "paper", stats)
    slic_pkg = best["slic package"] / len(images)
    slic_one = best["slic single"] / len(images)
    emit("")
    emit("| measured, per image | ms |")
    emit("| --- | --- |")
    emit(f"| training step (train_step, batch {batch}) | {1000 * m['train']:.2f} |")
    emit(f"| fixed-tau inference pass | {1000 * m['fixed']:.2f} |")
    emit(f"| dynamic search, delta {PAPER['delta']} (untrained model: {m['passes']:.2f} "
         f"classifier passes, mean tau {m['tau']:.2f}) | {1000 * m['search']:.2f} |")
    emit(f"| classifier pass alone | {1000 * m['classifier']:.2f} |")
    emit(f"| SLIC {size}x{size}, {PAPER['n_segments']} segments, package call (CPU) | "
         f"{1000 * slic_pkg:.2f} |")
    emit(f"| SLIC, one thread (CPU) | {1000 * slic_one:.2f} |")
    emit("")

    n, epochs, n_dev = IMAGENET_TRAIN_IMAGES, PAPER["epochs"], args.n_devices
    net_epoch = n * m["train"]
    slic_all = n * slic_one
    workers = max(1, math.ceil(slic_one / m["train"]))
    emit(f"Projected training time, {n:,} images x {epochs} epochs, from the measured "
         f"per-image costs above (device: {describe_device(device)}):\n")
    emit("| setting | 1 device | "
         f"{n_dev} devices (linear data-parallel scaling assumed) |")
    emit("| --- | --- | --- |")
    emit(f"| network, one epoch (h) | {hours(net_epoch):.2f} | {hours(net_epoch / n_dev):.2f} |")
    emit(f"| network, {epochs} epochs (h) | {hours(epochs * net_epoch):.1f} | "
         f"{hours(epochs * net_epoch / n_dev):.1f} |")
    emit(f"| superpixels computed once (array input, or a SuperpixelDataset cache): "
         f"core-hours at one thread per image, to divide by the cores computing them | "
         f"{hours(slic_all):.2f} | {hours(slic_all):.2f} |")
    emit(f"| superpixels every epoch in W DataLoader workers (Dataset input, e.g. with "
         f"random crops): epoch = max(network, SLIC / W); W that hides SLIC | "
         f"{workers} per device | {workers} per device ({workers * n_dev} in all) |")
    emit("")
    every_tau = m["fixed"] + 19 * m["classifier"]
    emit(f"Inference on the {IMAGENET_VAL_IMAGES:,} validation images, 1 device: fixed tau "
         f"{hours(IMAGENET_VAL_IMAGES * m['fixed']):.2f} h; dynamic search as measured "
         f"{hours(IMAGENET_VAL_IMAGES * m['search']):.2f} h; a search making n classifier passes "
         f"per image costs about fixed + (n - 1) x classifier = "
         f"{1000 * m['fixed']:.1f} + (n - 1) x {1000 * m['classifier']:.1f} ms per image "
         f"(n = 20, every tau: {hours(IMAGENET_VAL_IMAGES * every_tau):.2f} h)"
         "; superpixels not included.")
    emit("")
    emit("Assumptions: the per-image step time does not change with the data (it does not "
         "depend on the pixels' values, only on their number and the batch); data loading, "
         "augmentation, validation and checkpointing are not included; "
         f"{n_dev} devices scale linearly (each takes 1/{n_dev} of every epoch at the same "
         "per-image cost; gradient all-reduce is not counted). For array input the package "
         "computes superpixels once, before the first epoch (SuperpixelTransformer, "
         "cacheable with memory=); a torch Dataset is segmented item by item as it is "
         "loaded, in the DataLoader's workers, every epoch (SuperpixelDataset stores them "
         "when the images do not change), and an epoch then takes max(network time, "
         "SLIC time / workers).")
    if torch.device(device).type != "cuda":
        emit(f"These figures are for this machine's CPU ({cpu_name()}, "
             f"{torch.get_num_threads()} threads), not a GPU: run the same command with "
             "--device cuda on a GPU machine for GPU figures.")
    emit("")


# -- machine -----------------------------------------------------------------
def describe_device(device):
    if torch.device(device).type == "cuda":
        return f"{torch.cuda.get_device_name(torch.device(device))} (CUDA {torch.version.cuda})"
    return f"CPU, {cpu_name()}, {torch.get_num_threads()} threads"


def main():
    args = parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    device = P2PClassifier(device=args.device).device
    start = time.perf_counter()
    emit(f"device: {describe_device(device)}; {os.cpu_count()} logical CPU cores; "
         f"Python {platform.python_version()}, torch {torch.__version__}"
         + ("; --quick" if args.quick else ""))
    emit("Times are ms per image, best of the repetitions; superpixels always run on the CPU.\n")
    emit("## 1. Parts\n")
    superpixel_part(args)
    pooling_part(args, device)
    covariance_part(args, device)
    end_to_end_part(args, device)
    if not args.skip_paper:
        paper_part(args, device)
    emit(f"total wall time {time.perf_counter() - start:.0f} s")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    out = args.output_dir / "scaling.txt"
    out.write_text("\n".join(LINES) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
