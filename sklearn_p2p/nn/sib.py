"""The spatial information bottleneck (S-IB) on input gradients.

S-IB (Shu, Meng and Luo, 2025) trains a classifier with cross-entropy plus
a penalty on its input gradients, so that the gradients, and every
explainer built on them, concentrate on the object and stay flat on the
background. For a batch of images ``x`` (channel first, as the network's
input) with logits ``f(x)`` and softmax output ``p``:

1. ``R = d/dx (1/2) sum_b ||p_b||^2`` (:func:`input_gradients`), with the
   graph kept (``create_graph=True``) so that the penalty can be
   differentiated with respect to the weights (double backward);
2. a soft foreground mask ``M`` in (0, 1) derived from ``R`` itself
   (:func:`gradient_mask`): where the gradient is strong and dense;
3. a foreground term, the HSIC over the batch between the normalised
   ``R * M`` and the normalised ``x * M`` (:func:`hsic`), to be maximised,
   and a background term, the variance of ``R * (1 - M)``, to be minimised;
4. ``penalty = background_weight * exp(background)
   + foreground_weight * exp(-foreground)``
   (:func:`spatial_bottleneck_penalty`).

Everything is plain differentiable torch, on whatever device the tensors
are (CPU or CUDA).
"""

import torch
import torch.nn.functional as F

__all__ = [
    "default_mask_window",
    "gradient_mask",
    "hsic",
    "input_gradients",
    "spatial_bottleneck_penalty",
]

# Per-image quantiles of |R| that map onto 0 and 1 before thresholding
# (the authors' robust min-max normalisation).
NORMALIZATION_QUANTILES = (0.05, 0.95)

# Added to the normalisation's denominator, as in the authors' code.
_EPS = 1e-8


def input_gradients(model_fn, x, create_graph=True):
    """Input gradient of half the squared norm of the softmax output.

    ``R = d/dx (1/2) sum_b sum_k softmax(model_fn(x))_{b,k}^2``: for each
    image, the vector-Jacobian product of its own softmax output (images
    of a batch do not interact unless the network couples them, as batch
    normalisation in training mode does).

    Parameters
    ----------
    model_fn : callable
        Maps ``x`` to logits of shape (B, n_classes).
    x : Tensor of shape (B, ...)
        Input batch. If it does not require gradients, a detached copy that
        does is differentiated instead (``x`` itself is left untouched).
    create_graph : bool, default=True
        Keep the graph of the gradient computation, so that a loss built
        on ``R`` can be back-propagated to the weights (double backward).
        ``False`` gives a plain (detached) gradient.

    Returns
    -------
    gradients : Tensor of the shape of ``x``
        ``R``.
    logits : Tensor of shape (B, n_classes)
        The output of ``model_fn`` on ``x``, with its graph, so that a
        training step needs a single forward pass.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import input_gradients
    >>> linear = torch.nn.Linear(4, 3)
    >>> R, logits = input_gradients(linear, torch.rand(2, 4))
    >>> R.shape, logits.shape, R.requires_grad
    (torch.Size([2, 4]), torch.Size([2, 3]), True)
    """
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model_fn(x)
        if logits.ndim != 2 or logits.shape[0] != x.shape[0]:
            raise ValueError(
                "model_fn must return logits of shape (B, n_classes) for an input "
                f"of batch size B={x.shape[0]}; got shape {tuple(logits.shape)}."
            )
        half_squared_norm = 0.5 * torch.softmax(logits, dim=1).square().sum()
        (gradients,) = torch.autograd.grad(half_squared_norm, x, create_graph=create_graph)
    return gradients, logits


def default_mask_window(height, width):
    """The smoothing window used when none is given: about 1/7 of the image side.

    The largest odd integer not above ``min(height, width) / 7``, at least
    3: 31 at 224 pixels (the authors' window), 3 at 16 to 34 pixels.

    Parameters
    ----------
    height, width : int
        Image size in pixels.

    Returns
    -------
    window : int
        An odd window size, at least 3.

    Examples
    --------
    >>> from sklearn_p2p.nn import default_mask_window
    >>> default_mask_window(224, 224), default_mask_window(32, 32), default_mask_window(64, 80)
    (31, 3, 9)
    """
    side = int(min(height, width) // 7)
    return max(3, side if side % 2 else side - 1)


def _check_unit_interval(value, name):
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in the open interval (0, 1); got {value!r}.")


def _per_image_quantile(values, q):
    """Quantiles of each row of ``values`` (B, N), differentiable in the values.

    ``torch.quantile`` sorts and interpolates linearly between the two
    nearest order statistics; its gradient flows to those two values.
    """
    q = torch.as_tensor(q, dtype=values.dtype, device=values.device)
    # For several q, torch.quantile puts them first: (len(q), B) -> (B, len(q)).
    return torch.quantile(values, q, dim=1).movedim(0, -1)


def gradient_mask(gradients, *, quantile=0.8, slope=10.0, window_size=None):
    """Soft foreground mask of input gradients, derived from the gradients alone.

    Per image: ``g = |mean_c R|`` (the magnitude of the channel mean),
    normalised so that its 5% and 95% quantiles become 0 and 1; a first
    soft threshold ``sigmoid(slope * (g - q_g))`` around its ``quantile``
    ``q_g``; the local density of that map (a ``window_size`` box mean);
    a second soft threshold ``sigmoid(slope * (d - q_d))`` around the
    density's own ``quantile``. No step is detached: the mask is
    differentiable with respect to ``R``.

    Parameters
    ----------
    gradients : Tensor of shape (B, C, H, W)
        Input gradients ``R`` (see :func:`input_gradients`).
    quantile : float in (0, 1), default=0.8
        Quantile of both soft thresholds: about ``1 - quantile`` of the
        pixels end up in the foreground.
    slope : float > 0, default=10.0
        Steepness of both sigmoids (in units of the normalised map); larger
        is closer to a hard threshold.
    window_size : odd int or None, default=None
        Side of the box filter that smooths the first mask into a density
        (zero padding is not counted, so borders are not darkened). None:
        :func:`default_mask_window` of the image size.

    Returns
    -------
    mask : Tensor of shape (B, H, W)
        Values in (0, 1); high where the gradient is strong and dense.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import gradient_mask
    >>> R = torch.zeros(1, 3, 16, 16)
    >>> R[:, :, 4:8, 4:8] = 1.0  # a strong square
    >>> mask = gradient_mask(R + 0.01 * torch.rand(1, 3, 16, 16))
    >>> bool(mask[0, 5, 5] > 0.5 > mask[0, 14, 14])
    True
    """
    if gradients.ndim != 4:
        raise ValueError(
            "gradients must have shape (B, C, H, W); got shape "
            f"{tuple(gradients.shape)}."
        )
    _check_unit_interval(quantile, "quantile")
    if not slope > 0:
        raise ValueError(f"slope must be positive; got {slope!r}.")
    batch, _, height, width = gradients.shape
    if window_size is None:
        window_size = default_mask_window(height, width)
    elif int(window_size) != window_size or window_size < 1 or window_size % 2 == 0:
        raise ValueError(
            f"window_size must be an odd positive integer or None; got {window_size!r}."
        )
    window_size = int(window_size)

    magnitude = gradients.mean(dim=1).abs().reshape(batch, -1)
    low, high = _per_image_quantile(magnitude, NORMALIZATION_QUANTILES).unbind(dim=1)
    normalized = (magnitude - low[:, None]) / (high - low + _EPS)[:, None]
    strong = torch.sigmoid(slope * (normalized - _per_image_quantile(normalized, quantile)[:, None]))

    density = F.avg_pool2d(
        strong.reshape(batch, 1, height, width), window_size, stride=1,
        padding=window_size // 2, count_include_pad=False,
    ).reshape(batch, -1)
    mask = torch.sigmoid(slope * (density - _per_image_quantile(density, quantile)[:, None]))
    return mask.reshape(batch, height, width)


def hsic(features_a, features_b):
    """Linear-kernel HSIC between two sets of features over a batch.

    ``sum(Kc * Lc) / (B - 1)^2`` with ``K = A A^T`` and ``L = B B^T`` the
    Gram matrices of the flattened features and ``Kc``, ``Lc`` their doubly
    centred versions (``H K H`` with ``H = I - 1/B``). This is the estimator
    of the authors' code (called "unbiased" there; it is the usual
    empirical HSIC of Gretton et al., 2005, which is biased by O(1/B)).

    Parameters
    ----------
    features_a, features_b : Tensor of shape (B, ...)
        Two descriptions of the same B samples; trailing dimensions are
        flattened. Normalise the rows first to make the value scale-free.

    Returns
    -------
    hsic : Tensor of shape ()
        Non-negative; 0 when either set is constant over the batch.

    Raises
    ------
    ValueError
        If the batch holds fewer than 2 samples (the dependence between
        two variables cannot be measured from one sample; the
        ``(B - 1)^2`` denominator would be 0).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import hsic
    >>> a = torch.nn.functional.normalize(torch.randn(32, 10), dim=1)
    >>> b = torch.nn.functional.normalize(torch.randn(32, 10), dim=1)
    >>> bool(hsic(a, a) > hsic(a, b))
    True
    """
    if features_a.shape[0] != features_b.shape[0]:
        raise ValueError(
            "features_a and features_b must describe the same samples; got batch "
            f"sizes {features_a.shape[0]} and {features_b.shape[0]}."
        )
    n_samples = features_a.shape[0]
    if n_samples < 2:
        raise ValueError(
            f"hsic needs at least 2 samples (a batch of {n_samples} carries no "
            "dependence between its features)."
        )
    gram_a = _centred(features_a.reshape(n_samples, -1))
    gram_b = _centred(features_b.reshape(n_samples, -1))
    return (gram_a * gram_b).sum() / (n_samples - 1) ** 2


def _centred(features):
    """``H (F F^T) H``: the doubly centred linear Gram matrix, without forming H."""
    gram = features @ features.T
    return gram - gram.mean(dim=0, keepdim=True) - gram.mean(dim=1, keepdim=True) + gram.mean()


def spatial_bottleneck_penalty(gradients, inputs, *, foreground_weight=0.01,
                               background_weight=1000.0, mask=None, quantile=0.8,
                               slope=10.0, window_size=None):
    """The S-IB penalty of a batch and its two terms.

    ``foreground = hsic(normalize(R * M), normalize(x * M))`` (each image's
    flattened masked map scaled to unit norm), ``background = mean_b
    var(R_b * (1 - M_b))`` (variance over channels and pixels, with Bessel's
    correction) and ``penalty = background_weight * exp(background) +
    foreground_weight * exp(-foreground)``. The exponentials keep both terms
    positive; note that the penalty's value includes the constant-like
    ``background_weight * exp(0)`` (about 1000 with the default weight).

    Parameters
    ----------
    gradients : Tensor of shape (B, C, H, W)
        Input gradients ``R`` with their graph (see :func:`input_gradients`).
    inputs : Tensor of shape (B, C, H, W)
        The images the gradients were taken at (no gradient needed).
    foreground_weight : float >= 0, default=0.01
        Weight of ``exp(-foreground)`` (the authors' ``lambda_fg``).
    background_weight : float >= 0, default=1000.0
        Weight of ``exp(background)`` (the authors' ``lambda_bg``).
    mask : Tensor of shape (B, H, W), default=None
        The soft foreground mask; None derives it from the gradients with
        :func:`gradient_mask` (``quantile``, ``slope``, ``window_size``).
    quantile : float in (0, 1), default=0.8
        Passed to :func:`gradient_mask` when ``mask`` is None.
    slope : float > 0, default=10.0
        Passed to :func:`gradient_mask` when ``mask`` is None.
    window_size : odd int or None, default=None
        Passed to :func:`gradient_mask` when ``mask`` is None.

    Returns
    -------
    terms : dict of str to Tensor
        ``"penalty"`` (scalar, differentiable), ``"foreground"`` and
        ``"background"`` (scalars, differentiable), ``"mask"`` (B, H, W).
        With a single image the HSIC is undefined: ``"foreground"`` is then
        0 (a constant: that batch's penalty only acts on the background).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import input_gradients, spatial_bottleneck_penalty
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(),
    ...                           torch.nn.Linear(4 * 14 * 14, 2))
    >>> x = torch.rand(4, 3, 16, 16)
    >>> R, logits = input_gradients(net, x)
    >>> terms = spatial_bottleneck_penalty(R, x)
    >>> sorted(terms), terms["mask"].shape
    (['background', 'foreground', 'mask', 'penalty'], torch.Size([4, 16, 16]))
    >>> terms["penalty"].backward()  # double backward reaches the weights
    >>> bool(net[0].weight.grad.abs().sum() > 0)
    True
    """
    if gradients.ndim != 4 or gradients.shape != inputs.shape:
        raise ValueError(
            "gradients and inputs must both have shape (B, C, H, W), the same; got "
            f"{tuple(gradients.shape)} and {tuple(inputs.shape)}."
        )
    for value, name in ((foreground_weight, "foreground_weight"),
                        (background_weight, "background_weight")):
        if not value >= 0:
            raise ValueError(f"{name} must be non-negative; got {value!r}.")
    if mask is None:
        mask = gradient_mask(gradients, quantile=quantile, slope=slope, window_size=window_size)
    elif mask.shape != gradients.shape[:1] + gradients.shape[2:]:
        raise ValueError(
            f"mask must have shape {tuple(gradients.shape[:1] + gradients.shape[2:])} "
            f"(B, H, W); got {tuple(mask.shape)}."
        )
    inputs = inputs.detach()
    keep = mask.unsqueeze(1)
    n_samples = gradients.shape[0]
    if n_samples >= 2:
        foreground = hsic(
            F.normalize((gradients * keep).reshape(n_samples, -1), dim=1),
            F.normalize((inputs * keep).reshape(n_samples, -1), dim=1),
        )
    else:
        foreground = gradients.new_zeros(())
    background = (gradients * (1 - keep)).reshape(n_samples, -1).var(dim=1).mean()
    penalty = background_weight * torch.exp(background) + foreground_weight * torch.exp(-foreground)
    return {"penalty": penalty, "foreground": foreground, "background": background, "mask": mask}
