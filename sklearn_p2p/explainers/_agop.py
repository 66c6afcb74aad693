"""The Average Gradient Outer Product of a fitted classifier as an attribution prior."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import AttributionExplainer
from ._network import (
    batch_size_for,
    check_explained_estimator,
    image_batches,
    network_device,
    read_images,
)

__all__ = ["AGOPExplainer"]

VARIANTS = ("local", "weighted", "global")


class AGOPExplainer(AttributionExplainer):
    """Attribution maps from the Average Gradient Outer Product (AGOP) of a classifier.

    The AGOP of a classifier ``f`` with logits ``f_1 .. f_K`` over images
    ``x_1 .. x_n`` is ``(1/n) sum_i J(x_i)^T J(x_i)``, with ``J`` the
    ``K x d`` Jacobian of the logits with respect to the ``d`` input values
    (pixels times channels). It summarises which inputs the trained network
    is sensitive to over the whole data distribution (Radhakrishnan et al.,
    2024), and Katakam (2026) uses it as a prior for per-image attribution.
    For images only its diagonal is affordable::

        agop_diagonal_[k] = mean over images of sum over classes c
                            of (d logit_c / d x_k) ** 2

    computed from **all classes' logits** (the diagonal of the AGOP of the
    whole output, not of the predicted class only), by one backward pass
    per class and batch, with the network in eval mode. :meth:`fit`
    accumulates it over the images it is given, normally the training set;
    :meth:`partial_fit` continues the running mean.

    The map of an image explains its predicted class ``c`` (the argmax of
    the estimator's ``predict_proba``, the ``y_pred`` of the details), from
    the gradient ``g = d logit_c / d x`` of that class's logit:

    - ``"local"``: ``|g|`` summed over channels, the saliency map; the AGOP
      is not used, so this variant needs no :meth:`fit`;
    - ``"weighted"``: ``|g * sqrt(diag / max(diag))|`` summed over channels:
      the gradient with the inputs the network is rarely sensitive to
      damped;
    - ``"global"``: the diagonal itself summed over channels, the same map
      for every image, at no cost beyond the prediction.

    The function differentiated is the classifier's logits on the full image
    (``module_.image_logits``): the whole model for a Blackbox or a model of
    :mod:`sklearn_p2p.models`, the classifier alone (without the selection)
    for :class:`~sklearn_p2p.P2PClassifier`. Gradients are taken per image:
    with the network in eval mode the images of a batch do not interact.
    Works on the device of the estimator's network (CPU or CUDA).

    Implements the explanation protocol of :mod:`sklearn_p2p.metrics`:
    ``explain(X, delta=None, return_details=False)`` and
    ``predict_proba_masked(X, masks)``.

    Parameters
    ----------
    estimator : fitted classifier of the package
        :class:`~sklearn_p2p.P2PClassifier`,
        :class:`~sklearn_p2p.baselines.BlackboxClassifier` or a model of
        :mod:`sklearn_p2p.models`; it reads the images (its ``image_shape``
        and ``value_range`` apply) and gives the prediction explained.
    variant : {"local", "weighted", "global"}, default="weighted"
        The map (above).
    kept_fraction : float in [0, 1] or array-like of shape (n_samples,), \
            default=0.25
        Share of the pixels each mask keeps (the top pixels of the map); an
        array gives one value per explained image.
    batch_size : int, default=None
        Images per backward pass; None uses the estimator's ``batch_size``
        (all images at once where that is skorch's -1).

    Attributes
    ----------
    agop_diagonal_ : ndarray of shape (H, W, C), dtype float64
        The diagonal of the AGOP over the images seen, channel last.
    n_images_seen_ : int
        Number of images the diagonal averages over.
    classes_ : ndarray of shape (n_classes,)
        The estimator's classes, whose logits the diagonal sums over.

    See Also
    --------
    sklearn_p2p.explainers.GradientExplainer : Saliency, integrated gradients
        and other gradient maps.
    sklearn_p2p.datasets.make_tetrominoes : The benchmark data of the AGOP
        paper.

    References
    ----------
    R. K. G. Katakam, "AGOP as Explanation: From Feature Learning to
    Per-Sample Attribution in Image Classifiers", arXiv:2605.12816, 2026.

    A. Radhakrishnan, D. Beaglehole, P. Pandit and M. Belkin, "Mechanism for
    feature learning in neural networks and backpropagation-free machine
    learning models", Science 383, 2024.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_tetrominoes
    >>> from sklearn_p2p.explainers import AGOPExplainer
    >>> from sklearn_p2p.models import BackboneClassifier
    >>> data = make_tetrominoes(n_samples=32, random_state=0)
    >>> clf = BackboneClassifier(max_epochs=1, batch_size=16, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> agop = AGOPExplainer(clf, variant="weighted", kept_fraction=0.0625)
    >>> agop = agop.fit(data.images)
    >>> agop.agop_diagonal_.shape, agop.n_images_seen_
    ((8, 8, 1), 32)
    >>> details = agop.explain(data.images[:2], return_details=True)
    >>> details.attributions.shape, details.masks.sum(axis=(1, 2)).tolist()
    ((2, 8, 8), [4, 4])
    """

    _parameter_constraints = {
        "variant": [StrOptions(set(VARIANTS))],
        "kept_fraction": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "batch_size": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, variant="weighted", *, kept_fraction=0.25, batch_size=None):
        self.estimator = estimator
        self.variant = variant
        self.kept_fraction = kept_fraction
        self.batch_size = batch_size

    # -- the AGOP diagonal ----------------------------------------------
    def fit(self, X, y=None):
        """Compute the AGOP diagonal over the images ``X`` (the training set).

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, as the estimator takes them.
        y : None
            Ignored; the diagonal sums over every class's logit.

        Returns
        -------
        self : AGOPExplainer
            With ``agop_diagonal_``, ``n_images_seen_`` and ``classes_``.
        """
        for name in ("agop_diagonal_", "n_images_seen_", "classes_"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X)

    def partial_fit(self, X, y=None):
        """Add the images ``X`` to the running mean of the AGOP diagonal.

        On an explainer not fitted yet this is :meth:`fit`; afterwards the
        diagonal becomes the mean over every image seen, so fitting on the
        parts of a data set gives the diagonal of the whole.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images, as the estimator takes them.
        y : None
            Ignored.

        Returns
        -------
        self : AGOPExplainer
            With the updated ``agop_diagonal_`` and ``n_images_seen_``.
        """
        self._validate_params()
        network = check_explained_estimator(self.estimator, type(self).__name__)
        images = read_images(self.estimator, X)
        seen = getattr(self, "n_images_seen_", 0)
        if seen:
            self._check_image_shape(images)
        total = self._squared_jacobian_sum(network, images)
        previous = self.agop_diagonal_ * seen if seen else 0.0
        self.n_images_seen_ = seen + len(images)
        self.agop_diagonal_ = (previous + total) / self.n_images_seen_
        self.classes_ = np.asarray(self.estimator.classes_).copy()
        return self

    # -- helpers ---------------------------------------------------------
    @property
    def _uses_target(self):
        return self.variant != "global"

    def _check_ready(self):
        if self.variant != "local" and not hasattr(self, "agop_diagonal_"):
            raise NotFittedError(
                f"This {type(self).__name__} with variant={self.variant!r} has no AGOP "
                "diagonal yet: call fit(X_train) with the images the classifier was "
                "trained on first (only variant='local' needs no fit)."
            )

    def _check_image_shape(self, images):
        expected = self.agop_diagonal_.shape
        if images.shape[1:] != expected:
            raise ValueError(
                f"X has images of shape {images.shape[1:]} (H, W, C), but the AGOP "
                f"diagonal of this {type(self).__name__} was computed on images of "
                f"shape {expected}; pass images of that size, or fit the explainer "
                "again if the estimator was refitted on other images."
            )

    def _gradient_batches(self, network, images):
        """``(start, x, logits)`` per batch: ``x`` needs grad, the network in eval mode."""
        device = network_device(network)
        was_training = network.training
        network.eval()
        try:
            with torch.enable_grad():
                for start, x in image_batches(images, batch_size_for(self.batch_size, self.estimator, len(images)), device):
                    x = x.detach().requires_grad_()
                    yield start, x, network.image_logits(x)
        finally:
            network.train(was_training)

    def _squared_jacobian_sum(self, network, images):
        """Sum over images and classes of the squared input gradients, (H, W, C)."""
        total = None
        for _, x, logits in self._gradient_batches(network, images):
            n_classes = logits.shape[1]
            squares = torch.zeros_like(x)
            for c in range(n_classes):
                # The sum over the batch separates: logit c of image i depends
                # on image i alone (eval mode), so this is each image's gradient.
                (grad,) = torch.autograd.grad(
                    logits[:, c].sum(), x, retain_graph=c < n_classes - 1
                )
                squares += grad.square()
            batch = squares.sum(dim=0).permute(1, 2, 0).detach().cpu().double().numpy()
            total = batch if total is None else total + batch
        return total

    def _class_gradients(self, network, images, target):
        """Input gradient of logit ``target[i]`` of each image, (n, H, W, C)."""
        grads = np.empty(images.shape, dtype=np.float32)
        for start, x, logits in self._gradient_batches(network, images):
            t = torch.as_tensor(target[start:start + len(x)], device=logits.device)
            (grad,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), x)
            grads[start:start + len(x)] = grad.permute(0, 2, 3, 1).detach().cpu().numpy()
        return grads

    def _maps(self, network, images, target):
        """The ``variant``'s maps ``(n, H, W)`` of images read by the estimator."""
        if self.variant != "local":
            self._check_image_shape(images)
        if self.variant == "global":
            diagonal_map = self.agop_diagonal_.sum(axis=-1)
            return np.broadcast_to(diagonal_map, images.shape[:3]).copy()
        grads = self._class_gradients(network, images, target)
        if self.variant == "weighted":
            peak = self.agop_diagonal_.max()
            weights = np.sqrt(self.agop_diagonal_ / peak) if peak > 0 else np.zeros_like(
                self.agop_diagonal_)
            grads = grads * weights.astype(np.float32)
        return np.abs(grads).sum(axis=-1)
