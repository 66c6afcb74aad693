"""SmoothedAdversarialClassifier: PGD adversarial training with feature-map smoothing."""

import math
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..nn.adversarial import SmoothedNetwork, count_stages, pgd_linf
from ._base import BackboneClassifier

__all__ = ["SmoothedAdversarialClassifier"]


def is_adversarial_batch(index, share):
    """Whether training batch ``index`` (0, 1, ...) is adversarial at ``share``.

    Batch ``k`` is adversarial when ``floor((k + 1) * share)`` exceeds
    ``floor(k * share)``: the adversarial batches are spread evenly, and the
    first ``k`` batches hold ``floor(k * share)`` of them for every ``k``
    (``share=0.5``: every second batch, starting with the second).
    """
    return math.floor((index + 1) * share + 1e-9) > math.floor(index * share + 1e-9)


class SmoothedAdversarialClassifier(BackboneClassifier):
    """Adversarial training, optionally with a Gaussian feature-map smoothing block.

    The classifier is trained on projected-gradient-descent (PGD) adversarial
    examples: each adversarial training batch is replaced by the L-infinity
    PGD attack of the current network (:func:`~sklearn_p2p.nn.pgd_linf`,
    random start, ``n_steps`` signed-gradient steps of ``step_size`` within
    ``eps`` of the image, the perturbed image kept in [0, 1]) before the
    usual cross-entropy step. With ``smoothing=True`` the network
    (:class:`~sklearn_p2p.nn.SmoothedNetwork`) has a residual block
    ``x + conv1x1(gaussian_blur(x))`` after stage ``smoothing_stage`` of the
    backbone (:class:`~sklearn_p2p.nn.GaussianSmoothing`). The explanation
    is the vanilla gradient (saliency) of the predicted class, as for
    :class:`BackboneClassifier`: the method changes the training, not the
    explainer.

    The paper's ablation is three settings of this class, on one backbone:

    - ``eps=0, smoothing=False``: standard training (no attack is run; the
      network is the plain :class:`~sklearn_p2p.nn.ImageNetwork` backbone);
    - ``smoothing=False``: adversarial training;
    - the defaults: adversarial training with feature-map smoothing.

    Batches and modes. Which training batches are adversarial is set by
    their index, counted from the start of the fit over all epochs: with
    ``adversarial_share=s``, batch ``k`` (from 0) is adversarial when
    ``floor((k + 1) s) > floor(k s)`` -- evenly spread, deterministic, and
    no draw from the random generator (so the shuffling of a seeded fit does
    not depend on ``s``). The attack runs on the network in training mode
    (BatchNorm normalises with the statistics of the attacked batch, the
    function being trained), and the running BatchNorm statistics are
    restored after the attack, so only the training step itself updates
    them, as in standard training. The parameters' gradients are not
    touched by the attack.

    Parameters
    ----------
    module : torch module class, default=SmoothedNetwork
        The network; it reads float32 batches ``(B, H, W, C)`` in [0, 1] and
        takes the keyword arguments ``smoothing``, ``smoothing_stage`` and
        ``smoothing_sigma``.
    eps : float >= 0, default=8/255
        Radius of the L-infinity ball of the attack, on the [0, 1] pixel
        scale (the authors' CIFAR-10 value; ImageNette: 1/255; FMNIST: 0.01
        to 0.3). 0: standard training, no attack is computed.
    step_size : float > 0, default=2/255
        Step of each PGD iteration (CIFAR-10: 2/255).
    n_steps : int >= 1, default=7
        PGD iterations (CIFAR-10: 7; ImageNette: 20; FMNIST: 40). A training
        step costs about ``n_steps + 1`` plain ones.
    adversarial_share : float in [0, 1], default=1.0
        Share of the training batches that are adversarial (the authors:
        all on CIFAR-10, half on ImageNette); the others are trained on
        clean images.
    smoothing : bool, default=True
        Insert the Gaussian smoothing block.
    smoothing_stage : int >= 0, default=0
        Index of the backbone stage the block follows: 0 (the authors'
        default) is after the first stage. ``"tiny_cnn"`` has 3 stages; a
        timm model has ``len(feature_info)`` (for a ResNet, 0 is the stem
        and 1 is ``layer1``).
    smoothing_sigma : float > 0, default=1.0
        Standard deviation of the 3x3 Gaussian, in feature-map pixels.
    **kwargs
        Every parameter of :class:`~sklearn_p2p.models.BackboneClassifier`
        (``classifier``, the backbone, convolutional for the smoothing block;
        ``pretrained``; ``kept_fraction``, the share of the pixels each
        explanation mask keeps; ``lr``, ``max_epochs``, ``batch_size``,
        ``device``, ...) and of skorch. The 1x1 convolution of the block is
        initialised as a plain ``nn.Conv2d``; with a pretrained backbone,
        ``module__smoothing_zero_init=True`` starts the block as the
        identity instead.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    module_ : SmoothedNetwork
        The trained network.

    See Also
    --------
    sklearn_p2p.explainers.GradientExplainer : Other gradient maps of the
        trained model.
    sklearn_p2p.metrics.relative_input_stability : Stability of its maps
        under input noise.

    Notes
    -----
    The training history records ``adversarial`` (True or False) for every
    training batch. ``benchmarks/adversarial_saliency.py`` compares the three
    settings; see the page of the method in the documentation.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.models import SmoothedAdversarialClassifier
    >>> data = make_cluttered_objects(24, image_size=16, n_classes=2, random_state=0)
    >>> clf = SmoothedAdversarialClassifier(n_steps=2, max_epochs=1, batch_size=12,
    ...                                     random_state=0, verbose=0)
    >>> clf.fit(data.images, data.target).predict(data.images[:3]).shape
    (3,)
    >>> len(clf.module_.smoothing_blocks())
    1
    >>> clf.explain(data.images[:3], return_details=True).attributions.shape
    (3, 16, 16)
    """

    _parameter_constraints = {
        **BackboneClassifier._parameter_constraints,
        "eps": [Interval(Real, 0, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="neither")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "adversarial_share": [Interval(Real, 0, 1, closed="both")],
        "smoothing": ["boolean"],
        "smoothing_stage": [Interval(Integral, 0, None, closed="left")],
        "smoothing_sigma": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        module=SmoothedNetwork,
        *,
        eps=8 / 255,
        step_size=2 / 255,
        n_steps=7,
        adversarial_share=1.0,
        smoothing=True,
        smoothing_stage=0,
        smoothing_sigma=1.0,
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.eps = eps
        self.step_size = step_size
        self.n_steps = n_steps
        self.adversarial_share = adversarial_share
        self.smoothing = smoothing
        self.smoothing_stage = smoothing_stage
        self.smoothing_sigma = smoothing_sigma

    def _check_params(self):
        super()._check_params()
        if self.smoothing:
            n_stages = count_stages(self.classifier)
            if self.smoothing_stage >= n_stages:
                raise ValueError(
                    f"smoothing_stage={self.smoothing_stage} is out of range for the "
                    f"backbone {self.classifier!r}, which has {n_stages} stages: pass "
                    f"smoothing_stage from 0 to {n_stages - 1}."
                )

    def _module_kwargs(self):
        return {
            "smoothing": self.smoothing,
            "smoothing_stage": self.smoothing_stage,
            "smoothing_sigma": self.smoothing_sigma,
        }

    def initialize_module(self):
        """Build the network and restart the count of training batches (a skorch hook).

        Returns
        -------
        self : SmoothedAdversarialClassifier
            With the new network in ``module_``.
        """
        super().initialize_module()
        self._n_training_batches = 0
        return self

    def _attacks_next_batch(self):
        """Whether the next training batch is adversarial; advances the count."""
        index = getattr(self, "_n_training_batches", 0)
        self._n_training_batches = index + 1
        return self.eps > 0 and is_adversarial_batch(index, self.adversarial_share)

    def adversarial_examples(self, X, y):
        """PGD adversarial examples of a batch, against the current network.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C)
            Images in [0, 1], as the network reads them.
        y : Tensor of shape (B,)
            Encoded labels (``0 .. n_classes - 1``).

        Returns
        -------
        X_adv : Tensor of shape (B, H, W, C)
            Detached images within ``eps`` of ``X`` (L-infinity) and in
            [0, 1], on the network's device.
        """
        X = to_tensor(X, device=self.device)
        y = to_tensor(y, device=self.device).long()
        return pgd_linf(
            self.module_, X, y, eps=self.eps, step_size=self.step_size,
            n_steps=self.n_steps, random_start=True, clamp=(0.0, 1.0), mode="current",
        )

    def train_step_single(self, batch, **fit_params):
        """One training step, on PGD adversarial examples when the batch is chosen.

        Parameters
        ----------
        batch : tuple
            ``(X, y)`` of the data loader: images ``(B, H, W, C)`` in [0, 1]
            and encoded labels.
        **fit_params : dict
            Passed to the network's forward.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": logits}`` of skorch, the logits of the
            images trained on (adversarial or clean).
        """
        Xi, yi = unpack_data(batch)
        adversarial = self._attacks_next_batch()
        if adversarial:
            self._set_training(True)
            Xi = self.adversarial_examples(Xi, yi)
        self.history.record_batch("adversarial", adversarial)
        return super().train_step_single((Xi, yi), **fit_params)
