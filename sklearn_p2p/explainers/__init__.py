"""Explainers of any fitted classifier of the package (post-hoc).

Each wraps a fitted classifier (:class:`~sklearn_p2p.P2PClassifier`,
:class:`~sklearn_p2p.baselines.BlackboxClassifier` or a model of
:mod:`sklearn_p2p.models`) and explains its predictions through the
explanation protocol of :mod:`sklearn_p2p.metrics`: bool masks of the top
pixels (or regions) of a continuous map at a ``kept_fraction``, and the map
itself as ``attributions``. The prediction explained is the classifier's on
the full image; ``predict_proba_masked`` is the classifier's own.

- :class:`AGOPExplainer`: gradients weighted by the diagonal of the average
  gradient outer product over the training images, or that diagonal alone.
- :class:`GradientExplainer`: saliency, input x gradient, integrated
  gradients, SmoothGrad and Grad-CAM, through Captum.
- :class:`LimeBaseline`: LIME weights of the classifier's superpixels.
"""

from ._agop import AGOPExplainer
from ._gradient import GradientExplainer
from ._lime import LimeBaseline, top_regions_mask

__all__ = ["AGOPExplainer", "GradientExplainer", "LimeBaseline", "top_regions_mask"]
