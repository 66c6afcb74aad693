"""SIBClassifier: cross-entropy plus the spatial information bottleneck on input gradients."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..nn import ImageNetwork
from ..nn.sib import input_gradients, spatial_bottleneck_penalty
from ._base import BackboneClassifier

__all__ = ["SIBClassifier"]



class SIBClassifier(BackboneClassifier):
    """Spatial information bottleneck (S-IB): gradients shaped to stay on the object.

    A backbone classifier of full images (:class:`~sklearn_p2p.nn.ImageNetwork`)
    trained with the cross-entropy plus the S-IB penalty of Shu, Meng and
    Luo (2025) on its input gradients. At each training step, with ``x``
    the batch (images in [0, 1], channel first) and ``p`` the softmax
    output:

    - ``R = d/dx (1/2) sum ||p||^2``, computed with the graph kept (double
      backward, :func:`~sklearn_p2p.nn.input_gradients`);
    - a soft foreground mask ``M`` derived from ``R`` alone
      (:func:`~sklearn_p2p.nn.gradient_mask`): the ``mask_quantile`` soft
      threshold of the normalised gradient magnitude, smoothed over a
      ``mask_window`` box, thresholded again;
    - ``foreground``: the linear-kernel HSIC over the batch between the
      normalised ``R * M`` and the normalised ``x * M`` (how much the
      foreground gradients vary with the foreground images), and
      ``background``: the variance of ``R * (1 - M)``;
    - ``loss = cross_entropy + background_weight * exp(background)
      + foreground_weight * exp(-foreground)``
      (:func:`~sklearn_p2p.nn.spatial_bottleneck_penalty`).

    Gradient explainers of the trained model should then concentrate on
    the object and stay flat on the background. The model's own
    explanation (:meth:`explain`) is the vanilla gradient saliency of the
    predicted class (the map the objective shapes); any other gradient
    method is available through
    :class:`~sklearn_p2p.explainers.GradientExplainer`.

    Parameters
    ----------
    module : torch module class, default=ImageNetwork
        The network; it reads float32 batches ``(B, H, W, C)`` in [0, 1]
        and must be twice differentiable (ReLU, pooling, batch norm and
        timm's usual layers are).
    foreground_weight : float >= 0, default=0.01
        Weight of ``exp(-foreground)``; the authors' ``lambda_fg``.
    background_weight : float >= 0, default=1000.0
        Weight of ``exp(background)``; the authors' ``lambda_bg``. The
        training loss therefore includes about ``background_weight`` as an
        offset; the history's ``cross_entropy`` holds the cross-entropy
        alone.
    mask_quantile : float in (0, 1), default=0.8
        Quantile of both soft thresholds of the mask (about the top
        ``1 - mask_quantile`` of the pixels form the foreground); the
        authors' value.
    mask_slope : float > 0, default=10.0
        Steepness of the mask's sigmoids; the authors' value.
    mask_window : odd int or None, default=None
        Side of the box filter that smooths the mask. None: about 1/7 of
        the image side (:func:`~sklearn_p2p.nn.default_mask_window`: 31 at
        224 pixels, the authors' fixed value, and 3 on 16 to 34 pixel
        images, where 31 would average the whole image).
    **kwargs
        Every parameter of
        :class:`~sklearn_p2p.models.BackboneClassifier` (``classifier``,
        ``pretrained``, ``kept_fraction``, ``lr``, ``max_epochs``,
        ``batch_size``, ``device``, ...) and of skorch. ``batch_size`` must
        not be 1: the foreground term is a dependence measured across the
        images of a batch (a last batch of one image gets no foreground
        term).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    module_ : ImageNetwork
        The trained network.
    history : skorch History
        Per batch and per epoch (averaged), besides skorch's entries:
        ``cross_entropy``, ``sib_foreground`` (the HSIC, to be large) and
        ``sib_background`` (the background variance, to be small).

    See Also
    --------
    sklearn_p2p.explainers.GradientExplainer : The gradient explainers whose
        maps the objective shapes.
    sklearn_p2p.models.BackboneClassifier : The same backbone trained with
        the cross-entropy alone.

    Notes
    -----
    A training step costs a double backward pass (several times a plain
    step; the authors report about 3x). Validation losses (``train_split``)
    are the cross-entropy alone: the penalty needs gradients, which
    skorch's evaluation steps do not compute. ``benchmarks/sib_attribution.py``
    compares S-IB with plain training under five gradient explainers; see
    the S-IB page of the documentation.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.models import SIBClassifier
    >>> data = make_cluttered_objects(32, image_size=16, n_classes=2, random_state=0)
    >>> clf = SIBClassifier(max_epochs=2, batch_size=16, random_state=0, verbose=0)
    >>> clf.fit(data.images, data.target).predict(data.images[:3]).shape
    (3,)
    >>> bool(clf.history[-1, "sib_foreground"] >= 0), "sib_background" in clf.history[-1]
    (True, True)
    >>> clf.explain(data.images[:3], return_details=True).attributions.shape
    (3, 16, 16)
    """

    _loss_terms = {"cross_entropy": True, "sib_foreground": False, "sib_background": True}

    _parameter_constraints = {
        **BackboneClassifier._parameter_constraints,
        "foreground_weight": [Interval(Real, 0, None, closed="left")],
        "background_weight": [Interval(Real, 0, None, closed="left")],
        "mask_quantile": [Interval(Real, 0, 1, closed="neither")],
        "mask_slope": [Interval(Real, 0, None, closed="neither")],
        "mask_window": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, module=ImageNetwork, *, foreground_weight=0.01, background_weight=1000.0,
                 mask_quantile=0.8, mask_slope=10.0, mask_window=None, **kwargs):
        super().__init__(module, **kwargs)
        self.foreground_weight = foreground_weight
        self.background_weight = background_weight
        self.mask_quantile = mask_quantile
        self.mask_slope = mask_slope
        self.mask_window = mask_window

    def _check_params(self):
        super()._check_params()
        if self.mask_window is not None and self.mask_window % 2 == 0:
            raise ValueError(
                f"The 'mask_window' parameter of {type(self).__name__} must be odd (a "
                f"box centred on each pixel); got {self.mask_window}. Use "
                f"{self.mask_window - 1} or {self.mask_window + 1}, or None."
            )
        if self.batch_size == 1:
            raise ValueError(
                f"{type(self).__name__} needs batch_size >= 2 (or -1 for the whole "
                "data): its foreground term is the HSIC across the images of a "
                "batch, which one image cannot measure."
            )

    def train_step_single(self, batch, **fit_params):
        """One training step: cross-entropy plus the S-IB penalty (a skorch hook).

        The batch is made a leaf that requires gradients, ``R`` is computed
        with its graph, and the loss is back-propagated through it (double
        backward). The batch's ``cross_entropy``, ``sib_foreground`` and
        ``sib_background`` are recorded in the history.

        Parameters
        ----------
        batch : tuple
            ``(X, y)`` as the data loader yields it.
        **fit_params : dict
            Further keyword arguments of the network's ``forward``.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": logits}``, as skorch expects.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        images = to_tensor(Xi, device=self.device).detach().requires_grad_(True)
        gradients, logits = input_gradients(
            lambda x: self.infer(x, **fit_params), images, create_graph=True
        )
        cross_entropy = self.get_loss(logits, yi, X=Xi, training=True)
        # The penalty reads channel-first maps; the network reads channel last.
        terms = spatial_bottleneck_penalty(
            gradients.permute(0, 3, 1, 2), images.detach().permute(0, 3, 1, 2),
            foreground_weight=self.foreground_weight,
            background_weight=self.background_weight,
            quantile=self.mask_quantile, slope=self.mask_slope, window_size=self.mask_window,
        )
        loss = cross_entropy + terms["penalty"]
        self._backward(loss)  # scaled in float16 training
        self.history.record_batch("cross_entropy", cross_entropy.item())
        self.history.record_batch("sib_foreground", terms["foreground"].item())
        self.history.record_batch("sib_background", terms["background"].item())
        return {"loss": loss, "y_pred": logits}
