"""Baselines that share P2P's backbones, training loop and masking.

- :class:`BlackboxClassifier` with ``kept_fraction=None``: the classifier on
  full images (the paper's *Blackbox*, an upper bound for accuracy).
- :class:`BlackboxClassifier` with a ``kept_fraction``: the classifier on an
  evenly spaced pixel mask of that density (*Blackbox Pixel*).
- ``P2PClassifier(threshold=0.3)``: fixed-tau P2P (no baseline class needed).
- ``P2PClassifier(superpixels=PatchGridTransformer(patch_size=2))``: P2P
  selecting square patches (or single pixels) instead of superpixels, the
  "regions matter" ablation.
- :class:`~sklearn_p2p.explainers.LimeBaseline`: post-hoc LIME explanations
  of a fitted black box on the same superpixels, cut to a given kept
  fraction. It lives in :mod:`sklearn_p2p.explainers` with the other
  explainers of fitted models; ``from sklearn_p2p.baselines import
  LimeBaseline`` keeps working.
"""

# Old import path of LIME, kept working (not re-listed in __all__: the
# names are documented where they live, in sklearn_p2p.explainers).
from ..explainers import LimeBaseline, top_regions_mask  # noqa: F401
from ._blackbox import BlackboxClassifier
from ._patches import PatchGridTransformer

__all__ = ["BlackboxClassifier", "PatchGridTransformer"]
