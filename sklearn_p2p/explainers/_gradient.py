"""Gradient attributions of any fitted classifier of the package, through Captum."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import AttributionExplainer
from ._network import ImageLogits, batch_size_for, image_batches, network_device

__all__ = ["GradientExplainer"]

METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "grad_cam")


class GradientExplainer(AttributionExplainer):
    """Gradient-based attribution maps of a fitted classifier, by Captum.

    The maps are computed by `Captum <https://captum.ai>`_ (a dependency)
    rather than by code written here: its implementations of these methods
    are maintained, tested against the papers and used by the community's
    benchmarks, so a map here is the map a researcher gets elsewhere. What
    this class adds is the package's explanation protocol: the classifier's
    network is differentiated on the images as the estimator reads them, the
    map of the predicted class is summed in magnitude over channels, and the
    top ``kept_fraction`` of its pixels form the mask, so that a gradient
    explanation is scored and plotted like P2P's.

    The function differentiated is the classifier's logit of the explained
    class on the full image (``module_.image_logits``): for the models of
    :mod:`sklearn_p2p.models` and for a Blackbox this is the whole model;
    for :class:`~sklearn_p2p.P2PClassifier` it is its classifier alone,
    without the selection, as ``predict_proba_masked`` sees it.

    Parameters
    ----------
    estimator : fitted classifier of the package
        :class:`~sklearn_p2p.P2PClassifier`,
        :class:`~sklearn_p2p.baselines.BlackboxClassifier` or a model of
        :mod:`sklearn_p2p.models`.
    method : {"saliency", "input_x_gradient", "integrated_gradients", \
            "smoothgrad", "grad_cam"}, default="integrated_gradients"
        - ``"saliency"``: the absolute input gradient (Simonyan et al., 2014).
        - ``"input_x_gradient"``: the gradient times the input.
        - ``"integrated_gradients"``: the path integral of the gradient from
          a reference image of constant value ``baseline`` (Sundararajan et
          al., 2017), ``n_steps`` points.
        - ``"smoothgrad"``: the mean absolute gradient over ``n_samples``
          noisy copies of the image, noise ``N(0, noise_level)`` on [0, 1]
          images (Smilkov et al., 2017).
        - ``"grad_cam"``: Grad-CAM on the last feature stage of the
          classifier (Selvaraju et al., 2017), upsampled bilinearly to the
          image; convolutional backbones only.
    kept_fraction : float in [0, 1] or array-like of shape (n_samples,), \
            default=0.25
        Share of the pixels each mask keeps (the top pixels of the map); an
        array gives one value per explained image, e.g. P2P's own
        ``kept_fraction`` details, to compare at P2P's sparsity.
    n_steps : int, default=16
        Integration points of ``"integrated_gradients"``.
    baseline : float in [0, 1], default=0.0
        Pixel value of the reference image of ``"integrated_gradients"``:
        0 is black, the value masked pixels take everywhere in the package
        (P2P's masks, ``predict_proba_masked``, the fidelity curves); 0.5 is
        mid-grey, the zero of data centred on grey (e.g.
        :func:`~sklearn_p2p.datasets.make_tetrominoes`).
    n_samples : int, default=16
        Noisy copies per image of ``"smoothgrad"``.
    noise_level : float, default=0.1
        Standard deviation of the noise of ``"smoothgrad"``, on the [0, 1]
        pixel scale.
    batch_size : int, default=None
        Images per backward pass; None uses the estimator's ``batch_size``.

    See Also
    --------
    sklearn_p2p.explainers.AGOPExplainer : Gradients weighted by the average
        gradient outer product.
    sklearn_p2p.explainers.LimeBaseline : Perturbation-based explanation over
        superpixels.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.explainers import GradientExplainer
    >>> from sklearn_p2p.models import BackboneClassifier
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = BackboneClassifier(max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> explainer = GradientExplainer(clf, method="saliency", kept_fraction=0.1)
    >>> details = explainer.explain(data.images[:2], return_details=True)
    >>> details.attributions.shape, details.masks.mean(axis=(1, 2))
    ((2, 16, 16), array([0.1015625, 0.1015625]))
    """

    _parameter_constraints = {
        "method": [StrOptions(set(METHODS))],
        "kept_fraction": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "baseline": [Interval(Real, 0, 1, closed="both")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "batch_size": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, method="integrated_gradients", *, kept_fraction=0.25,
                 n_steps=16, baseline=0.0, n_samples=16, noise_level=0.1, batch_size=None):
        self.estimator = estimator
        self.method = method
        self.kept_fraction = kept_fraction
        self.n_steps = n_steps
        self.baseline = baseline
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.batch_size = batch_size

    def _maps(self, network, images, target):
        """Captum maps ``(n, H, W)`` of the images for the class indices ``target``."""
        batch_size = batch_size_for(self.batch_size, self.estimator, len(images))
        device = network_device(network)
        model = ImageLogits(network)
        was_training = network.training
        network.eval()
        maps = np.empty(images.shape[:3], dtype=np.float32)
        try:
            for start, x in image_batches(images, batch_size, device):
                t = torch.as_tensor(target[start:start + len(x)], device=device)
                x.requires_grad_()
                maps[start:start + len(x)] = self._captum_map(model, network, x, t)
        finally:
            network.train(was_training)
        return maps

    def _captum_map(self, model, network, x, target):
        """One batch's map ``(B, H, W)`` by the chosen Captum method."""
        from captum import attr

        if self.method == "grad_cam":
            cam = attr.LayerGradCam(model, network.attribution_layer())
            try:
                heat = cam.attribute(x, target=target, relu_attributions=True)
            except (RuntimeError, IndexError) as exc:
                raise ValueError(
                    "grad_cam needs a convolutional backbone whose last stage "
                    f"returns a (B, C, h, w) feature map: {exc}"
                ) from exc
            if heat.dim() != 4:
                raise ValueError(
                    "grad_cam needs a convolutional backbone whose last stage "
                    f"returns a (B, C, h, w) feature map; got shape {tuple(heat.shape)}."
                )
            heat = attr.LayerAttribution.interpolate(heat, x.shape[-2:], "bilinear")
            return heat[:, 0].detach().cpu().numpy()
        if self.method == "saliency":
            grads = attr.Saliency(model).attribute(x, target=target, abs=True)
        elif self.method == "input_x_gradient":
            grads = attr.InputXGradient(model).attribute(x, target=target)
        elif self.method == "integrated_gradients":
            grads = attr.IntegratedGradients(model).attribute(
                x, baselines=torch.full_like(x, self.baseline), target=target,
                n_steps=self.n_steps,
                internal_batch_size=len(x),
            )
        else:  # smoothgrad
            grads = attr.NoiseTunnel(attr.Saliency(model)).attribute(
                x, nt_type="smoothgrad", nt_samples=self.n_samples,
                nt_samples_batch_size=len(x), stdevs=self.noise_level, target=target,
                abs=True,
            )
        return grads.detach().abs().sum(dim=1).cpu().numpy()
