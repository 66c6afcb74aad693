"""Baseline networks that share P2P's classifier and masking.

``BlackboxNetwork`` predicts from the full image (``kept_fraction=None``) or
from an evenly spaced pixel mask of a given density (the paper's *Blackbox
Pixel*, which shows that uninformed pixel-level masking can still be highly
predictive). Its ``forward`` and ``explain`` return what
:class:`~sklearn_p2p.nn.P2PNetwork`'s do, so the same estimator glue, loss
and metrics apply.
"""

import torch

from ..utils._docstrings import fill_doc
from .masking import MaskedClassifier, split_input
from .regions import count_regions, region_sizes

__all__ = ["BlackboxNetwork", "evenly_spaced_mask"]


def _bayer_matrix(order):
    """Ordered-dithering matrix with entries 0 .. 4**order - 1."""
    matrix = torch.zeros(1, 1, dtype=torch.long)
    for _ in range(order):
        matrix = torch.cat([
            torch.cat([4 * matrix, 4 * matrix + 2], dim=1),
            torch.cat([4 * matrix + 3, 4 * matrix + 1], dim=1),
        ])
    return matrix


def evenly_spaced_mask(height, width, fraction, device=None):
    """Boolean ``(height, width)`` mask keeping ``fraction`` of the pixels evenly.

    Thresholding a tiled 8x8 Bayer matrix spreads the kept pixels as evenly
    as possible in both directions, at any density (no stripes).

    Parameters
    ----------
    height, width : int
        Size of the mask.
    fraction : float in [0, 1]
        Share of the pixels to keep, in steps of 1/64 per 8x8 tile.
    device : torch.device or str, default=None
        Device of the returned tensor.

    Returns
    -------
    mask : BoolTensor of shape (height, width)
        True for kept pixels.

    Examples
    --------
    >>> from sklearn_p2p.nn import evenly_spaced_mask
    >>> mask = evenly_spaced_mask(4, 4, 0.25)
    >>> mask.int()
    tensor([[1, 0, 1, 0],
            [0, 0, 0, 0],
            [1, 0, 1, 0],
            [0, 0, 0, 0]], dtype=torch.int32)
    >>> float(evenly_spaced_mask(16, 16, 0.25).float().mean())
    0.25
    """
    bayer = _bayer_matrix(3).to(device)
    thresholds = (bayer.float() + 0.5) / bayer.numel()
    reps = (-(-height // 8), -(-width // 8))
    return thresholds.repeat(*reps)[:height, :width] < fraction


@fill_doc
class BlackboxNetwork(MaskedClassifier):
    """The classifier alone, on full images or on an evenly spaced pixel mask.

    Parameters
    ----------
    %(classifier_network)s
    pretrained : bool or path, default=False
        As for :class:`~sklearn_p2p.nn.MaskedClassifier`.
    kept_fraction : float in (0, 1] or None, default=None
        None: full images (*Blackbox*). A float: the classifier always sees
        that fraction of evenly spaced pixels (*Blackbox Pixel*, see
        :func:`evenly_spaced_mask`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import BlackboxNetwork
    >>> net = BlackboxNetwork(n_classes=3, kept_fraction=0.25).eval()
    >>> X = torch.cat([torch.rand(2, 16, 16, 3), torch.zeros(2, 16, 16, 1)], dim=-1)
    >>> out = net.explain(X)
    >>> out["logits"].shape, out["kept_fraction"]
    (torch.Size([2, 3]), tensor([0.2500, 0.2500]))
    """

    def __init__(self, n_classes, in_chans=3, classifier="tiny_cnn", pretrained=False,
                 kept_fraction=None):
        super().__init__(n_classes, in_chans, classifier, pretrained)
        self.kept_fraction = kept_fraction

    def _pixel_mask(self, image):
        batch, _, height, width = image.shape
        if self.kept_fraction is None:
            return torch.ones(batch, height, width, dtype=torch.bool, device=image.device)
        mask = evenly_spaced_mask(height, width, self.kept_fraction, device=image.device)
        return mask.expand(batch, height, width)

    def _masked_logits(self, X):
        """Label maps, the fixed pixel mask and the classifier's logits."""
        image, segments = split_input(X)
        mask = self._pixel_mask(image)
        return segments, mask, self.classify_pixels(self.normalize(image), mask)

    def forward(self, X, tau=None, delta=None, temperature=None, tau_step=None):
        """Same outputs as P2PNetwork; tau = 1 so P2P's penalties vanish.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C + 1)
            Images in [0, 1] followed by the superpixel label map.
        tau, delta, temperature, tau_step : object, default=None
            Accepted for compatibility with :class:`P2PNetwork` and ignored.

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            Classifier output on the (masked) images.
        kept_fraction : Tensor of shape (B,)
            Fraction of pixels the classifier sees.
        tau : Tensor of shape (B,)
            Ones.
        covariance_norm : Tensor of shape (B,)
            Zeros.
        """
        _, mask, logits = self._masked_logits(X)
        ones = torch.ones(len(logits), device=logits.device)
        return logits, mask.flatten(1).float().mean(dim=1), ones, torch.zeros_like(ones)

    @torch.no_grad()
    def explain(self, X, tau=None, delta=None, tau_step=None):
        """P2PNetwork-style details: every region scored by its kept share.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C + 1)
            Images in [0, 1] followed by the superpixel label map.
        tau, delta, tau_step : object, default=None
            Accepted for compatibility with :class:`P2PNetwork` and ignored.

        Returns
        -------
        out : dict of Tensor
            The keys of :meth:`P2PNetwork.explain`: ``masks`` is the fixed
            pixel mask (all True for *Blackbox*), ``region_probs`` the share
            of each region's pixels that the mask keeps, ``tau`` ones and
            ``embeddings`` empty (K = 0).
        """
        segments, mask, logits = self._masked_logits(X)
        n_regions_per_image = count_regions(segments)
        n_regions = int(n_regions_per_image.max())
        sizes = region_sizes(segments, n_regions)
        kept_per_region = torch.zeros_like(sizes).scatter_add_(
            1, segments.flatten(1), mask.flatten(1).to(sizes.dtype)
        )
        ones = torch.ones(len(logits), device=logits.device)
        kept_fraction = mask.flatten(1).float().mean(dim=1)
        return {
            "logits": logits,
            "proba": torch.softmax(logits, dim=1),
            "masks": mask.clone(),
            "region_probs": kept_per_region / sizes.clamp(min=1),
            "embeddings": torch.zeros(len(logits), n_regions, 0, device=logits.device),
            "tau": ones,
            "n_regions": n_regions_per_image,
            "kept_fraction": kept_fraction,
            "expected_kept_fraction": kept_fraction,
            "covariance_norm": torch.zeros_like(ones),
        }
