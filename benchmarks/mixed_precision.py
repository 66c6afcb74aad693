"""Mixed precision and memory format: P2PNetwork's training step and forward pass.

Times one training step (forward, loss, backward) and one evaluation forward
pass at a fixed tau of :class:`~sklearn_p2p.nn.P2PNetwork` on a batch of
96x96 images with 64 square regions, in float32 and under ``torch.autocast``
(what ``mixed_precision`` does), for three memory layouts:

- ``as is``: the network as the estimators run it; its channel-last input
  reaches the backbones as a ``channels_last`` tensor;
- ``weights channels_last``: the weights converted too
  (``module.to(memory_format=torch.channels_last)``);
- ``NCHW input``: the input made contiguous NCHW, as a network reading
  channel-first images would get it.

The variants alternate within each repetition, so that a change of load on
a shared machine hits all of them; the medians are printed.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mixed_precision.py \\
          --backbones tiny_cnn resnet18 [--dtypes fp32 bf16 fp16 --device cpu]
"""

import argparse
import contextlib
import statistics
import time

import torch

from sklearn_p2p.nn import P2PNetwork
from sklearn_p2p.nn.masking import MaskedClassifier

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
LAYOUTS = ("as is", "weights channels_last", "NCHW input")


def make_batch(batch_size, size, device):
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch_size, size, size, 3, generator=generator)
    cell = size // 8
    rows = torch.arange(size) // cell
    segments = (rows[:, None] * 8 + rows[None, :]).float().expand(batch_size, size, size)
    X = torch.cat([images, segments[..., None]], dim=-1).to(device)
    y = torch.randint(0, 10, (batch_size,), generator=generator).to(device)
    return X, y


@contextlib.contextmanager
def nchw_input(enabled):
    """Make the backbones' input contiguous NCHW (it is channels_last otherwise)."""
    normalize = MaskedClassifier.normalize
    if enabled:
        MaskedClassifier.normalize = lambda self, image: normalize(self, image).contiguous()
    try:
        yield
    finally:
        MaskedClassifier.normalize = normalize


def timings(backbone, dtype, device, X, y, repeats):
    nets = {}
    for layout in LAYOUTS:
        torch.manual_seed(0)
        net = P2PNetwork(10, 3, selector=backbone, classifier=backbone).to(device)
        if layout == "weights channels_last":
            net = net.to(memory_format=torch.channels_last)
        nets[layout] = net

    def autocast():
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(device).type, dtype=dtype)

    def train(net):
        net.train()
        net.zero_grad()
        with autocast():
            logits, kept, _, covariance = net(X, temperature=torch.tensor(0.5))
        loss = torch.nn.functional.cross_entropy(logits.float(), y) + kept.mean()
        (loss + covariance.mean()).backward()

    def evaluate(net):
        net.eval()
        with torch.no_grad(), autocast():
            net(X, tau=0.5)

    def timed(step, net):
        start = time.perf_counter()
        step(net)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    results = {(layout, name): [] for layout in LAYOUTS for name in ("train", "eval")}
    for repeat in range(repeats + 1):  # the first one warms up
        for layout, net in nets.items():
            with nchw_input(layout == "NCHW input"):
                for name, step in (("train", train), ("eval", evaluate)):
                    elapsed = timed(step, net)
                    if repeat:
                        results[layout, name].append(elapsed)
    return {key: statistics.median(values) for key, values in results.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=["tiny_cnn", "resnet18"])
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=list(DTYPES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    X, y = make_batch(args.batch_size, args.image_size, args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), device "
          f"{args.device}, batch {args.batch_size} of {args.image_size}x{args.image_size}; "
          "median ms of train step / eval forward")
    print(f"{'backbone':10s} {'dtype':5s} " + " ".join(f"{layout:>24s}" for layout in LAYOUTS))
    for backbone in args.backbones:
        for dtype_name in args.dtypes:
            medians = timings(backbone, DTYPES[dtype_name], args.device, X, y, args.repeats)
            cells = [f"{medians[layout, 'train'] * 1e3:.0f} / {medians[layout, 'eval'] * 1e3:.0f}"
                     for layout in LAYOUTS]
            print(f"{backbone:10s} {dtype_name:5s} " + " ".join(f"{c:>24s}" for c in cells),
                  flush=True)


if __name__ == "__main__":
    main()
