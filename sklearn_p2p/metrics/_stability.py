"""Stability of attribution maps under small input noise (Agarwal et al., 2022).

Relative input stability (RIS) and relative output stability (ROS) compare
how much an explanation changes with how much the input, or the model's
output, changed: a stable explainer's map moves little when neither does.
Both follow "Rethinking Stability for Attribution-based Explanations"
(Agarwal et al., 2022), as the study of adversarial training with
feature-map smoothing uses them: lower is more stable, reported in log10.
"""

from numbers import Integral, Real
import warnings

import numpy as np
from sklearn.utils import check_random_state

from .._explanation import explain_details, require_keys, resolve_explainer
from ..utils import check_images

__all__ = ["relative_input_stability", "relative_output_stability"]

# The smallest positive float32: softmax probabilities below it are 0, and
# clipping there keeps log-probability gaps up to ~103 exact.
_PROBA_FLOOR = float(np.finfo(np.float32).smallest_subnormal)


def _check_params(noise_level, n_perturbations, eps_min, caller):
    if isinstance(noise_level, bool) or not isinstance(noise_level, Real) or not noise_level > 0:
        raise ValueError(
            f"noise_level of {caller} must be a positive float (the standard "
            f"deviation of the noise on [0, 1] images, e.g. 0.05); got {noise_level!r}."
        )
    if (isinstance(n_perturbations, bool) or not isinstance(n_perturbations, Integral)
            or n_perturbations < 1):
        raise ValueError(
            f"n_perturbations of {caller} must be an int >= 1; got {n_perturbations!r}."
        )
    if isinstance(eps_min, bool) or not isinstance(eps_min, Real) or not eps_min > 0:
        raise ValueError(f"eps_min of {caller} must be a positive float; got {eps_min!r}.")


def _image_reader(explainer):
    """The package estimator that reads the images for ``explainer``, or None.

    The explainer itself (a classifier of the package) or the classifier a
    post-hoc explainer wraps (``explainer.estimator``).
    """
    for candidate in (explainer, getattr(explainer, "estimator", None)):
        if callable(getattr(candidate, "_read_images", None)):
            return candidate
    return None


def _read(explainer, X, caller):
    """``(images, to_input)``: the images in [0, 1] and the way back to ``X``'s form."""
    reader = _image_reader(explainer)
    if reader is None:
        images = check_images(X)
        if images.shape[-1] == 1 and np.ndim(X) == 3:  # grayscale given as (n, H, W)
            return images, lambda images: images[..., 0]
        return images, lambda images: images
    takes_packed = getattr(reader, "_takes_packed_input", None)
    if callable(takes_packed) and takes_packed():
        raise ValueError(
            f"{caller} perturbs the images and explains them again, which needs "
            "their superpixels computed again: use a classifier that segments "
            "its input itself rather than superpixels='precomputed'."
        )
    images = reader._images_as_read(X)
    value_range = getattr(reader, "value_range", None)
    if value_range is None:
        return images, lambda images: images
    low, high = (float(v) for v in value_range)
    return images, lambda images: low + images.astype(np.float64) * (high - low)


def _explanation(explainer, X, n_images, caller, which, details=None):
    if details is None:
        details = explain_details(explainer, X, None, caller, required=("attributions", "proba"))
    else:
        require_keys(details, ("attributions", "proba"), caller)
    attributions = np.asarray(details["attributions"], dtype=float)
    proba = np.asarray(details["proba"], dtype=float)
    if attributions.ndim != 3 or len(attributions) != n_images:
        raise ValueError(
            f"{caller} needs attributions of shape (n_images, H, W) = ({n_images}, H, W) "
            f"from explain(X, return_details=True) on the {which} images; got "
            f"{attributions.shape}."
        )
    if proba.ndim != 2 or len(proba) != n_images:
        raise ValueError(
            f"{caller} needs proba of shape (n_images, n_classes) from "
            f"explain(X, return_details=True) on the {which} images; got {proba.shape}."
        )
    if not (np.isfinite(attributions).all() and np.isfinite(proba).all()):
        raise ValueError(f"The explanation of the {which} images holds NaN or infinity.")
    return attributions, proba, proba.argmax(axis=1)


def _normalized(maps):
    """Each map divided by its largest magnitude (maps of zeros stay zero)."""
    scale = np.abs(maps).reshape(len(maps), -1).max(axis=1)
    scale = np.where(scale > 0, scale, 1.0)
    return maps / scale[:, None, None]


def _relative_change(reference, other, eps_min):
    """``||(a - b) / a||_2`` per item; elementwise ``|a| < eps_min`` counts as ``eps_min``."""
    n = len(reference)
    denominator = np.maximum(np.abs(reference), eps_min)
    change = ((reference - other) / denominator).reshape(n, -1)
    return np.linalg.norm(change, axis=1)


def _centred_log_proba(proba):
    """Log-probabilities minus their mean over classes: the logits, centred.

    ``log softmax(z) = z - logsumexp(z)``; removing the mean over classes
    removes the per-image constant as well as the mean of ``z``, so this
    equals ``z - mean(z)`` exactly, whatever the model.
    """
    log_proba = np.log(np.clip(proba, _PROBA_FLOOR, None))
    return log_proba - log_proba.mean(axis=1, keepdims=True)


def relative_stabilities(explainer, X, *, noise_level=0.05, n_perturbations=5, eps_min=1e-6,
                         normalize=True, random_state=None, details=None,
                         caller="relative_stabilities"):
    """Per-image ``(log10 RIS, log10 ROS)`` from one set of perturbations.

    The work of :func:`relative_input_stability` and
    :func:`relative_output_stability`, done once for both (the benchmark
    reports both): the same noisy copies, explained once.

    Parameters
    ----------
    explainer, X, noise_level, n_perturbations, eps_min, normalize, random_state, details
        As for :func:`relative_input_stability`.
    caller : str, default="relative_stabilities"
        Name of the public function, for error messages.

    Returns
    -------
    ris, ros : ndarray of shape (n_images,)
        NaN where no perturbation kept the prediction.
    """
    _check_params(noise_level, n_perturbations, eps_min, caller)
    explainer, X = resolve_explainer(explainer, X, caller)
    images, to_input = _read(explainer, X, caller)
    n = len(images)
    maps, proba, y_pred = _explanation(explainer, X, n, caller, "given", details)
    if normalize:
        maps = _normalized(maps)

    rng = check_random_state(random_state)
    images = np.asarray(images, dtype=np.float64)
    noise = rng.normal(0.0, noise_level, size=(n_perturbations, *images.shape))
    perturbed = np.clip(images[None] + noise, 0.0, 1.0).astype(np.float32)  # (P, n, H, W, C)
    flat = perturbed.reshape(n_perturbations * n, *images.shape[1:])
    maps_p, proba_p, y_pred_p = _explanation(
        explainer, to_input(flat), len(flat), caller, "perturbed"
    )
    if maps_p.shape[1:] != maps.shape[1:]:
        raise ValueError(
            f"The maps of the perturbed images have shape {maps_p.shape[1:]}, those "
            f"of the given images {maps.shape[1:]}; the explainer must map images "
            "of one size to maps of one size."
        )
    if normalize:
        maps_p = _normalized(maps_p)

    # The clean items repeated once per perturbation, in the order of ``flat``.
    numerator = _relative_change(np.tile(maps, (n_perturbations, 1, 1)), maps_p, eps_min)
    input_change = _relative_change(
        np.tile(images, (n_perturbations, 1, 1, 1)), flat.astype(np.float64), eps_min
    )
    logits = np.tile(_centred_log_proba(proba), (n_perturbations, 1))
    output_change = np.linalg.norm(logits - _centred_log_proba(proba_p), axis=1)
    kept = y_pred_p.reshape(n_perturbations, n) == y_pred[None]
    any_kept = kept.any(axis=0)
    scores = []
    for change in (input_change, output_change):
        ratios = (numerator / np.maximum(change, eps_min)).reshape(n_perturbations, n)
        worst = np.where(kept, ratios, -np.inf).max(axis=0)
        with np.errstate(divide="ignore"):
            scores.append(np.where(any_kept, np.log10(np.where(any_kept, worst, 1.0)), np.nan))
    return tuple(scores)


def _mean_or_per_image(per_image, average, noise_level, caller):
    if not average:
        return per_image
    defined = ~np.isnan(per_image)
    if not defined.any():
        warnings.warn(
            f"{caller}: no perturbation kept the prediction of any image, so the "
            f"stability is undefined (NaN); lower noise_level (now {noise_level}).",
            RuntimeWarning, stacklevel=3,
        )
        return float("nan")
    return float(np.mean(per_image[defined]))


_COMMON_PARAMETERS = """\
    estimator : fitted estimator
        Anything implementing the explanation protocol with attributions
        (``explain(X, return_details=True)`` -> Bunch with ``attributions``
        (n, H, W) and ``proba`` (n, n_classes)): a model of
        :mod:`sklearn_p2p.models`, a
        :class:`~sklearn_p2p.explainers.GradientExplainer`, a Pipeline
        ending in one, ...
    X : array-like of shape (n_images, H, W, C) or (n_images, H, W)
        Images, as ``estimator.explain`` takes them.
    noise_level : float > 0, default=0.05
        Standard deviation ``sigma`` of the Gaussian noise, on the [0, 1]
        pixel scale (the authors use 0.01 to 0.2).
    n_perturbations : int >= 1, default=5
        Noisy copies per image; the worst kept one counts.
    eps_min : float > 0, default=1e-6
        Guard of every division: elementwise denominators smaller than it in
        magnitude, and the norm in the denominator of the ratio, are raised
        to it.
    normalize : bool, default=True
        Divide every map by its largest magnitude before comparing, so that
        a map is judged by its shape and not its scale (adversarially
        trained models have smaller gradients).
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.
    details : Bunch, default=None
        The explanation of ``X`` (``estimator.explain(X,
        return_details=True)``) when it is already computed, as the
        explanation scorers have it; None explains ``X`` here.
    average : bool, default=True
        Return the mean of the per-image log10 values over the images with
        at least one kept perturbation; False returns one value per image
        (NaN where no perturbation kept the prediction)."""


def relative_input_stability(estimator, X, *, noise_level=0.05, n_perturbations=5,
                             eps_min=1e-6, normalize=True, random_state=None, details=None,
                             average=True):
    """Relative input stability (RIS) of attribution maps, in log10 (lower is more stable).

    For every image ``x`` with map ``e_x`` and ``n_perturbations`` noisy
    copies ``x' = clip(x + N(0, noise_level^2), 0, 1)`` (independent noise
    per pixel and channel, on the [0, 1] scale), following Agarwal et al.
    (2022)::

        RIS(x) = max over x'  ||(e_x - e_x') / e_x||_2
                             / max(||(x - x') / x||_2, eps_min)

    where the divisions are elementwise with denominators of magnitude below
    ``eps_min`` raised to ``eps_min``, the norms run over all pixels (and
    channels for ``x``), and only the copies whose predicted class is that
    of ``x`` count (a changed prediction may rightly change the
    explanation). The maps are normalised to a maximum magnitude of 1 first
    (``normalize``). The value returned is ``log10 RIS``; a map that does not
    change at all scores ``-inf``.

    The relative change of the input is large where pixel values are near 0
    (the guard then divides by ``eps_min``); this is the definition's own
    property, and it is the same for every model explained on the same
    images and noise (same ``random_state``), so comparisons between models
    are fair.

    Parameters
    ----------
%(common)s

    Returns
    -------
    score : float or ndarray of shape (n_images,)
        Mean over images of ``log10 RIS``, or one value per image with
        ``average=False``; lower is more stable.

    See Also
    --------
    relative_output_stability : The change of the map over that of the logits.

    References
    ----------
    C. Agarwal, N. Johnson, M. Pawelczyk, S. Krishna, E. Saxena, M. Zitnik
    and H. Lakkaraju, "Rethinking Stability for Attribution-based
    Explanations", ICLR 2022 PAIR^2Struct workshop, arXiv:2203.06877.

    Examples
    --------
    An explainer whose map is the (one-channel) image itself changes exactly
    as its input does: its RIS is 1, 0 in log10.

    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklearn_p2p.metrics import relative_input_stability
    >>> class ImageAsMap:
    ...     def explain(self, X, delta=None, return_details=False):
    ...         X = np.asarray(X, dtype=float)
    ...         return Bunch(masks=X > 0.5, attributions=X,
    ...                      proba=np.ones((len(X), 1)))
    >>> X = np.random.RandomState(0).uniform(0.2, 0.8, size=(3, 8, 8))
    >>> ris = relative_input_stability(ImageAsMap(), X, normalize=False, random_state=0)
    >>> round(ris, 6)
    0.0
    """
    caller = "relative_input_stability"
    per_image = relative_stabilities(
        estimator, X, noise_level=noise_level, n_perturbations=n_perturbations,
        eps_min=eps_min, normalize=normalize, random_state=random_state, details=details,
        caller=caller,
    )[0]
    return _mean_or_per_image(per_image, average, noise_level, caller)


def relative_output_stability(estimator, X, *, noise_level=0.05, n_perturbations=5,
                             eps_min=1e-6, normalize=True, random_state=None, details=None,
                             average=True):
    """Relative output stability (ROS) of attribution maps, in log10 (lower is more stable).

    As :func:`relative_input_stability`, with the change of the model's
    logits in the denominator (Agarwal et al., 2022)::

        ROS(x) = max over x'  ||(e_x - e_x') / e_x||_2
                             / max(||h(x) - h(x')||_2, eps_min)

    over the noisy copies ``x'`` that keep the predicted class. ``h`` are
    the logits *centred per image*, computed from the ``proba`` of the
    explanation as ``log p - mean(log p)``: softmax ignores a constant added
    to the logits, and removing the mean over classes recovers ``z -
    mean(z)`` exactly from any model's probabilities, so the metric needs no
    access to the network (probabilities are floored at the smallest
    float32, which keeps logit gaps up to about 100 exact). ROS is large
    when the map moves while the output barely does -- the instability of
    adversarially trained models reported by the authors.

    Parameters
    ----------
%(common)s

    Returns
    -------
    score : float or ndarray of shape (n_images,)
        Mean over images of ``log10 ROS``, or one value per image with
        ``average=False``; lower is more stable.

    See Also
    --------
    relative_input_stability : The change of the map over that of the input.

    References
    ----------
    C. Agarwal et al., "Rethinking Stability for Attribution-based
    Explanations", arXiv:2203.06877, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklearn_p2p.metrics import relative_output_stability
    >>> class SteadyMap:
    ...     def explain(self, X, delta=None, return_details=False):
    ...         X = np.asarray(X, dtype=float)
    ...         brightness = X.mean(axis=(1, 2))
    ...         proba = np.stack([brightness, 1 - brightness], axis=1)
    ...         maps = np.ones_like(X)  # the same map whatever the image
    ...         return Bunch(masks=maps > 0, attributions=maps, proba=proba)
    >>> X = np.random.RandomState(0).uniform(0.3, 0.7, size=(3, 8, 8))
    >>> relative_output_stability(SteadyMap(), X, random_state=0)
    -inf
    """
    caller = "relative_output_stability"
    per_image = relative_stabilities(
        estimator, X, noise_level=noise_level, n_perturbations=n_perturbations,
        eps_min=eps_min, normalize=normalize, random_state=random_state, details=details,
        caller=caller,
    )[1]
    return _mean_or_per_image(per_image, average, noise_level, caller)


for _function in (relative_input_stability, relative_output_stability):
    if _function.__doc__ is not None:  # python -OO strips docstrings
        _function.__doc__ = _function.__doc__.replace("%(common)s", _COMMON_PARAMETERS)
del _function
