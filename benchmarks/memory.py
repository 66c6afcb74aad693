"""Peak memory of P2P training against a Blackbox, and of the covariance part.

1. **Training step.** One step (forward, loss, backward, Adam step) of
   :class:`sklearn_p2p.nn.P2PNetwork` and of
   :class:`sklearn_p2p.nn.BlackboxNetwork` with the same classifier backbone,
   batch and image size, on images of
   :func:`sklearn_p2p.datasets.make_pasted_objects` with their superpixels.
   A first step is taken unmeasured (it creates Adam's state and warms up the
   kernels); the second is measured, gradients set to None before it as
   skorch does. Reported: the step's peak above what was live before it
   (activations, gradients, temporaries) and the persistent state (weights,
   buffers and Adam's two moments, counted exactly from the tensors), and the
   P2P / Blackbox ratio of both.
2. **Covariance part.** For D regions, K embedding dimensions and a batch of
   images, one reparameterised draw of the region logits, forward and
   backward: (a) the low-rank form the package uses
   (:func:`sklearn_p2p.nn.sample_region_logits`, a
   ``LowRankMultivariateNormal`` with factor ``E`` of shape (B, D, K)), against
   (b) the full ``Sigma = E E^T + jitter I`` of shape (B, D, D) with
   ``MultivariateNormal(mu, covariance_matrix=Sigma)`` (one Cholesky per image;
   argument validation off, so that it is exactly one). Peak memory and median
   time. Then the covariance part of a training step as the package computes
   it: the low-rank draw plus the L1 penalty on ``Sigma``
   (:func:`sklearn_p2p.nn.covariance_l1`), and a check, on one small case, that
   both forms draw from the same distribution (empirical mean and covariance
   of many draws against ``mu`` and ``E E^T + jitter I``, in standard errors).

How peak memory is measured:

* CUDA: ``torch.cuda.max_memory_allocated()`` after
  ``torch.cuda.reset_peak_memory_stats()``, minus ``memory_allocated()`` at the
  start: the peak of live tensor bytes above the start.
* CPU: torch keeps no allocator statistics, so every allocation and free of
  torch's CPU allocator is recorded with ``torch.profiler.profile(
  profile_memory=True)`` (each event carries its size in bytes); the running
  sum of the events, in time order, is the live tensor memory above the
  start, and its maximum is the peak. This is the same quantity as on CUDA,
  exact and deterministic (the same step gives the same bytes on every run),
  and needs no subprocess. Peak RSS (``ru_maxrss``) was not used: it is a
  high-water mark of the whole process (imports, libraries, data), so each
  measurement would need its own fresh process, and glibc's malloc keeps freed
  blocks and per-thread arenas, so the RSS increase of one step is off by
  allocator behaviour rather than by what the step needs. (Measured here, P2P
  at 64 px, batch 64: a first step raises peak RSS by 633 MiB, one-off costs
  included; a second step, whose tensors peak at 564 MiB, by only 50 MiB,
  because the first step's high-water mark is already there.) The profiler only
  sees memory that goes through torch's allocator (not, e.g., buffers that
  oneDNN or BLAS allocate for themselves); nothing is freed during the
  measured step that was allocated before it (the profiler could not size such
  a free), which is why gradients are set to None before the step starts.

Absolute bytes do not depend on the machine, but the ratios are what the
performance targets are stated in. Times of part 2 are CPU times unless run on
a GPU; compare their ratios.

Run:  .venv/bin/python benchmarks/memory.py [--image-sizes 32 64 --batch-size 64
      --n-regions 50 100 200 400]
"""

import argparse
import statistics
import time

import numpy as np
import torch
from torch.distributions import MultivariateNormal

from sklearn_p2p import SuperpixelTransformer
from sklearn_p2p.datasets import make_pasted_objects
from sklearn_p2p.nn import (
    BlackboxNetwork,
    P2PNetwork,
    covariance_l1,
    p2p_penalty,
    sample_region_logits,
)

MiB = 2.0 ** 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backbones", "--backbone", nargs="+", default=["tiny_cnn"],
                        help="classifier backbones: 'tiny_cnn' or timm model names")
    parser.add_argument("--selector", default="tiny_cnn",
                        help="P2P's selector backbone; 'same' uses the classifier's")
    parser.add_argument("--n-classes", type=int, default=5)
    parser.add_argument("--n-segments", type=int, default=50)
    parser.add_argument("--n-regions", type=int, nargs="+", default=[50, 100, 200, 400],
                        help="D of the covariance part")
    parser.add_argument("--n-embedding-dims", type=int, default=3, help="K")
    parser.add_argument("--jitter", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=20,
                        help="timed draws per case of the covariance part")
    parser.add_argument("--check-samples", type=int, default=200_000,
                        help="draws for the distribution check")
    parser.add_argument("--device", default="auto")
    return parser.parse_args()


# -- measuring ---------------------------------------------------------------
def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node.children)


def peak_memory(run, device):
    """Peak bytes of live tensors above the start while ``run()`` runs, and its result."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        result = run()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - start, result
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = run()
    events = [node for node in _walk(prof.profiler.kineto_results.experimental_event_tree())
              if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu"]
    events.sort(key=lambda node: node.start_time_ns)
    live = peak = 0
    for node in events:
        live += node.extra_fields.alloc_size
        peak = max(peak, live)
    return peak, result


def median_seconds(run, device, repeats):
    times = []
    for _ in range(repeats + 1):  # the first call warms up
        synchronize(device)
        start = time.perf_counter()
        run()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def tensor_bytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors if torch.is_tensor(t))


# -- 1. training step --------------------------------------------------------
def make_batch(size, args, device):
    data = make_pasted_objects(n_samples=args.batch_size, image_size=size,
                               n_classes=args.n_classes, random_state=0)
    Xp = SuperpixelTransformer(n_segments=args.n_segments).fit_transform(data.images)
    y = np.searchsorted(np.unique(data.target), data.target)
    return torch.as_tensor(Xp, device=device), torch.as_tensor(y, device=device)


def training_step(net, optimizer, X, y):
    """Forward (training mode), P2P's loss, backward and Adam step."""
    logits, kept_fraction, tau, covariance_norm = net(X, temperature=1.0)
    sparsity, covariance = p2p_penalty(kept_fraction, tau, covariance_norm, 10.0, 0.01)
    loss = torch.nn.functional.cross_entropy(logits, y) + sparsity + covariance
    loss.backward()
    optimizer.step()
    return loss.item()


def step_memory(net, X, y, device):
    """(peak bytes of the second step above its start, persistent bytes)."""
    net = net.to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    training_step(net, optimizer, X, y)  # warm-up: creates Adam's state
    optimizer.zero_grad(set_to_none=True)
    peak, _ = peak_memory(lambda: training_step(net, optimizer, X, y), device)
    persistent = tensor_bytes(list(net.parameters()) + list(net.buffers()))
    persistent += tensor_bytes(value for state in optimizer.state.values()
                               for value in state.values())
    return peak, persistent


def training_table(args, device):
    print("### 1. Peak memory of one training step (forward, backward, Adam step)\n")
    print("| image size | classifier | selector | P2P / Blackbox, step peak | "
          "P2P / Blackbox, peak + persistent | P2P step peak MiB | Blackbox step peak MiB | "
          "P2P persistent MiB | Blackbox persistent MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in args.image_sizes:
        X, y = make_batch(size, args, device)
        for backbone in args.backbones:
            selector = backbone if args.selector == "same" else args.selector
            torch.manual_seed(0)
            p2p = P2PNetwork(args.n_classes, in_chans=3, selector=selector, classifier=backbone)
            blackbox = BlackboxNetwork(args.n_classes, in_chans=3, classifier=backbone)
            p2p_peak, p2p_state = step_memory(p2p, X, y, device)
            bb_peak, bb_state = step_memory(blackbox, X, y, device)
            print(f"| {size} | {backbone} | {selector} | {p2p_peak / bb_peak:.2f}x | "
                  f"{(p2p_peak + p2p_state) / (bb_peak + bb_state):.2f}x | "
                  f"{p2p_peak / MiB:.1f} | {bb_peak / MiB:.1f} | "
                  f"{p2p_state / MiB:.1f} | {bb_state / MiB:.1f} |", flush=True)
            del p2p, blackbox
    print("\nStep peak: live tensor memory above the start of the step (activations, "
          "gradients, temporaries). Persistent: weights, buffers, Adam moments.\n")


# -- 2. covariance part ------------------------------------------------------
def full_rank_sample(mu, embeddings, jitter):
    """One draw from N(mu, E E^T + jitter I) through the D x D matrix and its Cholesky."""
    eye = torch.eye(mu.shape[-1], dtype=mu.dtype, device=mu.device)
    sigma = embeddings @ embeddings.transpose(-1, -2) + jitter * eye
    return MultivariateNormal(mu, covariance_matrix=sigma, validate_args=False).rsample()


def low_rank_with_penalty(mu, embeddings, jitter):
    """The covariance part of a training step: the draw and the L1 penalty on Sigma."""
    n_regions = torch.full((len(mu),), mu.shape[-1], device=mu.device)
    sample = sample_region_logits(mu, embeddings, jitter)
    return sample + covariance_l1(embeddings, n_regions)[:, None]


def draw_and_backward(sample_fn, mu, embeddings, weights, jitter):
    sample = sample_fn(mu, embeddings, jitter)
    (sample * weights).sum().backward()


def covariance_inputs(batch, n_regions, k, device, seed=0):
    generator = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, n_regions, generator=generator)
    # Var of every logit about 1: E_j ~ N(0, I / K).
    embeddings = torch.randn(batch, n_regions, k, generator=generator) / k ** 0.5
    weights = torch.randn(batch, n_regions, generator=generator)
    return (mu.to(device).requires_grad_(), embeddings.to(device).requires_grad_(),
            weights.to(device))


def measure_covariance(sample_fn, args, n_regions, device):
    """(peak bytes, median seconds) of one draw with backward; None if it fails."""
    mu, embeddings, weights = covariance_inputs(args.batch_size, n_regions,
                                                args.n_embedding_dims, device)

    def run():
        draw_and_backward(sample_fn, mu, embeddings, weights, args.jitter)

    def run_from_scratch():
        mu.grad = embeddings.grad = None
        run()

    try:
        run_from_scratch()  # warm-up, and the place a failing Cholesky shows
        # Gradients are freed before, not inside, the measured draw: the
        # profiler cannot size the free of a tensor allocated before it started.
        mu.grad = embeddings.grad = None
        peak, _ = peak_memory(run, device)
        seconds = median_seconds(run_from_scratch, device, args.repeats)
    except (RuntimeError, ValueError) as error:  # e.g. torch.linalg.LinAlgError
        print(f"  D={n_regions} {sample_fn.__name__}: failed ({type(error).__name__})")
        return None
    return peak, seconds


def covariance_table(args, device):
    k, batch = args.n_embedding_dims, args.batch_size
    print(f"### 2. Covariance part: one reparameterised draw of the region logits, "
          f"forward + backward (batch {batch}, K={k}, jitter {args.jitter:g})\n")
    print("| D | memory full / low-rank | time full / low-rank | low-rank peak MiB | "
          "full peak MiB | low-rank ms | full ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with_penalty = []
    for n_regions in args.n_regions:
        low = measure_covariance(sample_region_logits, args, n_regions, device)
        full = measure_covariance(full_rank_sample, args, n_regions, device)
        with_penalty.append((n_regions, low,
                             measure_covariance(low_rank_with_penalty, args, n_regions, device)))
        if low is None or full is None:
            print(f"| {n_regions} | failed | failed | | | | |")
            continue
        print(f"| {n_regions} | {full[0] / low[0]:.1f}x | {full[1] / low[1]:.1f}x | "
              f"{low[0] / MiB:.3f} | {full[0] / MiB:.3f} | {1000 * low[1]:.2f} | "
              f"{1000 * full[1]:.2f} |", flush=True)

    print("\nThe covariance part of a training step as the package computes it: the "
          "low-rank draw plus the L1 penalty on Sigma (covariance_l1 forms E E^T, "
          "B x D x D)\n")
    print("| D | memory (draw + penalty) / draw | time (draw + penalty) / draw | "
          "draw + penalty peak MiB | draw + penalty ms |")
    print("| --- | --- | --- | --- | --- |")
    for n_regions, low, both in with_penalty:
        if low is None or both is None:
            print(f"| {n_regions} | failed | failed | | |")
            continue
        print(f"| {n_regions} | {both[0] / low[0]:.1f}x | {both[1] / low[1]:.1f}x | "
              f"{both[0] / MiB:.3f} | {1000 * both[1]:.2f} |")


def distribution_check(args, device, n_regions=6, max_standard_errors=5.0):
    """Both forms against the target moments, in standard errors of the estimates."""
    k, n = args.n_embedding_dims, args.check_samples
    generator = torch.Generator().manual_seed(1)
    mu = torch.randn(n_regions, generator=generator, dtype=torch.float64)
    embeddings = torch.randn(n_regions, k, generator=generator, dtype=torch.float64) / k ** 0.5
    sigma = embeddings @ embeddings.T + args.jitter * torch.eye(n_regions, dtype=torch.float64)
    mean_se = (sigma.diagonal() / n).sqrt()
    cov_se = ((sigma.diagonal()[:, None] * sigma.diagonal()[None, :] + sigma ** 2) / n).sqrt()
    torch.manual_seed(0)
    mu32 = mu.float().to(device)
    e32 = embeddings.float().to(device)
    with torch.no_grad():
        draws = {
            # n images with the same parameters: n independent draws.
            "low-rank (sample_region_logits)": sample_region_logits(
                mu32.expand(n, -1), e32.expand(n, -1, -1), args.jitter),
            "full (MultivariateNormal, Cholesky)": full_rank_sample(
                mu32.expand(n, -1), e32.expand(n, -1, -1), args.jitter),
        }
    print(f"\nSame distribution? D={n_regions}, K={k}, {n} draws of each form; deviation of "
          "the empirical moments from mu and E E^T + jitter I, in standard errors "
          f"(pass: all below {max_standard_errors:g})\n")
    print("| form | max mean deviation (SE) | max covariance deviation (SE) | "
          "max abs covariance deviation | pass |")
    print("| --- | --- | --- | --- | --- |")
    for name, sample in draws.items():
        sample = sample.double().cpu()
        mean_dev = ((sample.mean(0) - mu).abs() / mean_se).max().item()
        cov = torch.cov(sample.T)
        cov_dev = ((cov - sigma).abs() / cov_se).max().item()
        ok = mean_dev < max_standard_errors and cov_dev < max_standard_errors
        print(f"| {name} | {mean_dev:.2f} | {cov_dev:.2f} | "
              f"{(cov - sigma).abs().max().item():.2e} | {'yes' if ok else 'NO'} |")


def main():
    args = parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else "cpu" if args.device == "auto" else args.device)
    method = ("torch.cuda.max_memory_allocated" if device.type == "cuda"
              else "torch.profiler allocation events (peak of live CPU tensor bytes)")
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"batch {args.batch_size}; memory: {method}\n", flush=True)
    training_table(args, device)
    covariance_table(args, device)
    distribution_check(args, device)


if __name__ == "__main__":
    main()
