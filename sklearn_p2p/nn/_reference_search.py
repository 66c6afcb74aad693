"""The reference implementation's dynamic-threshold search, for comparison only.

It re-runs the selector and the classifier on the whole batch at every tau
until the slowest image is certain, as the P2P authors' code does.
:meth:`P2PNetwork.explain <sklearn_p2p.nn.P2PNetwork.explain>` must return
exactly what it returns, faster: the tests check the equality and
``benchmarks/inference.py`` measures the speed-up.
"""

import torch

from .network import _with_counts
from .thresholding import search_tau, tau_grid

__all__ = ["full_batch_explain"]


@torch.no_grad()
def full_batch_explain(network, X, tau=None, delta=0.99, tau_step=0.05):
    """``network.explain(X, ...)`` computed the reference implementation's way.

    Parameters
    ----------
    network : P2PNetwork
        In evaluation mode.
    X : Tensor of shape (B, H, W, C + 1)
        Images in [0, 1] followed by the superpixel label map.
    tau, delta, tau_step
        As for :meth:`P2PNetwork.explain <sklearn_p2p.nn.P2PNetwork.explain>`.

    Returns
    -------
    dict of tensors
        The keys of :meth:`P2PNetwork.explain`.
    """
    image, segments, n_regions_per_image, sizes = network._split_regions(X)
    batch = image.shape[0]
    passes = torch.zeros(batch, dtype=torch.long, device=image.device)

    def evaluate(index, taus):
        # One tau at a time, for every image, from the backbone on.
        _, out = network._select(network.selector.features(image), taus[:1].expand(batch),
                                 segments, sizes, n_regions_per_image, image.shape[-2:])
        passes.add_(1)
        logits = network.classify_pixels(image, out["masks"])
        out = dict(out, logits=logits, proba=torch.softmax(logits, dim=1))
        return {key: value[index] for key, value in out.items()}

    taus = tau_grid(tau_step) if tau is None else [float(tau)]
    out = search_tau(evaluate, batch, taus, delta, device=image.device, min_batch_size=1)
    return _with_counts(out, passes, n_regions_per_image)
