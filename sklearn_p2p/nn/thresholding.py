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


def search_tau(evaluate, n_samples, taus, delta, device=None):
    """Find, per sample, the first tau whose prediction is at least delta certain.

    Only the certainty ``max_c p(c | x_m)`` is looked at while searching,
    never which class wins. Samples that reach ``delta`` drop out; the
    others are re-evaluated at the next tau, and whatever is still
    uncertain at the last tau keeps the last tau (1.0 on the default grid).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(index, tau)`` -> dict of tensors whose first dimension
        matches ``index`` (a LongTensor of sample positions). It must contain
        ``"proba"`` of shape (len(index), n_classes). All other entries are
        collected as well.
    n_samples : int
        Number of samples to search a threshold for.
    taus : sequence of float
        Increasing thresholds, e.g. :func:`tau_grid`.
    delta : float
        Required certainty.
    device : torch.device or str, default=None
        Device of the sample index handed to ``evaluate``.

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
    ...     top = torch.where(index == 0, 0.99, 0.95 if tau >= 0.5 else 0.6)
    ...     return {"proba": torch.stack([top, 1 - top], dim=1)}
    >>> search_tau(evaluate, 2, [0.25, 0.5, 0.75, 1.0], delta=0.9)["tau"]
    tensor([0.2500, 0.5000])
    """
    pending = torch.arange(n_samples, device=device)
    results = {}
    for step, tau in enumerate(taus):
        outputs = evaluate(pending, float(tau))
        is_last = step == len(taus) - 1
        certain = outputs["proba"].amax(dim=1) >= delta
        done = torch.ones_like(certain) if is_last else certain
        outputs = dict(outputs, tau=torch.full((len(pending),), float(tau), device=certain.device))
        for key, value in outputs.items():
            if key not in results:
                results[key] = value.new_zeros((n_samples,) + tuple(value.shape[1:]))
            results[key][pending[done]] = value[done]
        pending = pending[~done]
        if len(pending) == 0:
            break
    return results
