"""Energy-regularised spatial masking (ERSM) of a backbone's last feature map.

ERSM keeps or drops each position ``i`` of a ``(B, D, h, w)`` feature map
by minimising an energy over binary masks ``m``::

    E(m) = sum_i m_i u_i  +  beta * sum_{i ~ j} w_ij (m_i - m_j)^2

``u_i`` (the unary score, the cost of keeping position ``i``) is a learned
linear function of the unit-normalised feature vector at ``i``; ``w_ij`` is
the clamped cosine similarity of the feature vectors of 8-connected
neighbours, so that disagreeing on similar neighbours costs more than on
dissimilar ones; ``beta`` is the coherence. The keep probability ``q`` is
the mean-field approximation of the Gibbs distribution
``p(m) ~ exp(-E(m) / T)``, found by a few unrolled, differentiable
updates: every step replaces each ``q_i`` by the probability of keeping
``i`` when its neighbours are kept with their current probabilities.

The reference code of the authors scores each position by one sigmoid of
its unary score and adds a pairwise term that does not depend on the mask;
here the pairwise term enters the mean-field updates, so it shapes the mask
as the paper describes.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..utils._docstrings import fill_doc
from .backbones import create_feature_extractor
from .masking import MaskedClassifier

__all__ = ["ERSMNetwork", "EnergyMask", "EnergyMaskOutput", "EnergyMaskedClassifier"]

# The 8-connected neighbourhood, as (row, column) offsets.
_OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def _neighbours(x):
    """The values at the 8 neighbours of every position, 0 beyond the border.

    ``x`` of shape ``(..., h, w)`` gives ``(..., 8, h, w)``, the neighbours in
    the order of ``_OFFSETS``.
    """
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    return torch.stack(
        [padded[..., 1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in _OFFSETS],
        dim=-3,
    )


class EnergyMaskOutput(NamedTuple):
    """What :class:`EnergyMask` returns for a ``(B, D, h, w)`` feature map.

    Attributes
    ----------
    keep_probability : Tensor of shape (B, h, w)
        ``q``, the mean-field probability of keeping each position.
    unary : Tensor of shape (B, h, w)
        ``u``, the learned cost of keeping each position.
    local_energy : Tensor of shape (B, h, w)
        The local field ``u_i + beta * sum_j w_ij (1 - 2 q_j)`` at the final
        ``q``: the change of the energy when position ``i`` is kept rather
        than dropped, its neighbours kept with probability ``q``. Lower is
        more important; ``q = sigmoid(-local_energy / T)`` up to one step.
    pairwise_weights : Tensor of shape (B, 8, h, w)
        ``w_ij`` of each position with its 8 neighbours (row offsets -1, 0,
        1 times column offsets -1, 0, 1, the centre left out); 0 across the
        border.
    disagreement : Tensor of shape (B,)
        ``sum_{i~j} w_ij (q_i - q_j)^2`` divided by the number of neighbour
        pairs: the pairwise term of the energy at ``q`` per pair, in [0, 1].

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import EnergyMask
    >>> out = EnergyMask(in_channels=8)(torch.rand(2, 8, 4, 4))
    >>> out.keep_probability.shape, out.disagreement.shape
    (torch.Size([2, 4, 4]), torch.Size([2]))
    """

    keep_probability: torch.Tensor
    unary: torch.Tensor
    local_energy: torch.Tensor
    pairwise_weights: torch.Tensor
    disagreement: torch.Tensor


class EnergyMask(nn.Module):
    """Keep probabilities of the positions of a feature map by energy minimisation.

    See the module description for the energy. Starting from
    ``q = sigmoid(-u / T)`` (the mask without pairwise term), each of the
    ``n_steps`` mean-field steps sets, for every position at once,
    ``q_i = sigmoid(-(u_i + beta * sum_j w_ij (1 - 2 q_j)) / T)``:
    ``u_i + beta * sum_j w_ij (1 - 2 q_j)`` is the expected change of the
    energy when ``m_i`` goes from 0 to 1. Every step is differentiable, so
    the unary scores and the features are trained through the minimisation.

    Parameters
    ----------
    in_channels : int
        D, the channels of the feature map.
    coherence : float, default=0.2
        ``beta``, the weight of the pairwise term in the energy. 0 gives
        independent positions, ``q = sigmoid(-u / T)``. Below
        ``temperature / 4`` a step is a contraction (a sigmoid's slope is at
        most 1/4, and a position has at most 8 neighbours of weight at most
        1): the steps approach the one mean-field solution, by a factor
        ``4 * coherence / temperature`` or better per step, whatever the
        start. Above it the pairwise term can outweigh the unary scores and
        turn whole maps to all kept or all dropped (the Ising model's phase
        transition). The default stays below the bound at ``T = 1``.
    n_steps : int, default=5
        Mean-field steps; 0 returns the starting point ``sigmoid(-u / T)``.
    temperature : float, default=1.0
        ``T``: lower values give harder (closer to 0 or 1) masks.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import EnergyMask
    >>> _ = torch.manual_seed(0)
    >>> layer = EnergyMask(in_channels=16, coherence=0.2, n_steps=5)
    >>> out = layer(torch.rand(2, 16, 6, 6))
    >>> out.keep_probability.shape, out.local_energy.shape
    (torch.Size([2, 6, 6]), torch.Size([2, 6, 6]))
    >>> bool(((out.keep_probability >= 0) & (out.keep_probability <= 1)).all())
    True
    """

    def __init__(self, in_channels, coherence=0.2, n_steps=5, temperature=1.0):
        super().__init__()
        self.unary = nn.Linear(in_channels, 1)
        self.coherence = coherence
        self.n_steps = n_steps
        self.temperature = temperature

    def _local_field(self, unary, weights, keep):
        return unary + self.coherence * (weights * (1 - 2 * _neighbours(keep))).sum(dim=1)

    def forward(self, features):
        """Keep probabilities of every position, and the terms of the energy.

        Parameters
        ----------
        features : Tensor of shape (B, D, h, w)
            A feature map.

        Returns
        -------
        out : EnergyMaskOutput
            ``keep_probability``, ``unary``, ``local_energy`` (each
            (B, h, w)), ``pairwise_weights`` (B, 8, h, w) and
            ``disagreement`` (B,).
        """
        unit = F.normalize(features, dim=1)
        unary = self.unary(unit.movedim(1, -1)).squeeze(-1)
        # Clamped: dissimilar (negatively correlated) neighbours are free to
        # disagree, not rewarded for it, so that every weight is >= 0 and
        # the energy has its minimum on coherent masks.
        weights = (unit.unsqueeze(2) * _neighbours(unit)).sum(dim=1).clamp(min=0)
        keep = torch.sigmoid(-unary / self.temperature)
        for _ in range(self.n_steps):
            keep = torch.sigmoid(-self._local_field(unary, weights, keep) / self.temperature)
        squared_differences = (keep.unsqueeze(1) - _neighbours(keep)) ** 2
        # Every pair is seen from both ends: sums over ordered pairs, divided
        # by their number, are means over pairs.
        n_ordered_pairs = _neighbours(keep.new_ones(keep.shape[-2:])).sum().clamp(min=1)
        disagreement = (weights * squared_differences).sum(dim=(1, 2, 3)) / n_ordered_pairs
        return EnergyMaskOutput(
            keep_probability=keep,
            unary=unary,
            local_energy=self._local_field(unary, weights, keep),
            pairwise_weights=weights,
            disagreement=disagreement,
        )


@fill_doc
class EnergyMaskedClassifier(nn.Module):
    """Backbone, energy mask on its last feature map, global pooling, linear head.

    Maps normalised ``(B, C, H, W)`` images to logits: the backbone's last
    feature map ``f`` (``B, D, h, w``) is multiplied by the keep probability
    ``q`` of :class:`EnergyMask`, pooled over the ``h * w`` positions and
    fed to a linear head. The pooling is the backbone's own, so that the
    layer is the only difference from the backbone alone (the authors
    insert it between the last feature map and the backbone's pooling and
    head): global maximum for ``"tiny_cnn"`` (as
    :class:`~sklearn_p2p.nn.TinyCNN`), ``max_i q_i f_i``, and global average
    for timm models (as their heads), ``sum_i q_i f_i / (h w)``. A dropped
    position (``q_i = 0``) then contributes nothing: to the average
    whatever its features, to the maximum because the tiny CNN's features
    are rectified (>= 0).

    Parameters
    ----------
    %(network_classes)s
    backbone : str, default="tiny_cnn"
        ``"tiny_cnn"`` or a timm model name; its last feature map is masked
        (see :func:`~sklearn_p2p.nn.create_feature_extractor`).
    pretrained : bool or path, default=False
        Weights of the backbone, as for
        :func:`~sklearn_p2p.nn.create_feature_extractor`.
    coherence : float, default=0.2
        ``beta`` of :class:`EnergyMask`.
    n_steps : int, default=5
        Mean-field steps of :class:`EnergyMask`.
    temperature : float, default=1.0
        ``T`` of :class:`EnergyMask`.
    pooling : {"max", "avg"} or None, default=None
        Global pooling of the masked map; None: the backbone's own (``"max"``
        for ``"tiny_cnn"``, ``"avg"`` for timm models).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import EnergyMaskedClassifier
    >>> model = EnergyMaskedClassifier(n_classes=3)
    >>> out = model.details(torch.rand(2, 3, 32, 32))
    >>> out["logits"].shape, out["keep_probability"].shape
    (torch.Size([2, 3]), torch.Size([2, 8, 8]))
    """

    def __init__(self, n_classes, in_chans=3, backbone="tiny_cnn", pretrained=False,
                 coherence=0.2, n_steps=5, temperature=1.0, pooling=None):
        super().__init__()
        if pooling is None:
            pooling = "max" if backbone == "tiny_cnn" else "avg"
        if pooling not in ("avg", "max"):
            raise ValueError(f"pooling must be 'avg', 'max' or None; got {pooling!r}.")
        self.pooling = pooling
        self.features, (_, channels) = create_feature_extractor(
            backbone, in_chans=in_chans, pretrained=pretrained
        )
        # Named so that Grad-CAM finds the last feature map whatever the
        # backbone (a timm features_only model renames its stages).
        self.feature_map = nn.Identity()
        self.mask = EnergyMask(channels, coherence, n_steps, temperature)
        self.head = nn.Linear(channels, n_classes)

    def details(self, image, drop=None):
        """Logits and everything behind them.

        Parameters
        ----------
        image : Tensor of shape (B, C, H, W)
            Normalised images.
        drop : Tensor of bool, shape (B, h, w), default=None
            Feature positions forced to be dropped (the deletion test): their
            keep probability is set to 0 after the mean-field steps, the
            others keep theirs.

        Returns
        -------
        dict of Tensor
            ``logits`` (B, n_classes); ``keep_probability``, ``unary``,
            ``local_energy`` (B, h, w) and ``disagreement`` (B,) as in
            ``EnergyMaskOutput`` (``keep_probability`` after ``drop``);
            ``feature_norm`` (B, h, w), the L2 norm of the unmasked feature
            vector at each position.
        """
        features = self.feature_map(self.features(image)[-1])
        out = self.mask(features)
        keep = out.keep_probability
        if drop is not None:
            keep = keep.masked_fill(drop.bool(), 0.0)
        masked = features * keep.unsqueeze(1)
        pooled = masked.amax(dim=(2, 3)) if self.pooling == "max" else masked.mean(dim=(2, 3))
        return {
            "logits": self.head(pooled),
            "keep_probability": keep,
            "unary": out.unary,
            "local_energy": out.local_energy,
            "disagreement": out.disagreement,
            "feature_norm": features.norm(dim=1),
        }

    def forward(self, image):
        """Logits of normalised images.

        Parameters
        ----------
        image : Tensor of shape (B, C, H, W)
            Normalised images.

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            The head's output on the masked, pooled features.
        """
        return self.details(image)["logits"]


@fill_doc
class ERSMNetwork(MaskedClassifier):
    """The ERSM classifier of channel-last images in [0, 1].

    A :class:`MaskedClassifier` whose ``classifier`` is an
    :class:`EnergyMaskedClassifier`: the images are normalised, the
    backbone's last feature map is masked by the energy mask, pooled and
    classified. Every image, whether full or masked in pixel space
    (``classify_images``, hence ``predict_proba_masked``), goes through the
    mask, and the gradient explainers differentiate the whole network
    (``image_logits``).

    Parameters
    ----------
    %(classifier_network)s
    pretrained : bool or path, default=False
        As for :class:`~sklearn_p2p.nn.MaskedClassifier`.
    coherence : float, default=0.2
        ``beta`` of :class:`EnergyMask`.
    n_steps : int, default=5
        Mean-field steps of :class:`EnergyMask`.
    temperature : float, default=1.0
        ``T`` of :class:`EnergyMask`.
    pooling : {"max", "avg"} or None, default=None
        Global pooling of the masked feature map, see
        :class:`EnergyMaskedClassifier`.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import ERSMNetwork
    >>> net = ERSMNetwork(n_classes=3)
    >>> X = torch.rand(2, 32, 32, 3)
    >>> logits, keep_cost, disagreement = net(X)  # training mode
    >>> logits.shape, keep_cost.shape
    (torch.Size([2, 3]), torch.Size([2]))
    >>> out = net.eval().explain(X)
    >>> out["keep_probability"].shape
    torch.Size([2, 8, 8])
    >>> drop = out["local_energy"] < out["local_energy"].median()
    >>> net.logits_without(X, drop).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_classes, in_chans=3, classifier="tiny_cnn", pretrained=False,
                 coherence=0.2, n_steps=5, temperature=1.0, pooling=None):
        self._mask_params = dict(coherence=coherence, n_steps=n_steps,
                                 temperature=temperature, pooling=pooling)
        super().__init__(n_classes, in_chans, classifier, pretrained)

    def _build_classifier(self, n_classes, in_chans, classifier, pretrained):
        return EnergyMaskedClassifier(n_classes, in_chans, classifier, pretrained,
                                      **self._mask_params)

    def _details(self, X, drop=None):
        return self.classifier.details(self.normalize(X.permute(0, 3, 1, 2)), drop)

    def forward(self, X):
        """Training: logits and the terms of the regulariser; evaluation: logits.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C)
            Images in [0, 1].

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            Alone in evaluation mode.
        keep_cost : Tensor of shape (B,)
            Training only: the mean keep probability of each image's
            feature positions.
        disagreement : Tensor of shape (B,)
            Training only: the similarity-weighted disagreement of neighbour
            positions (see ``EnergyMaskOutput``).
        """
        out = self._details(X)
        if not self.training:
            return out["logits"]
        return out["logits"], out["keep_probability"].mean(dim=(1, 2)), out["disagreement"]

    @torch.no_grad()
    def explain(self, X):
        """The prediction and the mask it was made with.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C)
            Images in [0, 1].

        Returns
        -------
        dict of Tensor
            ``logits`` (B, n_classes); ``keep_probability``, ``local_energy``
            (lower: more important), ``unary`` and ``feature_norm``, each of
            shape (B, h, w) over the positions of the last feature map; and
            ``disagreement`` (B,). See
            :meth:`EnergyMaskedClassifier.details`.
        """
        return self._details(X)

    @torch.no_grad()
    def logits_without(self, X, drop):
        """Logits with the given feature positions dropped (the deletion test).

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C)
            Images in [0, 1].
        drop : Tensor of bool, shape (B, h, w)
            True for the positions of the last feature map to drop: their
            keep probability becomes 0, the others keep theirs.

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            The head's output without the dropped positions, computed
            without gradients.
        """
        return self._details(X, drop)["logits"]

    def attribution_layer(self):
        """The module whose output is the backbone's last feature map (for Grad-CAM).

        Returns
        -------
        layer : nn.Module
            An identity placed on the unmasked last feature map.
        """
        return self.classifier.feature_map
