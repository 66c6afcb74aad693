"""Dynamic thresholding (paper Eq. 4): the smallest tau reaching certainty delta."""

import math

import numpy as np
import torch

__all__ = ["tau_grid", "search_tau"]


def tau_grid(step=0.05):
    """Thresholds ``step, 2 step, ..., 1.0`` tried in order (last one is 1.0).

    Parameters
    ----------
    step : float, default=0.05
        Grid spacing, in (0, 1].

    Returns
    -------
    taus : ndarray of shape (ceil(1 / step),)
        Increasing thresholds; the last one is 1.0 even when ``step`` does
        not divide 1.

    Examples
    --------
    >>> from sklearn_p2p.nn import tau_grid
    >>> tau_grid(0.25)
    array([0.25, 0.5 , 0.75, 1.  ])
    >>> tau_grid(0.3)
    array([0.3, 0.6, 0.9, 1. ])
    """
    n_steps = math.ceil(1.0 / step - 1e-9)
    return np.minimum(np.arange(1, n_steps + 1) * step, 1.0)


def search_tau(evaluate, n_samples, taus, delta, device=None, min_batch_size=1):
    """Find, per sample, the first tau whose prediction is at least delta certain.

    Only the certainty ``max_c p(c | x_m)`` is looked at while searching,
    never which class wins. Samples that reach ``delta`` drop out; the
    others are re-evaluated at the next tau, and whatever is still
    uncertain at the last tau keeps the last tau (1.0 on the default grid).

    Once few samples are left, a call per tau would evaluate a handful of
    them at a time, which leaves a GPU or a vectorised CPU kernel mostly
    idle. With ``min_batch_size > 1`` each call instead evaluates the next
    ``k = ceil(min_batch_size / n_pending)`` taus of every pending sample at
    once, and each sample keeps the first of them that is certain. The
    result is the same as with one tau per call; only evaluations past a
    sample's chosen tau are wasted.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(index, tau)`` -> dict of tensors whose first dimension
        matches ``index``. ``index`` (LongTensor) holds sample positions and
        ``tau`` (float tensor of the same length) the threshold of each
        entry; with look-ahead, each pending sample appears ``k`` times in a
        row with consecutive taus. The dict must contain ``"proba"`` of shape
        (len(index), n_classes); all other entries are collected as well.
    n_samples : int
        Number of samples to search a threshold for.
    taus : sequence of float
        Increasing thresholds, e.g. :func:`tau_grid`.
    delta : float
        Required certainty.
    device : torch.device or str, default=None
        Device of the tensors handed to ``evaluate``.
    min_batch_size : int, default=1
        Fewest evaluations per call while there are taus left to look
        ahead to; 1 evaluates one tau per call.

    Returns
    -------
    results : dict of Tensor
        The outputs of ``evaluate`` at each sample's chosen tau, plus
        ``"tau"`` (float tensor of shape (n_samples,)).

    Examples
    --------
    A toy model that is 0.6 certain below tau = 0.5 and 0.95 certain from
    there on; the first sample is already certain at the smallest tau:

    >>> import torch
    >>> from sklearn_p2p.nn import search_tau
    >>> def evaluate(index, tau):
    ...     top = torch.where(index == 0, 0.99, torch.where(tau >= 0.5, 0.95, 0.6))
    ...     return {"proba": torch.stack([top, 1 - top], dim=1)}
    >>> search_tau(evaluate, 2, [0.25, 0.5, 0.75, 1.0], delta=0.9)["tau"]
    tensor([0.2500, 0.5000])
    >>> search_tau(evaluate, 2, [0.25, 0.5, 0.75, 1.0], delta=0.9, min_batch_size=4)["tau"]
    tensor([0.2500, 0.5000])
    """
    taus = torch.as_tensor(np.asarray(taus, dtype=np.float32), device=device)
    n_steps = len(taus)
    pending = torch.arange(n_samples, device=device)
    results = {}
    step = 0
    while len(pending) and step < n_steps:
        n_pending = len(pending)
        ahead = min(max(1, -(-min_batch_size // n_pending)), n_steps - step)
        index = pending.repeat_interleave(ahead)
        tau = taus[step:step + ahead].repeat(n_pending)
        outputs = dict(evaluate(index, tau), tau=tau)
        certain = (outputs["proba"].amax(dim=1) >= delta).view(n_pending, ahead)
        if step + ahead == n_steps:
            certain[:, -1] = True  # the last tau is kept whatever the certainty
        done = certain.any(dim=1)
        # Position of each finished sample's first certain tau among its entries.
        chosen = torch.arange(n_pending, device=certain.device)[done] * ahead
        chosen = chosen + certain[done].int().argmax(dim=1)
        for key, value in outputs.items():
            if key not in results:
                results[key] = value.new_zeros((n_samples,) + tuple(value.shape[1:]))
            results[key][pending[done]] = value[chosen]
        pending = pending[~done]
        step += ahead
    return results
