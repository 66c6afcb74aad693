"""P2P at the paper's scale on one GPU: training, dynamic inference and superpixels, in images/s.

Measures, at 224x224 pixels with the paper's pairing (an LR-ASPP selector on
timm's ``mobilenetv3_large_100``, :class:`sklearn_p2p.nn.LRASPPNetwork`, and
timm's ``vit_tiny_patch16_224`` as the classifier; random weights, since
the cost does not depend on them), in float32 and in bfloat16 autocast
(``P2PClassifier(mixed_precision="bf16")`` where the estimator has that
parameter, else ``torch.autocast`` around the calls):

1. ``train step``: :meth:`P2PClassifier.train_step` on one batch already on
   the device (forward, P2P loss, backward, Adam step), after warm-up;
   ``torch.cuda.synchronize`` around the timed loop.
2. ``dynamic inference``: :meth:`P2PNetwork.explain
   <sklearn_p2p.nn.P2PNetwork.explain>` (what ``predict`` and ``explain``
   run per batch) on a batch on the device, searching tau on the grid
   0.05, 0.10, ..., 1. Its cost depends on how soon the classifier is
   certain, so two bounds are timed: ``every tau`` (``delta=1``, never
   certain: all 20 taus searched) and ``first tau`` (``delta=1e-6``: every
   image stops at the first). A trained model at ``delta=0.99`` lies between
   them; the ``passes/image`` column counts the classifier passes per image.
   With random weights the masks would not change with tau (and the search
   skips the classifier for an unchanged mask), so the selection logit is
   shifted so that the kept fraction follows tau, as a trained selector's
   does (``GrowingSelection``): the classifier reruns at every tau.
3. ``explain() end to end``: :meth:`P2PClassifier.explain` on packed numpy
   input (``superpixels="precomputed"``), every tau: with the DataLoader,
   host-to-device copies and the results copied back.
4. ``superpixels``: :class:`sklearn_p2p.SuperpixelDataset` (fast-slic, 100
   segments, compactness 20, on 224-pixel crops of scikit-image's photos,
   held in memory: no JPEG decoding) read through a ``DataLoader`` with 0,
   4, 8 and 16 worker processes, next to the model's training rate, so the
   ``bound`` column tells which one limits an epoch.

Targets (one H100/H200-class GPU, 224 px, bf16): >= 1,500 training and
>= 1,000 dynamic-inference images/s, and superpixels not the bound with 16
workers. On a CPU the targets get no verdict; ``--smoke --device cpu`` only
checks that everything runs (``tests/test_benchmark_gpu.py``).

Each measurement warms up, then runs for ``--seconds`` (at least
``--min-reps`` repetitions); ``--max-seconds`` bounds the whole run: a
measurement that would start too late is reported as skipped. The table goes
to stdout and to ``<--output-dir>/gpu.txt``.

Run:  python benchmarks/gpu.py [--device cuda] [--max-seconds 420]
      python benchmarks/gpu.py --smoke --device cpu   # a check that it runs
"""

import argparse
import contextlib
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from _common import cpu_name, photo_crops

TARGET_TRAIN = 1500.0
TARGET_INFERENCE = 1000.0
PAPER_SELECTOR = "mobilenetv3_large_100"
PAPER_CLASSIFIER = "vit_tiny_patch16_224"
COLUMNS = ("measurement", "precision", "workers", "batch", "images/s", "ms/batch",
           "passes/image", "peak MiB", "target", "status")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:1 or cpu")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes and short timings: a check that it runs (CPU)")
    parser.add_argument("--selector", default=PAPER_SELECTOR, help="timm backbone of the selector")
    parser.add_argument("--selector-head", choices=("lraspp", "package"), default="lraspp",
                        help="lraspp: sklearn_p2p.nn.LRASPPNetwork; package: P2PNetwork's own head")
    parser.add_argument("--classifier", default=PAPER_CLASSIFIER)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--n-segments", type=int, default=100)
    parser.add_argument("--compactness", type=float, default=20.0)
    parser.add_argument("--backend", choices=("auto", "fast-slic", "skimage"), default="auto",
                        help="SLIC backend; auto: fast-slic when it works here (checked in a "
                             "subprocess first), else scikit-image")
    parser.add_argument("--n-classes", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="training batch (the paper's 64)")
    parser.add_argument("--inference-batch-size", type=int, default=256)
    parser.add_argument("--tau-step", type=float, default=0.05,
                        help="step of the tau grid of the search (the default's 20 taus)")
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16", "fp16"),
                        default=["fp32", "bf16"])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 4, 8, 16],
                        help="DataLoader worker counts for the superpixel pipeline")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="timed seconds per measurement, after warm-up")
    parser.add_argument("--warmup", type=int, default=5, help="untimed repetitions first")
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--max-reps", type=int, default=400)
    parser.add_argument("--max-seconds", type=float, default=420.0,
                        help="bound on the whole run; later measurements are skipped")
    parser.add_argument("--output-dir", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_size = 2
        args.inference_batch_size = 2
        args.n_classes = 10
        args.tau_step = 0.25
        args.workers = [0, 1]
        args.seconds = 0.0
        args.warmup = 0
        args.min_reps = 1
        args.max_seconds = min(args.max_seconds, 120.0)
    return args


# -- helpers -------------------------------------------------------------
def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Deadline:
    """Seconds left of ``--max-seconds``, counted from the start of the script."""

    def __init__(self, seconds):
        self.end = time.perf_counter() + seconds

    def left(self):
        return self.end - time.perf_counter()


def timed(fn, device, args, deadline):
    """Warm up, then repeat ``fn`` for ``args.seconds``; seconds per call and its results."""
    for _ in range(args.warmup):
        fn()
    synchronize(device)
    results = []
    start = time.perf_counter()
    budget = min(args.seconds, max(0.0, deadline.left() - 5.0))
    while len(results) < args.max_reps:
        results.append(fn())
        elapsed = time.perf_counter() - start
        if len(results) >= args.min_reps and elapsed >= budget:
            break
    synchronize(device)
    return (time.perf_counter() - start) / len(results), results


def peak_mib(device):
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def check_timm_names(*names):
    """Each name must be a timm model of the installed timm."""
    import timm

    for name in names:
        if name == "tiny_cnn":
            continue
        if not timm.list_models(name):
            raise SystemExit(f"timm {timm.__version__} has no model {name!r}; "
                             f"close: {timm.list_models(name.split('_')[0] + '*')[:8]}")


def working_backend(requested):
    """``requested``, or for "auto" fast-slic if it segments an image in a subprocess.

    A compiled fast-slic carried to another machine can fail to import or
    die on an instruction the CPU lacks; a subprocess finds out without
    taking the benchmark down with it.
    """
    if requested != "auto":
        return requested
    probe = ("import numpy as np; from sklearn_p2p import SuperpixelTransformer as T; "
             "t = T(backend='fast-slic').fit(np.zeros((1, 32, 32, 3))); "
             "t.transform(np.random.default_rng(0).random((1, 32, 32, 3)))")
    try:
        ok = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                            timeout=120).returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    return "fast-slic" if ok else "skimage"


def packed_batch(n_images, size, n_segments, compactness, backend, seed=0):
    """``n_images`` photo crops with their SLIC label maps, packed ``(n, H, W, 4)`` float32."""
    from sklearn_p2p import SuperpixelTransformer

    pool = min(n_images, 16)
    images = photo_crops(pool, size, np.random.RandomState(seed))
    transformer = SuperpixelTransformer(n_segments=n_segments, compactness=compactness,
                                        backend=backend)
    packed = transformer.fit_transform(images)
    reps = math.ceil(n_images / pool)
    return np.concatenate([packed] * reps)[:n_images], transformer.backend_


# -- the model -------------------------------------------------------------
def has_mixed_precision_parameter():
    from sklearn_p2p import P2PClassifier

    return "mixed_precision" in P2PClassifier().get_params()


def autocast_dtype(precision):
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def build_classifier(args, precision, device, X_init, y_init):
    """A P2PClassifier initialised by one ``partial_fit`` epoch on ``X_init``."""
    from sklearn_p2p import P2PClassifier
    from sklearn_p2p.nn import LRASPPNetwork, P2PNetwork

    module = LRASPPNetwork if args.selector_head == "lraspp" else P2PNetwork
    kwargs = {}
    how = "none"
    if precision != "fp32":
        if has_mixed_precision_parameter():
            kwargs["mixed_precision"] = precision
            how = f"mixed_precision={precision!r}"
        else:
            how = "torch.autocast (script)"
    clf = P2PClassifier(
        module=module, selector=args.selector, classifier=args.classifier, pretrained=False,
        superpixels="precomputed", tau_step=args.tau_step, lr=1e-4,
        batch_size=args.batch_size, max_epochs=1,
        device=str(device), verbose=0, random_state=0,
        **kwargs,
    )
    with script_autocast(clf, precision, device):
        clf.partial_fit(X_init, y_init, classes=np.arange(args.n_classes))
    return clf, how


def script_autocast(clf, precision, device):
    """The autocast the script adds itself: none when the estimator does it."""
    dtype = autocast_dtype(precision)
    if dtype is None:
        return contextlib.nullcontext()
    if clf.get_params().get("mixed_precision", "no") != "no":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def inference_autocast(clf, precision, device):
    """The context the estimator's own inference runs the network in."""
    if autocast_dtype(precision) is None:
        return contextlib.nullcontext()
    if clf.get_params().get("mixed_precision", "no") != "no" and hasattr(clf, "_autocast"):
        return clf._autocast()
    return torch.autocast(device.type, dtype=autocast_dtype(precision))


def measure_model(args, precision, device, data, deadline, rows):
    X_train, X_infer, y_train = data
    per_row = args.seconds + 15.0
    if deadline.left() < per_row * 2:
        for name in ("train step", "dynamic inference, every tau",
                     "dynamic inference, first tau", "explain() end to end, every tau"):
            rows.append(skipped(name, precision))
        return
    clf, how = build_classifier(args, precision, device, X_train, y_train)
    print(f"# {precision}: autocast via {how}", flush=True)
    net = clf.module_
    Xb = torch.as_tensor(X_train, device=device)
    yb = torch.as_tensor(y_train, device=device)

    # 1. training steps
    reset_peak(device)

    def train():
        with script_autocast(clf, precision, device):
            return clf.train_step((Xb, yb))["loss"].detach().item()

    seconds, losses = timed(train, device, args, deadline)
    finite = all(math.isfinite(v) for v in losses)
    rows.append(row("train step", precision, "-", len(Xb), len(Xb) / seconds, seconds, None,
                    peak_mib(device), TARGET_TRAIN if precision != "fp32" else None, device,
                    note=None if finite else "non-finite loss"))

    # 2. dynamic inference on device tensors
    Xi = torch.as_tensor(X_infer, device=device)
    net.eval()
    make_selection_grow(net, Xi)
    for name, delta in (("dynamic inference, every tau", 1.0),
                        ("dynamic inference, first tau", 1e-6)):
        if deadline.left() < per_row:
            rows.append(skipped(name, precision))
            continue
        reset_peak(device)

        def infer(delta=delta):
            with inference_autocast(clf, precision, device):
                out = net.explain(Xi, delta=delta, tau_step=clf.tau_step)
            return out["n_classifier_passes"].float().mean()

        seconds, passes = timed(infer, device, args, deadline)
        rows.append(row(name, precision, "-", len(Xi), len(Xi) / seconds, seconds,
                        float(torch.stack(passes).mean()), peak_mib(device),
                        TARGET_INFERENCE if precision != "fp32" and delta == 1.0 else None,
                        device))

    # 3. the public explain() on host arrays
    name = "explain() end to end, every tau"
    if deadline.left() < per_row:
        rows.append(skipped(name, precision))
    else:
        clf.set_params(batch_size=args.inference_batch_size)
        reset_peak(device)

        def explain_host():
            with script_autocast(clf, precision, device):
                return clf.explain(X_infer, delta=1.0).shape[0]

        seconds, _ = timed(explain_host, device, args, deadline)
        rows.append(row(name, precision, "-", len(X_infer), len(X_infer) / seconds, seconds,
                        None, peak_mib(device), None, device))


class GrowingSelection(torch.nn.Module):
    """A selector whose kept fraction grows with tau, as a trained one's does.

    With random weights the selection logits are large and hardly depend on
    tau, so every tau gives the same mask and the search's classifier pass
    is skipped after the first (the search reuses the logits of an unchanged
    mask): the "every tau" row would time one pass, not twenty. This wrapper
    standardises the selection logit over the regions of a batch and adds
    ``Phi^-1(tau)``, so that about a fraction tau of the regions is kept, as
    in a trained model (whose kept fraction follows tau): a few more regions
    at every step, so the classifier reruns at every tau. It costs one
    elementwise pass over the selector's output.
    """

    def __init__(self, selector, center, scale):
        super().__init__()
        self.inner = selector
        self.center = float(center)
        self.scale = float(scale)

    def features(self, x):
        return self.inner.features(x)

    def forward(self, features, tau, output_size):
        # the head runs per tau as it would; only its input tau is fixed, so
        # that the logits' own (random) dependence on tau does not interfere
        out = self.inner(features, torch.full_like(tau, 0.5), output_size)
        offset = torch.special.ndtri(tau.float().clamp(0.01, 0.99))
        offset = offset.to(out.dtype).view(-1, 1, 1, 1)
        logit = (out[:, :1] - self.center) * self.scale + offset
        return torch.cat([logit, out[:, 1:]], dim=1)


def make_selection_grow(net, X):
    """Wrap ``net.selector`` in :class:`GrowingSelection`, fitted to the regions of ``X``."""
    from sklearn_p2p.nn import count_regions, region_mean, region_sizes, split_input

    image, segments = split_input(X)
    image = net.normalize(image)
    sizes = region_sizes(segments, int(count_regions(segments).max()))
    with torch.no_grad():
        features = net.selector.features(image)
        tau = torch.full((len(image),), 0.5, device=image.device)
        pixel_out = net.selector(features, tau, image.shape[-2:]).float()
        mu = region_mean(pixel_out, segments, sizes.shape[1], sizes)[..., 0][sizes > 0]
    net.selector = GrowingSelection(net.selector, float(mu.mean()),
                                    1.0 / max(float(mu.std()), 1e-6))


# -- the superpixel pipeline ----------------------------------------------
class PhotoDataset(torch.utils.data.Dataset):
    """``length`` items cycling through a small pool of uint8 photo crops."""

    def __init__(self, images, length):
        self.images = images
        self.length = length

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        return self.images[index % len(self.images)], 0


def measure_superpixels(args, deadline, rows):
    from sklearn_p2p import SuperpixelDataset, SuperpixelTransformer

    images = photo_crops(32, args.image_size, np.random.RandomState(1))
    backend = None
    for workers in args.workers:
        name = "superpixels (SuperpixelDataset)"
        if deadline.left() < args.seconds + 15.0:
            rows.append(skipped(name, "-", workers))
            continue
        warm = max(1, workers)
        n_batches = warm + max(args.min_reps, 1) + 4 * max(1, workers) + 400
        dataset = SuperpixelDataset(
            PhotoDataset(images, n_batches * args.batch_size),
            SuperpixelTransformer(n_segments=args.n_segments, compactness=args.compactness,
                                  backend=args.backend),
        )
        backend = dataset.superpixels_.backend_
        loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size,
                                             num_workers=workers, shuffle=False)
        iterator = iter(loader)
        for _ in range(warm):  # every worker started and delivered once
            next(iterator)
        start = time.perf_counter()
        n = 0
        budget = min(args.seconds, max(0.0, deadline.left() - 5.0))
        for _ in range(n_batches - warm):
            next(iterator)
            n += 1
            if n >= max(args.min_reps, 1) and time.perf_counter() - start >= budget:
                break
        seconds = (time.perf_counter() - start) / n
        del iterator  # shuts the workers down
        rows.append(row(name, "-", workers, args.batch_size, args.batch_size / seconds,
                        seconds, None, None, None, None))
    return backend


# -- the table ---------------------------------------------------------------
def row(name, precision, workers, batch, rate, seconds, passes, peak, target, device, note=None):
    status = "-"
    if target is not None:
        if device is not None and device.type != "cuda":
            status = "no verdict (not a GPU)"
        else:
            status = "met" if rate >= target else "NOT met"
    if note:
        status = note
    return {
        "measurement": name, "precision": precision, "workers": str(workers),
        "batch": str(batch), "images/s": f"{rate:.1f}", "ms/batch": f"{seconds * 1e3:.1f}",
        "passes/image": "-" if passes is None else f"{passes:.2f}",
        "peak MiB": "-" if peak is None else f"{peak:.0f}",
        "target": "-" if target is None else f">= {target:,.0f}", "status": status,
        "_rate": rate,
    }


def skipped(name, precision, workers="-"):
    return {"measurement": name, "precision": precision, "workers": str(workers),
            "batch": "-", "images/s": "skipped", "ms/batch": "-", "passes/image": "-",
            "peak MiB": "-", "target": "-", "status": "skipped (--max-seconds)", "_rate": None}


def mark_bounds(rows, device, max_workers):
    """On the superpixel rows: superpixels or bf16 (else fp32) training, which bounds an epoch."""
    train = {r["precision"]: r["_rate"] for r in rows
             if r["measurement"] == "train step" and r["_rate"] is not None}
    model_rate = next((train[p] for p in ("bf16", "fp16", "fp32") if p in train), None)
    for r in rows:
        if not r["measurement"].startswith("superpixels") or r["_rate"] is None:
            continue
        if model_rate is None:
            r["status"] = "no model rate"
            continue
        bound = "superpixels" if r["_rate"] < model_rate else "model"
        r["status"] = f"bound: {bound} (superpixels {r['_rate'] / model_rate:.2f}x its rate)"
        if int(r["workers"]) == max_workers:
            r["target"] = "not the bound"
            if device.type == "cuda":
                r["status"] += " -> " + ("met" if bound == "model" else "NOT met")
            else:
                r["status"] += " (no verdict, not a GPU)"


def format_table(rows):
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    line = "  ".join("=" * widths[c] for c in COLUMNS)
    out = [line, "  ".join(c.ljust(widths[c]) for c in COLUMNS), line]
    out += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS) for r in rows]
    out.append(line)
    return "\n".join(out)


def environment(args, device):
    import timm

    import sklearn_p2p

    head = ("LR-ASPP head, LRASPPNetwork" if args.selector_head == "lraspp"
            else "P2PNetwork's head")
    if device.type == "cuda":
        gpu = torch.cuda.get_device_name(device)
    else:
        gpu = "none (CPU run: images/s are for orientation only)"
    return [
        f"# device: {device} -- {gpu}",
        f"# cpu: {cpu_name()}, {os.cpu_count()} cores; torch threads {torch.get_num_threads()}",
        f"# python {platform.python_version()}, torch {torch.__version__}, "
        f"timm {timm.__version__}, sklearn_p2p {sklearn_p2p.__version__}",
        f"# selector {args.selector} ({head}), "
        f"classifier {args.classifier}, {args.image_size}x{args.image_size} px, "
        f"{args.n_segments} segments (compactness {args.compactness:g}), {args.n_classes} classes",
        f"# train batch {args.batch_size}, inference batch {args.inference_batch_size}, "
        f"tau step {args.tau_step:g} ({round(1 / args.tau_step)} taus); "
        f"cudnn.benchmark={torch.backends.cudnn.benchmark}, "
        f"matmul precision {torch.get_float32_matmul_precision()}"
        + (" (smoke run: tiny sizes, no timing value)" if args.smoke else ""),
    ]


def main(argv=None):
    args = parse_args(argv)
    deadline = Deadline(args.max_seconds)
    start = time.perf_counter()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input size
    check_timm_names(args.selector, args.classifier)
    header = environment(args, device)
    print("\n".join(header), flush=True)

    if not args.smoke:  # the smoke run takes the package's own choice
        args.backend = working_backend(args.backend)
    X_train, backend = packed_batch(args.batch_size, args.image_size, args.n_segments,
                                    args.compactness, args.backend)
    X_infer = np.concatenate([X_train] * math.ceil(args.inference_batch_size / len(X_train)))
    X_infer = X_infer[:args.inference_batch_size]
    y_train = np.arange(len(X_train)) % args.n_classes
    n_regions = X_train[..., -1].reshape(len(X_train), -1).max(axis=1) + 1
    header.append(f"# superpixels: {backend}, {n_regions.mean():.1f} regions per image "
                  "in the model's batches"
                  + ("" if backend == "fast-slic" else
                     " (fast-slic does not work here: the superpixel rows time scikit-image, "
                     "several times slower)"))
    print(header[-1], flush=True)

    rows = []
    for precision in args.precisions:
        measure_model(args, precision, device, (X_train, X_infer, y_train), deadline, rows)
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the model of this precision is gone
        print(format_table(rows), flush=True)
    sp_backend = measure_superpixels(args, deadline, rows)
    if sp_backend is not None:
        header.append(f"# superpixel pipeline backend: {sp_backend}, DataLoader batch "
                      f"{args.batch_size}, images in memory (no decoding)")
    mark_bounds(rows, device, max(args.workers))
    header.append(f"# total {time.perf_counter() - start:.0f} s "
                  f"(--max-seconds {args.max_seconds:g})")
    text = "\n".join(header) + "\n\n" + format_table(rows) + "\n"
    print()
    print(text, flush=True)
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "gpu.txt").write_text(text)
    print(f"# written to {out_dir / 'gpu.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
