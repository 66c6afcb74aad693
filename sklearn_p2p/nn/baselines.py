"""Baseline networks that share P2P's classifier and masking.

``BlackboxNetwork`` predicts from the full image (``kept_fraction=None``) or
from an evenly spaced pixel mask of a given density (the paper's *Blackbox
Pixel*, which shows that uninformed pixel-level masking can still be highly
predictive). Its ``forward`` and ``explain`` return what
:class:`~sklearn_p2p.nn.P2PNetwork`'s do, so the same estimator glue, loss
and metrics apply.
"""

import torch

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
    """
    bayer = _bayer_matrix(3).to(device)
    thresholds = (bayer.float() + 0.5) / bayer.numel()
    reps = (-(-height // 8), -(-width // 8))
    return thresholds.repeat(*reps)[:height, :width] < fraction


class BlackboxNetwork(MaskedClassifier):
    """The classifier alone, on full images or on an evenly spaced pixel mask.

    Parameters
    ----------
    n_classes, in_chans, classifier, pretrained
        As for :class:`~sklearn_p2p.nn.MaskedClassifier`.
    kept_fraction : float in (0, 1] or None
        None: full images (*Blackbox*). A float: the classifier always sees
        that fraction of evenly spaced pixels (*Blackbox Pixel*).
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
        """Same outputs as P2PNetwork; tau = 1 so P2P's penalties vanish."""
        _, mask, logits = self._masked_logits(X)
        ones = torch.ones(len(logits), device=logits.device)
        return logits, mask.flatten(1).float().mean(dim=1), ones, torch.zeros_like(ones)

    @torch.no_grad()
    def explain(self, X, tau=None, delta=None, tau_step=None):
        """P2PNetwork-style details: every region scored by its kept share."""
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
