"""ERSMClassifier: a backbone whose last feature map is masked by energy minimisation."""

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from skorch.utils import is_dataset, to_numpy

from ..nn import ERSMNetwork
from ._base import BackboneClassifier

__all__ = ["ERSMClassifier"]

# Batch-level history keys of a training step, each averaged into an epoch
# value of the same name (and printed) by a PassthroughScoring callback.


class ERSMClassifier(BackboneClassifier):
    """Energy-regularised spatial masking (ERSM): a classifier that masks its own features.

    The backbone's last feature map is multiplied by a keep probability per
    position before the backbone's global pooling and a linear head
    (:class:`~sklearn_p2p.nn.ERSMNetwork`). The keep probability minimises,
    by a few unrolled mean-field steps inside the forward pass, the energy

    ``E(m) = sum_i m_i u_i + coherence * sum_{i~j} w_ij (m_i - m_j)^2``

    with ``u_i`` a learned linear score of the unit-normalised feature
    vector at position ``i`` (the cost of keeping it) and ``w_ij`` the
    clamped cosine similarity of 8-connected neighbours (see
    :class:`~sklearn_p2p.nn.EnergyMask`). The explanation is that keep
    probability, upsampled to the image: the map the prediction was made
    with.

    The training loss is the cross-entropy plus the energy regulariser

    ``unary_weight * mean_i q_i + pairwise_weight * mean_{i~j} w_ij (q_i - q_j)^2``

    per image, averaged over the batch. The unary term of the loss is the
    mean keep probability -- the cost of keeping, a sparsity pressure --
    rather than the energy's own ``sum_i q_i u_i``: that sum is unbounded
    below in the learned scores ``u`` (any ``u_i -> -inf`` with ``q_i -> 1``
    sends it to ``-inf``), so minimising it would reward keeping every
    position with ever more negative scores instead of selecting. The
    pairwise term of the loss is the energy's own coherence term at ``q``
    (bounded, in [0, 1] per pair). In evaluation mode the network returns
    the logits alone, so a validation loss (``train_split``) is the
    cross-entropy.

    The mask multiplies the features, so the next layer can absorb a
    uniform scale of ``q``: a strong ``unary_weight`` lowers every keep
    probability (on the benchmark of the documentation, ``unary_weight=1``
    gives a mean of 0.04 and no position above 0.5) while the ranking of
    the positions, and with it the explanation masks (the top
    ``kept_fraction`` of the map), still selects. Read ``q`` relative to
    the image's other positions, not against 0.5.

    Parameters
    ----------
    module : torch module class, default=ERSMNetwork
        The network; it reads float32 batches ``(B, H, W, C)`` in [0, 1].
    unary_weight : float >= 0, default=1e-3
        Weight of the mean keep probability (sparsity cost) in the loss; the
        default of the authors' code.
    pairwise_weight : float >= 0, default=1e-3
        Weight of the similarity-weighted disagreement of neighbouring
        keep probabilities in the loss; the default of the authors' code.
    coherence : float >= 0, default=0.2
        ``beta``, the strength of the pairwise term inside the mean-field
        minimisation: how much the keep probability of a position follows
        its similar neighbours. 0 makes the positions independent
        (``q = sigmoid(-u / temperature)``, as in the authors' code). Below
        ``temperature / 4`` the minimisation has one solution, which the
        steps approach (see :class:`~sklearn_p2p.nn.EnergyMask`).
    n_steps : int >= 0, default=5
        Unrolled mean-field steps of the minimisation.
    temperature : float > 0, default=1.0
        Temperature of the mean-field sigmoid; the default of the authors'
        code.
    **kwargs
        Every parameter of
        :class:`~sklearn_p2p.models.BackboneClassifier` (``classifier``, the
        backbone whose last feature map is masked; ``pretrained``;
        ``kept_fraction``, the share of the pixels each explanation mask
        keeps; ``lr``, ``max_epochs``, ``batch_size``, ``device``, ...) and
        of skorch. The authors train for 20 epochs (``max_epochs=20``).
        ``module__pooling="avg"`` or ``"max"`` overrides the global pooling
        (by default the backbone's own: max for ``"tiny_cnn"``, average for
        timm models).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    module_ : ERSMNetwork
        The trained network.
    history : skorch History
        Per batch and per epoch (averaged), besides skorch's entries:
        ``cross_entropy``, ``keep_probability`` (the mean keep probability)
        and ``disagreement`` (the pairwise term of the loss).

    See Also
    --------
    sklearn_p2p.P2PClassifier : Masks superpixels of the input image instead
        of feature positions.

    Notes
    -----
    ``benchmarks/ersm_deletion.py`` checks the paper's deletion claim; see
    the ERSM page of the documentation.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.models import ERSMClassifier
    >>> data = make_cluttered_objects(24, image_size=24, n_classes=2, random_state=0)
    >>> clf = ERSMClassifier(max_epochs=2, random_state=0, verbose=0)
    >>> clf.fit(data.images, data.target).predict(data.images[:3]).shape
    (3,)
    >>> details = clf.explain(data.images[:3], return_details=True)
    >>> details.masks.shape, details.keep_probability.shape
    ((3, 24, 24), (3, 6, 6))
    """

    _loss_terms = {"cross_entropy": True, "keep_probability": True, "disagreement": True}

    _parameter_constraints = {
        **BackboneClassifier._parameter_constraints,
        "unary_weight": [Interval(Real, 0, None, closed="left")],
        "pairwise_weight": [Interval(Real, 0, None, closed="left")],
        "coherence": [Interval(Real, 0, None, closed="left")],
        "n_steps": [Interval(Integral, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, module=ERSMNetwork, *, unary_weight=1e-3, pairwise_weight=1e-3,
                 coherence=0.2, n_steps=5, temperature=1.0, **kwargs):
        super().__init__(module, **kwargs)
        self.unary_weight = unary_weight
        self.pairwise_weight = pairwise_weight
        self.coherence = coherence
        self.n_steps = n_steps
        self.temperature = temperature

    def _module_kwargs(self):
        return {
            "coherence": self.coherence,
            "n_steps": self.n_steps,
            "temperature": self.temperature,
        }

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Cross-entropy plus the energy regulariser (a skorch hook).

        Parameters
        ----------
        y_pred : tuple of Tensor or Tensor
            The network's output: ``(logits, keep_cost, disagreement)`` in
            training mode, the logits alone in evaluation mode (whose loss
            is the cross-entropy alone).
        y_true : Tensor of shape (B,)
            Encoded labels.
        X : object, default=None
            The batch's input, passed on to skorch.
        training : bool, default=False
            Whether the loss is for a training step.

        Returns
        -------
        loss : Tensor
            Scalar loss.
        """
        if not isinstance(y_pred, tuple):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        logits, keep_cost, disagreement = y_pred
        cross_entropy = super().get_loss(logits, y_true, X=X, training=training)
        keep_cost, disagreement = keep_cost.mean(), disagreement.mean()
        if training:
            # One transfer to the host for the three values.
            values = torch.stack([cross_entropy, keep_cost, disagreement]).tolist()
            for name, value in zip(self._loss_terms, values):
                self.history.record_batch(name, value)
        return cross_entropy + self.unary_weight * keep_cost + self.pairwise_weight * disagreement

    def _explanation_maps(self, X):
        """The keep probability upsampled to the images, and the prediction.

        The keep probability of the last feature map is upsampled bilinearly
        (``align_corners=False``: each feature position sits at the centre of
        the image cell it covers), so the map is smooth and the top-pixel
        masks follow it inside each cell instead of breaking ties in
        row-major order as a blocky (nearest) map would.

        Returns
        -------
        attributions : ndarray of shape (n_samples, H, W)
        proba : ndarray of shape (n_samples, n_classes)
            The prediction on the full images.
        extra : dict
            ``keep_probability`` and ``feature_energy`` (the local energy,
            lower meaning more important), each (n_samples, h, w).
        """
        chunks = {"attributions": [], "proba": [], "keep_probability": [], "feature_energy": []}
        Xp = self._inference_input(X)
        dataset = Xp if is_dataset(Xp) else self.get_dataset(Xp)
        self.module_.eval()
        for Xi in self._inference_batches(dataset):
            out = self.module_.explain(Xi)
            keep = out["keep_probability"]
            upsampled = F.interpolate(keep.unsqueeze(1), size=Xi.shape[1:3], mode="bilinear",
                                      align_corners=False)
            chunks["attributions"].append(to_numpy(upsampled[:, 0]))
            chunks["proba"].append(to_numpy(torch.softmax(out["logits"], dim=1)))
            chunks["keep_probability"].append(to_numpy(keep))
            chunks["feature_energy"].append(to_numpy(out["local_energy"]))
        arrays = {key: np.concatenate(values) for key, values in chunks.items()}
        return arrays.pop("attributions"), arrays.pop("proba"), arrays
